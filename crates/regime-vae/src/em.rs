//! The reference that needs no neural network: EM for a mixture of `N + 1` regimes, each with its own
//! linear-Gaussian mechanisms on the known DAG, `x_i | Pa(x_i), c ~ N(b_ci + w_ci . Pa(x_i), s2_ci)`.
//!
//! The M-step is closed form: per regime and node, a weighted least-squares regression of `x_i` on its
//! parents (responsibilities as weights) and the weighted residual variance. Initialisation: k-means
//! ([`crate::kmeans`]) gives hard responsibilities; the best of several seeded restarts by
//! log-likelihood is kept.

use gumbel_core::logspace::logsumexp;
use gumbel_core::rng::stream;
use ndarray::{Array1, Array2, Array3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dag::Dag;
use crate::error::{ensure, RegimeVaeError, Result};
use crate::evaluate::{check_columns, check_finite, row_argmax, RegimeModel};
use crate::kmeans::kmeans_labels;
use crate::linalg::solve;

/// EM settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmConfig {
    /// Independent k-means++ initialisations; the best by log-likelihood is kept.
    pub restarts: usize,
    /// Maximum EM iterations per restart.
    pub max_iter: usize,
    /// Stop when the mean log-likelihood per sample improves by less than this.
    pub tol: f64,
    /// Floor on every conditional variance (keeps a component from collapsing onto a point).
    pub var_floor: f64,
    /// Seed of the initialisations.
    pub seed: u64,
}

impl Default for EmConfig {
    fn default() -> Self {
        Self { restarts: 5, max_iter: 100, tol: 1e-6, var_floor: 1e-2, seed: 0 }
    }
}

/// A fitted mixture of per-regime linear-Gaussian SCMs on a known DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearGaussianMixture {
    dag: Dag,
    log_weights: Vec<f64>,
    /// `coef[c][i]` = `[b, w_1, ..., w_|Pa(i)|]`.
    coef: Vec<Vec<Vec<f64>>>,
    /// `var[[c, i]]`.
    var: Array2<f64>,
    /// Mean log-likelihood per training sample at the end of fitting.
    pub log_likelihood: f64,
    /// EM iterations of the kept restart.
    pub iterations: usize,
}

impl LinearGaussianMixture {
    /// Fits `clusters` regimes (at most `N + 1`, the single-target assumption's count) to the rows of `x`
    /// by EM.
    pub fn fit(dag: &Dag, x: &Array2<f64>, clusters: usize, config: &EmConfig) -> Result<Self> {
        check_input(dag, x, clusters)?;
        ensure(config.restarts >= 1 && config.var_floor > 0.0, || {
            "EM needs a restart and a positive variance floor".into()
        })?;
        // Restarts run in parallel, each from its own seed stream; the best is picked in restart
        // order, so the result does not depend on the number of threads.
        let fits = (0..config.restarts)
            .into_par_iter()
            .map(|restart| Self::fit_once(dag, x, clusters, config, restart))
            .collect::<Result<Vec<_>>>()?;
        let mut best: Option<Self> = None;
        for model in fits {
            if best.as_ref().is_none_or(|b| model.log_likelihood > b.log_likelihood) {
                best = Some(model);
            }
        }
        best.ok_or_else(|| RegimeVaeError::InvalidConfig("no restart ran".into()))
    }

    /// One restart: k-means labels from seed stream `restart`, then EM until the mean log-likelihood
    /// gains less than `config.tol` or `config.max_iter` iterations ran.
    fn fit_once(
        dag: &Dag,
        x: &Array2<f64>,
        clusters: usize,
        config: &EmConfig,
        restart: usize,
    ) -> Result<Self> {
        let mut rng = stream(config.seed, restart as u64);
        let labels = kmeans_labels(x, clusters, &mut rng);
        let mut model = Self::from_labels_floored(dag, x, &labels, clusters, config.var_floor)?;
        let mut previous = f64::NEG_INFINITY;
        for iter in 1..=config.max_iter {
            let (resp, ll) = model.e_step(x);
            model.m_step(x, &resp, config.var_floor)?;
            model.iterations = iter;
            model.log_likelihood = ll;
            if ll - previous < config.tol {
                break;
            }
            previous = ll;
        }
        model.log_likelihood = model.e_step(x).1;
        Ok(model)
    }

    /// The M-step on hard labels (`labels[r] < clusters`): per cluster, least-squares mechanisms and
    /// residual variances of its rows, with the default variance floor. No EM iteration is run.
    pub fn from_labels(
        dag: &Dag,
        x: &Array2<f64>,
        labels: &[usize],
        clusters: usize,
    ) -> Result<Self> {
        check_input(dag, x, clusters)?;
        Self::from_labels_floored(dag, x, labels, clusters, EmConfig::default().var_floor)
    }

    fn from_labels_floored(
        dag: &Dag,
        x: &Array2<f64>,
        labels: &[usize],
        clusters: usize,
        var_floor: f64,
    ) -> Result<Self> {
        let s = x.nrows();
        ensure(labels.len() == s && labels.iter().all(|&l| l < clusters), || {
            format!("{} labels in 0..{clusters} for {s} rows", labels.len())
        })?;
        let resp =
            Array2::from_shape_fn((s, clusters), |(r, c)| if labels[r] == c { 1.0 } else { 0.0 });
        let mut model = Self {
            dag: dag.clone(),
            log_weights: vec![-(clusters as f64).ln(); clusters],
            coef: vec![dag_zero_coef(dag); clusters],
            var: Array2::ones((clusters, dag.n())),
            log_likelihood: f64::NEG_INFINITY,
            iterations: 0,
        };
        model.m_step(x, &resp, var_floor)?;
        Ok(model)
    }

    /// `b_ci + w_ci . Pa(x_i)` at one row of data.
    fn node_mean(&self, c: usize, i: usize, row: &[f64]) -> f64 {
        linear_mean(&self.coef[c][i], self.dag.parents(i), row)
    }

    /// Log joint `log pi_c + log p(x | c)` for every row and cluster: `[rows, clusters]`.
    fn log_joint(&self, x: &Array2<f64>) -> Array2<f64> {
        let (s, n) = x.dim();
        let k = self.log_weights.len();
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        // `-log sqrt(2 pi v)` of every (cluster, node), once per call rather than once per row.
        let norm: Vec<f64> = self.var.iter().map(|v| -half_log_2pi - 0.5 * v.ln()).collect();
        let var: Vec<f64> = self.var.iter().copied().collect();
        let x = x.as_standard_layout();
        let data = x.as_slice().unwrap_or(&[]);
        let mut joint = Array2::zeros((s, k));
        for (row, mut out) in data.chunks_exact(n.max(1)).zip(joint.rows_mut()) {
            for (c, slot) in out.iter_mut().enumerate() {
                let mut sum = 0.0;
                let (norm, var) = (&norm[c * n..(c + 1) * n], &var[c * n..(c + 1) * n]);
                for (i, &value) in row.iter().enumerate() {
                    sum += norm[i] - 0.5 * (value - self.node_mean(c, i, row)).powi(2) / var[i];
                }
                *slot = self.log_weights[c] + sum;
            }
        }
        joint
    }

    /// Responsibilities and mean log-likelihood per row.
    fn e_step(&self, x: &Array2<f64>) -> (Array2<f64>, f64) {
        let mut joint = self.log_joint(x);
        let mut ll = 0.0;
        for mut row in joint.rows_mut() {
            let lse = logsumexp(row.as_slice().unwrap_or(&[]));
            ll += lse;
            row.mapv_inplace(|v| (v - lse).exp());
        }
        (joint, ll / x.nrows() as f64)
    }

    /// Closed-form M-step: weights, weighted least squares per (cluster, node), residual variances.
    fn m_step(&mut self, x: &Array2<f64>, resp: &Array2<f64>, var_floor: f64) -> Result<()> {
        let (s, n) = x.dim();
        let x = x.as_standard_layout();
        let data = x.as_slice().unwrap_or(&[]);
        let rows = || data.chunks_exact(n.max(1));
        // Responsibilities cluster by cluster, each a contiguous slice.
        let by_cluster = resp.t().as_standard_layout().into_owned();
        for (c, w_c) in by_cluster.rows().into_iter().enumerate() {
            let w_c = w_c.to_slice().unwrap_or(&[]);
            let weight = w_c.iter().fold(0.0, |sum, w| sum + w);
            self.log_weights[c] = (weight / s as f64).max(1e-12).ln();
            if weight < 1e-6 {
                continue; // An empty component keeps its mechanisms.
            }
            for i in 0..n {
                let pa = self.dag.parents(i);
                let d = pa.len() + 1;
                // The normal equations `A theta = b`, A row-major.
                let mut a = vec![0.0; d * d];
                let mut b = vec![0.0; d];
                let mut design = vec![0.0; d];
                design[0] = 1.0;
                for (row, &w) in rows().zip(w_c) {
                    if w < 1e-12 {
                        continue;
                    }
                    for (slot, &p) in design[1..].iter_mut().zip(pa) {
                        *slot = row[p];
                    }
                    for (u, (b_u, a_u)) in b.iter_mut().zip(a.chunks_exact_mut(d)).enumerate() {
                        let w_u = w * design[u];
                        *b_u += w_u * row[i];
                        for (a_uv, design_v) in a_u.iter_mut().zip(&design) {
                            *a_uv += w_u * design_v;
                        }
                    }
                }
                for u in 0..d {
                    a[u * d + u] += 1e-6 * weight;
                }
                let a = Array2::from_shape_vec((d, d), a)
                    .map_err(|e| RegimeVaeError::Shape(e.to_string()))?;
                let theta = solve(&a, &Array1::from(b))?.to_vec();
                let mut sq = 0.0;
                for (row, &w) in rows().zip(w_c) {
                    sq += w * (row[i] - linear_mean(&theta, pa, row)).powi(2);
                }
                self.coef[c][i] = theta;
                self.var[[c, i]] = (sq / weight).max(var_floor);
            }
        }
        Ok(())
    }
}

/// `theta[0] + sum_j theta[j + 1] row[parents[j]]`: a linear mechanism's mean at one row.
fn linear_mean(theta: &[f64], parents: &[usize], row: &[f64]) -> f64 {
    theta[0] + parents.iter().zip(&theta[1..]).map(|(&p, w)| w * row[p]).sum::<f64>()
}

/// Checks data against the DAG and the number of clusters against the single-target assumption.
fn check_input(dag: &Dag, x: &Array2<f64>, clusters: usize) -> Result<()> {
    check_columns(x, dag.n())?;
    check_finite(x)?;
    let allowed = dag.n() + 1;
    if clusters > allowed {
        return Err(RegimeVaeError::TooManyRegimes { requested: clusters, allowed });
    }
    ensure(x.nrows() >= clusters && clusters >= 1, || {
        format!("{} samples for {clusters} clusters", x.nrows())
    })
}

fn dag_zero_coef(dag: &Dag) -> Vec<Vec<f64>> {
    (0..dag.n()).map(|i| vec![0.0; dag.parents(i).len() + 1]).collect()
}

impl RegimeModel for LinearGaussianMixture {
    fn clusters(&self) -> usize {
        self.log_weights.len()
    }

    fn assign(&self, x: &Array2<f64>) -> Result<Vec<usize>> {
        check_columns(x, self.dag.n())?;
        Ok(row_argmax(&self.log_joint(x)))
    }

    fn mechanism_means(&self, x: &Array2<f64>) -> Result<Array3<f64>> {
        check_columns(x, self.dag.n())?;
        let x = x.as_standard_layout();
        Ok(Array3::from_shape_fn((self.clusters(), x.nrows(), x.ncols()), |(c, r, i)| {
            self.node_mean(c, i, x.row(r).to_slice().unwrap_or(&[]))
        }))
    }

    /// Exact for a linear model: propagate the means in topological order.
    fn regime_means(&self, _seed: u64) -> Result<Array2<f64>> {
        let n = self.dag.n();
        let mut out = Array2::zeros((self.clusters(), n));
        for c in 0..self.clusters() {
            for &i in self.dag.order() {
                let m = self.node_mean(c, i, out.row(c).to_slice().unwrap_or(&[]));
                out[[c, i]] = m;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use gumbel_core::rng::from_seed;

    use super::*;
    use crate::evaluate::evaluate;
    use crate::scm::{Scm, ScmConfig};

    #[test]
    fn em_recovers_well_separated_regimes() {
        let config = ScmConfig { nodes: 5, edge_prob: 0.4, ..ScmConfig::default() };
        let scm = Scm::random(&config, &mut from_seed(21)).expect("valid");
        let train = scm.sample(3000, &mut from_seed(22)).expect("valid");
        let test = scm.sample(1000, &mut from_seed(23)).expect("valid");
        let em =
            LinearGaussianMixture::fit(scm.dag(), &train.x, scm.regimes(), &EmConfig::default())
                .expect("fits");
        let eval = evaluate(&em, &scm, &test, 1).expect("evaluates");
        assert!(eval.ari > 0.95, "{eval:?}");
        assert!(eval.observational_identified, "{eval:?}");
        assert!(eval.targets_correct > 0.99, "{eval:?}");
        assert!(eval.recon_mse < 1.2 * eval.oracle_recon_mse, "{eval:?}");
        assert!(eval.mechanism_rmse < 0.3, "{eval:?}");
    }

    /// The restarts run in parallel: one thread and three give the same model, bit for bit.
    #[test]
    fn the_fit_does_not_depend_on_the_number_of_threads() {
        let config = ScmConfig { nodes: 4, edge_prob: 0.5, shift: 3.0, ..ScmConfig::default() };
        let scm = Scm::random(&config, &mut from_seed(5)).expect("valid");
        let train = scm.sample(600, &mut from_seed(6)).expect("valid");
        let fit = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| {
                let em = EmConfig { restarts: 4, seed: 7, ..EmConfig::default() };
                LinearGaussianMixture::fit(scm.dag(), &train.x, scm.regimes(), &em).expect("fits")
            })
        };
        assert_eq!(fit(1), fit(3));
    }

    #[test]
    fn bad_input_is_an_error() {
        let dag = Dag::from_parents(vec![vec![], vec![0]]).expect("valid");
        assert!(LinearGaussianMixture::fit(&dag, &Array2::zeros((10, 3)), 3, &EmConfig::default())
            .is_err());
        assert!(LinearGaussianMixture::fit(
            &dag,
            &Array2::from_elem((10, 2), f64::NAN),
            3,
            &EmConfig::default()
        )
        .is_err());
        assert!(LinearGaussianMixture::fit(&dag, &Array2::zeros((2, 2)), 3, &EmConfig::default())
            .is_err());
    }
}
