//! The regime VAE: its negative ELBO (seed 002, Section 3), training with beta warm-up, and its use as a
//! [`RegimeModel`] (posterior-argmax clusters and per-cluster mechanisms).
//!
//! `-ELBO(x) = E_q[-log p(x | z)] + KL(q(z | x) || p(z))` with `p(x | z) = prod_i N(x_i; mu_i(Pa(x_i), z), 1)`.
//! `q(z | x)` is a softmax over the `N + 1` regimes (for the per-mechanism latent: the codes allowed by
//! the single-target assumption). The KL is computed from log-probabilities (`sum_k q_k (log q_k - log
//! p_k)` with `log q` a log-softmax), so it is finite even when some `q_k` underflow to 0.

use std::time::Instant;

use gumbel_core::rng::stream;
use ndarray::{Array2, Array3, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::dag::Dag;
use crate::em::LinearGaussianMixture;
use crate::error::{ensure, RegimeVaeError, Result};
use crate::evaluate::{check_columns, check_finite, row_argmax, RegimeModel};
use crate::identify::identify;
use crate::kmeans::kmeans_labels;
use crate::vae::config::{Estimator, LatentKind, Prior, VaeConfig, WarmStart};
use crate::vae::net::{Decoder, Encoder};
use crate::vae::tensor::{from_array, to_array};

const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

/// What training measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Exact ELBO per sample on the training data of each restart (the kept one is the largest).
    pub restart_elbos: Vec<f64>,
    /// Index of the kept restart.
    pub kept: usize,
    /// Wall-clock seconds of all restarts.
    pub seconds: f64,
    /// Optimisation steps per second.
    pub steps_per_second: f64,
}

/// The two terms of the negative ELBO, per sample.
#[derive(Debug)]
pub struct ElboTerms {
    /// `E_q[-log p(x | z)]` per sample, `[batch]`.
    pub nll: Tensor,
    /// `KL(q(z | x) || p(z))` per sample, `[batch]`.
    pub kl: Tensor,
}

/// A trained regime VAE.
#[derive(Debug)]
pub struct RegimeVae {
    config: VaeConfig,
    dag: Dag,
    _store: nn::VarStore,
    encoder: Encoder,
    decoder: Decoder,
    mean: Tensor,
    scale: Tensor,
    /// Training report.
    pub report: TrainReport,
}

impl RegimeVae {
    /// Builds an untrained model for `dag`, standardising with the per-node mean and scale of `x`.
    pub fn new(dag: &Dag, x: &Array2<f64>, config: &VaeConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let n = dag.n();
        check_columns(x, n)?;
        check_finite(x)?;
        ensure(x.nrows() >= 2, || format!("{} rows: training needs at least 2", x.nrows()))?;
        let mean =
            x.mean_axis(Axis(0)).ok_or_else(|| RegimeVaeError::Shape("empty data".into()))?;
        let scale = x.std_axis(Axis(0), 0.0).mapv(|s| s.max(1e-3));
        let mut rng = stream(seed, 0);
        let store = nn::VarStore::new(Device::Cpu);
        let root = store.root();
        let encoder =
            Encoder::new(&(&root / "encoder"), n, config.encoder_hidden, n + 1, &mut rng)?;
        let decoder = Decoder::new(
            &(&root / "decoder"),
            dag,
            config.latent,
            config.decoder_hidden,
            &mut rng,
        )?;
        Ok(Self {
            config: *config,
            dag: dag.clone(),
            _store: store,
            encoder,
            decoder,
            mean: from_array(&mean.insert_axis(Axis(0)))?,
            scale: from_array(&scale.insert_axis(Axis(0)))?,
            report: TrainReport {
                restart_elbos: Vec::new(),
                kept: 0,
                seconds: 0.0,
                steps_per_second: 0.0,
            },
        })
    }

    /// Trains `config.restarts` models on the rows of `x` and keeps the one with the best exact training ELBO.
    pub fn fit(dag: &Dag, x: &Array2<f64>, config: &VaeConfig) -> Result<Self> {
        config.validate()?;
        let start = Instant::now();
        let mut best: Option<(f64, Self)> = None;
        let mut elbos = Vec::with_capacity(config.restarts);
        for restart in 0..config.restarts {
            let seed =
                gumbel_core::rng::splitmix64(config.seed ^ (restart as u64).wrapping_mul(0x9E37));
            let mut model = Self::new(dag, x, config, seed)?;
            model.train(x, seed)?;
            let elbo = model.elbo(x)?;
            elbos.push(elbo);
            if best.as_ref().is_none_or(|(b, _)| elbo > *b) {
                best = Some((elbo, model));
            }
        }
        let (_, mut model) =
            best.ok_or_else(|| RegimeVaeError::InvalidConfig("no restart ran".into()))?;
        let seconds = start.elapsed().as_secs_f64();
        model.report = TrainReport {
            kept: elbos.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(k, _)| k),
            restart_elbos: elbos,
            seconds,
            steps_per_second: (config.steps * config.restarts) as f64 / seconds.max(1e-9),
        };
        Ok(model)
    }

    /// Adam on the negative ELBO with the configured estimator, temperature and beta schedules.
    fn train(&mut self, x: &Array2<f64>, seed: u64) -> Result<()> {
        let mut rng = stream(seed, 1);
        let data = from_array(x)?;
        let mut opt = nn::Adam::default().build(&self._store, self.config.learning_rate)?;
        let rows = x.nrows() as i64;
        if self.config.kmeans_init_steps > 0 {
            self.warm_start(x, &data, &mut opt, &mut rng)?;
        }
        for step in 0..self.config.steps {
            let idx: Vec<i64> =
                (0..self.config.batch_size).map(|_| rng.random_range(0..rows)).collect();
            let batch = data.f_index_select(0, &Tensor::f_from_slice(&idx)?)?;
            let terms =
                self.terms(&batch, self.config.estimator, self.config.temperature(step), &mut rng)?;
            let loss = terms
                .nll
                .f_add(&terms.kl.f_mul_scalar(self.config.beta(step))?)?
                .f_mean(Kind::Float)?;
            if step % 100 == 0 {
                let value = loss.f_double_value(&[])?;
                if !value.is_finite() {
                    return Err(RegimeVaeError::NonFinite(format!("loss {value} at step {step}")));
                }
            }
            opt.zero_grad();
            loss.f_backward()?;
            opt.step();
        }
        Ok(())
    }

    /// Fits the encoder and decoder to k-means labels (see [`VaeConfig::kmeans_init_steps`]), mapped to
    /// regimes by the identification rule for the per-mechanism latent.
    fn warm_start<R: Rng + ?Sized>(
        &self,
        x: &Array2<f64>,
        data: &Tensor,
        opt: &mut nn::Optimizer,
        rng: &mut R,
    ) -> Result<()> {
        let k = self.dag.n() + 1;
        let rows = x.nrows() as i64;
        let labels = match self.config.warm_start {
            WarmStart::KMeans => {
                let clusters = kmeans_labels(x, k, rng);
                match self.config.latent {
                    LatentKind::Categorical => clusters,
                    LatentKind::PerMechanism => regimes_of_clusters(&self.dag, x, &clusters)?,
                }
            }
            WarmStart::Residuals => {
                let residuals = self.observational_residuals(data, opt, rng)?;
                let clusters = kmeans_labels(&residuals, k, rng);
                match self.config.latent {
                    LatentKind::Categorical => clusters,
                    LatentKind::PerMechanism => {
                        regimes_of_residual_clusters(&residuals, &clusters)?
                    }
                }
            }
        };
        let labels: Vec<i64> = labels.into_iter().map(|l| l as i64).collect();
        let labels = Tensor::f_from_slice(&labels)?;
        for _ in 0..self.config.kmeans_init_steps {
            let idx: Vec<i64> =
                (0..self.config.batch_size).map(|_| rng.random_range(0..rows)).collect();
            let idx = Tensor::f_from_slice(&idx)?;
            let batch = data.f_index_select(0, &idx)?;
            let target = labels.f_index_select(0, &idx)?;
            let logits = self.encoder.logits(&self.standardise(&batch)?)?;
            let ce = logits
                .f_log_softmax(1, Kind::Float)?
                .f_gather(1, &target.f_unsqueeze(1)?, false)?
                .f_neg()?
                .f_mean(Kind::Float)?;
            let code = self.decoder_code(&target.f_one_hot(k as i64)?.f_to_kind(Kind::Float)?)?;
            let nll =
                Self::gaussian_nll(&batch, &self.decode(&batch, &code)?)?.f_mean(Kind::Float)?;
            let loss = ce.f_add(&nll)?;
            opt.zero_grad();
            loss.f_backward()?;
            opt.step();
        }
        Ok(())
    }

    /// Fits every node's decoder under the observational code (`z = 0`) to all the rows of `data` for
    /// `kmeans_init_steps` steps and returns the raw-scale residuals `x - mu(Pa(x), 0)`, `[rows, N]`.
    fn observational_residuals<R: Rng + ?Sized>(
        &self,
        data: &Tensor,
        opt: &mut nn::Optimizer,
        rng: &mut R,
    ) -> Result<Array2<f64>> {
        let rows = data.size()[0];
        let width = Decoder::code_width(self.config.latent, self.dag.n()) as i64;
        let cpu = (Kind::Float, Device::Cpu);
        let zeros = Tensor::f_zeros([self.config.batch_size as i64, width], cpu)?;
        for _ in 0..self.config.kmeans_init_steps {
            let idx: Vec<i64> =
                (0..self.config.batch_size).map(|_| rng.random_range(0..rows)).collect();
            let batch = data.f_index_select(0, &Tensor::f_from_slice(&idx)?)?;
            let loss =
                Self::gaussian_nll(&batch, &self.decode(&batch, &zeros)?)?.f_mean(Kind::Float)?;
            opt.zero_grad();
            loss.f_backward()?;
            opt.step();
        }
        let _guard = tch::no_grad_guard();
        let fitted = self.decode(data, &Tensor::f_zeros([rows, width], cpu)?)?;
        to_array(&data.f_sub(&fitted)?)
    }

    fn standardise(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_sub(&self.mean)?.f_div(&self.scale)?)
    }

    /// Raw-scale conditional means `[batch, N]` of raw data `x` under codes `[batch, C]`.
    fn decode(&self, x: &Tensor, code: &Tensor) -> Result<Tensor> {
        let out = self.decoder.means(&self.standardise(x)?, code)?;
        Ok(out.f_mul(&self.scale)?.f_add(&self.mean)?)
    }

    /// `-log N(x; mu, 1)` summed over nodes, `[batch]`.
    fn gaussian_nll(x: &Tensor, mu: &Tensor) -> Result<Tensor> {
        let n = x.size()[1] as f64;
        Ok(x.f_sub(mu)?
            .f_square()?
            .f_sum_dim_intlist(1, false, Kind::Float)?
            .f_mul_scalar(0.5)?
            .f_add_scalar(n * HALF_LOG_2PI)?)
    }

    /// Log prior probabilities of the `N + 1` regimes.
    fn log_prior(&self) -> Vec<f64> {
        let n = self.dag.n();
        match self.config.prior {
            Prior::Uniform => vec![-((n + 1) as f64).ln(); n + 1],
            Prior::Informative { observational } => {
                let mut p = vec![((1.0 - observational) / n as f64).ln(); n + 1];
                p[0] = observational.ln();
                p
            }
        }
    }

    /// The decoder's code `[batch, C]` for (relaxed) one-hot regimes `[batch, N + 1]`: the regime itself for
    /// the categorical latent; for the per-mechanism latent the booleans `z_j` = the weight of regime
    /// `j + 1` (regime 0 is `z = 0`).
    fn decoder_code(&self, regime: &Tensor) -> Result<Tensor> {
        Ok(match self.config.latent {
            LatentKind::Categorical => regime.shallow_clone(),
            LatentKind::PerMechanism => regime.f_narrow(1, 1, self.dag.n() as i64)?,
        })
    }

    /// The ELBO terms of a batch of raw data `x` `[batch, N]`; `rng` draws the Gumbel noise of the
    /// straight-through estimator at temperature `tau`.
    pub fn terms<R: Rng + ?Sized>(
        &self,
        x: &Tensor,
        estimator: Estimator,
        tau: f64,
        rng: &mut R,
    ) -> Result<ElboTerms> {
        let batch = x.size()[0];
        let logits = self.encoder.logits(&self.standardise(x)?)?;
        let width = logits.size()[1];
        let log_q = logits.f_log_softmax(1, Kind::Float)?;
        let log_p =
            Tensor::f_from_slice(&self.log_prior().iter().map(|&v| v as f32).collect::<Vec<_>>())?;
        let kl = log_q.f_exp()?.f_mul(&log_q.f_sub(&log_p)?)?.f_sum_dim_intlist(
            1,
            false,
            Kind::Float,
        )?;
        let nll = match estimator {
            Estimator::StraightThrough => {
                let noise = gumbel_noise(&[batch, width], rng)?;
                let soft = logits.f_add(&noise)?.f_div_scalar(tau)?.f_softmax(1, Kind::Float)?;
                let hard = soft.f_argmax(1, false)?.f_one_hot(width)?.f_to_kind(Kind::Float)?;
                let z = hard.f_add(&soft)?.f_sub(&soft.f_detach()?)?;
                Self::gaussian_nll(x, &self.decode(x, &self.decoder_code(&z)?)?)?
            }
            Estimator::Exact => self.nll_per_regime(x)?.f_mul(&log_q.f_exp()?)?.f_sum_dim_intlist(
                1,
                false,
                Kind::Float,
            )?,
        };
        Ok(ElboTerms { nll, kl })
    }

    /// The code `[rows, C]` of cluster `c` (0 observational, `j + 1` = node `j` intervened).
    fn cluster_code(&self, c: usize, rows: i64) -> Result<Tensor> {
        let k = self.dag.n() as i64 + 1;
        let regime = Tensor::f_from_slice(&[c as i64])?
            .f_one_hot(k)?
            .f_to_kind(Kind::Float)?
            .f_expand([rows, k], false)?
            .f_contiguous()?;
        self.decoder_code(&regime)
    }

    /// `-log p(x | regime r)` for every regime: `[batch, N + 1]`.
    ///
    /// Per-mechanism latent: two decoder passes, all nodes under `z_i = 0` (`sq0`) and `z_i = 1` (`sq1`);
    /// the code `e_j` changes node `j`'s term only, so column `j + 1` is column 0 plus `(sq1_j - sq0_j) / 2`.
    /// Categorical latent: one pass per regime.
    fn nll_per_regime(&self, x: &Tensor) -> Result<Tensor> {
        let batch = x.size()[0];
        let n = self.dag.n() as i64;
        match self.config.latent {
            LatentKind::PerMechanism => {
                let cpu = (Kind::Float, Device::Cpu);
                let sq0 =
                    x.f_sub(&self.decode(x, &Tensor::f_zeros([batch, n], cpu)?)?)?.f_square()?;
                let sq1 =
                    x.f_sub(&self.decode(x, &Tensor::f_ones([batch, n], cpu)?)?)?.f_square()?;
                let base = sq0
                    .f_sum_dim_intlist(1, true, Kind::Float)?
                    .f_mul_scalar(0.5)?
                    .f_add_scalar(n as f64 * HALF_LOG_2PI)?;
                let change = sq1.f_sub(&sq0)?.f_mul_scalar(0.5)?;
                Ok(Tensor::f_cat(&[Tensor::f_zeros([batch, 1], cpu)?, change], 1)?.f_add(&base)?)
            }
            LatentKind::Categorical => {
                let mut cols = Vec::with_capacity(n as usize + 1);
                for c in 0..=n as usize {
                    cols.push(Self::gaussian_nll(
                        x,
                        &self.decode(x, &self.cluster_code(c, batch)?)?,
                    )?);
                }
                Ok(Tensor::f_stack(&cols, 1)?)
            }
        }
    }

    /// Exact ELBO per sample (mean over the rows of `x`), evaluated without gradients.
    pub fn elbo(&self, x: &Array2<f64>) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let data = from_array(x)?;
        let mut rng = stream(0, 0);
        let terms = self.terms(&data, Estimator::Exact, 1.0, &mut rng)?;
        let value = terms.nll.f_add(&terms.kl)?.f_mean(Kind::Float)?.f_double_value(&[])?;
        Ok(-value)
    }

    /// Log posterior `log q(r | x)` of each regime, `[rows, N + 1]`.
    pub fn regime_log_posterior(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        check_columns(x, self.dag.n())?;
        check_finite(x)?;
        let _guard = tch::no_grad_guard();
        let data = from_array(x)?;
        let logits = self.encoder.logits(&self.standardise(&data)?)?;
        to_array(&logits.f_log_softmax(1, Kind::Float)?)
    }

    /// Log-likelihood `log p(x | r)` of each row under each regime's code, `[rows, N + 1]` (the decoder's
    /// side: with the prior it gives the learned model's exact posterior `p(r | x)`).
    pub fn regime_log_likelihood(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        check_columns(x, self.dag.n())?;
        check_finite(x)?;
        let _guard = tch::no_grad_guard();
        to_array(&self.nll_per_regime(&from_array(x)?)?.f_neg()?)
    }

    /// The known DAG.
    pub fn dag(&self) -> &Dag {
        &self.dag
    }

    /// The settings.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Raw-scale means `[rows, N]` of every node given the parents in `x` under the code of cluster `c`.
    pub(crate) fn cluster_means(&self, x: &Array2<f64>, c: usize) -> Result<Array2<f64>> {
        let _guard = tch::no_grad_guard();
        let data = from_array(x)?;
        to_array(&self.decode(&data, &self.cluster_code(c, x.nrows() as i64)?)?)
    }

    /// Raw-scale means under an explicit code `[rows, C]` given as an array.
    pub(crate) fn code_means(&self, x: &Array2<f64>, code: &Array2<f64>) -> Result<Array2<f64>> {
        let _guard = tch::no_grad_guard();
        to_array(&self.decode(&from_array(x)?, &from_array(code)?)?)
    }
}

/// The regime (0 observational, `j + 1` node `j` intervened) of each of the `N + 1` clusters in `labels`:
/// per-cluster linear-Gaussian mechanisms are fit by least squares (one M-step of the EM reference) and the
/// identification rule ([`identify`]) names the observational cluster and each other cluster's target.
/// Returns the regime of every row.
fn regimes_of_clusters(dag: &Dag, x: &Array2<f64>, labels: &[usize]) -> Result<Vec<usize>> {
    let k = dag.n() + 1;
    let fitted = LinearGaussianMixture::from_labels(dag, x, labels, k)?;
    let id = identify(&fitted.mechanism_means(x)?, labels)?;
    let regime: Vec<usize> = id.targets.iter().map(|t| t.map_or(0, |j| j + 1)).collect();
    Ok(labels.iter().map(|&c| regime[c]).collect())
}

/// The regime of every row from k-means `labels` of observational residuals (see
/// [`WarmStart::Residuals`]): the identification rule ([`identify`]) applied to each cluster's mean
/// residual, which is the cluster's constant offset of every mechanism from the observational fit.
fn regimes_of_residual_clusters(residuals: &Array2<f64>, labels: &[usize]) -> Result<Vec<usize>> {
    let (k, n) = (residuals.ncols() + 1, residuals.ncols());
    let mut centroids = Array2::<f64>::zeros((k, n));
    let mut counts = vec![0.0_f64; k];
    for (row, &c) in residuals.rows().into_iter().zip(labels) {
        centroids.row_mut(c).scaled_add(1.0, &row);
        counts[c] += 1.0;
    }
    for (c, &count) in counts.iter().enumerate() {
        centroids.row_mut(c).mapv_inplace(|v| v / count.max(1.0));
    }
    // One pseudo-sample per cluster, at which cluster c's mechanisms are offset by its centroid.
    let means = Array3::from_shape_fn((k, k, n), |(c, _, i)| centroids[[c, i]]);
    let id = identify(&means, &(0..k).collect::<Vec<_>>())?;
    let regime: Vec<usize> = id.targets.iter().map(|t| t.map_or(0, |j| j + 1)).collect();
    Ok(labels.iter().map(|&c| regime[c]).collect())
}

/// Standard Gumbel noise `-ln(-ln u)` of `shape` from our own generator, with `u` uniform on the OPEN
/// interval (0, 1) in double precision, so that no draw is infinite.
fn gumbel_noise<R: Rng + ?Sized>(shape: &[i64], rng: &mut R) -> Result<Tensor> {
    let count: i64 = shape.iter().product();
    let data: Vec<f32> = (0..count)
        .map(|_| {
            let u: f64 = rng.sample(rand::distr::Open01);
            -(-u.ln()).ln() as f32
        })
        .collect();
    Ok(Tensor::f_from_slice(&data)?.f_view(shape)?)
}

impl RegimeModel for RegimeVae {
    fn clusters(&self) -> usize {
        self.dag.n() + 1
    }

    fn assign(&self, x: &Array2<f64>) -> Result<Vec<usize>> {
        check_columns(x, self.dag.n())?;
        Ok(row_argmax(&self.regime_log_posterior(x)?))
    }

    fn mechanism_means(&self, x: &Array2<f64>) -> Result<Array3<f64>> {
        check_columns(x, self.dag.n())?;
        let k = self.clusters();
        let mut out = Array3::zeros((k, x.nrows(), x.ncols()));
        for c in 0..k {
            out.index_axis_mut(Axis(0), c).assign(&self.cluster_means(x, c)?);
        }
        Ok(out)
    }

    /// Mean of 2000 ancestral samples per cluster.
    fn regime_means(&self, seed: u64) -> Result<Array2<f64>> {
        let k = self.clusters();
        let mut out = Array2::zeros((k, self.dag.n()));
        for c in 0..k {
            let spec = crate::vae::sample::Intervention::cluster(c);
            let samples =
                self.sample(&spec, 2000, gumbel_core::rng::splitmix64(seed ^ c as u64))?;
            if let Some(m) = samples.mean_axis(Axis(0)) {
                out.row_mut(c).assign(&m);
            }
        }
        Ok(out)
    }
}
