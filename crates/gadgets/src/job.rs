//! A training run as data ([`TrainRun`]: everything that determines a gadget's weights), and a
//! training job as written in the JSON file of `gumbel-gadgets train --config FILE.json`
//! ([`TrainJob`]: a run, the device and libtorch's thread count).

use std::path::Path;

use gumbel_core::pairs::PairDistribution;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::config::GadgetConfig;
use crate::device::{DeviceChoice, DEFAULT_CPU_THREADS};
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::task::{CostSpec, PairSpec};
use crate::train::{StepReport, TrainOptions, Trainer, TrainingRecord};

/// One training run: what a gadget is, what it learns from, and how. Two runs with equal JSON train
/// to the same weights on the same device and thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRun {
    /// The architecture.
    pub gadget: GadgetConfig,
    /// The distribution of logit pairs.
    pub pairs: PairSpec,
    /// The cost the surrogate loss weighs: one matrix, or each pair's own reward.
    pub cost: CostSpec,
    /// Loss, batch, inner samples, learning rate, steps, seed (also the weights' seed).
    pub training: TrainOptions,
    /// The one observed outcome x the counterfactual loss is given in every step
    /// ([`Trainer::given_observation`]), or None: x drawn from p each step ([`Trainer::new`]). Left
    /// out of the JSON when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<usize>,
}

impl TrainRun {
    /// The gadget with its initial weights (from the training seed) on `device`, after checking that
    /// the pairs agree with it on K.
    pub fn initial_gadget(&self, device: tch::Device) -> Result<Gadget> {
        if let Some(found) = self.pairs.outcomes() {
            self.check_pairs(found)?;
        }
        self.training.validate()?;
        Gadget::new(self.gadget.clone(), device, self.training.seed)
    }

    /// An error unless pairs of `found` outcomes fit the gadget's K.
    fn check_pairs(&self, found: usize) -> Result<()> {
        let expected = self.gadget.outcomes;
        if found != expected {
            return Err(GadgetError::OutcomeMismatch { what: "pairs", expected, found });
        }
        Ok(())
    }

    /// Trains the run from the start on `device`, telling `observer` about every step.
    pub fn train(
        &self,
        device: tch::Device,
        observer: &mut dyn FnMut(StepReport),
    ) -> Result<(Gadget, TrainingRecord)> {
        self.train_on(device, self.pairs.build()?, observer)
    }

    /// As [`TrainRun::train`] on `pairs`, built by the caller from [`TrainRun::pairs`] (the training
    /// rows of a pair file); the record keeps the `pairs` configuration when it is a file, so that
    /// the checkpoint says which rows were held out.
    pub fn train_on(
        &self,
        device: tch::Device,
        pairs: Box<dyn PairDistribution>,
        observer: &mut dyn FnMut(StepReport),
    ) -> Result<(Gadget, TrainingRecord)> {
        self.check_pairs(pairs.outcomes())?;
        let gadget = self.initial_gadget(device)?;
        let cost = self.cost.training(self.gadget.outcomes)?;
        let mut trainer = match self.observed {
            Some(observed) => {
                Trainer::given_observation(&gadget, pairs.as_ref(), cost, observed, &self.training)?
            }
            None => Trainer::new(&gadget, pairs.as_ref(), cost, &self.training)?,
        };
        while trainer.steps_done() < self.training.steps {
            trainer.step()?;
            observer(trainer.report());
        }
        let mut record = trainer.record();
        drop(trainer);
        if matches!(self.pairs, PairSpec::File { .. }) {
            record.pairs = Some(self.pairs.clone());
        }
        Ok((gadget, record))
    }
}

/// The contents of a training configuration file (format in docs/gadgets.md): a [`TrainRun`]'s keys
/// beside `device` and `threads`; any other key is an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainJob {
    /// The run.
    #[serde(flatten)]
    pub run: TrainRun,
    /// `cpu`, `cuda` or `auto` (the default).
    pub device: DeviceChoice,
    /// libtorch's intra-op threads ([`crate::device::DEFAULT_CPU_THREADS`] when absent), for the
    /// binary that runs the job to set ([`TrainJob::threads`]); the library never sets them.
    pub threads: Option<usize>,
}

impl<'de> Deserialize<'de> for TrainJob {
    /// `device` and `threads` are taken out of the object, and the rest must be a [`TrainRun`], so
    /// that an unknown key is refused as the run's own fields refuse one.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let mut object = Map::deserialize(deserializer)?;
        let device = match object.remove("device") {
            Some(value) => DeviceChoice::deserialize(value).map_err(D::Error::custom)?,
            None => DeviceChoice::default(),
        };
        let threads = match object.remove("threads") {
            Some(value) => Option::<usize>::deserialize(value).map_err(D::Error::custom)?,
            None => None,
        };
        let run = TrainRun::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
        Ok(Self { run, device, threads })
    }
}

impl TrainJob {
    /// Reads and parses a configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| GadgetError::Io { path: path.display().to_string(), error })?;
        serde_json::from_str(&text)
            .map_err(|e| GadgetError::InvalidConfig(format!("{}: {e}", path.display())))
    }

    /// libtorch's intra-op threads the job asks for (the default when absent); an error for 0.
    pub fn threads(&self) -> Result<usize> {
        match self.threads.unwrap_or(DEFAULT_CPU_THREADS) {
            0 => Err(GadgetError::InvalidConfig("threads must be positive".into())),
            threads => Ok(threads),
        }
    }

    /// Trains the run on the job's device, telling `observer` about every step.
    pub fn run(&self, observer: &mut dyn FnMut(StepReport)) -> Result<(Gadget, TrainingRecord)> {
        self.run_with(self.run.pairs.build()?, observer)
    }

    /// As [`TrainJob::run`] on the distribution `pairs` that the caller built from the run's
    /// `pairs` (the training rows of a pair file, which the library does not read).
    pub fn run_with(
        &self,
        pairs: Box<dyn PairDistribution>,
        observer: &mut dyn FnMut(StepReport),
    ) -> Result<(Gadget, TrainingRecord)> {
        self.threads()?;
        self.run.train_on(self.device.resolve()?, pairs, observer)
    }
}
