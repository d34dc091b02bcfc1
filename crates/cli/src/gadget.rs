//! The learned gadgets as CLI methods (`--method gadget-1 | gadget-2 --checkpoint FILE`), and the
//! `train` subcommand that writes such checkpoints.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use gadgets::checkpoint::{load, save};
use gadgets::{DeviceChoice, Gadget, GadgetKind, TrainJob};
use serde_json::{json, Value};

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

/// Runs `train`: trains, writes the checkpoint, and reports the run.
pub fn train(args: &TrainArgs) -> Result<Value> {
    let job = TrainJob::from_file(&args.config)?;
    let (gadget, record) = job.run()?;
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
