//! Resumable gadget training for the parts. A trained gadget is a checkpoint
//! `results/checkpoints/<mode>/<label>-<hash>.safetensors`: the label names the gadget and the table column
//! or figure setting it was trained for, the hash everything that determines its weights
//! (architecture, pairs, cost, optimisation settings, seed). So a finished run is never repeated (and
//! parts that need the same gadget share it). A run in training writes a snapshot of its state
//! (`<label>-<hash>.snapshot` beside the checkpoint) every [`SNAPSHOT_SECS`] seconds, so an interrupted
//! run resumes from its last snapshot and ends, bit for bit, as an uninterrupted one would (same
//! device and thread count); the checkpoint is renamed into place only when the run is complete. A
//! checkpoint of the earlier format (`<label>-<hash>.ckpt`) counts as done and is converted into
//! the run's `.safetensors` file when the run is read back, with a note.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use gadgets::checkpoint;
use gadgets::noise::NOISE_VERSION;
use gadgets::stack::StackedTrainer;
use gadgets::train::{TrainOptions, Trainer, TrainingRecord};
use gadgets::{footprint, Device, DeviceChoice, Gadget, GadgetConfig, GadgetKind, TrainRun};
use gumbel_core::hash::fnv1a;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::progress::Progress;
use crate::sharing::{claim, Plan};
use crate::store::private_temporary;
use crate::units::Unit;

/// Seconds of training between two snapshots of a run: at most this much is lost to an interruption.
pub const SNAPSHOT_SECS: u64 = 300;

/// Seconds between two notes of a stack's step count in the progress output.
const STACK_NOTE_SECS: u64 = 60;

/// A gadget with the record of its training.
pub struct Trained {
    /// The gadget.
    pub gadget: Gadget,
    /// How it was trained (read back from the checkpoint on a resumed run).
    pub record: TrainingRecord,
}

/// A [`TrainRun`] kept in the results folder: trained once, resumably, and read back after.
pub trait Resumable {
    /// `label-<hash>`: the label for people, the 64-bit FNV-1a hash of the run's JSON and the noise
    /// version for uniqueness.
    fn key(&self, label: &str) -> Result<String>;
    /// Training steps still to do: 0 when a checkpoint exists.
    fn remaining_steps(&self, ctx: &Context, label: &str) -> Result<u64>;
    /// The run as a unit of shared work ([`share`](crate::sharing::share)): locked by its key, done
    /// when its checkpoint exists.
    fn plan(&self, ctx: &Context, label: &str) -> Result<Plan>;
    /// The trained gadget: loaded from its checkpoint, or trained (advancing `progress` by one per
    /// step, resuming from the run's snapshot when there is one) and saved there.
    fn trained(&self, ctx: &Context, label: &str, progress: &Progress) -> Result<Trained>;
}

impl Resumable for TrainRun {
    fn key(&self, label: &str) -> Result<String> {
        /// What the key hashes: the run and the noise version ([`NOISE_VERSION`]: a run trained
        /// with other noise is another run).
        #[derive(Serialize)]
        struct Keyed<'a> {
            #[serde(flatten)]
            run: &'a TrainRun,
            noise: u32,
        }
        let keyed = Keyed { run: self, noise: NOISE_VERSION };
        Ok(format!("{label}-{:016x}", fnv1a(&serde_json::to_vec(&keyed)?)))
    }

    fn remaining_steps(&self, ctx: &Context, label: &str) -> Result<u64> {
        let path = path(self, ctx, label)?;
        let done = path.exists() || legacy_path(&path).exists();
        Ok(if done { 0 } else { self.training.steps as u64 })
    }

    fn plan(&self, ctx: &Context, label: &str) -> Result<Plan> {
        let steps = self.remaining_steps(ctx, label)?;
        Ok(Plan { lock: self.key(label)?, done: steps == 0, steps })
    }

    fn trained(&self, ctx: &Context, label: &str, progress: &Progress) -> Result<Trained> {
        let device = DeviceChoice::Auto.resolve()?;
        let path = path(self, ctx, label)?;
        convert_legacy(&path, device, progress)?;
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
        let gadget = self.initial_gadget(device)?;
        let pairs = self.pairs.build()?;
        let cost = self.cost.build(self.gadget.outcomes)?;
        let options = &self.training;
        let mut trainer = match self.observed {
            Some(observed) => {
                Trainer::given_observation(&gadget, pairs.as_ref(), &cost, observed, options)?
            }
            None => Trainer::new(&gadget, pairs.as_ref(), &cost, options)?,
        };
        if ctx.graphs && device.is_cuda() {
            trainer.set_graphs(true)?;
        }
        let snapshot = snapshot_path(self, ctx, label)?;
        if snapshot.exists() {
            match trainer.resume(&snapshot) {
                Ok(()) => {
                    progress.note(&format!(
                        "{label}: resuming from its snapshot at step {} of {}",
                        trainer.steps_done(),
                        options.steps
                    ));
                    progress.skip(trainer.steps_done() as u64);
                }
                Err(error) => progress.note(&format!(
                    "{label}: training from the start, its snapshot is unusable: {error}"
                )),
            }
        }
        let mut last_snapshot = Instant::now();
        while trainer.steps_done() < options.steps {
            trainer.step().with_context(|| format!("training {label}"))?;
            progress.inc(1);
            if last_snapshot.elapsed().as_secs() >= SNAPSHOT_SECS
                && trainer.steps_done() < options.steps
            {
                write_in_place(&snapshot, |partial| Ok(trainer.save_snapshot(partial)?))?;
                last_snapshot = Instant::now();
            }
        }
        let record = trainer.record();
        drop(trainer);
        save(self, ctx, label, &gadget, &record)?;
        progress.note(&format!(
            "{label}: {} steps in {:.0} s, final loss {:.4}",
            options.steps, record.seconds, record.final_loss
        ));
        Ok(Trained { gadget, record })
    }
}

/// Where the checkpoint of `run` lives.
fn path(run: &TrainRun, ctx: &Context, label: &str) -> Result<PathBuf> {
    Ok(ctx.path(format!("checkpoints/{}/{}.safetensors", ctx.mode.label(), run.key(label)?)))
}

/// Where a checkpoint of the earlier format would be for the checkpoint at `path`.
fn legacy_path(path: &Path) -> PathBuf {
    path.with_extension("ckpt")
}

/// Converts the checkpoint of the earlier format beside `path`, if there is one and no checkpoint at
/// `path`, into `path`, and removes it (one format per run in the folder). A file that does not load
/// is left alone (the run is trained afresh into `path`).
fn convert_legacy(path: &Path, device: gadgets::Device, progress: &Progress) -> Result<()> {
    let legacy = legacy_path(path);
    if path.exists() || !legacy.exists() {
        return Ok(());
    }
    match checkpoint::load(&legacy, device) {
        Ok(loaded) => {
            write_in_place(path, |partial| {
                Ok(checkpoint::save(&loaded.gadget, loaded.training.as_ref(), partial)?)
            })?;
            remove_if_present(&legacy)?;
            progress.note(&format!("converted {} into {}", legacy.display(), path.display()));
        }
        Err(error) => progress.note(&format!("ignoring {}: {error}", legacy.display())),
    }
    Ok(())
}

/// Where the snapshot of the training of `run` lives while it is under way.
fn snapshot_path(run: &TrainRun, ctx: &Context, label: &str) -> Result<PathBuf> {
    Ok(path(run, ctx, label)?.with_extension("snapshot"))
}

/// Puts the trained `gadget` in place as the checkpoint of `run` and removes the run's snapshot.
fn save(
    run: &TrainRun,
    ctx: &Context,
    label: &str,
    gadget: &Gadget,
    record: &TrainingRecord,
) -> Result<()> {
    write_in_place(&path(run, ctx, label)?, |partial| {
        Ok(checkpoint::save(gadget, Some(record), partial)?)
    })?;
    remove_if_present(&snapshot_path(run, ctx, label)?)
}

/// What a run shares with the runs it can be stacked with: everything but its seed, pairs and
/// learning rate.
fn stack_key(run: &TrainRun) -> Result<String> {
    let options = TrainOptions { seed: 0, learning_rate: 0.0, ..run.training.clone() };
    Ok(serde_json::to_string(&(&run.gadget, &run.cost, &options, run.observed))?)
}

/// Writes `path` through `write` to a private temporary beside it, then renames it into place, so that
/// the file is either whole or absent.
fn write_in_place(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let partial = private_temporary(path);
    write(&partial)?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("renaming {} into place", partial.display()))
}

/// Removes `path` if it is there.
fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::anyhow!("removing {}: {error}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Where the snapshot of the stack of the runs with checkpoint keys `keys` (in stack order) lives.
fn stack_snapshot_path(ctx: &Context, keys: &[String]) -> PathBuf {
    ctx.path(format!(
        "checkpoints/{}/stack-{:016x}.snapshot",
        ctx.mode.label(),
        fnv1a(keys.join("\n").as_bytes())
    ))
}

/// Trains the unfinished runs of `runs` (labelled) in stacks ([`gadgets::stack`]): the runs that
/// differ only in seed, pairs and learning rate, as one stacked gadget on the training device, each
/// run's checkpoint then saved under its own key as [`Resumable::trained`] would have. Runs another process holds, runs with
/// a snapshot (they resume alone) and runs that would stand alone in their stack are left to
/// [`Resumable::trained`]. A stack in training writes a snapshot every [`SNAPSHOT_SECS`] seconds,
/// `checkpoints/<mode>/stack-<hash of its runs' keys>.snapshot`, from which the same stack resumes.
/// The progress advances by the stack's size per step.
pub fn train_stacks(
    ctx: &Context,
    runs: &[(String, &TrainRun)],
    progress: &Progress,
) -> Result<()> {
    let mut stacks: Vec<(String, Vec<(&str, &TrainRun)>)> = Vec::new();
    for (label, run) in runs {
        if run.remaining_steps(ctx, label)? == 0 || snapshot_path(run, ctx, label)?.exists() {
            continue;
        }
        let key = stack_key(run)?;
        match stacks.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push((label, run)),
            None => stacks.push((key, vec![(label, run)])),
        }
    }
    let device = DeviceChoice::Auto.resolve()?;
    for (_, candidates) in stacks {
        let (members, _locks) = claim_unfinished(ctx, &candidates)?;
        if members.len() >= 2 {
            train_stack(ctx, &members, device, progress)?;
        }
    }
    Ok(())
}

/// A measured training step: its gadget, samples per step (batch x inner samples) and seconds on one
/// CPU core, from which [`estimated_seconds`] scales.
pub struct MeasuredStep {
    /// The gadget measured.
    pub gadget: GadgetConfig,
    /// Batch x inner samples of the measured step.
    pub samples: usize,
    /// Seconds a step took on one core.
    pub seconds: f64,
}

/// Multiply-adds of one sample's pass through `gadget`'s network(s): 2K inputs, the hidden layers, and
/// K x K outputs (Gadget 1, twice with separate networks) or |Z| x K (Gadget 2).
fn multiply_adds(gadget: &GadgetConfig) -> f64 {
    let k = gadget.outcomes;
    let outputs = match gadget.kind {
        GadgetKind::Gadget1 => k * k,
        GadgetKind::Gadget2 => gadget.latent * k,
    };
    let widths: Vec<usize> =
        std::iter::once(2 * k).chain(gadget.hidden.iter().copied()).chain([outputs]).collect();
    let one: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let networks =
        if gadget.kind == GadgetKind::Gadget1 && gadget.separate_networks { 2 } else { 1 };
    (networks * one) as f64
}

/// The least seconds a step takes, whatever its size: the floor of small networks' steps (quick
/// Figure 1 trains 1,600 steps of [128, 128] networks in 34.7 s of the part's time, docs/figure1-table1.md
/// "Measured time", where the scaled multiply-adds give 3 ms a step); below every measured paper-size step.
const STEP_FLOOR_SECS: f64 = 0.01;

/// Estimated seconds of `run` on one CPU core: its steps times the `measured` step, scaled by the
/// network's multiply-adds and the samples per step relative to the measured step's, and at least
/// [`STEP_FLOOR_SECS`] a step (a model for balancing shards and sizing jobs, not a timing).
pub fn estimated_seconds(run: &TrainRun, measured: &MeasuredStep) -> f64 {
    let samples = (run.training.batch * run.training.inner_samples) as f64;
    let scale = (multiply_adds(&run.gadget) / multiply_adds(&measured.gadget))
        * (samples / measured.samples as f64);
    run.training.steps as f64 * (measured.seconds * scale).max(STEP_FLOOR_SECS)
}

/// `run` (checkpoint label `label`) as a unit of `part`'s plan in `stage`: keyed by its checkpoint's
/// key, done when the checkpoint exists, its work [`Resumable::trained`].
pub fn unit<'a>(
    ctx: &'a Context,
    stage: u32,
    part: &'static str,
    label: String,
    run: TrainRun,
    measured: &MeasuredStep,
) -> Result<Unit<'a>> {
    let (key, cost) = (run.key(&label)?, estimated_seconds(&run, measured));
    let (done_run, done_label) = (run.clone(), label.clone());
    Ok(Unit::new(
        stage,
        part,
        key,
        cost,
        move || Ok(done_run.remaining_steps(ctx, &done_label)? == 0),
        move |progress| run.trained(ctx, &label, progress).map(drop),
    ))
}

/// A labelled run.
type Member<'a> = (&'a str, &'a TrainRun);

/// The runs of `candidates` that no other process holds (another process may be training them) and
/// that are not finished, with their locks, held until dropped.
fn claim_unfinished<'a>(
    ctx: &Context,
    candidates: &[Member<'a>],
) -> Result<(Vec<Member<'a>>, Vec<File>)> {
    let (mut members, mut locks) = (Vec::new(), Vec::new());
    for &(label, run) in candidates {
        if let Some(lock) = claim(ctx, &run.key(label)?)? {
            if run.remaining_steps(ctx, label)? > 0 {
                members.push((label, run));
                locks.push(lock);
            }
        }
    }
    Ok((members, locks))
}

/// Trains the unfinished runs of `candidates`, which differ only in seed, pairs, learning rate, cost
/// and observation, in stacks on `device` that fit its free memory
/// ([`gadgets::footprint::stack_sizes`] of the runs' estimated bytes); a stack that runs out of
/// memory all the same is split in two and retried, down to runs alone, and a run alone that runs
/// out is an error naming the memory it needs. Runs another process holds are left to it, and runs
/// with a snapshot of their own to [`Resumable::trained`] (they resume alone).
pub fn train_fitting_stacks(
    ctx: &Context,
    candidates: &[(&str, &TrainRun)],
    device: Device,
    progress: &Progress,
) -> Result<()> {
    let mut fresh = Vec::new();
    for &(label, run) in candidates {
        if !snapshot_path(run, ctx, label)?.exists() {
            fresh.push((label, run));
        }
    }
    let (members, _locks) = claim_unfinished(ctx, &fresh)?;
    let Some((_, first)) = members.first() else {
        return Ok(());
    };
    let bytes = footprint::run_bytes(&first.gadget, &first.training);
    let sizes = footprint::stack_sizes(members.len(), bytes, footprint::free_bytes(device)?)?;
    let mut start = 0;
    for size in sizes {
        train_splitting(ctx, &members[start..start + size], device, progress, bytes)?;
        start += size;
    }
    Ok(())
}

/// [`train_stack`], split in halves while it runs out of memory (libtorch's allocation failures
/// surface as panics of tch's infallible calls, caught here; any other panic goes on unwinding).
fn train_splitting(
    ctx: &Context,
    members: &[(&str, &TrainRun)],
    device: Device,
    progress: &Progress,
    bytes: u64,
) -> Result<()> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match members {
        [(label, run)] => run.trained(ctx, label, progress).map(drop),
        _ => train_stack(ctx, members, device, progress),
    }));
    let out_of_memory = match outcome {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error)) => {
            let memory =
                error.downcast_ref::<gadgets::GadgetError>().is_some_and(|e| e.is_out_of_memory());
            if !memory {
                return Err(error);
            }
            error.to_string()
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            if !gadgets::error::is_out_of_memory_message(&message) {
                std::panic::resume_unwind(panic);
            }
            message
        }
    };
    if members.len() == 1 {
        let free = footprint::free_bytes(device)?;
        anyhow::bail!(
            "training {} ran out of memory on {}: one run needs about {} MiB (estimated), {} MiB \
             are free ({})",
            members[0].0,
            gadgets::device::device_name(device),
            bytes >> 20,
            free >> 20,
            out_of_memory.lines().next().unwrap_or_default()
        );
    }
    let half = members.len() / 2;
    progress.note(&format!(
        "a stack of {} runs ran out of memory on {}: splitting it into {} and {}",
        members.len(),
        gadgets::device::device_name(device),
        half,
        members.len() - half
    ));
    train_splitting(ctx, &members[..half], device, progress, bytes)?;
    train_splitting(ctx, &members[half..], device, progress, bytes)
}

/// Trains `members` (at least two runs differing only in seed, pairs, learning rate, cost and
/// observation, claimed by the caller) as one stack on `device` and saves each run's checkpoint. A
/// stack in training writes a snapshot every [`SNAPSHOT_SECS`] seconds,
/// `checkpoints/<mode>/stack-<hash of its runs' keys>.snapshot`, from which the same stack resumes.
/// The progress advances by the stack's size per step.
fn train_stack(
    ctx: &Context,
    members: &[(&str, &TrainRun)],
    device: Device,
    progress: &Progress,
) -> Result<()> {
    let first = members[0].1;
    let seeds: Vec<u64> = members.iter().map(|(_, run)| run.training.seed).collect();
    let stack = Gadget::stacked(first.gadget.clone(), device, &seeds)?;
    let built = members.iter().map(|(_, run)| run.pairs.build()).collect::<Result<Vec<_>, _>>()?;
    let costs = members
        .iter()
        .map(|(_, run)| run.cost.build(run.gadget.outcomes))
        .collect::<Result<Vec<_>, _>>()?;
    let observed: Vec<Option<usize>> = members.iter().map(|(_, run)| run.observed).collect();
    let options: Vec<TrainOptions> = members.iter().map(|(_, run)| run.training.clone()).collect();
    let mut trainer = StackedTrainer::per_run(
        &stack,
        built.iter().map(AsRef::as_ref).collect(),
        &costs.iter().collect::<Vec<_>>(),
        &observed,
        &options,
    )?;
    if ctx.graphs && device.is_cuda() {
        trainer.set_graphs(true)?;
    }
    progress.note(&format!(
        "training {} runs as one stack on {} ({} first)",
        members.len(),
        gadgets::device::device_name(device),
        members[0].0
    ));
    let keys = members.iter().map(|(label, run)| run.key(label)).collect::<Result<Vec<_>>>()?;
    let snapshot = stack_snapshot_path(ctx, &keys);
    if snapshot.exists() {
        match trainer.resume(&snapshot) {
            Ok(()) => {
                progress.note(&format!(
                    "the stack resumes from its snapshot at step {}",
                    trainer.steps_done()
                ));
                progress.skip((trainer.steps_done() * members.len()) as u64);
            }
            Err(error) => progress.note(&format!(
                "the stack trains from the start, its snapshot is unusable: {error}"
            )),
        }
    }
    let (mut last_note, mut last_snapshot) = (Instant::now(), Instant::now());
    while trainer.steps_done() < first.training.steps {
        trainer.step().with_context(|| format!("training the stack of {}", members[0].0))?;
        progress.inc(members.len() as u64);
        if last_note.elapsed().as_secs() >= STACK_NOTE_SECS {
            progress.note(&format!(
                "stack of {}: step {} of {}",
                members.len(),
                trainer.steps_done(),
                first.training.steps
            ));
            last_note = Instant::now();
        }
        if last_snapshot.elapsed().as_secs() >= SNAPSHOT_SECS
            && trainer.steps_done() < first.training.steps
        {
            write_in_place(&snapshot, |partial| Ok(trainer.save_snapshot(partial)?))?;
            last_snapshot = Instant::now();
        }
    }
    let records = trainer.records();
    drop(trainer);
    for ((label, run), (gadget, record)) in
        members.iter().zip(stack.unstack()?.iter().zip(&records))
    {
        save(run, ctx, label, gadget, record)?;
    }
    remove_if_present(&snapshot)?;
    progress.note(&format!(
        "{} runs in one stack: {} steps in {:.0} s, {:.1} steps/s",
        members.len(),
        first.training.steps,
        records[0].seconds,
        records[0].steps_per_second
    ));
    Ok(())
}

/// Training throughput over a part's runs, as measured when each was trained.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// Steps trained.
    pub steps: u64,
    /// Seconds spent in them.
    pub seconds: f64,
    /// How many of the runs were trained in stacks ([`train_stacks`]).
    pub stacked_runs: u64,
}

impl Throughput {
    /// Adds a run (its record holds the time it took when it was trained, resumed or not; a run
    /// trained in a stack of R counts 1 / R of the stack's time).
    pub fn add(&mut self, trained: &Trained) {
        self.steps += trained.record.options.steps as u64;
        self.seconds += trained.record.seconds / trained.record.stacked.unwrap_or(1) as f64;
        self.stacked_runs += u64::from(trained.record.stacked.is_some());
    }

    /// Steps per second (None when nothing was trained).
    pub fn steps_per_second(&self) -> Option<f64> {
        (self.steps > 0).then(|| self.steps as f64 / self.seconds.max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use gadgets::task::{CostSpec, PairSpec};
    use gadgets::train::LossKind;
    use gadgets::{GadgetConfig, GadgetKind};

    use super::*;
    use crate::context::Mode;

    fn tiny(seed: u64) -> TrainRun {
        TrainRun {
            gadget: GadgetConfig {
                hidden: vec![8],
                latent: 3,
                ..GadgetConfig::paper(GadgetKind::Gadget2, 3)
            },
            pairs: PairSpec::Ramp { outcomes: 3, base_scale: 0.1, noise: 0.5 },
            cost: CostSpec::Mismatch,
            training: TrainOptions {
                loss: LossKind::Joint,
                batch: 4,
                inner_samples: 2,
                learning_rate: 1e-3,
                steps: 3,
                seed,
                unnormalised_logits: false,
            },
            observed: None,
        }
    }

    #[test]
    fn keys_name_the_noise_version_and_an_observation() {
        // `a-dcce2d11965d3368` is the key of `tiny(1)` trained with noise version 1, whose keys hash
        // no version: such a checkpoint is not taken for this build's run. The key is pinned so that
        // a change in what keys hash is seen.
        assert_ne!(tiny(1).key("a").unwrap(), "a-dcce2d11965d3368");
        assert_eq!(tiny(1).key("a").unwrap(), "a-46e0e2374241a5fe");
        let mut given = tiny(1);
        given.observed = Some(2);
        assert_ne!(given.key("a").unwrap(), tiny(1).key("a").unwrap());
    }

    #[test]
    fn keys_name_every_setting() {
        let run = tiny(1);
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
        let (p, q) = (
            gumbel_core::Categorical::from_probs(&[0.2, 0.3, 0.5]).unwrap(),
            gumbel_core::Categorical::from_probs(&[0.5, 0.3, 0.2]).unwrap(),
        );
        let joint = |t: &Trained| t.gadget.coupling(&p, &q, 0, 0).unwrap().coupling.to_rows();
        assert_eq!(joint(&first), joint(&second));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_checkpoint_of_the_earlier_format_counts_as_done_and_is_converted() {
        let dir = std::env::temp_dir().join(format!("reproduce-legacy-{}", std::process::id()));
        let ctx = Context::new(dir.clone(), Mode::Quick, 0).unwrap();
        let progress = Progress::new("test", 3, "steps");
        // The run of the gadget that the earlier format's test file holds (its architecture).
        let mut run = tiny(9);
        run.gadget = GadgetConfig {
            hidden: vec![4],
            latent: 2,
            learned_prior: true,
            ..GadgetConfig::paper(GadgetKind::Gadget2, 3)
        };
        let legacy =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../gadgets/tests/data/gadget2-legacy.ckpt");
        let old = legacy_path(&path(&run, &ctx, "old").unwrap());
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::copy(&legacy, &old).unwrap();
        assert_eq!(run.remaining_steps(&ctx, "old").unwrap(), 0);
        let read = run.trained(&ctx, "old", &progress).unwrap();
        let want = checkpoint::load(&legacy, gadgets::Device::Cpu).unwrap();
        assert_eq!(Some(read.record), want.training, "read back, not retrained");
        let bits = |g: &Gadget| -> Vec<(String, Vec<f32>)> {
            let mut vars: Vec<_> = g.var_store().variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            vars.into_iter()
                .map(|(n, v)| (n, Vec::<f32>::try_from(v.flatten(0, -1)).unwrap()))
                .collect()
        };
        assert_eq!(bits(&read.gadget), bits(&want.gadget));
        assert!(path(&run, &ctx, "old").unwrap().exists() && !old.exists(), "converted in place");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stacked_runs_are_saved_under_their_own_keys_and_read_back() {
        let base = std::env::temp_dir().join(format!("reproduce-stacks-{}", std::process::id()));
        let (alone, stacked) = (
            Context::new(base.join("alone"), Mode::Quick, 0).unwrap(),
            Context::new(base.join("stacked"), Mode::Quick, 0).unwrap(),
        );
        let progress = Progress::new("test", 12, "steps");
        let mut other_pairs = tiny(5);
        other_pairs.pairs = PairSpec::Ramp { outcomes: 3, base_scale: 0.1, noise: 2.0 };
        let (first, second, slower) = (
            tiny(4),
            other_pairs,
            TrainRun {
                training: TrainOptions { learning_rate: 1e-2, ..tiny(6).training },
                ..tiny(6)
            },
        );
        let wider =
            TrainRun { training: TrainOptions { inner_samples: 3, ..tiny(8).training }, ..tiny(8) };
        let runs = [
            ("a".to_owned(), &first),
            ("b".to_owned(), &second),
            ("c".to_owned(), &slower),
            ("d".to_owned(), &wider),
        ];
        train_stacks(&stacked, &runs, &progress).unwrap();
        // a, b and c differ only in seed, pairs and rate: one stack; d (more inner samples) would stand alone.
        let stacked_runs = [("a", &first), ("b", &second), ("c", &slower)];
        for (label, run) in stacked_runs {
            assert_eq!(run.remaining_steps(&stacked, label).unwrap(), 0, "{label}");
        }
        assert_eq!(wider.remaining_steps(&stacked, "d").unwrap(), 3);
        for (label, run) in stacked_runs {
            let from_stack = run.trained(&stacked, label, &progress).unwrap();
            assert_eq!(from_stack.record.stacked, Some(3));
            let by_itself = run.trained(&alone, label, &progress).unwrap();
            let gap = |a: &Trained, b: &Trained| -> f64 {
                let (va, vb) = (a.gadget.var_store().variables(), b.gadget.var_store().variables());
                va.iter()
                    .map(|(name, t)| f64::try_from((t - &vb[name]).abs().max()).unwrap())
                    .fold(0.0, f64::max)
            };
            assert!(
                gap(&from_stack, &by_itself) < 1e-5,
                "{label}: {}",
                gap(&from_stack, &by_itself)
            );
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn trials_with_their_own_costs_and_observations_train_in_stacks_that_fit() {
        let base = std::env::temp_dir().join(format!("reproduce-fitting-{}", std::process::id()));
        let (alone, stacked) = (
            Context::new(base.join("alone"), Mode::Quick, 0).unwrap(),
            Context::new(base.join("stacked"), Mode::Quick, 0).unwrap(),
        );
        let progress = Progress::new("test", 12, "steps");
        // The sepsis study's trials in small: each its own seed, cost and observed outcome, Gadget 2
        // with a learned prior, the counterfactual loss given the observation.
        let runs: Vec<TrainRun> = (0..3_u64)
            .map(|r| {
                let mut run = tiny(30 + r);
                run.gadget.learned_prior = true;
                run.training.loss = LossKind::Counterfactual;
                run.cost = CostSpec::SquaredReward { h: vec![0.0, 1.0 + r as f64, -1.0] };
                run.observed = Some(r as usize);
                run
            })
            .collect();
        let labels = ["a", "b", "c"];
        let members: Vec<(&str, &TrainRun)> = labels.iter().copied().zip(&runs).collect();
        train_fitting_stacks(&stacked, &members, Device::Cpu, &progress).unwrap();
        for (label, run) in &members {
            let from_stack = run.trained(&stacked, label, &progress).unwrap();
            assert_eq!(from_stack.record.stacked, Some(3), "{label}: one stack fits");
            let by_itself = run.trained(&alone, label, &progress).unwrap();
            let initial = Gadget::new(run.gadget.clone(), Device::Cpu, run.training.seed).unwrap();
            let gap = |a: &Gadget, b: &Gadget| -> f64 {
                let (va, vb) = (a.var_store().variables(), b.var_store().variables());
                va.iter()
                    .map(|(name, t)| f64::try_from((t - &vb[name]).abs().max()).unwrap())
                    .fold(0.0, f64::max)
            };
            let moved = gap(&by_itself.gadget, &initial);
            let off = gap(&from_stack.gadget, &by_itself.gadget);
            assert!(off < 1e-3 * moved, "{label}: off by {off}, training moved it by {moved}");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn an_interrupted_stack_resumes_from_its_snapshot_and_ends_as_an_uninterrupted_one() {
        let base =
            std::env::temp_dir().join(format!("reproduce-stack-resume-{}", std::process::id()));
        let (whole, stopped) = (
            Context::new(base.join("whole"), Mode::Quick, 0).unwrap(),
            Context::new(base.join("stopped"), Mode::Quick, 0).unwrap(),
        );
        let progress = Progress::new("test", 6, "steps");
        let (first, second) = (tiny(21), tiny(22));
        let runs = [("a".to_owned(), &first), ("b".to_owned(), &second)];
        train_stacks(&whole, &runs, &progress).unwrap();
        // A process that did one of the three steps of the stack in over a second (so that a run that
        // took the snapshot's time over is told from one trained afresh) and wrote its snapshot.
        let stack = Gadget::stacked(first.gadget.clone(), gadgets::Device::Cpu, &[21, 22]).unwrap();
        let pairs = [first.pairs.build().unwrap(), second.pairs.build().unwrap()];
        let options = [first.training.clone(), second.training.clone()];
        let mut trainer = StackedTrainer::new(
            &stack,
            pairs.iter().map(AsRef::as_ref).collect(),
            &first.cost.build(3).unwrap(),
            None,
            &options,
        )
        .unwrap();
        trainer.step().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let snapshot =
            stack_snapshot_path(&stopped, &[first.key("a").unwrap(), second.key("b").unwrap()]);
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        trainer.save_snapshot(&snapshot).unwrap();
        train_stacks(&stopped, &runs, &progress).unwrap();
        assert!(!snapshot.exists(), "the snapshot is removed once the checkpoints are in place");
        for (label, run) in [("a", &first), ("b", &second)] {
            let (resumed, uninterrupted) = (
                run.trained(&stopped, label, &progress).unwrap(),
                run.trained(&whole, label, &progress).unwrap(),
            );
            assert_eq!(resumed.record.losses, uninterrupted.record.losses, "{label}");
            assert!(
                resumed.record.seconds > 1.0,
                "{label}: the snapshot's seconds are not counted: not resumed?"
            );
            let bits = |t: &Trained| -> Vec<(String, Vec<f32>)> {
                let mut vars: Vec<_> = t.gadget.var_store().variables().into_iter().collect();
                vars.sort_by(|x, y| x.0.cmp(&y.0));
                vars.into_iter()
                    .map(|(n, v)| (n, Vec::<f32>::try_from(v.flatten(0, -1)).unwrap()))
                    .collect()
            };
            assert_eq!(bits(&resumed), bits(&uninterrupted), "{label}");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn an_interrupted_run_resumes_from_its_snapshot_and_ends_as_an_uninterrupted_one() {
        let base = std::env::temp_dir().join(format!("reproduce-resume-{}", std::process::id()));
        let (whole, stopped) = (
            Context::new(base.join("whole"), Mode::Quick, 0).unwrap(),
            Context::new(base.join("stopped"), Mode::Quick, 0).unwrap(),
        );
        let progress = Progress::new("test", 3, "steps");
        let run = tiny(11);
        let uninterrupted = run.trained(&whole, "tiny", &progress).unwrap();
        // A process that did one of the three steps and wrote its snapshot before it was stopped.
        let gadget =
            Gadget::new(run.gadget.clone(), gadgets::Device::Cpu, run.training.seed).unwrap();
        let (pairs, cost) = (run.pairs.build().unwrap(), run.cost.build(3).unwrap());
        let mut trainer = Trainer::new(&gadget, pairs.as_ref(), &cost, &run.training).unwrap();
        trainer.step().unwrap();
        let snapshot = snapshot_path(&run, &stopped, "tiny").unwrap();
        trainer.save_snapshot(&snapshot).unwrap();
        let resumed = run.trained(&stopped, "tiny", &progress).unwrap();
        assert_eq!(resumed.record.losses, uninterrupted.record.losses);
        let weights = |t: &Trained| -> Vec<(String, Vec<f32>)> {
            let mut vars: Vec<_> = t.gadget.var_store().variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            vars.into_iter()
                .map(|(n, v)| (n, Vec::<f32>::try_from(v.flatten(0, -1)).unwrap()))
                .collect()
        };
        assert_eq!(weights(&resumed), weights(&uninterrupted));
        assert!(!snapshot.exists(), "the snapshot is removed once the checkpoint is in place");
        // A corrupt snapshot is reported and the run trained from the start, to the same weights.
        std::fs::remove_file(path(&run, &stopped, "tiny").unwrap()).unwrap();
        std::fs::write(&snapshot, b"GUMBEL-GADGETS-TRAINING-SNAPSHOT\ngarbage").unwrap();
        let retrained = run.trained(&stopped, "tiny", &progress).unwrap();
        assert_eq!(weights(&retrained), weights(&uninterrupted));
        std::fs::remove_dir_all(base).unwrap();
    }
}
