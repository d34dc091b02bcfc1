//! Resumable gadget training for the parts. A trained gadget is a checkpoint
//! `results/checkpoints/<mode>/<label>-<hash>.ckpt`: the label names the gadget and the table column
//! or figure setting it was trained for, the hash everything that determines its weights
//! (architecture, pairs, cost, optimisation settings, seed). So a finished run is never repeated (and
//! parts that need the same gadget share it), and an interrupted run (whose checkpoint is only renamed
//! into place when complete) starts again from scratch.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use gadgets::checkpoint;
use gadgets::device::device_name;
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{TrainOptions, Trainer, TrainingRecord};
use gadgets::{DeviceChoice, Gadget, GadgetConfig};
use serde::Serialize;

use crate::context::Context;
use crate::progress::Progress;
use crate::sharing::Plan;

/// One training run: what a gadget is, what it learns from, and how.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The architecture.
    pub gadget: GadgetConfig,
    /// The distribution of training pairs.
    pub pairs: PairSpec,
    /// The cost the surrogate loss weighs.
    pub cost: CostSpec,
    /// Loss, batch, inner samples, learning rate, steps, seed (also the weights' seed).
    pub training: TrainOptions,
    /// The one observed outcome x the counterfactual loss is given in every step (the sepsis study's
    /// s'_obs; `Trainer::given_observation`), or None: x drawn from p each step (`Trainer::new`). Left
    /// out of the JSON when None, so the keys of runs without one are those of earlier builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<usize>,
}

/// A gadget with the record of its training.
pub struct Trained {
    /// The gadget.
    pub gadget: Gadget,
    /// How it was trained (read back from the checkpoint on a resumed run).
    pub record: TrainingRecord,
}

impl Run {
    /// `label-<hash>`: the label for people, the 64-bit FNV-1a hash of the run's JSON for uniqueness.
    pub fn key(&self, label: &str) -> Result<String> {
        let mut canonical = self.clone();
        canonical.training.progress = false;
        let bytes = serde_json::to_vec(&canonical)?;
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
        Ok(format!("{label}-{hash:016x}"))
    }

    /// Where its checkpoint lives.
    fn path(&self, ctx: &Context, label: &str) -> Result<PathBuf> {
        Ok(ctx.path(format!("checkpoints/{}/{}.ckpt", ctx.mode.label(), self.key(label)?)))
    }

    /// Training steps still to do: 0 when a checkpoint exists.
    pub fn remaining_steps(&self, ctx: &Context, label: &str) -> Result<u64> {
        Ok(if self.path(ctx, label)?.exists() { 0 } else { self.training.steps as u64 })
    }

    /// The run as a unit of shared work ([`share`](crate::sharing::share)): locked by its key, done
    /// when its checkpoint exists.
    pub fn plan(&self, ctx: &Context, label: &str) -> Result<Plan> {
        let steps = self.remaining_steps(ctx, label)?;
        Ok(Plan { lock: self.key(label)?, done: steps == 0, steps })
    }

    /// The trained gadget: loaded from its checkpoint, or trained (advancing `progress` by one per
    /// step) and saved there.
    pub fn trained(&self, ctx: &Context, label: &str, progress: &Progress) -> Result<Trained> {
        let device = DeviceChoice::Auto.resolve()?;
        let path = self.path(ctx, label)?;
        if path.exists() {
            match checkpoint::load(&path, device) {
                Ok(loaded) => {
                    if let Some(record) = loaded.training {
                        return Ok(Trained { gadget: loaded.gadget, record });
                    }
                }
                Err(error) => progress.note(&format!("retraining {label}: {error}")),
            }
        }
        let gadget = Gadget::new(self.gadget.clone(), device, self.training.seed)?;
        let pairs = self.pairs.build()?;
        let cost = self.cost.build(self.gadget.outcomes)?;
        let options = TrainOptions { progress: false, ..self.training.clone() };
        let mut trainer = match self.observed {
            Some(observed) => Trainer::given_observation(&gadget, pairs.as_ref(), &cost, observed, &options)?,
            None => Trainer::new(&gadget, pairs.as_ref(), &cost, &options)?,
        };
        let log_every = options.steps.div_ceil(100).max(1);
        let (mut losses, mut block, mut in_block) = (Vec::new(), 0.0, 0usize);
        let start = Instant::now();
        for step in 1..=options.steps {
            block += trainer.step().with_context(|| format!("training {label}"))?;
            in_block += 1;
            if step % log_every == 0 || step == options.steps {
                losses.push(block / in_block as f64);
                (block, in_block) = (0.0, 0);
            }
            progress.inc(1);
        }
        drop(trainer);
        let seconds = start.elapsed().as_secs_f64();
        let record = TrainingRecord {
            options,
            device: device_name(device),
            final_loss: losses.last().copied().unwrap_or(f64::NAN),
            losses,
            log_every,
            seconds,
            steps_per_second: self.training.steps as f64 / seconds.max(1e-9),
        };
        let partial = crate::store::private_temporary(&path);
        checkpoint::save(&gadget, Some(&record), &partial)?;
        std::fs::rename(&partial, &path).with_context(|| format!("renaming {} into place", partial.display()))?;
        progress.note(&format!("{label}: {} steps in {seconds:.0} s, final loss {:.4}", self.training.steps, record.final_loss));
        Ok(Trained { gadget, record })
    }
}

/// Training throughput over a part's runs, as measured when each was trained.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Throughput {
    /// Steps trained.
    pub steps: u64,
    /// Seconds spent in them.
    pub seconds: f64,
}

impl Throughput {
    /// Adds a run (its record holds the time it took when it was trained, resumed or not).
    pub fn add(&mut self, trained: &Trained) {
        self.steps += trained.record.options.steps as u64;
        self.seconds += trained.record.seconds;
    }

    /// Steps per second (None when nothing was trained).
    pub fn steps_per_second(&self) -> Option<f64> {
        (self.steps > 0).then(|| self.steps as f64 / self.seconds.max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use gadgets::train::LossKind;
    use gadgets::GadgetKind;

    use super::*;
    use crate::context::Mode;

    fn tiny(seed: u64) -> Run {
        Run {
            gadget: GadgetConfig { hidden: vec![8], latent: 3, ..GadgetConfig::paper(GadgetKind::Gadget2, 3) },
            pairs: PairSpec::Ramp { outcomes: 3, base_scale: 0.1, noise: 0.5 },
            cost: CostSpec::Mismatch,
            training: TrainOptions { loss: LossKind::Joint, batch: 4, inner_samples: 2, learning_rate: 1e-3, steps: 3, seed, progress: true, unnormalised_logits: false },
            observed: None,
        }
    }

    #[test]
    fn keys_without_an_observation_are_those_of_earlier_builds() {
        // The key of `tiny(1)` before `observed` existed: the checkpoints of a long --full run that
        // an older build started must still be found.
        assert_eq!(tiny(1).key("a").unwrap(), "a-dcce2d11965d3368");
        let mut given = tiny(1);
        given.observed = Some(2);
        assert_ne!(given.key("a").unwrap(), tiny(1).key("a").unwrap());
    }

    #[test]
    fn keys_name_every_setting_and_ignore_the_progress_flag() {
        let run = tiny(1);
        let mut quiet = run.clone();
        quiet.training.progress = false;
        assert_eq!(run.key("a").unwrap(), quiet.key("a").unwrap());
        assert_ne!(run.key("a").unwrap(), tiny(2).key("a").unwrap());
        let mut slower = run.clone();
        slower.training.learning_rate = 1e-4;
        assert_ne!(run.key("a").unwrap(), slower.key("a").unwrap());
    }

    #[test]
    fn a_trained_run_is_read_back_not_retrained() {
        let dir = std::env::temp_dir().join(format!("reproduce-training-{}", std::process::id()));
        let ctx = Context::new(dir.clone(), Mode::Quick, 0).unwrap();
        let progress = Progress::new("test", 3, "steps");
        let run = tiny(7);
        assert_eq!(run.remaining_steps(&ctx, "tiny").unwrap(), 3);
        let first = run.trained(&ctx, "tiny", &progress).unwrap();
        assert_eq!(run.remaining_steps(&ctx, "tiny").unwrap(), 0);
        // The second call reads the checkpoint: the same record (its wall time included) and weights.
        let second = run.trained(&ctx, "tiny", &progress).unwrap();
        assert_eq!(first.record, second.record);
        let (p, q) = (gumbel_core::Categorical::from_probs(&[0.2, 0.3, 0.5]).unwrap(), gumbel_core::Categorical::from_probs(&[0.5, 0.3, 0.2]).unwrap());
        let joint = |t: &Trained| t.gadget.coupling(&p, &q, 0, 0).unwrap().coupling.to_rows();
        assert_eq!(joint(&first), joint(&second));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
