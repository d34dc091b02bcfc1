//! Training R runs of one architecture together, as one stacked gadget ([`Gadget::stacked`]): one
//! network pass, one backward pass and one Adam update per step for all of them.
//!
//! On a GPU a training step of the paper's sizes is a few hundred small kernels whose launches, not
//! their arithmetic, set its time (docs/gadgets.md), so R runs in one stack take little longer per
//! step than one run alone. On a CPU, which is busy with the arithmetic, stacking gains nothing.
//!
//! What each run computes is what it computes alone ([`crate::train::Trainer`]): its own weights
//! (drawn from its seed), its own pairs (drawn from its own generator, in the same order) and noise
//! (keyed by its seed and the step; batch row i belongs to run i mod R, [`crate::noise::StepNoise`]), its own loss, the mean over its rows and
//! samples, and Adam's elementwise update of its own weights, at its own learning rate, from the
//! gradient of the sum of the R losses, which for run r's weights is the gradient of run r's loss.
//! Only the order of floating-point operations differs (a batched matrix product instead of R
//! products), so a stacked run agrees with the run trained alone to rounding, not bit for bit; the
//! same stack and device give the same bits.
//!
//! A step is host preparation and a device part (`step.rs`): with [`StackedTrainer::set_graphs`]
//! the device part is captured once as a CUDA graph after [`GRAPH_WARM_UP`] eager steps and
//! replayed at every later step (docs/gadgets.md, "Training with CUDA graphs").

use std::path::Path;
use std::time::Instant;

use gumbel_core::hash::fnv1a;
use gumbel_core::pairs::{LogitPair, PairDistribution};
use gumbel_core::rng::{stream, SeededRng};
use gumbel_core::CostMatrix;
use tch::{Device, Kind, Tensor};

use crate::adam::Adam;
use crate::batch::PairBatch;
use crate::device::{device_name, upload};
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::noise::{NoiseSource, StepNoise, NOISE_VERSION};
use crate::readback::{Readback, READBACK_EVERY};
use crate::snapshot::{self, StackIdentity, StackPosition};
use crate::step::DeviceStep;
use crate::train::{
    check_observation, check_run, cost_tensor, sample_losses, state_tensors, step_noise,
    training_batch, LossKind, LossLog, RowCosts, TrainOptions, TrainingRecord,
};

pub use crate::step::GRAPH_WARM_UP;

/// The device part of a stack's step: the losses `[R]` of `batch` (rows interleaving the runs) and
/// Adam's prepared update, the noise from `noise`; returns the losses and the gradient sum, on the
/// device.
#[allow(clippy::too_many_arguments)]
fn device_part(
    gadget: &Gadget,
    batch: &PairBatch,
    cost: &RowCosts,
    options: &TrainOptions,
    observed: Option<&Tensor>,
    optimiser: &Adam,
    runs: usize,
    noise: &mut dyn NoiseSource,
) -> Result<(Tensor, Tensor)> {
    let per_sample = sample_losses(gadget, batch, cost, options, observed, noise);
    let losses = per_sample.view([options.batch as i64, runs as i64, -1]).mean_dim(
        [0, 2].as_slice(),
        false,
        Kind::Float,
    );
    let gradient_sum = optimiser.minimise_prepared(&losses.sum(Kind::Float))?;
    Ok((losses, gradient_sum))
}

/// R training runs stepped together.
pub struct StackedTrainer<'a> {
    gadget: &'a Gadget,
    pairs: Vec<&'a dyn PairDistribution>,
    cost: RowCosts,
    /// The hash of the runs' cost matrices when they differ (part of a snapshot's identity).
    costs_hash: Option<u64>,
    /// Each run's fixed observation (all or none of them have one).
    observed: Vec<Option<usize>>,
    /// Row i's fixed observation, run i mod R's (int64 `[B R, 1]` on the device), if the runs have one.
    observed_rows: Option<Tensor>,
    /// The static inputs of the device part and the captured step.
    device_step: DeviceStep,
    options: Vec<TrainOptions>,
    optimiser: Adam,
    /// Each run's generator of pairs.
    streams: Vec<SeededRng>,
    logs: Vec<LossLog>,
    step: usize,
    /// The steps' losses and gradient sums on the device until they are read back and checked.
    readback: Readback,
    /// Seconds spent before this process took the stack over (from a snapshot), and since.
    seconds_before: f64,
    started: Instant,
}

impl<'a> StackedTrainer<'a> {
    /// Run r of the stack `gadget` learns from `pairs[r]` with `options[r]`; the runs share the cost
    /// and the fixed observation (`observed`, as in [`crate::train::Trainer::given_observation`]), and
    /// their options may differ only in the seed and the learning rate.
    pub fn new(
        gadget: &'a Gadget,
        pairs: Vec<&'a dyn PairDistribution>,
        cost: &CostMatrix,
        observed: Option<usize>,
        options: &[TrainOptions],
    ) -> Result<Self> {
        let runs = pairs.len();
        Self::per_run(gadget, pairs, &vec![cost; runs], &vec![observed; runs], options)
    }

    /// As [`StackedTrainer::new`], with run r's own cost `costs[r]` and fixed observation
    /// `observed[r]` (every run has one, or none has): the trials of the sepsis study, which differ
    /// in their pair, reward (hence cost) and observed next state.
    pub fn per_run(
        gadget: &'a Gadget,
        pairs: Vec<&'a dyn PairDistribution>,
        costs: &[&CostMatrix],
        observed: &[Option<usize>],
        options: &[TrainOptions],
    ) -> Result<Self> {
        let runs = gadget.runs();
        if [pairs.len(), costs.len(), observed.len(), options.len()].iter().any(|&n| n != runs) {
            return Err(GadgetError::InvalidConfig(format!(
                "a stack of {runs} gadgets needs {runs} pair distributions, costs, observations \
                 and options, got {}, {}, {} and {}",
                pairs.len(),
                costs.len(),
                observed.len(),
                options.len()
            )));
        }
        let shared = |o: &TrainOptions| TrainOptions { seed: 0, learning_rate: 0.0, ..o.clone() };
        if options.iter().any(|o| shared(o) != shared(&options[0])) {
            return Err(GadgetError::InvalidConfig(
                "the runs of a stack may differ only in their seeds and learning rates".into(),
            ));
        }
        for ((dist, cost), run_options) in pairs.iter().zip(costs).zip(options) {
            check_run(gadget, *dist, cost, run_options)?;
        }
        if observed.iter().any(|o| o.is_some() != observed[0].is_some()) {
            return Err(GadgetError::InvalidConfig(
                "either every run of a stack is given an observation or none is".into(),
            ));
        }
        for &x in observed.iter().flatten() {
            if options[0].loss != LossKind::Counterfactual {
                return Err(GadgetError::InvalidConfig(
                    "training given an observation needs the counterfactual loss".into(),
                ));
            }
            if x >= gadget.outcomes() {
                return Err(GadgetError::OutcomeMismatch {
                    what: "observed outcome (index + 1)",
                    expected: gadget.outcomes(),
                    found: x + 1,
                });
            }
        }
        let device = gadget.device();
        let (cost, costs_hash) = if costs.iter().all(|c| c.matrix() == costs[0].matrix()) {
            (RowCosts::Shared(cost_tensor(costs[0], device)), None)
        } else {
            let tensors: Vec<Tensor> = costs.iter().map(|c| cost_tensor(c, device)).collect();
            let values: Vec<u8> = costs
                .iter()
                .flat_map(|c| c.matrix().iter().flat_map(|v| v.to_le_bytes()))
                .collect();
            (RowCosts::PerRun(Tensor::stack(&tensors, 0)), Some(fnv1a(&values)))
        };
        // Row i's observation is run i mod R's.
        let observed_rows =
            observed.iter().map(|o| o.map(|x| x as i64)).collect::<Option<Vec<i64>>>().map(
                |per_run| {
                    let rows = Tensor::from_slice(&per_run).repeat([options[0].batch as i64]);
                    upload(&rows.view([-1, 1]), device)
                },
            );
        Ok(Self {
            gadget,
            pairs,
            cost,
            costs_hash,
            observed: observed.to_vec(),
            observed_rows,
            device_step: DeviceStep::new(device),
            options: options.to_vec(),
            optimiser: Adam::per_run(
                gadget.var_store(),
                &options.iter().map(|o| o.learning_rate).collect::<Vec<_>>(),
            ),
            streams: options.iter().map(|o| stream(o.seed, 1)).collect(),
            logs: options.iter().map(|o| LossLog::new(o.steps)).collect(),
            step: 0,
            readback: Readback::new(READBACK_EVERY),
            seconds_before: 0.0,
            started: Instant::now(),
        })
    }

    /// Reads the losses and gradient sums back every `every` steps (at least 1; [`READBACK_EVERY`]
    /// unless set), from the next block of steps on, as [`crate::train::Trainer::set_readback_every`].
    pub fn set_readback_every(&mut self, every: usize) {
        self.readback.set_every(every);
    }

    /// Replays the step as a CUDA graph after [`GRAPH_WARM_UP`] eager steps (`on`), or runs every
    /// step eagerly (off, the default). The weights are the same bit for bit either way (tested on
    /// a GPU). Errs, changing nothing, where graphs cannot be captured: a stack on the CPU, a build
    /// without the CUDA graph shim, a CUDA device libtorch does not see (`GraphError::Unavailable`).
    pub fn set_graphs(&mut self, on: bool) -> Result<()> {
        self.device_step.set_graphs(on)
    }

    /// One Adam step of every run on a fresh batch each, the losses and gradient sum left on the
    /// device. Every N steps and at the runs' last step the steps since the last readback come back
    /// and are checked ([`StackedTrainer::read_back`]): then it returns this step's losses, one per
    /// run, else None. Errs with the first step whose loss (of any run) or gradient was not finite,
    /// and after that at every call.
    pub fn step(&mut self) -> Result<Option<Vec<f64>>> {
        self.readback.check()?;
        self.step += 1;
        let mut noise = self.prepare()?;
        let (gadget, cost, options) = (self.gadget, &self.cost, &self.options[0]);
        let (observed, optimiser, runs) =
            (self.observed_rows.as_ref(), &self.optimiser, self.pairs.len());
        let (losses, gradient_sum) = self.device_step.run(&mut noise, |batch, noise| {
            device_part(gadget, batch, cost, options, observed, optimiser, runs, noise)
        })?;
        self.readback.record(self.step, &losses, &gradient_sum)?;
        if self.readback.is_full() || self.step == self.options[0].steps {
            return self.read_back();
        }
        Ok(None)
    }

    /// The host's part of a step: draws every run's pairs, writes the batch into the static inputs
    /// (allocating them at the first step), the step's noise keys into the key table where there is
    /// one, and prepares Adam's update. Returns the step's noise for a device part without a key
    /// table (the CPU's, and CUDA's first step).
    fn prepare(&mut self) -> Result<StepNoise> {
        let batch = self.options[0].batch;
        let drawn: Vec<Vec<LogitPair>> = self
            .pairs
            .iter()
            .zip(&mut self.streams)
            .map(|(dist, rng)| (0..batch).map(|_| dist.sample(rng)).collect())
            .collect();
        for (run_pairs, observed) in drawn.iter().zip(&self.observed) {
            if let Some(observed) = observed {
                check_observation(run_pairs, *observed)?;
            }
        }
        let rows: Vec<LogitPair> =
            (0..batch).flat_map(|b| drawn.iter().map(move |run| run[b].clone())).collect();
        let host = training_batch(self.gadget, &rows, &self.options[0], Device::Cpu)?;
        let seeds: Vec<u64> = self.options.iter().map(|o| o.seed).collect();
        let noise = step_noise(&seeds, self.step, self.gadget.device());
        self.device_step.load(&host, &noise)?;
        self.optimiser.prepare();
        Ok(noise)
    }

    /// Reads back the steps not read back yet (one transfer), checks them in order and adds each
    /// run's losses to its log; returns the last one's losses (None when every step was read back
    /// already). Errs with the first step whose loss or gradient is not finite.
    pub fn read_back(&mut self) -> Result<Option<Vec<f64>>> {
        let steps = self.readback.read()?;
        for (step, losses) in &steps {
            for (log, &value) in self.logs.iter_mut().zip(losses) {
                log.add(*step, value);
            }
        }
        Ok(steps.into_iter().last().map(|(_, losses)| losses))
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Writes the stack's state (weights, Adam's moments, every run's generator and losses, steps,
    /// seconds) to `path`, from which [`StackedTrainer::resume`] continues it, after reading back
    /// and checking the steps not read back yet: a non-finite step writes nothing and errs.
    pub fn save_snapshot(&mut self, path: &Path) -> Result<()> {
        self.read_back()?;
        let position = StackPosition {
            step: self.step,
            rngs: self.streams.clone(),
            adam_updates: self.optimiser.updates(),
            logs: self.logs.clone(),
            seconds: self.seconds(),
        };
        snapshot::save(
            path,
            snapshot::STACK_MAGIC,
            &self.identity(),
            &position,
            state_tensors(self.gadget, &self.optimiser),
        )
    }

    /// Continues the stack from the snapshot at `path`, taken by a trainer of the same runs (gadget
    /// configuration, every run's settings, observation): the following steps are those the stack
    /// that wrote it would have made, bit for bit on the same device. A snapshot of other runs or an
    /// unreadable one is an error that leaves this trainer and its gadget as they were.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let position: StackPosition = snapshot::load(
            path,
            snapshot::STACK_MAGIC,
            &self.identity(),
            &mut state_tensors(self.gadget, &self.optimiser),
        )?;
        self.optimiser.set_updates(position.adam_updates);
        (self.step, self.streams, self.logs) = (position.step, position.rngs, position.logs);
        self.readback.clear();
        self.device_step.forget_graph();
        (self.seconds_before, self.started) = (position.seconds, Instant::now());
        Ok(())
    }

    /// What a snapshot must match.
    fn identity(&self) -> StackIdentity {
        let shared = self.observed.iter().all(|o| *o == self.observed[0]);
        StackIdentity {
            config: self.gadget.config().clone(),
            options: self.options.clone(),
            observed: if shared { self.observed[0] } else { None },
            observed_per_run: if shared { Vec::new() } else { self.observed.clone() },
            costs: self.costs_hash,
        }
    }

    /// Wall-clock seconds of training, over every process that trained the stack.
    fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Each run's record so far; the seconds are the stack's.
    pub fn records(&self) -> Vec<TrainingRecord> {
        let seconds = self.seconds();
        self.options
            .iter()
            .zip(&self.logs)
            .map(|(options, log)| TrainingRecord {
                options: options.clone(),
                device: device_name(self.gadget.device()),
                final_loss: log.losses.last().copied().unwrap_or(f64::NAN),
                losses: log.losses.clone(),
                log_every: log.log_every,
                seconds,
                steps_per_second: self.step as f64 / seconds.max(1e-9),
                noise: NOISE_VERSION,
                stacked: Some(self.pairs.len()),
                pairs: None,
            })
            .collect()
    }
}
