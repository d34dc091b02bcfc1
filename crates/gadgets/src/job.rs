//! A training job as written in the JSON file of `gumbel-gadgets train --config FILE.json`:
//! the architecture, the pairs, the cost, the optimisation settings and the device.

use std::path::Path;

use gumbel_core::pairs::PairDistribution;
use gumbel_core::CostMatrix;
use serde::{Deserialize, Serialize};

use crate::config::GadgetConfig;
use crate::device::{set_cpu_threads, DeviceChoice, DEFAULT_CPU_THREADS};
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::task::{CostSpec, PairSpec};
use crate::train::{train, TrainOptions, TrainingRecord};

/// The contents of a training configuration file (format in docs/gadgets.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainJob {
    /// The architecture.
    pub gadget: GadgetConfig,
    /// The distribution of logit pairs.
    pub pairs: PairSpec,
    /// The cost matrix.
    pub cost: CostSpec,
    /// Loss, batch, inner samples, learning rate, steps, seed.
    pub training: TrainOptions,
    /// `cpu`, `cuda` or `auto` (the default).
    #[serde(default)]
    pub device: DeviceChoice,
    /// libtorch's intra-op threads ([`crate::device::DEFAULT_CPU_THREADS`] when absent).
    #[serde(default)]
    pub threads: Option<usize>,
}

impl TrainJob {
    /// Reads and parses a configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| GadgetError::Io { path: path.display().to_string(), error })?;
        serde_json::from_str(&text)
            .map_err(|e| GadgetError::InvalidConfig(format!("{}: {e}", path.display())))
    }

    /// Builds the gadget (weights from the training seed) and trains it.
    pub fn run(&self) -> Result<(Gadget, TrainingRecord)> {
        self.run_with(self.pairs.build()?)
    }

    /// As [`TrainJob::run`] on the distribution `pairs` that the caller built from
    /// [`TrainJob::pairs`] (the training rows of a pair file); the record keeps the `pairs`
    /// configuration when it is a file, so that the checkpoint says which rows were held out.
    pub fn run_with(&self, pairs: Box<dyn PairDistribution>) -> Result<(Gadget, TrainingRecord)> {
        let prepared = self.prepare_with(pairs)?;
        let mut record =
            train(&prepared.gadget, prepared.pairs.as_ref(), &prepared.cost, &self.training)?;
        if matches!(self.pairs, PairSpec::File { .. }) {
            record.pairs = Some(self.pairs.clone());
        }
        Ok((prepared.gadget, record))
    }

    /// Checks the job and builds what a run needs: the gadget (weights from the training seed), the
    /// pair distribution and the cost; sets libtorch's CPU threads. [`TrainJob::run`] trains it in
    /// one go; a caller that steps a [`crate::train::Trainer`] itself (to stop between steps) starts
    /// here.
    pub fn prepare(&self) -> Result<Prepared> {
        self.prepare_with(self.pairs.build()?)
    }

    /// As [`TrainJob::prepare`] with the pair distribution `pairs` built by the caller.
    pub fn prepare_with(&self, pairs: Box<dyn PairDistribution>) -> Result<Prepared> {
        let outcomes = self.gadget.outcomes;
        if pairs.outcomes() != outcomes {
            return Err(GadgetError::OutcomeMismatch {
                what: "pairs",
                expected: outcomes,
                found: pairs.outcomes(),
            });
        }
        let cost = self.cost.build(outcomes)?;
        self.training.validate()?;
        let threads = self.threads.unwrap_or(DEFAULT_CPU_THREADS);
        if threads == 0 {
            return Err(GadgetError::InvalidConfig("threads must be positive".into()));
        }
        set_cpu_threads(threads);
        let gadget = Gadget::new(self.gadget.clone(), self.device.resolve()?, self.training.seed)?;
        Ok(Prepared { gadget, pairs, cost })
    }
}

/// What a training run needs, built from a [`TrainJob`] by [`TrainJob::prepare`].
pub struct Prepared {
    /// The untrained gadget.
    pub gadget: Gadget,
    /// The distribution of logit pairs it trains on.
    pub pairs: Box<dyn PairDistribution>,
    /// The cost matrix.
    pub cost: CostMatrix,
}
