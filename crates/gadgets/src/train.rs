//! Training a gadget (the paper's Section 5.3): Adam on the relaxed surrogate loss of Eq. (16) over
//! batches of logit pairs, either with common random numbers for p and q (joint loss) or on
//! counterfactual draws given a sampled x_obs (counterfactual loss, used by the sepsis study).
//!
//! Each step draws B pairs, runs the network once per pair (p and q in one pass), and draws the N_in
//! inner samples as an extra tensor axis. A loss or gradient that is not finite stops the run with the
//! step at which it happened.

use std::time::Instant;

use gumbel_core::pairs::{LogitPair, PairDistribution};
use gumbel_core::rng::{stream, SeededRng};
use gumbel_core::CostMatrix;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::batch::PairBatch;
use crate::device::device_name;
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::noise::gumbel;

/// Which surrogate loss to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// E sum_xy soft_p(x) soft_q(y) C(x, y), p and q sharing all noise (Eq. 16).
    #[default]
    Joint,
    /// x_obs ~ p, then E sum_y soft_q(y | x_obs) C(x_obs, y) with the gadget's posterior noise.
    Counterfactual,
}

/// The optimisation settings; defaults are the paper's (B = 64, N_in = 16, Adam 1e-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// Which loss.
    #[serde(default)]
    pub loss: LossKind,
    /// B, logit pairs per step.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// N_in, noise samples per pair and step.
    #[serde(default = "default_inner")]
    pub inner_samples: usize,
    /// Adam's learning rate.
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Seed of the pairs and the noise (the weights' seed is the gadget's).
    #[serde(default)]
    pub seed: u64,
    /// Show a progress bar on a terminal.
    #[serde(default = "default_true")]
    pub progress: bool,
}

fn default_batch() -> usize {
    64
}
fn default_inner() -> usize {
    16
}
fn default_learning_rate() -> f64 {
    1e-3
}
fn default_true() -> bool {
    true
}

impl TrainOptions {
    /// Checks sizes and the learning rate.
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.inner_samples == 0 {
            return Err(GadgetError::InvalidConfig("batch and inner_samples must be positive".into()));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(GadgetError::InvalidConfig(format!("learning_rate must be positive, got {}", self.learning_rate)));
        }
        Ok(())
    }
}

/// What a training run did, stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The settings.
    pub options: TrainOptions,
    /// The device it ran on (`cpu`, `cuda:0`).
    pub device: String,
    /// Mean loss over each block of `log_every` steps.
    pub losses: Vec<f64>,
    /// Steps per entry of `losses`.
    pub log_every: usize,
    /// Mean loss over the last block.
    pub final_loss: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_second: f64,
}

/// One optimisation step at a time: the state of a training run (optimiser, generator, cost).
pub struct Trainer<'a> {
    gadget: &'a Gadget,
    pairs: &'a dyn PairDistribution,
    cost: Tensor,
    options: TrainOptions,
    optimiser: nn::Optimizer,
    rng: SeededRng,
    step: usize,
}

impl<'a> Trainer<'a> {
    /// A run of `gadget` on pairs from `pairs` with cost `cost`, after checking that the sizes agree.
    pub fn new(gadget: &'a Gadget, pairs: &'a dyn PairDistribution, cost: &CostMatrix, options: &TrainOptions) -> Result<Self> {
        options.validate()?;
        let k = gadget.outcomes();
        if pairs.outcomes() != k {
            return Err(GadgetError::OutcomeMismatch { what: "pair distribution", expected: k, found: pairs.outcomes() });
        }
        if cost.len() != k {
            return Err(GadgetError::OutcomeMismatch { what: "cost matrix", expected: k, found: cost.len() });
        }
        tch::manual_seed(options.seed as i64);
        Ok(Self {
            gadget,
            pairs,
            cost: cost_tensor(cost, gadget.device()),
            options: options.clone(),
            optimiser: nn::Adam::default().build(gadget.var_store(), options.learning_rate)?,
            rng: stream(options.seed, 1),
            step: 0,
        })
    }

    /// One Adam step on a fresh batch; returns its loss, or the step at which the loss or a gradient
    /// stopped being finite.
    pub fn step(&mut self) -> Result<f64> {
        self.step += 1;
        let step = self.step;
        let drawn: Vec<LogitPair> = (0..self.options.batch).map(|_| self.pairs.sample(&mut self.rng)).collect();
        let batch = PairBatch::from_pairs(&drawn, self.gadget.outcomes(), Kind::Float, self.gadget.device())?;
        let loss = surrogate_loss(self.gadget, &batch, &self.cost, &self.options, &mut self.rng);
        let value = f64::try_from(&loss)?;
        if !value.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "loss", value });
        }
        self.optimiser.zero_grad();
        loss.backward();
        let gradient = gradient_sum(self.gadget)?;
        if !gradient.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "gradient", value: gradient });
        }
        self.optimiser.step();
        Ok(value)
    }
}

/// Trains `gadget` for `options.steps` steps on pairs from `pairs` with cost `cost`.
pub fn train(gadget: &Gadget, pairs: &dyn PairDistribution, cost: &CostMatrix, options: &TrainOptions) -> Result<TrainingRecord> {
    let mut trainer = Trainer::new(gadget, pairs, cost, options)?;
    let bar = progress_bar(options);
    let log_every = options.steps.div_ceil(100).max(1);
    let (mut losses, mut block) = (Vec::new(), 0.0);
    let start = Instant::now();
    for step in 1..=options.steps {
        block += trainer.step()?;
        if step % log_every == 0 || step == options.steps {
            let size = step - (step - 1) / log_every * log_every;
            losses.push(block / size as f64);
            block = 0.0;
            bar.set_message(format!("loss {:.4}", losses[losses.len() - 1]));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    Ok(TrainingRecord {
        options: options.clone(),
        device: device_name(gadget.device()),
        final_loss: losses.last().copied().unwrap_or(f64::NAN),
        losses,
        log_every,
        seconds,
        steps_per_second: options.steps as f64 / seconds.max(1e-9),
    })
}

/// The relaxed loss of one batch (a scalar tensor with gradient).
fn surrogate_loss(gadget: &Gadget, batch: &PairBatch, cost: &Tensor, options: &TrainOptions, rng: &mut SeededRng) -> Tensor {
    let n = options.inner_samples;
    match options.loss {
        LossKind::Joint => {
            let (soft_p, soft_q) = gadget.sample_batch(batch, n, rng, true);
            (soft_p.matmul(cost) * soft_q).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float)
        }
        LossKind::Counterfactual => {
            let (b, k) = (batch.len() as i64, gadget.outcomes() as i64);
            let g = gumbel(rng, &[b, n as i64, k], batch.log_p.device());
            let x_obs = (batch.log_p.unsqueeze(1) + g).argmax(-1, false);
            let soft_q = gadget.counterfactual_batch(batch, &x_obs, rng, true);
            let rows = cost.index_select(0, &x_obs.flatten(0, -1)).view([b, n as i64, k]);
            (soft_q * rows).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float)
        }
    }
}

/// The sum of every gradient entry: finite exactly when every entry is.
pub(crate) fn gradient_sum(gadget: &Gadget) -> Result<f64> {
    let sums: Vec<Tensor> = gadget
        .var_store()
        .trainable_variables()
        .iter()
        .map(|v| v.grad())
        .filter(Tensor::defined)
        .map(|g| g.sum(Kind::Float))
        .collect();
    if sums.is_empty() {
        return Ok(0.0);
    }
    Ok(f64::try_from(Tensor::stack(&sums, 0).sum(Kind::Float))?)
}

/// The cost matrix as an f32 tensor on `device`.
fn cost_tensor(cost: &CostMatrix, device: Device) -> Tensor {
    let k = cost.len() as i64;
    let values: Vec<f32> = cost.matrix().iter().map(|&c| c as f32).collect();
    Tensor::from_slice(&values).view([k, k]).to_device(device)
}

/// A progress bar with the loss and steps/s, drawn on stderr when it is a terminal and asked for.
fn progress_bar(options: &TrainOptions) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(options.steps as u64), ProgressDrawTarget::stderr());
    if !options.progress {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {msg}, {per_sec}, eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
