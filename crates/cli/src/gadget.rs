//! The learned gadgets as CLI methods (`--method gadget-1 | gadget-2 --checkpoint FILE`), and the
//! `train` subcommand that writes such checkpoints.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use gadgets::checkpoint::{load, save};
use gadgets::task::PairSpec;
use gadgets::{DeviceChoice, Gadget, GadgetKind, TrainJob};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use methods::pair_file::pair_distribution;

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

/// The gadget of any kind in the checkpoint at `path`, on `device` (cpu, cuda or auto).
pub fn load_any(path: &std::path::Path, device: &str) -> Result<Gadget> {
    let device = device.parse::<DeviceChoice>()?.resolve()?;
    Ok(load(path, device)?.gadget)
}

/// The gadget of `kind` from `--checkpoint`, on `--device`.
pub fn gadget(kind: GadgetKind, args: &GadgetArgs) -> Result<Gadget> {
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
    let mut observer = |report: gadgets::train::StepReport| {
        if let Some(loss) = report.block_loss {
            bar.set_message(format!("loss {loss:.4}"));
        }
        bar.inc(1);
    };
    let (gadget, record) = match &job.run.pairs {
        spec @ PairSpec::File { .. } => job.run_with(pair_distribution(spec)?, &mut observer)?,
        _ => job.run(&mut observer)?,
    };
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
