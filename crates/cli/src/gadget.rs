//! The learned gadgets as CLI methods (`--method gadget-1 | gadget-2 --checkpoint FILE`), and the
//! `train` subcommand that writes such checkpoints.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use gadgets::checkpoint::{load, save};
use gadgets::{DeviceChoice, Gadget, GadgetKind, TrainJob};
use gumbel_core::{Categorical, Coupling};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::methods::{Joint, Sampling};

/// Samples of a Gadget 1 coupling or counterfactual estimate when `--samples` is not given.
pub const DEFAULT_SAMPLES: u64 = 100_000;

/// Where a gadget method finds its trained gadget.
#[derive(clap::Args, Debug)]
pub struct GadgetArgs {
    /// A checkpoint written by `gumbel-gadgets train` (methods gadget-1 and gadget-2).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Where to run a gadget: cpu, cuda, or auto (CUDA when present).
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// The gadget of `kind` from `--checkpoint`, on `--device`.
fn gadget(kind: GadgetKind, args: &GadgetArgs) -> Result<Gadget> {
    let path = args
        .checkpoint
        .as_ref()
        .with_context(|| format!("--method {} needs --checkpoint", kind.name()))?;
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let loaded = load(path, device)?;
    let found = loaded.gadget.config().kind;
    if found != kind {
        bail!("{} holds a {}, not a {}", path.display(), found.name(), kind.name());
    }
    Ok(loaded.gadget)
}

/// The joint of a gadget: exact for Gadget 2 without `sampling`, otherwise estimated from
/// `sampling` (Gadget 1 has no closed form: see [`crate::methods::effective_sampling`]).
pub fn joint(
    kind: GadgetKind,
    args: &GadgetArgs,
    p: &Categorical,
    q: &Categorical,
    sampling: Option<Sampling>,
) -> Result<Joint> {
    let gadget = gadget(kind, args)?;
    Ok(match sampling {
        None => {
            let estimate = gadget.coupling(p, q, DEFAULT_SAMPLES, 0)?;
            Joint { coupling: estimate.coupling, exact: estimate.exact }
        }
        Some(s) => {
            let pairs = gadget.sample_pairs(p, q, s.samples as usize, s.seed)?;
            Joint { coupling: Coupling::from_samples(p.len(), pairs)?, exact: false }
        }
    })
}

/// P(y | x = observed) of a gadget, and a sampled histogram when `sampling` is given. Gadget 2's
/// distribution is exact; Gadget 1's is the histogram itself (no second copy is returned).
pub fn counterfactual(
    kind: GadgetKind,
    args: &GadgetArgs,
    p: &Categorical,
    q: &Categorical,
    observed: usize,
    sampling: Option<Sampling>,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    let gadget = gadget(kind, args)?;
    let s = sampling.unwrap_or(Sampling { samples: DEFAULT_SAMPLES, seed: 0 });
    let estimate = gadget.counterfactual(p, q, observed, s.samples, s.seed)?;
    if !estimate.exact {
        return Ok((estimate.distribution, None));
    }
    let sampled = sampling
        .map(|s| -> Result<Vec<f64>> {
            let draws =
                gadget.sample_counterfactuals(p, q, observed, s.samples as usize, s.seed)?;
            let mut histogram = vec![0.0; p.len()];
            draws.iter().for_each(|&y| histogram[y] += 1.0 / draws.len() as f64);
            Ok(histogram)
        })
        .transpose()?;
    Ok((estimate.distribution, sampled))
}

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// The training configuration (JSON; format in docs/gadgets.md).
    #[arg(long)]
    config: PathBuf,
    /// Where to write the checkpoint.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `train`: trains (with libtorch's threads as the job asks, a progress bar on a terminal),
/// writes the checkpoint, and reports the run.
pub fn train(args: &TrainArgs) -> Result<Value> {
    let job = TrainJob::from_file(&args.config)?;
    gadgets::device::set_cpu_threads(job.threads()?);
    let bar = training_bar(job.run.training.steps);
    let (gadget, record) = job.run(&mut |report| {
        if let Some(loss) = report.block_loss {
            bar.set_message(format!("loss {loss:.4}"));
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    save(&gadget, Some(&record), &args.out)?;
    Ok(json!({
        "checkpoint": args.out.display().to_string(),
        "method": gadget.config().kind.name(),
        "device": record.device,
        "steps": record.options.steps,
        "final_loss": record.final_loss,
        "seconds": record.seconds,
        "steps_per_second": record.steps_per_second,
    }))
}

/// A bar of training steps with the loss and steps/s, drawn on stderr when it is a terminal.
fn training_bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {msg}, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
