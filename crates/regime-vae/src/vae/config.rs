//! Settings of the regime VAE (seed 002, Section 3), validated once.

use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};

/// The form of the discrete latent. Both have a posterior `q(r | x)` over the same `N + 1` regimes
/// (`r = 0` observational, `r = j + 1` node `j` intervened); they differ in what the decoder sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatentKind {
    /// One categorical over the `N + 1` regimes; every node's decoder sees the whole one-hot code (what the
    /// public code does). Cluster labels are arbitrary: nothing ties code `r` to node `r - 1`.
    Categorical,
    /// One boolean `z_i` per mechanism (intervened or not); node `i`'s decoder sees only `z_i` (the seed's
    /// Section 3, Figure 1). Under the single-target assumption (Section 2.1) only `N + 1` of the `2^N`
    /// codes are allowed: `z = 0` (observational) and `z = e_j` (only mechanism `j` intervened), so
    /// `q(z | x)` is a softmax over these `N + 1` codes (the seed's `z = one-hot(z~)`, `z~` multinoulli),
    /// and regime `j + 1` names its target node `j`.
    PerMechanism,
}

/// The prior `p(z)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Prior {
    /// Uniform over the `N + 1` regimes (the seed's Section 3).
    Uniform,
    /// The regime frequencies of the data: `observational` for no intervention, the rest uniform (the public code).
    Informative {
        /// Prior probability of the observational regime.
        observational: f64,
    },
}

/// How the expected log-likelihood `E_q[log p(x | z)]` is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Estimator {
    /// One straight-through Gumbel-softmax sample per data point (Jang et al. 2017), as in the seed. Its
    /// gradient is biased (see docs/regime-vae.md for the measured cost).
    StraightThrough,
    /// The exact expectation over the `N + 1` allowed codes. For the per-mechanism latent it costs two
    /// decoder passes (every node under `z_i = 0` and `z_i = 1`): code `e_j` differs from `0` in node `j`
    /// only, so `-log p(x | e_j) = -log p(x | 0) + (sq1_j - sq0_j) / 2`. The categorical latent needs
    /// `N + 1` passes.
    Exact,
}

/// What the warm start clusters before the encoder and decoder are fit to its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WarmStart {
    /// k-means on the data `x` itself.
    KMeans,
    /// k-means on the residuals `x - mu(Pa(x), z = 0)` of one observational mechanism per node, fit by the
    /// decoder on all the data first. A mean shift on node `j` moves only node `j`'s residual (the
    /// parents are observed), so regime `j + 1` sits near `shift * e_j` and the observational one near 0,
    /// each with unit-variance noise: the spherical, equal-variance clusters k-means finds. In `x` itself
    /// a shift also moves the descendants, non-linearly for MLP mechanisms, and wide observational
    /// clusters get split instead of the small intervened ones being separated.
    Residuals,
}

/// Settings of the model and its training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Latent form.
    pub latent: LatentKind,
    /// Prior over the latent.
    pub prior: Prior,
    /// Estimator of the expected log-likelihood.
    pub estimator: Estimator,
    /// Width of the encoder's two hidden layers (128 in the reference).
    pub encoder_hidden: usize,
    /// Width of each node decoder's two hidden layers (32 in the reference).
    pub decoder_hidden: usize,
    /// Gumbel-softmax temperature at the start of training.
    pub temperature_start: f64,
    /// Temperature at the end (annealed geometrically).
    pub temperature_end: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Steps with `beta = 0` (no KL) at the start.
    pub beta_warmup_steps: usize,
    /// Steps over which `beta` then rises linearly to 1.
    pub beta_ramp_steps: usize,
    /// Warm start (0 = none): this many steps fit the encoder (cross-entropy) and the decoder (likelihood)
    /// to k-means labels before the ELBO training, as clustering VAEs are commonly initialised. For the
    /// per-mechanism latent the k-means clusters are first mapped to codes by the identification rule
    /// ([`crate::identify`]) applied to per-cluster linear regressions: the cluster it calls observational
    /// gets `z = 0`, the cluster it gives target `j` gets `z = e_j`.
    pub kmeans_init_steps: usize,
    /// What the warm start clusters (with [`WarmStart::Residuals`], `kmeans_init_steps` more steps fit the
    /// observational decoder first).
    pub warm_start: WarmStart,
    /// Independent trainings from different seeds; the one with the best exact training ELBO is kept.
    pub restarts: usize,
    /// Seed of initialisation, mini-batches and Gumbel noise.
    pub seed: u64,
    /// libtorch intra-op threads.
    pub threads: usize,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            latent: LatentKind::PerMechanism,
            prior: Prior::Uniform,
            estimator: Estimator::Exact,
            encoder_hidden: 128,
            decoder_hidden: 32,
            temperature_start: 0.5,
            temperature_end: 0.5,
            steps: 1000,
            batch_size: 256,
            learning_rate: 3e-3,
            beta_warmup_steps: 200,
            beta_ramp_steps: 400,
            kmeans_init_steps: 300,
            warm_start: WarmStart::Residuals,
            restarts: 1,
            seed: 0,
            threads: 1,
        }
    }
}

impl VaeConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        ensure(self.encoder_hidden >= 1 && self.decoder_hidden >= 1, || {
            "hidden widths must be >= 1".into()
        })?;
        ensure(self.temperature_start > 0.0 && self.temperature_end > 0.0, || {
            "temperatures must be > 0".into()
        })?;
        ensure(self.temperature_start.is_finite() && self.temperature_end.is_finite(), || {
            "temperatures must be finite".into()
        })?;
        ensure(self.batch_size >= 1 && self.restarts >= 1 && self.threads >= 1, || {
            "batch, restarts and threads must be >= 1".into()
        })?;
        ensure(self.learning_rate > 0.0 && self.learning_rate.is_finite(), || {
            "learning rate must be > 0".into()
        })?;
        if let Prior::Informative { observational } = self.prior {
            ensure(observational > 0.0 && observational < 1.0, || {
                format!("prior mass {observational} not in (0, 1)")
            })?;
        }
        Ok(())
    }

    /// Temperature at `step`: geometric from start to end.
    pub fn temperature(&self, step: usize) -> f64 {
        let t = step as f64 / self.steps.max(1) as f64;
        self.temperature_start * (self.temperature_end / self.temperature_start).powf(t.min(1.0))
    }

    /// KL weight at `step`: 0 during the warm-up, then linear to 1.
    pub fn beta(&self, step: usize) -> f64 {
        if step < self.beta_warmup_steps {
            0.0
        } else if self.beta_ramp_steps == 0 {
            1.0
        } else {
            ((step - self.beta_warmup_steps) as f64 / self.beta_ramp_steps as f64).min(1.0)
        }
    }
}
