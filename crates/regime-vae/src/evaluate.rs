//! Held-out evaluation of any fitted regime model (the VAE or the EM reference): clustering scores, the
//! identification of the observational regime, reconstruction against the oracle, and mechanism error.

use gumbel_core::rng::stream;
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{ensure, RegimeVaeError, Result};
use crate::identify::identify;
use crate::metrics::{
    adjusted_rand_index, contingency, matched_accuracy, normalized_mutual_information,
};
use crate::scm::{Dataset, Scm};

/// A fitted model with `N + 1` clusters over the `N` nodes of a known DAG.
pub trait RegimeModel {
    /// Number of clusters (regimes) of the model.
    fn clusters(&self) -> usize;
    /// The posterior-argmax cluster of each row of `x`.
    fn assign(&self, x: &Array2<f64>) -> Result<Vec<usize>>;
    /// The model's `E[x_i | Pa(x_i), cluster c]` at the observed parents of each row: `[clusters, rows, nodes]`.
    fn mechanism_means(&self, x: &Array2<f64>) -> Result<Array3<f64>>;
    /// The model's `E[x | cluster c]`, `[clusters, nodes]` (exact or by ancestral sampling from `seed`).
    fn regime_means(&self, seed: u64) -> Result<Array2<f64>>;
}

/// Checks that `x` has one column per node of an `n`-node DAG.
pub(crate) fn check_columns(x: &Array2<f64>, n: usize) -> Result<()> {
    if x.ncols() == n {
        Ok(())
    } else {
        Err(RegimeVaeError::Shape(format!("{} columns for {n} nodes", x.ncols())))
    }
}

/// Checks that every entry of `x` is finite.
pub(crate) fn check_finite(x: &Array2<f64>) -> Result<()> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some(((r, c), v)) => {
            Err(RegimeVaeError::NonFinite(format!("data entry ({r}, {c}) is {v}")))
        }
    }
}

/// The index of the largest entry of each row (the posterior-argmax cluster of a log-posterior matrix).
pub(crate) fn row_argmax(scores: &Array2<f64>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0))
        .collect()
}

/// Held-out scores of one fitted model on one SCM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Adjusted Rand index of the posterior-argmax cluster against the true regime.
    pub ari: f64,
    /// Normalised mutual information of the same.
    pub nmi: f64,
    /// Accuracy after the best one-to-one matching of clusters to regimes.
    pub accuracy: f64,
    /// Whether the cluster the identification rule calls observational is matched to the true observational regime.
    pub observational_identified: bool,
    /// Among the interventional regimes, the fraction whose matched cluster the rule gives the right target.
    pub targets_correct: f64,
    /// Relative gap between the rule's best and second-best candidate.
    pub identification_margin: f64,
    /// Number of clusters holding at least one held-out sample.
    pub clusters_used: usize,
    /// `mean (x_i - E_model[x_i | Pa(x_i), c(x)])^2` with `c(x)` the posterior argmax.
    pub recon_mse: f64,
    /// The same with the true mechanisms and the true regime (the noise variance, about 1).
    pub oracle_recon_mse: f64,
    /// `mean (x_i - E_model[x_i | c(x)])^2`: regime-only reconstruction, what the public code measured.
    pub regime_mse: f64,
    /// The same with the true `E[x | regime]` (about 1.2 for the reference SCMs).
    pub oracle_regime_mse: f64,
    /// RMS gap between learned and true conditional means, per regime on its own held-out samples, after
    /// matching clusters to regimes.
    pub mechanism_rmse: f64,
}

/// Scores `model` on the held-out `data` of `scm`; `seed` drives any Monte Carlo means.
pub fn evaluate<M: RegimeModel + ?Sized>(
    model: &M,
    scm: &Scm,
    data: &Dataset,
    seed: u64,
) -> Result<Evaluation> {
    let (s, n) = data.x.dim();
    let k = scm.regimes();
    ensure(n == scm.nodes() && model.clusters() == k && data.regime.len() == s, || {
        format!("model with {} clusters, data {s}x{n}, SCM with {k} regimes", model.clusters())
    })?;
    let pred = model.assign(&data.x)?;
    let table = contingency(&pred, &data.regime, k, k)?;
    let (matching, accuracy) = matched_accuracy(&table)?;
    let means = model.mechanism_means(&data.x)?;
    let truth = scm.conditional_means(&data.x);
    let id = identify(&means, &pred)?;

    let mut cluster_of = vec![0; k];
    for (c, &r) in matching.iter().enumerate() {
        cluster_of[r] = c;
    }
    let targets_correct = (1..k).filter(|&r| id.targets[cluster_of[r]] == Some(r - 1)).count()
        as f64
        / (k - 1) as f64;

    let mut recon = 0.0;
    let mut oracle = 0.0;
    for r in 0..s {
        for i in 0..n {
            recon += (data.x[[r, i]] - means[[pred[r], r, i]]).powi(2);
            oracle += (data.x[[r, i]] - truth[[data.regime[r], r, i]]).powi(2);
        }
    }
    let cells = (s * n) as f64;

    let model_regime = model.regime_means(seed)?;
    let true_regime = true_regime_means(scm, seed)?;
    let mut regime_mse = 0.0;
    let mut oracle_regime_mse = 0.0;
    for r in 0..s {
        for i in 0..n {
            regime_mse += (data.x[[r, i]] - model_regime[[pred[r], i]]).powi(2);
            oracle_regime_mse += (data.x[[r, i]] - true_regime[[data.regime[r], i]]).powi(2);
        }
    }

    let mut mech = 0.0;
    let mut mech_regimes = 0;
    for (regime, &c) in cluster_of.iter().enumerate() {
        let rows: Vec<usize> = (0..s).filter(|&r| data.regime[r] == regime).collect();
        if rows.is_empty() {
            continue;
        }
        let sq: f64 = rows
            .iter()
            .flat_map(|&r| (0..n).map(move |i| (r, i)))
            .map(|(r, i)| (means[[c, r, i]] - truth[[regime, r, i]]).powi(2))
            .sum();
        mech += sq / (rows.len() * n) as f64;
        mech_regimes += 1;
    }

    Ok(Evaluation {
        ari: adjusted_rand_index(&table),
        nmi: normalized_mutual_information(&table),
        accuracy,
        observational_identified: matching[id.observational] == 0,
        targets_correct,
        identification_margin: id.margin(),
        clusters_used: table.sum_axis(Axis(1)).iter().filter(|&&c| c > 0.0).count(),
        recon_mse: recon / cells,
        oracle_recon_mse: oracle / cells,
        regime_mse: regime_mse / cells,
        oracle_regime_mse: oracle_regime_mse / cells,
        mechanism_rmse: (mech / mech_regimes.max(1) as f64).sqrt(),
    })
}

/// True `E[x | regime]`: exact for linear SCMs, else the mean of 4000 ancestral samples per regime.
fn true_regime_means(scm: &Scm, seed: u64) -> Result<Array2<f64>> {
    if let Ok(exact) = scm.exact_regime_means() {
        return Ok(exact);
    }
    let mut out = Array2::zeros((scm.regimes(), scm.nodes()));
    for k in 0..scm.regimes() {
        let data = scm.sample_regimes(&[k; 4000], &mut stream(seed, k as u64));
        if let Some(mean) = data.x.mean_axis(Axis(0)) {
            out.row_mut(k).assign(&mean);
        }
    }
    Ok(out)
}
