//! Training a gadget (the paper's Section 5.3): Adam on the relaxed surrogate loss of Eq. (16) over
//! batches of logit pairs, either with common random numbers for p and q (joint loss) or on
//! counterfactual draws given x_obs (counterfactual loss): x_obs ~ p afresh for every sample, or one
//! fixed observed outcome for every sample (the sepsis study's s'_obs, [`Trainer::given_observation`]).
//!
//! Each step draws B pairs (from the run's seeded generator), runs the network once per pair (p and q
//! in one pass), and draws the N_in inner samples as an extra tensor axis, their noise from
//! [`StepNoise`] keyed by the seed and the step, made on the gadget's device; [`crate::adam::Adam`] updates the weights. The loss and
//! the gradient sum stay on the device and come back every N steps ([`crate::readback`]), when a
//! loss or gradient that is not finite stops the run, naming its step. A step is host preparation
//! and a device part (`step.rs`), which [`Trainer::set_graphs`] replays as a CUDA graph.

use std::path::Path;
use std::time::Instant;

use gumbel_core::pairs::{LogitPair, PairDistribution};
use gumbel_core::rng::{stream, SeededRng};
use gumbel_core::{Categorical, CostMatrix};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::adam::Adam;
use crate::batch::PairBatch;
use crate::config::GadgetKind;
use crate::device::{device_name, upload};
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::noise::{gumbel, NoiseSource, StepNoise, NOISE_VERSION};
use crate::readback::{Readback, READBACK_EVERY};
use crate::snapshot::{self, Identity, Position};
use crate::step::DeviceStep;
use crate::task::TrainCost;
use crate::threefry::Generator;

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

/// The optimisation settings; defaults are the paper's (B = 64, N_in = 16, Adam 1e-3). Pure data:
/// how a run is watched is the caller's ([`train_observed`]).
///
/// The JSON form ([`TrainOptionsFile`]) keeps a `progress` key, written false and ignored on reading,
/// so that files and the checkpoint keys hashed from them stay those of earlier builds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "TrainOptionsFile", into = "TrainOptionsFile")]
pub struct TrainOptions {
    /// Which loss.
    pub loss: LossKind,
    /// B, logit pairs per step.
    pub batch: usize,
    /// N_in, noise samples per pair and step.
    pub inner_samples: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Seed of the pairs and the noise (the weights' seed is the gadget's).
    pub seed: u64,
    /// Train Gadget 2 on the logits as drawn, unnormalised, as the authors' code did: its rejection
    /// step then weighs the fallback by e^L, L the logsumexp of the logits, and the marginals seen in
    /// training are not exact ([`crate::gadget2::sinkhorn_correct`]). For reproducing their Figure 1a
    /// only; evaluation always normalises. Off (the default): the logits are normalised first.
    pub unnormalised_logits: bool,
}

/// [`TrainOptions`] as JSON (in training configurations, checkpoints and snapshots), with its
/// defaults. `progress` is a key of earlier builds' files: written false and ignored on reading, so
/// that the JSON, and every key hashed from it, is unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainOptionsFile {
    #[serde(default)]
    loss: LossKind,
    #[serde(default = "default_batch")]
    batch: usize,
    #[serde(default = "default_inner")]
    inner_samples: usize,
    #[serde(default = "default_learning_rate")]
    learning_rate: f64,
    steps: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    progress: bool,
    /// Left out of the JSON when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unnormalised_logits: bool,
}

impl From<TrainOptionsFile> for TrainOptions {
    fn from(file: TrainOptionsFile) -> Self {
        let TrainOptionsFile {
            loss,
            batch,
            inner_samples,
            learning_rate,
            steps,
            seed,
            progress: _,
            unnormalised_logits,
        } = file;
        Self { loss, batch, inner_samples, learning_rate, steps, seed, unnormalised_logits }
    }
}

impl From<TrainOptions> for TrainOptionsFile {
    fn from(options: TrainOptions) -> Self {
        let TrainOptions {
            loss,
            batch,
            inner_samples,
            learning_rate,
            steps,
            seed,
            unnormalised_logits,
        } = options;
        Self {
            loss,
            batch,
            inner_samples,
            learning_rate,
            steps,
            seed,
            progress: false,
            unnormalised_logits,
        }
    }
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

impl TrainOptions {
    /// Checks sizes and the learning rate.
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.inner_samples == 0 {
            return Err(GadgetError::InvalidConfig(
                "batch and inner_samples must be positive".into(),
            ));
        }
        if u32::try_from(self.steps).is_err() {
            return Err(GadgetError::InvalidConfig(format!(
                "steps must be below 2^32 (the step counter keys the noise), got {}",
                self.steps
            )));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(GadgetError::InvalidConfig(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            )));
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
    /// The version of the training noise ([`NOISE_VERSION`]); 1 for a record that names none.
    #[serde(default = "first_noise_version")]
    pub noise: u32,
    /// R when the run was trained in a stack of R runs ([`crate::stack`]; `seconds` are then the
    /// stack's); left out of the JSON for a run trained alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacked: Option<usize>,
    /// The pair file and its split when the run trained on a file's rows
    /// ([`crate::task::PairSpec::File`]); left out of the JSON otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<crate::task::PairSpec>,
}

fn first_noise_version() -> u32 {
    1
}

/// The mean loss over each block of `log_every` = ceil(steps / 100) steps (the record's `losses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LossLog {
    pub(crate) log_every: usize,
    steps: usize,
    pub(crate) losses: Vec<f64>,
    block: f64,
    in_block: usize,
}

impl LossLog {
    pub(crate) fn new(steps: usize) -> Self {
        Self {
            log_every: steps.div_ceil(100).max(1),
            steps,
            losses: Vec::new(),
            block: 0.0,
            in_block: 0,
        }
    }

    /// Adds the loss of step `step` (counting from 1), closing a block every `log_every` steps and
    /// at the last step.
    pub(crate) fn add(&mut self, step: usize, loss: f64) {
        self.block += loss;
        self.in_block += 1;
        if step.is_multiple_of(self.log_every) || step == self.steps {
            self.losses.push(self.block / self.in_block as f64);
            (self.block, self.in_block) = (0.0, 0);
        }
    }
}

/// One optimisation step at a time: the state of a training run (optimiser, generator, cost, loss
/// log), which [`Trainer::save_snapshot`] writes and [`Trainer::resume`] reads back.
pub struct Trainer<'a> {
    gadget: &'a Gadget,
    pairs: &'a dyn PairDistribution,
    /// One matrix for every row, or None: each drawn pair's own reward ([`reward_costs`]).
    cost: Option<RowCosts>,
    observed: Option<usize>,
    /// Row b's fixed observation (int64 `[B, 1]` on the device), if the run has one.
    observed_rows: Option<Tensor>,
    /// The static inputs of the device part and the captured step.
    device_step: DeviceStep,
    options: TrainOptions,
    optimiser: Adam,
    /// The generator of the pairs.
    rng: SeededRng,
    step: usize,
    log: LossLog,
    /// The steps' losses and gradient sums on the device until they are read back and checked.
    readback: Readback,
    /// The last step read back and its loss.
    last_read: Option<(usize, f64)>,
    /// Seconds spent before this process took the run over (from a snapshot), and since.
    seconds_before: f64,
    started: Instant,
}

impl<'a> Trainer<'a> {
    /// A run of `gadget` on pairs from `pairs` with cost `cost` (a [`CostMatrix`], or
    /// [`TrainCost::PairReward`] for pairs that carry rewards), after checking that the sizes agree.
    pub fn new(
        gadget: &'a Gadget,
        pairs: &'a dyn PairDistribution,
        cost: impl Into<TrainCost>,
        options: &TrainOptions,
    ) -> Result<Self> {
        gadget.check_single()?;
        let cost = match cost.into() {
            TrainCost::Matrix(cost) => {
                check_run(gadget, pairs, &cost, options)?;
                Some(RowCosts::Shared(cost_tensor(&cost, gadget.device())))
            }
            TrainCost::PairReward => {
                check_settings(gadget, pairs, options)?;
                if !pairs.has_rewards() {
                    return Err(GadgetError::InvalidConfig(
                        "cost pair-reward needs pairs that carry a reward each (a pair file with a \
                         reward column)"
                            .into(),
                    ));
                }
                None
            }
        };
        Ok(Self {
            gadget,
            pairs,
            cost,
            observed: None,
            observed_rows: None,
            device_step: DeviceStep::new(gadget.device()),
            options: options.clone(),
            optimiser: Adam::new(gadget.var_store(), options.learning_rate),
            rng: stream(options.seed, 1),
            step: 0,
            log: LossLog::new(options.steps),
            readback: Readback::new(READBACK_EVERY),
            last_read: None,
            seconds_before: 0.0,
            started: Instant::now(),
        })
    }

    /// Reads the losses and gradient sums back every `every` steps (at least 1; [`READBACK_EVERY`]
    /// unless set), from the next block of steps on. The weights do not depend on it.
    pub fn set_readback_every(&mut self, every: usize) {
        self.readback.set_every(every);
    }

    /// A run of the counterfactual loss with every sample conditioned on the one observed outcome
    /// x_obs = `observed` instead of x_obs ~ p: the sepsis study's s'_obs (Section 7.3;
    /// gadgets-part2.md section 2, item 9). `options.loss` must be [`LossKind::Counterfactual`], and
    /// every drawn p must give `observed` positive probability (checked at each step).
    pub fn given_observation(
        gadget: &'a Gadget,
        pairs: &'a dyn PairDistribution,
        cost: impl Into<TrainCost>,
        observed: usize,
        options: &TrainOptions,
    ) -> Result<Self> {
        if options.loss != LossKind::Counterfactual {
            return Err(GadgetError::InvalidConfig(
                "training given an observation needs the counterfactual loss".into(),
            ));
        }
        let k = gadget.outcomes();
        if observed >= k {
            return Err(GadgetError::OutcomeMismatch {
                what: "observed outcome (index + 1)",
                expected: k,
                found: observed + 1,
            });
        }
        let rows = [options.batch as i64, 1];
        let observed_rows = Tensor::full(rows, observed as i64, (Kind::Int64, gadget.device()));
        Ok(Self {
            observed: Some(observed),
            observed_rows: Some(observed_rows),
            ..Self::new(gadget, pairs, cost, options)?
        })
    }

    /// Replays the step's device part as a CUDA graph after [`crate::stack::GRAPH_WARM_UP`] eager
    /// steps (`on`), or runs every step eagerly (off, the default), as
    /// [`crate::stack::StackedTrainer::set_graphs`]. Errs, changing nothing, where graphs cannot be
    /// captured: on the CPU, without the shim, and for a run on each pair's own reward (its cost
    /// matrices are made at every step, their shape depending on the batch).
    pub fn set_graphs(&mut self, on: bool) -> Result<()> {
        if on && self.cost.is_none() {
            return Err(cuda_graph::GraphError::Unavailable(
                "a run on each pair's own reward (cost pair-reward) makes its costs at every step"
                    .into(),
            )
            .into());
        }
        self.device_step.set_graphs(on)
    }

    /// One Adam step on a fresh batch, its loss and gradient sum left on the device. Every N steps
    /// ([`Trainer::set_readback_every`]) and at the run's last step, the steps since the last
    /// readback come back and are checked ([`Trainer::read_back`]): then it returns this step's
    /// loss, else None. Errs with the first step whose loss or gradient was not finite, and after
    /// that at every call.
    pub fn step(&mut self) -> Result<Option<f64>> {
        self.readback.check()?;
        self.step += 1;
        let (drawn, rewards): (Vec<LogitPair>, Vec<Option<Vec<f64>>>) =
            (0..self.options.batch).map(|_| self.pairs.sample_with_reward(&mut self.rng)).unzip();
        if let Some(observed) = self.observed {
            check_observation(&drawn, observed)?;
        }
        let host = training_batch(self.gadget, &drawn, &self.options, Device::Cpu)?;
        let mut noise = step_noise(&[self.options.seed], self.step, self.gadget.device());
        self.device_step.load(&host, &noise)?;
        let pair_costs;
        let cost = match &self.cost {
            Some(shared) => shared,
            None => {
                pair_costs = reward_costs(&rewards, self.gadget.device())?;
                &pair_costs
            }
        };
        self.optimiser.prepare();
        let (gadget, options, optimiser) = (self.gadget, &self.options, &self.optimiser);
        let observed = self.observed_rows.as_ref();
        let (loss, gradient_sum) = self.device_step.run(&mut noise, |batch, noise| {
            let loss =
                sample_losses(gadget, batch, cost, options, observed, noise).mean(Kind::Float);
            let gradient_sum = optimiser.minimise_prepared(&loss)?;
            Ok((loss, gradient_sum))
        })?;
        self.readback.record(self.step, &loss, &gradient_sum)?;
        if self.readback.is_full() || self.step == self.options.steps {
            return self.read_back();
        }
        Ok(None)
    }

    /// Reads back the steps not read back yet (one transfer from the device), checks them in order
    /// and adds their losses to the loss log; returns the last one's loss (None when every step was
    /// read back already). Errs with the first step whose loss or gradient is not finite.
    pub fn read_back(&mut self) -> Result<Option<f64>> {
        let steps = self.readback.read()?;
        for (step, losses) in &steps {
            self.log.add(*step, losses[0]);
        }
        let last = steps.last().map(|(step, losses)| (*step, losses[0]));
        self.last_read = last.or(self.last_read);
        Ok(last.map(|(_, loss)| loss))
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// What an observer hears after a step.
    pub fn report(&self) -> StepReport {
        StepReport {
            step: self.step,
            steps: self.options.steps,
            loss: self.last_read.filter(|(step, _)| *step == self.step).map(|(_, loss)| loss),
            block_loss: self.log.losses.last().copied(),
        }
    }

    /// The record of the run so far: settings, device, block losses of the steps read back (all of
    /// them after the run's last step), wall time (summed over the processes that trained it when it
    /// was resumed from a snapshot).
    pub fn record(&self) -> TrainingRecord {
        let seconds = self.seconds();
        TrainingRecord {
            options: self.options.clone(),
            device: device_name(self.gadget.device()),
            final_loss: self.log.losses.last().copied().unwrap_or(f64::NAN),
            losses: self.log.losses.clone(),
            log_every: self.log.log_every,
            seconds,
            steps_per_second: self.step as f64 / seconds.max(1e-9),
            noise: NOISE_VERSION,
            stacked: None,
            pairs: None,
        }
    }

    /// Wall-clock seconds of training, over every process that trained the run.
    fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Writes the run's state (weights, Adam's moments, generator, steps, losses, seconds) to `path`,
    /// from which [`Trainer::resume`] continues it, after reading back and checking the steps not
    /// read back yet: a run with a non-finite step writes nothing and errs, naming the step.
    pub fn save_snapshot(&mut self, path: &Path) -> Result<()> {
        self.read_back()?;
        let adam_updates = self.optimiser.updates();
        let position = Position {
            step: self.step,
            rng: self.rng.clone(),
            adam_updates,
            log: self.log.clone(),
            seconds: self.seconds(),
        };
        snapshot::save(path, snapshot::RUN_MAGIC, &self.identity(), &position, self.state_tensors())
    }

    /// Continues the run from the snapshot at `path` (taken by a trainer of the same gadget
    /// configuration, settings and observation): the following steps draw the same pairs and noise
    /// and make the same updates as the run that wrote it would have. An unreadable snapshot, or one
    /// of another run, is an error that leaves this trainer and its gadget as they were.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let position: Position =
            snapshot::load(path, snapshot::RUN_MAGIC, &self.identity(), &mut self.state_tensors())?;
        self.optimiser.set_updates(position.adam_updates);
        self.step = position.step;
        self.rng = position.rng;
        self.log = position.log;
        self.readback.clear();
        self.device_step.forget_graph();
        (self.seconds_before, self.started) = (position.seconds, Instant::now());
        Ok(())
    }

    /// What a snapshot must match.
    fn identity(&self) -> Identity {
        Identity {
            config: self.gadget.config().clone(),
            options: self.options.clone(),
            observed: self.observed,
        }
    }

    /// The tensors a snapshot holds, sharing storage with the gadget's and Adam's.
    fn state_tensors(&self) -> std::collections::HashMap<String, Tensor> {
        state_tensors(self.gadget, &self.optimiser)
    }
}

/// The noise of step `step` (counting from 1) of the runs seeded `seeds`, made by the faster
/// generator for `device` (the same bits either way).
pub(crate) fn step_noise(seeds: &[u64], step: usize, device: Device) -> StepNoise {
    // TrainOptions::validate keeps steps below 2^32.
    StepNoise::new(seeds, step as u32, Generator::for_device(device))
}

/// The tensors a snapshot holds (`weights/<name>`, `adam/<moment>/<i>`), sharing storage with the
/// gadget's and Adam's.
pub(crate) fn state_tensors(
    gadget: &Gadget,
    optimiser: &Adam,
) -> std::collections::HashMap<String, Tensor> {
    let weights =
        gadget.var_store().variables().into_iter().map(|(name, t)| (format!("weights/{name}"), t));
    let moments = optimiser.moments().into_iter().map(|(name, t)| (format!("adam/{name}"), t));
    weights.chain(moments).collect()
}

/// Checks a run's settings, that the gadget, the pairs and the cost matrix agree on K, and that the
/// pairs carry no rewards of their own, which the one matrix would ignore.
pub(crate) fn check_run(
    gadget: &Gadget,
    pairs: &dyn PairDistribution,
    cost: &CostMatrix,
    options: &TrainOptions,
) -> Result<()> {
    check_settings(gadget, pairs, options)?;
    if cost.len() != gadget.outcomes() {
        return Err(GadgetError::OutcomeMismatch {
            what: "cost matrix",
            expected: gadget.outcomes(),
            found: cost.len(),
        });
    }
    if pairs.has_rewards() {
        return Err(GadgetError::InvalidConfig(
            "the pairs carry a reward each (a pair file's reward column) and a cost is given too: \
             use the cost {\"type\": \"pair-reward\"} to train on each pair's reward"
                .into(),
        ));
    }
    Ok(())
}

/// Checks a run's settings and that the gadget and the pairs agree on K.
fn check_settings(
    gadget: &Gadget,
    pairs: &dyn PairDistribution,
    options: &TrainOptions,
) -> Result<()> {
    options.validate()?;
    if options.unnormalised_logits && gadget.config().kind != GadgetKind::Gadget2 {
        return Err(GadgetError::InvalidConfig("unnormalised_logits applies to Gadget 2 only (Gadget 1 is unchanged by a shift of the logits)".into()));
    }
    let (k, found) = (gadget.outcomes(), pairs.outcomes());
    if found != k {
        return Err(GadgetError::OutcomeMismatch { what: "pair distribution", expected: k, found });
    }
    Ok(())
}

/// Checks that every p of `drawn` gives the fixed observation `observed` positive probability.
pub(crate) fn check_observation(drawn: &[LogitPair], observed: usize) -> Result<()> {
    for pair in drawn {
        Categorical::from_logits(&pair.p)?.check_observation(observed)?;
    }
    Ok(())
}

/// The f32 batch of `drawn` for `gadget` on `device` (kept unnormalised when the options say so).
pub(crate) fn training_batch(
    gadget: &Gadget,
    drawn: &[LogitPair],
    options: &TrainOptions,
    device: Device,
) -> Result<PairBatch> {
    if options.unnormalised_logits {
        PairBatch::unnormalised(drawn, gadget.outcomes(), Kind::Float, device)
    } else {
        PairBatch::from_pairs(drawn, gadget.outcomes(), Kind::Float, device)
    }
}

/// The cost matrices of a batch's rows on the training device.
pub(crate) enum RowCosts {
    /// One `[K, K]` matrix for every row.
    Shared(Tensor),
    /// One per run of a stack, or one per row of a batch ([`reward_costs`]), `[R, K, K]`: row i
    /// of a batch takes matrix i mod R.
    PerRun(Tensor),
}

impl RowCosts {
    /// sum_x soft(x) C(x, y) for every sample: `[B, n, K]` from `soft` `[B, n, K]`.
    fn weigh(&self, soft: &Tensor) -> Tensor {
        match self {
            RowCosts::Shared(cost) => soft.matmul(cost),
            RowCosts::PerRun(costs) => {
                // Each run's rows as one matrix ([R, B / R * n, K]), times its cost, put back in order.
                let (runs, size) = (costs.size()[0], soft.size());
                let (b, n, k) = (size[0], size[1], size[2]);
                soft.view([b / runs, runs, n, k])
                    .transpose(0, 1)
                    .reshape([runs, -1, k])
                    .bmm(costs)
                    .view([runs, b / runs, n, k])
                    .transpose(0, 1)
                    .reshape([b, n, k])
            }
        }
    }

    /// Row x_obs of each sample's cost matrix: `[B, n, K]` from int64 `x_obs` `[B, n]`.
    fn rows(&self, x_obs: &Tensor) -> Tensor {
        let (b, n) = (x_obs.size()[0], x_obs.size()[1]);
        match self {
            RowCosts::Shared(cost) => {
                cost.index_select(0, &x_obs.flatten(0, -1)).view([b, n, cost.size()[1]])
            }
            RowCosts::PerRun(costs) => {
                let (runs, k) = (costs.size()[0], costs.size()[1]);
                let run = Tensor::arange(b, (Kind::Int64, x_obs.device())).remainder(runs);
                let index = (run.unsqueeze(1) * k + x_obs).flatten(0, -1);
                costs.view([runs * k, k]).index_select(0, &index).view([b, n, k])
            }
        }
    }
}

/// The relaxed loss of every sample of `batch` (`[B, N_in]`, with gradient), its noise from `noise`:
/// sum_xy soft_p(x) soft_q(y) C(x, y) for the joint loss, sum_y soft_q(y | x_obs) C(x_obs, y) for the
/// counterfactual one (Eq. 16); x_obs is row b's entry of `observed` (int64 `[B, 1]`), or drawn from
/// p by Gumbel-max.
pub(crate) fn sample_losses(
    gadget: &Gadget,
    batch: &PairBatch,
    cost: &RowCosts,
    options: &TrainOptions,
    observed: Option<&Tensor>,
    noise: &mut dyn NoiseSource,
) -> Tensor {
    let (b, n, k) = (batch.len() as i64, options.inner_samples as i64, gadget.outcomes() as i64);
    let per_sample = match options.loss {
        LossKind::Joint => {
            let (soft_p, soft_q) = gadget.sample_batch(batch, n as usize, noise, true);
            cost.weigh(&soft_p) * soft_q
        }
        LossKind::Counterfactual => {
            let device = batch.log_p.device();
            let x_obs = match observed {
                Some(observed) => observed.expand([b, n], false).contiguous(),
                None => {
                    (batch.log_p.unsqueeze(1) + gumbel(noise, &[b, n, k], device)).argmax(-1, false)
                }
            };
            let soft_q = gadget.counterfactual_batch(batch, &x_obs, noise, true);
            soft_q * cost.rows(&x_obs)
        }
    };
    per_sample.sum_dim_intlist(-1, false, Kind::Float)
}

/// What an observer of a training run hears after each step: its losses are those of the last
/// readback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Steps done (counting this one).
    pub step: usize,
    /// Steps of the run.
    pub steps: usize,
    /// This step's loss when it was read back at this step (every N steps and the last,
    /// [`crate::readback`]), else None.
    pub loss: Option<f64>,
    /// The mean loss of the last finished block of the loss log, if any.
    pub block_loss: Option<f64>,
}

/// Trains `gadget` for `options.steps` steps on pairs from `pairs` with cost `cost`.
pub fn train(
    gadget: &Gadget,
    pairs: &dyn PairDistribution,
    cost: &CostMatrix,
    options: &TrainOptions,
) -> Result<TrainingRecord> {
    train_observed(gadget, pairs, cost, options, &mut |_| {})
}

/// [`train`], telling `observer` about every step (a binary draws its progress with it).
pub fn train_observed(
    gadget: &Gadget,
    pairs: &dyn PairDistribution,
    cost: &CostMatrix,
    options: &TrainOptions,
    observer: &mut dyn FnMut(StepReport),
) -> Result<TrainingRecord> {
    let mut trainer = Trainer::new(gadget, pairs, cost, options)?;
    for _ in 0..options.steps {
        trainer.step()?;
        observer(trainer.report());
    }
    Ok(trainer.record())
}

/// Row i's cost (h^i_x - h^i_y)^2 from its pair's reward h^i, as [`RowCosts::PerRun`] `[B, K, K]`
/// on `device` (each matrix [`CostMatrix::squared_reward`]'s, its entries [`cost_tensor`]'s); as
/// [`RowCosts::Shared`] when every row carries the same reward, the cheaper product, which then
/// gives the bits of that reward given as the run's cost.
fn reward_costs(rewards: &[Option<Vec<f64>>], device: Device) -> Result<RowCosts> {
    let rewards =
        rewards.iter().map(|h| h.as_deref()).collect::<Option<Vec<&[f64]>>>().ok_or_else(|| {
            GadgetError::InvalidConfig("cost pair-reward: a drawn pair has no reward".into())
        })?;
    let first = CostMatrix::squared_reward(rewards[0])?;
    if rewards.iter().all(|h| *h == rewards[0]) {
        return Ok(RowCosts::Shared(cost_tensor(&first, device)));
    }
    let mut values = Vec::new();
    for h in rewards {
        values.extend(CostMatrix::squared_reward(h)?.matrix().iter().map(|&c| c as f32));
    }
    let k = first.len() as i64;
    Ok(RowCosts::PerRun(upload(&Tensor::from_slice(&values).view([-1, k, k]), device)))
}

/// The cost matrix as an f32 tensor on `device`.
pub(crate) fn cost_tensor(cost: &CostMatrix, device: Device) -> Tensor {
    let k = cost.len() as i64;
    let values: Vec<f32> = cost.matrix().iter().map(|&c| c as f32).collect();
    upload(&Tensor::from_slice(&values).view([k, k]), device)
}
