//! A gadget with its parameters on a device: construction from a [`GadgetConfig`], and the batched
//! hard and relaxed samplers that training, evaluation and the CLI share.
//!
//! A stacked gadget ([`Gadget::stacked`]) holds R gadgets of one configuration in one set of
//! variables, for training them together (`crate::stack`); [`Gadget::unstack`] parts them into
//! ordinary gadgets, which everything else takes.

use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;
use tch::{nn, Device, Kind, Tensor};

use crate::batch::{log_probs_tensor, PairBatch};
use crate::config::{GadgetConfig, GadgetKind};
use crate::error::{GadgetError, Result};
use crate::gadget1::Gadget1;
use crate::gadget2::Gadget2;
use crate::noise::NoiseSource;

/// Upper bound on latent x outcome x sample cells of one sampling chunk (memory of the noise tensor).
const CHUNK_CELLS: usize = 1 << 22;

/// The parameters of either gadget.
#[derive(Debug)]
enum Body {
    One(Gadget1),
    Two(Gadget2),
}

/// A gadget: its configuration, its variables (a libtorch `VarStore`) and its device.
#[derive(Debug)]
pub struct Gadget {
    config: GadgetConfig,
    store: nn::VarStore,
    body: Body,
    /// R: 1, or the number of gadgets of a stack.
    runs: usize,
}

impl Gadget {
    /// A fresh gadget on `device`, its weights drawn from `seed` (lecun-normal kernels, zero biases):
    /// the same seed gives the same weights on every device.
    pub fn new(config: GadgetConfig, device: Device, seed: u64) -> Result<Self> {
        Self::stacked(config, device, &[seed])
    }

    /// R = `seeds.len()` gadgets of `config` as one stack, gadget r with the weights
    /// `Gadget::new(config, device, seeds[r])` has (Gadget 2's learned prior one row per run). An
    /// empty `seeds` is an error.
    pub fn stacked(config: GadgetConfig, device: Device, seeds: &[u64]) -> Result<Self> {
        config.validate()?;
        if seeds.is_empty() {
            return Err(GadgetError::InvalidConfig("a stack needs at least one seed".into()));
        }
        let store = nn::VarStore::new(device);
        let mut rngs: Vec<_> = seeds.iter().map(|&seed| from_seed(seed)).collect();
        let root = store.root();
        let body = match config.kind {
            GadgetKind::Gadget1 => Body::One(Gadget1::new(&root, &config, &mut rngs)?),
            GadgetKind::Gadget2 => Body::Two(Gadget2::new(&root, &config, &mut rngs)?),
        };
        Ok(Self { config, store, body, runs: seeds.len() })
    }

    /// R, the gadgets in this one: 1 unless it is a stack.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// The R gadgets of a stack as ordinary gadgets on the same device, weights copied (a copy of
    /// an ordinary gadget for R = 1).
    pub fn unstack(&self) -> Result<Vec<Gadget>> {
        let stacked = self.store.variables();
        (0..self.runs)
            .map(|run| {
                let single = Gadget::new(self.config.clone(), self.device(), 0)?;
                tch::no_grad(|| -> Result<()> {
                    for (name, mut variable) in single.store.variables() {
                        let source = &stacked[&name];
                        let value = if source.dim() == variable.dim() {
                            source.shallow_clone()
                        } else {
                            source.f_get(run as i64)?
                        };
                        variable.f_copy_(&value)?;
                    }
                    Ok(())
                })?;
                Ok(single)
            })
            .collect()
    }

    /// The architecture.
    pub fn config(&self) -> &GadgetConfig {
        &self.config
    }

    /// K.
    pub fn outcomes(&self) -> usize {
        self.config.outcomes
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.store.device()
    }

    /// The variables (for the optimiser and checkpoints).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.store
    }

    /// Sets the parameters that make the gadget the Gumbel-max mechanism (Sections 5.1 and 5.2): for
    /// Gadget 1 pi(x = k, z = k | p) = p_k, for Gadget 2 pi(x | z, p) = p for every z.
    pub fn set_gumbel_max_parameters(&mut self) {
        match &mut self.body {
            Body::One(g) => g.set_gumbel_max_parameters(),
            Body::Two(g) => g.set_gumbel_max_parameters(),
        }
    }

    /// The outcome marginal the gadget samples from for `p`, computed in f64 from the network's output:
    /// equal to p by construction (exact marginals for any logits).
    pub fn marginal(&self, p: &Categorical) -> Result<Vec<f64>> {
        self.check_single()?;
        self.check_len("p", p.len())?;
        let log_p = log_probs_tensor(p, Kind::Double, self.device());
        let marginal = tch::no_grad(|| match &self.body {
            Body::One(g) => g.marginal(&log_p),
            Body::Two(g) => g.marginal(&log_p),
        });
        to_vec(&marginal)
    }

    /// The logits the gadget's Gumbel-max runs on for `p`, one row per latent value z, computed in
    /// f64 from the network's f32 output: Gadget 1's log pi(x, z | p) (`K` rows z of `K` outcomes x,
    /// Eq. 10), Gadget 2's log pi(x | z, p) (`|Z|` rows, after the Sinkhorn sweeps and the correction
    /// of Eq. 14). `-inf` where p is zero.
    pub fn logits(&self, p: &Categorical) -> Result<Vec<Vec<f64>>> {
        self.check_single()?;
        self.check_len("p", p.len())?;
        let log_p = log_probs_tensor(p, Kind::Double, self.device());
        let logits = tch::no_grad(|| match &self.body {
            Body::One(g) => g.log_joint(&log_p),
            Body::Two(g) => g.log_conditionals(&log_p),
        });
        Ok(to_vec(&logits)?.chunks(self.outcomes()).map(<[f64]>::to_vec).collect())
    }

    /// `[B, n]` hard (argmax) or `[B, n, K]` relaxed (Gumbel-softmax at the configured temperature)
    /// samples of (x, y) for every pair of `batch`, with common random numbers for p and q.
    ///
    /// For a stack, row i of `batch` belongs to gadget i mod R, and so does row i of `noise`
    /// ([`crate::noise::StepNoise`]).
    pub fn sample_batch(
        &self,
        batch: &PairBatch,
        n: usize,
        noise: &mut dyn NoiseSource,
        relaxed: bool,
    ) -> (Tensor, Tensor) {
        let tau = relaxed.then_some(self.config.temperature);
        match &self.body {
            Body::One(g) => g.pairs(batch, n as i64, noise, tau),
            Body::Two(g) => g.pairs(batch, n as i64, noise, tau),
        }
    }

    /// Counterfactual y for every observation `x_obs` `[B, n]` of `batch`'s p: `[B, n]` hard indices,
    /// or `[B, n, K]` relaxed (Gadget 2: the posterior mixture over z of Gumbel-softmax samples).
    /// Rows of a stack as in [`Gadget::sample_batch`].
    pub fn counterfactual_batch(
        &self,
        batch: &PairBatch,
        x_obs: &Tensor,
        noise: &mut dyn NoiseSource,
        relaxed: bool,
    ) -> Tensor {
        let tau = self.config.temperature;
        match (&self.body, relaxed) {
            (Body::One(g), false) => g.counterfactuals(batch, x_obs, noise, None),
            (Body::One(g), true) => g.counterfactuals(batch, x_obs, noise, Some(tau)),
            (Body::Two(g), false) => g.counterfactuals(batch, x_obs, noise),
            (Body::Two(g), true) => g.relaxed_counterfactuals(batch, x_obs, noise, tau),
        }
    }

    /// `n` hard pairs (x, y) for one pair of distributions, from `seed`.
    pub fn sample_pairs(
        &self,
        p: &Categorical,
        q: &Categorical,
        n: usize,
        seed: u64,
    ) -> Result<Vec<(usize, usize)>> {
        let batch = self.single(p, q)?;
        let mut rng = from_seed(seed);
        let mut out = Vec::with_capacity(n);
        for size in self.chunks(n) {
            let (x, y) = tch::no_grad(|| self.sample_batch(&batch, size, &mut rng, false));
            out.extend(to_indices(&x)?.into_iter().zip(to_indices(&y)?));
        }
        Ok(out)
    }

    /// `n` counterfactual outcomes y given that p produced `observed`, from `seed`.
    pub fn sample_counterfactuals(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        n: usize,
        seed: u64,
    ) -> Result<Vec<usize>> {
        let batch = self.single(p, q)?;
        p.check_observation(observed)?;
        let mut rng = from_seed(seed);
        let mut out = Vec::with_capacity(n);
        for size in self.chunks(n) {
            let x_obs =
                Tensor::full([1, size as i64], observed as i64, (Kind::Int64, self.device()));
            let y = tch::no_grad(|| self.counterfactual_batch(&batch, &x_obs, &mut rng, false));
            out.extend(to_indices(&y)?);
        }
        Ok(out)
    }

    /// Gadget 2 only: its prior and conditionals for (p, q), in f64.
    pub(crate) fn gadget2_parts(
        &self,
        p: &Categorical,
        q: &Categorical,
    ) -> Result<Option<Gadget2Parts>> {
        if !matches!(self.body, Body::Two(_)) {
            return Ok(None);
        }
        let batch = PairBatch::single(p, q, self.outcomes(), Kind::Double, self.device())?;
        let (cond_p, cond_q, prior) = self.gadget2_tensors(&batch)?;
        let rows = |t: &Tensor| -> Result<Vec<Vec<f64>>> {
            Ok(to_vec(t)?.chunks(self.outcomes()).map(<[f64]>::to_vec).collect())
        };
        let log_prior = to_vec(&prior)?;
        Ok(Some(Gadget2Parts { log_prior, cond_p: rows(&cond_p)?, cond_q: rows(&cond_q)? }))
    }

    /// Gadget 2 only: log pi(. | z, p) and log pi(. | z, q) `[B, |Z|, K]` of an f64 `batch`, and
    /// log pi(z) `[|Z|]`.
    pub(crate) fn gadget2_tensors(&self, batch: &PairBatch) -> Result<(Tensor, Tensor, Tensor)> {
        let Body::Two(g) = &self.body else {
            return Err(GadgetError::InvalidConfig(
                "only Gadget 2 has conditionals given z".into(),
            ));
        };
        self.check_single()?;
        let (cond_p, cond_q) = tch::no_grad(|| g.both_conditionals(batch));
        Ok((cond_p, cond_q, g.log_prior(Kind::Double)))
    }

    /// One pair as an f32 batch on the gadget's device, after checking its length.
    fn single(&self, p: &Categorical, q: &Categorical) -> Result<PairBatch> {
        self.check_single()?;
        self.check_len("p", p.len())?;
        self.check_len("q", q.len())?;
        PairBatch::single(p, q, self.outcomes(), Kind::Float, self.device())
    }

    /// A stack is for training only: sampling one pair or saving needs one gadget.
    pub(crate) fn check_single(&self) -> Result<()> {
        if self.runs > 1 {
            return Err(GadgetError::InvalidConfig(format!(
                "this is a stack of {} gadgets: unstack it first",
                self.runs
            )));
        }
        Ok(())
    }

    fn check_len(&self, what: &'static str, found: usize) -> Result<()> {
        if found != self.outcomes() {
            return Err(GadgetError::OutcomeMismatch { what, expected: self.outcomes(), found });
        }
        Ok(())
    }

    /// Sizes of the sampling chunks for `n` samples of one pair.
    fn chunks(&self, n: usize) -> impl Iterator<Item = usize> {
        let per_sample = self.config.latent_rows() * self.outcomes();
        let chunk = (CHUNK_CELLS / per_sample).max(1);
        (0..n.div_ceil(chunk)).map(move |c| chunk.min(n - c * chunk))
    }
}

/// Gadget 2's prior and conditionals for one pair (p, q), in f64.
pub(crate) struct Gadget2Parts {
    /// log pi(z), `|Z|` entries.
    pub log_prior: Vec<f64>,
    /// log pi(. | z, p), one row per z.
    pub cond_p: Vec<Vec<f64>>,
    /// log pi(. | z, q), one row per z.
    pub cond_q: Vec<Vec<f64>>,
}

/// All entries of a tensor as f64, on the CPU.
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f64>> {
    Ok(Vec::<f64>::try_from(
        t.f_to_device(Device::Cpu)?.f_to_kind(Kind::Double)?.f_flatten(0, -1)?,
    )?)
}

/// All entries of an index tensor, on the CPU.
fn to_indices(t: &Tensor) -> Result<Vec<usize>> {
    let values = Vec::<i64>::try_from(t.f_to_device(Device::Cpu)?.f_flatten(0, -1)?)?;
    Ok(values.into_iter().map(|v| v as usize).collect())
}
