//! The synthetic SCM of the seed's Section 4.1: a known Erdos-Renyi DAG, additive N(0, 1) noise, and
//! `N + 1` regimes: regime 0 is observational and regime `j + 1` shifts the mean of node `j` by `shift`
//! (a soft, single-target intervention; one per node). Samples are drawn with regime frequencies
//! `observational_frac` for regime 0 and the rest split evenly over the `N` interventions.

use ndarray::{Array1, Array2, Array3, ArrayView1};
use rand::Rng;
use rand_distr::weighted::WeightedIndex;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::dag::Dag;
use crate::error::{ensure, RegimeVaeError, Result};
use crate::linalg::solve;
use crate::mechanism::{Mechanism, MechanismFamily};

/// How to draw a random SCM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScmConfig {
    /// Number of nodes `N`.
    pub nodes: usize,
    /// Erdos-Renyi edge probability.
    pub edge_prob: f64,
    /// Mechanism family.
    pub family: MechanismFamily,
    /// Size of each intervention's mean shift (10 in the reference).
    pub shift: f64,
    /// Frequency of the observational regime (0.2 in the reference).
    pub observational_frac: f64,
}

impl Default for ScmConfig {
    fn default() -> Self {
        Self {
            nodes: 10,
            edge_prob: 0.1,
            family: MechanismFamily::Linear,
            shift: 10.0,
            observational_frac: 0.2,
        }
    }
}

/// Samples with their (hidden) regime labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row per sample, one column per node.
    pub x: Array2<f64>,
    /// Regime of each sample: 0 observational, `j + 1` for the intervention on node `j`.
    pub regime: Vec<usize>,
}

/// A structural causal model with one mean-shift intervention per node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scm {
    dag: Dag,
    mechanisms: Vec<Mechanism>,
    shifts: Vec<f64>,
    regime_probs: Vec<f64>,
}

impl Scm {
    /// Builds an SCM from its parts, validating that they fit together.
    pub fn new(
        dag: Dag,
        mechanisms: Vec<Mechanism>,
        shifts: Vec<f64>,
        regime_probs: Vec<f64>,
    ) -> Result<Self> {
        let n = dag.n();
        ensure(mechanisms.len() == n && shifts.len() == n && regime_probs.len() == n + 1, || {
            format!("{n} nodes need {n} mechanisms, {n} shifts and {} regime probabilities", n + 1)
        })?;
        for (i, m) in mechanisms.iter().enumerate() {
            let fits = match m {
                Mechanism::Linear { weights } => weights.len() == dag.parents(i).len(),
                Mechanism::Mlp { input, bias, output } => {
                    input.iter().all(|u| u.len() == dag.parents(i).len())
                        && bias.len() == input.len()
                        && output.len() == input.len()
                }
            };
            ensure(fits, || {
                format!("mechanism of node {i} does not fit its {} parents", dag.parents(i).len())
            })?;
        }
        ensure(shifts.iter().all(|s| s.is_finite()), || "shifts must be finite".into())?;
        ensure(regime_probs.iter().all(|p| p.is_finite() && *p >= 0.0), || {
            "regime probabilities must be >= 0".into()
        })?;
        let total: f64 = regime_probs.iter().sum();
        ensure((total - 1.0).abs() < 1e-9, || format!("regime probabilities sum to {total}"))?;
        Ok(Self { dag, mechanisms, shifts, regime_probs })
    }

    /// Draws a random SCM from `config`.
    pub fn random<R: Rng + ?Sized>(config: &ScmConfig, rng: &mut R) -> Result<Self> {
        if config.nodes == 0 {
            return Err(RegimeVaeError::NoNodes);
        }
        ensure(config.observational_frac > 0.0 && config.observational_frac < 1.0, || {
            format!("observational fraction {} not in (0, 1)", config.observational_frac)
        })?;
        if let MechanismFamily::Mlp { hidden } = config.family {
            ensure(hidden >= 1, || "an MLP mechanism needs a hidden unit".into())?;
        }
        let dag = Dag::erdos_renyi(config.nodes, config.edge_prob, rng)?;
        let mechanisms = (0..config.nodes)
            .map(|i| Mechanism::random(config.family, dag.parents(i).len(), rng))
            .collect();
        let shifts = vec![config.shift; config.nodes];
        let rest = (1.0 - config.observational_frac) / config.nodes as f64;
        let mut regime_probs = vec![rest; config.nodes + 1];
        regime_probs[0] = config.observational_frac;
        Self::new(dag, mechanisms, shifts, regime_probs)
    }

    /// The known DAG.
    pub fn dag(&self) -> &Dag {
        &self.dag
    }

    /// Number of nodes `N`.
    pub fn nodes(&self) -> usize {
        self.dag.n()
    }

    /// Number of regimes `N + 1`.
    pub fn regimes(&self) -> usize {
        self.dag.n() + 1
    }

    /// Regime frequencies (index 0 observational).
    pub fn regime_probs(&self) -> &[f64] {
        &self.regime_probs
    }

    /// The mechanisms, one per node.
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// The intervention shifts, one per node.
    pub fn shifts(&self) -> &[f64] {
        &self.shifts
    }

    /// `E[x_i | Pa(x_i), regime]` at the parent values found in `row`.
    pub fn conditional_mean(&self, i: usize, row: ArrayView1<f64>, regime: usize) -> f64 {
        let pa: Vec<f64> = self.dag.parents(i).iter().map(|&p| row[p]).collect();
        let shift = if regime == i + 1 { self.shifts[i] } else { 0.0 };
        self.mechanisms[i].mean(&pa) + shift
    }

    /// True conditional means of every node under every regime at the observed parents of each row of `x`:
    /// an array `[regimes, samples, nodes]`.
    pub fn conditional_means(&self, x: &Array2<f64>) -> Array3<f64> {
        let (s, n) = x.dim();
        Array3::from_shape_fn((n + 1, s, n), |(k, r, i)| self.conditional_mean(i, x.row(r), k))
    }

    /// Ancestral sampling of `count` samples, each from its own regime drawn with the regime frequencies.
    pub fn sample<R: Rng + ?Sized>(&self, count: usize, rng: &mut R) -> Result<Dataset> {
        let pick = WeightedIndex::new(&self.regime_probs)
            .map_err(|e| RegimeVaeError::InvalidConfig(format!("regime probabilities: {e}")))?;
        let regime: Vec<usize> = (0..count).map(|_| pick.sample(rng)).collect();
        Ok(self.sample_regimes(&regime, rng))
    }

    /// Ancestral sampling of one sample per entry of `regime` (which must be `< N + 1`; larger values act as
    /// observational).
    pub fn sample_regimes<R: Rng + ?Sized>(&self, regime: &[usize], rng: &mut R) -> Dataset {
        let n = self.nodes();
        let mut x = Array2::zeros((regime.len(), n));
        for (r, &k) in regime.iter().enumerate() {
            for &i in self.dag.order() {
                let noise: f64 = StandardNormal.sample(rng);
                x[[r, i]] = self.conditional_mean(i, x.row(r), k) + noise;
            }
        }
        Dataset { x, regime: regime.to_vec() }
    }

    /// The exact counterfactual of each row of `x` (drawn under `factual[r]`) had it been drawn under
    /// regime `regime`: the noise `eps_i = x_i - E[x_i | Pa(x_i), factual]` is abducted and pushed through
    /// the mechanisms in topological order under the new regime.
    pub fn counterfactual(
        &self,
        x: &Array2<f64>,
        factual: &[usize],
        regime: usize,
    ) -> Result<Array2<f64>> {
        let (s, n) = x.dim();
        ensure(n == self.nodes() && factual.len() == s, || {
            format!("data {s}x{n} with {} regimes for {} nodes", factual.len(), self.nodes())
        })?;
        ensure(factual.iter().chain([&regime]).all(|&k| k < self.regimes()), || {
            format!("regimes must be < {}", self.regimes())
        })?;
        let mut out = x.clone();
        for (r, &k) in factual.iter().enumerate() {
            for &i in self.dag.order() {
                let noise = x[[r, i]] - self.conditional_mean(i, x.row(r), k);
                out[[r, i]] = self.conditional_mean(i, out.row(r), regime) + noise;
            }
        }
        Ok(out)
    }

    /// The weighted adjacency `W` (entry `[p, i]` is the weight of edge `p -> i`) of a linear SCM.
    pub fn weight_matrix(&self) -> Result<Array2<f64>> {
        let n = self.nodes();
        let mut w = Array2::zeros((n, n));
        for (i, m) in self.mechanisms.iter().enumerate() {
            let Mechanism::Linear { weights } = m else {
                return Err(RegimeVaeError::InvalidConfig(
                    "the weight matrix exists for linear SCMs only".into(),
                ));
            };
            for (&p, &v) in self.dag.parents(i).iter().zip(weights) {
                w[[p, i]] = v;
            }
        }
        Ok(w)
    }

    /// Exact `E[x | regime]` of a linear SCM: `x = W^T x + eps + delta_k`, so the mean is
    /// `(I - W^T)^-1 delta_k`, with `delta_k` the shift vector of regime `k`.
    pub fn exact_regime_mean(&self, regime: usize) -> Result<Array1<f64>> {
        ensure(regime < self.regimes(), || format!("regime {regime} of {}", self.regimes()))?;
        let n = self.nodes();
        let a = Array2::eye(n) - self.weight_matrix()?.t();
        let mut delta = Array1::zeros(n);
        if regime > 0 {
            delta[regime - 1] = self.shifts[regime - 1];
        }
        solve(&a, &delta)
    }

    /// Exact `E[x_i | regime]` for every node under every regime of a linear SCM: `[regimes, nodes]`.
    pub fn exact_regime_means(&self) -> Result<Array2<f64>> {
        let n = self.nodes();
        let mut out = Array2::zeros((n + 1, n));
        for k in 0..=n {
            out.row_mut(k).assign(&self.exact_regime_mean(k)?);
        }
        Ok(out)
    }

    /// Exact `Cov[x]` (the same in every regime) of a linear SCM: `(I - W^T)^-1 (I - W^T)^-T`.
    pub fn exact_covariance(&self) -> Result<Array2<f64>> {
        let n = self.nodes();
        let a = Array2::eye(n) - self.weight_matrix()?.t();
        let mut inv = Array2::zeros((n, n));
        for c in 0..n {
            let mut e = Array1::zeros(n);
            e[c] = 1.0;
            inv.column_mut(c).assign(&solve(&a, &e)?);
        }
        Ok(inv.dot(&inv.t()))
    }
}

#[cfg(test)]
mod tests {
    use gumbel_core::rng::from_seed;

    use super::*;

    fn linear_scm(seed: u64, shift: f64) -> Scm {
        let config = ScmConfig { nodes: 6, edge_prob: 0.5, shift, ..ScmConfig::default() };
        Scm::random(&config, &mut from_seed(seed)).expect("valid config")
    }

    #[test]
    fn regime_sample_means_match_the_exact_expression() {
        // Per regime, 4000 samples; each coordinate's mean is within 5 standard errors of (I - W^T)^-1 delta_k,
        // the standard error coming from the exact covariance.
        let scm = linear_scm(5, 3.0);
        assert!(scm.dag().edges() >= 4, "the test wants a graph with paths");
        let cov = scm.exact_covariance().expect("linear");
        let mut rng = from_seed(6);
        let count = 4000;
        for k in 0..scm.regimes() {
            let data = scm.sample_regimes(&vec![k; count], &mut rng);
            let mean = data.x.mean_axis(ndarray::Axis(0)).expect("non-empty");
            let exact = scm.exact_regime_mean(k).expect("linear");
            for i in 0..scm.nodes() {
                let se = (cov[[i, i]] / count as f64).sqrt();
                assert!(
                    (mean[i] - exact[i]).abs() < 5.0 * se,
                    "regime {k} node {i}: {} vs {}",
                    mean[i],
                    exact[i]
                );
            }
        }
    }

    #[test]
    fn intervention_moves_descendants_only() {
        let scm = linear_scm(8, 10.0);
        let base = scm.exact_regime_mean(0).expect("linear");
        for j in 0..scm.nodes() {
            let shifted = scm.exact_regime_mean(j + 1).expect("linear");
            for i in 0..scm.nodes() {
                if i != j && !scm.dag().is_descendant(i, j) {
                    assert_eq!(shifted[i], base[i], "node {i} is not downstream of {j}");
                }
            }
            assert!((shifted[j] - base[j] - 10.0).abs() < 1e-12);
        }
    }

    #[test]
    fn linear_counterfactuals_move_by_the_difference_of_regime_means() {
        // x = (I - W^T)^-1 (eps + delta_k), so changing the regime with the noise kept moves every row
        // by exactly E[x | r] - E[x | k]; the same regime returns the row itself.
        let scm = linear_scm(8, 4.0);
        let data = scm.sample(50, &mut from_seed(3)).expect("valid");
        let means = scm.exact_regime_means().expect("linear");
        for regime in 0..scm.regimes() {
            let cf = scm.counterfactual(&data.x, &data.regime, regime).expect("valid");
            for (r, &k) in data.regime.iter().enumerate() {
                for i in 0..scm.nodes() {
                    let moved = cf[[r, i]] - data.x[[r, i]];
                    let expected = means[[regime, i]] - means[[k, i]];
                    assert!(
                        (moved - expected).abs() < 1e-9,
                        "row {r} node {i}: {moved} vs {expected}"
                    );
                }
            }
        }
        assert!(scm.counterfactual(&data.x, &data.regime, scm.regimes()).is_err());
        assert!(scm.counterfactual(&data.x, &data.regime[1..], 0).is_err());
    }

    #[test]
    fn regime_frequencies_match() {
        let scm = linear_scm(1, 10.0);
        let data = scm.sample(20_000, &mut from_seed(2)).expect("valid");
        let p0 = data.regime.iter().filter(|&&r| r == 0).count() as f64 / 20_000.0;
        let se = (0.2_f64 * 0.8 / 20_000.0).sqrt();
        assert!((p0 - 0.2).abs() < 5.0 * se, "observational frequency {p0}");
    }

    #[test]
    fn same_seed_same_data_and_mlp_family_is_finite() {
        let config = ScmConfig {
            family: MechanismFamily::Mlp { hidden: 4 },
            edge_prob: 0.4,
            ..ScmConfig::default()
        };
        let a = Scm::random(&config, &mut from_seed(9)).expect("valid");
        let b = Scm::random(&config, &mut from_seed(9)).expect("valid");
        assert_eq!(a, b);
        let da = a.sample(500, &mut from_seed(10)).expect("valid");
        let db = b.sample(500, &mut from_seed(10)).expect("valid");
        assert_eq!(da, db);
        assert!(da.x.iter().all(|v| v.is_finite()));
        assert!(a.exact_regime_mean(0).is_err(), "no closed form for MLP mechanisms");
    }

    #[test]
    fn bad_configs_are_errors() {
        let mut rng = from_seed(0);
        assert!(Scm::random(&ScmConfig { nodes: 0, ..ScmConfig::default() }, &mut rng).is_err());
        assert!(Scm::random(
            &ScmConfig { observational_frac: 1.0, ..ScmConfig::default() },
            &mut rng
        )
        .is_err());
        assert!(
            Scm::random(&ScmConfig { edge_prob: -0.1, ..ScmConfig::default() }, &mut rng).is_err()
        );
    }
}
