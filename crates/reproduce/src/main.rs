//! `reproduce` (run it as `cargo xtask reproduce`): the papers' experiments, written to `results/`.
//!
//! Each part writes `results/<part>.json` (for tools) and `results/<part>.md` (for people), stamped
//! with provenance, configuration and timings; `results/REPORT.md` gathers the markdown of every part
//! present. Units of work are cached under `results/cache/`, so an interrupted run resumes without
//! redoing anything finished. `--check` exits non-zero when a reproduced number falls outside its
//! stated tolerance of the paper's; `--verify` applies the same checks to the JSON already in the
//! folder, running nothing.
//!
//! Layers, each importing only those below it: leaves (`checks`, `markdown`, `paper`, `plot`,
//! `progress`, `provenance`, `stats`, `store`, `graphs`) import nothing of the crate; `context` (mode, seed,
//! cache); `sharing` and `training` (units of work and resumable gadget training); `part` (the part
//! type); `experiments` (pieces several parts share); `parts` (one module per part, never importing
//! another); `report` and `verify` (writing and re-checking a part's files); this binary.

mod checks;
mod context;
mod experiments;
mod graphs;
mod markdown;
mod paper;
mod part;
mod parts;
mod plot;
mod progress;
mod provenance;
mod report;
mod sharing;
mod stats;
mod store;
mod training;
mod units;
mod verify;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use gumbel_core::shard::{ShardError, ShardSpec};

use crate::context::{Context, Mode};
use crate::part::AnyPart;
use crate::units::Refusal;

#[derive(Parser)]
#[command(
    name = "cargo xtask reproduce",
    about = "Reproduce the papers' tables and figures into results/"
)]
struct Args {
    /// Run the papers' full protocols (long; GPU when present) instead of the quick default.
    #[arg(long)]
    full: bool,
    /// Only these parts, comma-separated (see --list).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// List the parts and exit.
    #[arg(long)]
    list: bool,
    /// Exit non-zero when a reproduced number is outside its tolerance of the paper's.
    #[arg(long)]
    check: bool,
    /// Run nothing: apply the checks recorded in the output folder's JSON, for the parts of --only (or
    /// every part), in quick mode or with --full in full mode; exit non-zero when one is outside its
    /// tolerance or a part is missing or of the other mode. For a folder whose parts ran elsewhere.
    #[arg(long, conflicts_with = "check")]
    verify: bool,
    /// Refuse to start (exit code 2) unless libtorch sees a CUDA device: for a run meant for a GPU,
    /// which would otherwise train on the CPU for days.
    #[arg(long)]
    require_cuda: bool,
    /// The master seed every random choice derives from.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The output folder.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// libtorch's intra-op CPU threads for gadget training. One by default: on a loaded machine two
    /// OpenMP threads ran a training step about 9 times slower than one (docs/figure1-table1.md).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Full mode: skip Table 1's phase-1 learning-rate sweep (36 runs, about 1.7 core-hours here) and
    /// train phase 2 at the rates the authors' sweep chose; the report says so.
    #[arg(long)]
    no_sweep: bool,
    /// Train the runs of a part that differ only in seed, training pairs and learning rate together,
    /// as one stacked network (Figure 1a: one per procedure; Table 1: one per gadget and phase): many
    /// times faster on a GPU, where a step's kernel launches set its time, and no faster on a CPU.
    /// `auto`: on CUDA only. A stacked run agrees with the same run trained alone to rounding
    /// (docs/gadgets.md).
    #[arg(long, value_enum, default_value_t = Stacking::Auto)]
    stack: Stacking,
    /// Replay every training step as a CUDA graph after a few eager ones (docs/gadgets.md,
    /// "Training with CUDA graphs"): the same weights bit for bit, without a kernel launch per
    /// operation. `auto`: where this build has the CUDA graph shim and the training device is CUDA;
    /// `on`: the same, and an error elsewhere; `off`: never.
    #[arg(long, value_enum, default_value_t = GraphChoice::Auto)]
    graphs: GraphChoice,
    /// Run nothing else: train one small stack (Table 1's Gadget 2 sizes, 3 runs, 30 steps) on CUDA
    /// eagerly and replaying a CUDA graph, print {equal_bits, eager_steps_per_second,
    /// graph_steps_per_second, device, ...} as JSON, and exit 0 when the two trained the same bits,
    /// 1 otherwise (or when graphs are unavailable, one line on stderr).
    #[arg(long, conflicts_with_all = ["verify", "plan", "shard", "merge", "list"])]
    check_graphs: bool,
    /// Print the plan and exit: every unit of work of the selected parts, one a line (stage, part,
    /// key, estimated seconds on one core, tab-separated); with --shard, only that shard's units.
    #[arg(long, conflicts_with_all = ["verify", "merge"])]
    plan: bool,
    /// Do only this shard's units of the plan, `I/N` (0 <= I < N) or `auto` (SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and SHARD_COUNT), balanced by estimated cost,
    /// and write no report; every shard of an array must be given the same parts and options. A
    /// plain run (--merge) writes the results once every shard is done.
    #[arg(long, value_parser = parse_shard, conflicts_with_all = ["verify", "merge"])]
    shard: Option<ShardSpec>,
    /// With --shard: only the units of this stage (a stage's units may need every unit of the stages
    /// before it; the plan lists them). Without it, a shard runs every stage in turn.
    #[arg(long, requires = "shard")]
    stage: Option<u32>,
    /// Refuse to write anything while a unit of the plan is not done (naming it), then write the
    /// results as a plain run does: the last job after an array of shards.
    #[arg(long, conflicts_with = "verify")]
    merge: bool,
}

/// `--shard`'s value.
fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    text.parse().map_err(|error: gumbel_core::shard::ShardError| error.to_string())
}

/// When to train runs as stacks.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Stacking {
    /// On a CUDA device, not on the CPU.
    Auto,
    /// Always.
    On,
    /// Never: every run alone.
    Off,
}

/// When to replay training steps as CUDA graphs.
#[derive(Clone, Copy, clap::ValueEnum)]
enum GraphChoice {
    /// Where they are available.
    Auto,
    /// Always: an error where they are unavailable.
    On,
    /// Never.
    Off,
}

/// Whether training on the training device replays CUDA graphs, as `choice` asks.
fn resolve_graphs(choice: GraphChoice) -> Result<bool> {
    let device = gadgets::DeviceChoice::Auto.resolve()?;
    let available = match device {
        gadgets::Device::Cuda(index) => cuda_graph::available(index),
        _ => false,
    };
    Ok(match choice {
        GraphChoice::Auto => available,
        GraphChoice::Off => false,
        GraphChoice::On if available => true,
        GraphChoice::On => {
            let why = if !device.is_cuda() {
                "--graphs on: training runs on the CPU (libtorch sees no CUDA device)"
            } else {
                "--graphs on: this build has no CUDA graph shim"
            };
            return Err(cuda_graph::GraphError::Unavailable(why.to_owned()).into());
        }
    })
}

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("reproduce: {error:#}");
        // Input refused (a shard's environment, an incomplete plan) is exit code 2, as clap's errors.
        let refused = error.chain().any(|cause| cause.is::<Refusal>() || cause.is::<ShardError>());
        std::process::exit(if refused { 2 } else { 1 });
    }
}

fn run(args: Args) -> Result<()> {
    if args.require_cuda && !tch::Cuda::is_available() {
        return Err(Refusal(
            "--require-cuda: libtorch sees no CUDA device on this machine (no GPU, no driver, or a \
             CPU-only torch)"
                .to_owned(),
        )
        .into());
    }
    if args.check_graphs {
        let device = gadgets::DeviceChoice::Cuda.resolve()?;
        let result = graphs::check(device, &[1024, 1024], 30)?;
        println!("{}", serde_json::to_string(&result)?);
        if !result.equal_bits {
            std::process::exit(1);
        }
        return Ok(());
    }
    let all = parts::all(parts::Table1 { sweep: !args.no_sweep });
    if args.list {
        for part in &all {
            println!("{:<12} {}", part.name(), part.about());
        }
        return Ok(());
    }
    if let Some(unknown) =
        args.only.iter().find(|name| !all.iter().any(|p| p.name() == name.as_str()))
    {
        let names: Vec<_> = all.iter().map(|p| p.name()).collect();
        bail!("unknown part '{unknown}'; the parts are {}", names.join(", "));
    }
    let mode = if args.full { Mode::Full } else { Mode::Quick };
    let selected: Vec<&dyn AnyPart> = all
        .iter()
        .filter(|p| args.only.is_empty() || args.only.iter().any(|n| n == p.name()))
        .map(AsRef::as_ref)
        .collect();
    if args.verify {
        return verify::verify(&args.out, mode, &selected);
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    tch::set_num_threads(args.threads as i32);
    let graphs = resolve_graphs(args.graphs)?;
    let mut ctx = Context::new(args.out, mode, args.seed)?;
    ctx.stack = match args.stack {
        Stacking::Auto => gadgets::DeviceChoice::Auto.resolve()?.is_cuda(),
        Stacking::On => true,
        Stacking::Off => false,
    };
    ctx.graphs = graphs;
    if args.plan || args.shard.is_some() || args.merge {
        let plan = units::plan(selected.iter().map(|part| part.units(&ctx)))?;
        let shard =
            args.shard.map(|spec| spec.resolve(|name| std::env::var(name).ok())).transpose()?;
        if args.plan {
            let listed = match shard {
                Some(shard) => units::shard_units(&plan, shard),
                None => plan.iter().collect(),
            };
            for unit in listed {
                println!("{unit}");
            }
            return Ok(());
        }
        if let Some(shard) = shard {
            units::run_shard(&ctx, &plan, shard, args.stage)?;
            return Ok(());
        }
        units::ensure_complete(&plan)?;
    }
    let mut failed_checks = Vec::new();
    for part in selected {
        eprintln!("reproduce: {} ({} mode) ...", part.name(), mode.label());
        let start = Instant::now();
        let outcome = part.run(&ctx)?;
        let seconds = start.elapsed().as_secs_f64();
        report::write_part(&ctx, part, &outcome, seconds)?;
        eprintln!("reproduce: {} done in {seconds:.1} s", part.name());
        failed_checks.extend(
            outcome
                .checks
                .iter()
                .filter(|c| !c.passed())
                .map(|c| format!("{}: {}", part.name(), c)),
        );
    }
    report::write(&ctx, &all)?;
    eprintln!("reproduce: wrote {}", ctx.out.join("REPORT.md").display());
    if args.check && !failed_checks.is_empty() {
        bail!(
            "{} check(s) outside tolerance:\n  {}",
            failed_checks.len(),
            failed_checks.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::*;

    /// `reproduce --only table1,sepsis --out OUT ...` in quick mode, in this process.
    fn reproduce(out: &Path, extra: &[&str]) -> Result<()> {
        let out = out.to_str().expect("a UTF-8 path");
        let mut argv = vec!["reproduce", "--only", "table1,sepsis", "--out", out];
        argv.extend(extra);
        run(Args::parse_from(argv))
    }

    /// A part's JSON without what two runs of one configuration do not share: `meta` (provenance,
    /// seconds) and every timing (keys naming seconds, such as `steps_per_second`).
    fn numbers(path: &Path) -> Value {
        fn strip(value: &mut Value) {
            match value {
                Value::Object(map) => {
                    map.retain(|key, _| key != "meta" && !key.contains("second"));
                    map.values_mut().for_each(strip);
                }
                Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let mut value: Value = serde_json::from_str(&text).unwrap();
        strip(&mut value);
        value
    }

    #[test]
    fn four_shards_then_a_merge_equal_one_process_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let (single, sharded) = (dir.path().join("single"), dir.path().join("sharded"));
        reproduce(&single, &[]).unwrap();
        for index in [0, 1, 3] {
            reproduce(&sharded, &["--shard", &format!("{index}/4")]).unwrap();
        }
        assert!(!sharded.join("REPORT.md").exists(), "a shard writes no report");
        // Shard 2 has not run: the merge refuses, naming a missing unit, and writes nothing.
        let refused = reproduce(&sharded, &["--merge"]).unwrap_err();
        assert!(refused.is::<Refusal>(), "{refused:#}");
        assert!(refused.to_string().contains("(stage 0, "), "{refused:#}");
        assert!(!sharded.join("table1.json").exists());
        reproduce(&sharded, &["--shard", "2/4"]).unwrap();
        reproduce(&sharded, &["--merge"]).unwrap();
        assert!(sharded.join("REPORT.md").exists());
        for part in ["table1.json", "sepsis.json"] {
            let (one, merged) = (numbers(&single.join(part)), numbers(&sharded.join(part)));
            assert!(one == merged, "{part} differs from the single process's");
        }
    }
}
