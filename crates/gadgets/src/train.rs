//! Training a gadget (the paper's Section 5.3): Adam on the relaxed surrogate loss of Eq. (16) over
//! batches of logit pairs, either with common random numbers for p and q (joint loss) or on
//! counterfactual draws given x_obs (counterfactual loss): x_obs ~ p afresh for every sample, or one
//! fixed observed outcome for every sample (the sepsis study's s'_obs, [`Trainer::given_observation`]).
//!
//! Each step draws B pairs, runs the network once per pair (p and q in one pass), and draws the N_in
//! inner samples as an extra tensor axis; [`crate::adam::Adam`] updates the weights and stops the run at
//! a loss or gradient that is not finite, naming the step.

use std::time::Instant;

use gumbel_core::pairs::{LogitPair, PairDistribution};
use gumbel_core::rng::{stream, SeededRng};
use gumbel_core::{Categorical, CostMatrix};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::adam::Adam;
use crate::batch::PairBatch;
use crate::config::GadgetKind;
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
    /// Train Gadget 2 on the logits as drawn, unnormalised, as the authors' code did: its rejection
    /// step then weighs the fallback by e^L, L the logsumexp of the logits, and the marginals seen in
    /// training are not exact ([`crate::gadget2::sinkhorn_correct`]). For reproducing their Figure 1a
    /// only; evaluation always normalises. Off (the default): the logits are normalised first. Left
    /// out of the JSON when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unnormalised_logits: bool,
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
    observed: Option<usize>,
    options: TrainOptions,
    optimiser: Adam,
    rng: SeededRng,
    step: usize,
}

impl<'a> Trainer<'a> {
    /// A run of `gadget` on pairs from `pairs` with cost `cost`, after checking that the sizes agree.
    pub fn new(gadget: &'a Gadget, pairs: &'a dyn PairDistribution, cost: &CostMatrix, options: &TrainOptions) -> Result<Self> {
        options.validate()?;
        if options.unnormalised_logits && gadget.config().kind != GadgetKind::Gadget2 {
            return Err(GadgetError::InvalidConfig("unnormalised_logits applies to Gadget 2 only (Gadget 1 is unchanged by a shift of the logits)".into()));
        }
        let k = gadget.outcomes();
        for (what, found) in [("pair distribution", pairs.outcomes()), ("cost matrix", cost.len())] {
            if found != k {
                return Err(GadgetError::OutcomeMismatch { what, expected: k, found });
            }
        }
        Ok(Self {
            gadget,
            pairs,
            cost: cost_tensor(cost, gadget.device()),
            observed: None,
            options: options.clone(),
            optimiser: Adam::new(gadget.var_store(), options.learning_rate),
            rng: stream(options.seed, 1),
            step: 0,
        })
    }

    /// A run of the counterfactual loss with every sample conditioned on the one observed outcome
    /// x_obs = `observed` instead of x_obs ~ p: the sepsis study's s'_obs (Section 7.3;
    /// gadgets-part2.md section 2, item 9). `options.loss` must be [`LossKind::Counterfactual`], and
    /// every drawn p must give `observed` positive probability (checked at each step).
    pub fn given_observation(
        gadget: &'a Gadget,
        pairs: &'a dyn PairDistribution,
        cost: &CostMatrix,
        observed: usize,
        options: &TrainOptions,
    ) -> Result<Self> {
        if options.loss != LossKind::Counterfactual {
            return Err(GadgetError::InvalidConfig("training given an observation needs the counterfactual loss".into()));
        }
        let k = gadget.outcomes();
        if observed >= k {
            return Err(GadgetError::OutcomeMismatch { what: "observed outcome (index + 1)", expected: k, found: observed + 1 });
        }
        Ok(Self { observed: Some(observed), ..Self::new(gadget, pairs, cost, options)? })
    }

    /// One Adam step on a fresh batch; returns its loss, or the step at which the loss or a gradient
    /// stopped being finite.
    pub fn step(&mut self) -> Result<f64> {
        self.step += 1;
        let drawn: Vec<LogitPair> = (0..self.options.batch).map(|_| self.pairs.sample(&mut self.rng)).collect();
        if let Some(observed) = self.observed {
            for pair in &drawn {
                Categorical::from_logits(&pair.p)?.check_observation(observed)?;
            }
        }
        let batch = if self.options.unnormalised_logits {
            PairBatch::unnormalised(&drawn, self.gadget.outcomes(), Kind::Float, self.gadget.device())?
        } else {
            PairBatch::from_pairs(&drawn, self.gadget.outcomes(), Kind::Float, self.gadget.device())?
        };
        let loss = self.surrogate_loss(&batch);
        self.optimiser.minimise(&loss, self.step)
    }

    /// The relaxed loss of one batch (a scalar tensor with gradient).
    fn surrogate_loss(&mut self, batch: &PairBatch) -> Tensor {
        let (b, n, k) = (batch.len() as i64, self.options.inner_samples as i64, self.gadget.outcomes() as i64);
        let per_sample = match self.options.loss {
            LossKind::Joint => {
                let (soft_p, soft_q) = self.gadget.sample_batch(batch, n as usize, &mut self.rng, true);
                soft_p.matmul(&self.cost) * soft_q
            }
            LossKind::Counterfactual => {
                let x_obs = self.observations(batch);
                let soft_q = self.gadget.counterfactual_batch(batch, &x_obs, &mut self.rng, true);
                soft_q * self.cost.index_select(0, &x_obs.flatten(0, -1)).view([b, n, k])
            }
        };
        per_sample.sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float)
    }

    /// x_obs `[B, N_in]` of the counterfactual loss: the fixed observation, or x_obs ~ p (Gumbel-max).
    fn observations(&mut self, batch: &PairBatch) -> Tensor {
        let (b, n, k) = (batch.len() as i64, self.options.inner_samples as i64, self.gadget.outcomes() as i64);
        let device = batch.log_p.device();
        match self.observed {
            Some(observed) => Tensor::full([b, n], observed as i64, (Kind::Int64, device)),
            None => (batch.log_p.unsqueeze(1) + gumbel(&mut self.rng, &[b, n, k], device)).argmax(-1, false),
        }
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
