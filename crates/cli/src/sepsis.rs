//! `gumbel-gadgets sepsis`: the sepsis simulator's kernel, off-policy evaluation study and the
//! Section 7.3 pairs (crates/sepsis-sim).

use std::path::PathBuf;

use anyhow::{Context, Result};
use sepsis_sim::kernel::Kernel;
use sepsis_sim::ope::{off_policy_study, OpeConfig};
use sepsis_sim::pairs::{select_pairs, PairConfig};
use sepsis_sim::physician::{plan_physician, PlanningKernel};
use serde_json::{json, Value};

use methods::npy;

/// Arguments of `sepsis`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write the transition kernel as float64 .npy of shape (2, 8, 720, 720): diabetes, action, state, next state.
    Kernel(KernelArgs),
    /// The physician's exact outcomes and the off-policy estimates of the RL policy (JSON).
    Evaluate(EvaluateArgs),
    /// The Section 7.3 (p, q, s'_obs) pairs of the gadgets paper (JSON).
    Pairs(PairsArgs),
}

#[derive(clap::Args)]
struct KernelArgs {
    /// The .npy file to write.
    #[arg(long)]
    out: PathBuf,
    /// Estimate the kernel from this many simulator steps per row instead of computing it exactly.
    #[arg(long)]
    monte_carlo: Option<u64>,
    /// Seed of the Monte Carlo estimate.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Where the physician plans: the exact kernel, or a Monte Carlo one on request.
#[derive(clap::Args)]
struct PlanningArgs {
    /// Plan the physician on a Monte Carlo kernel with this many draws per row (the authors: 10000).
    #[arg(long)]
    plan_monte_carlo: Option<u64>,
    /// Seed of that Monte Carlo kernel.
    #[arg(long, default_value_t = 0)]
    plan_seed: u64,
}

impl PlanningArgs {
    fn kernel(&self) -> PlanningKernel {
        match self.plan_monte_carlo {
            Some(draws) => PlanningKernel::MonteCarlo { draws, seed: self.plan_seed },
            None => PlanningKernel::Exact,
        }
    }
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// Observed physician trajectories (also the RL and model rollouts).
    #[arg(long, default_value_t = 1000)]
    trajectories: usize,
    /// The seed of the study.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Counterfactual copies per observed trajectory.
    #[arg(long, default_value_t = 5)]
    cf_samples: usize,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 100)]
    bootstrap: usize,
    #[command(flatten)]
    planning: PlanningArgs,
}

#[derive(clap::Args)]
struct PairsArgs {
    /// Physician trajectories the projected MDP is estimated from.
    #[arg(long, default_value_t = 20_000)]
    trajectories: usize,
    /// Pairs to select.
    #[arg(long, default_value_t = 6)]
    pairs: usize,
    /// The seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the selected pairs to FILE as JSON lines (`{"p": [...], "q": [...], "observed": s'}`,
    /// the format `evaluate` and `train` read) and print a summary instead of the pairs.
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
    #[command(flatten)]
    planning: PlanningArgs,
}

/// Runs `sepsis`.
pub fn run(args: &Args) -> Result<Value> {
    match &args.command {
        Command::Kernel(a) => kernel(a),
        Command::Evaluate(a) => evaluate(a),
        Command::Pairs(a) => pairs(a),
    }
}

fn kernel(args: &KernelArgs) -> Result<Value> {
    let kernel = match args.monte_carlo {
        Some(draws) => Kernel::monte_carlo(draws, args.seed)?,
        None => Kernel::exact(),
    };
    npy::write_f64(&args.out, &Kernel::SHAPE, kernel.as_slice())?;
    let mut out = json!({
        "out": args.out.display().to_string(),
        "shape": Kernel::SHAPE,
        "dtype": "float64",
        "exact": args.monte_carlo.is_none(),
    });
    if let Some(draws) = args.monte_carlo {
        out["draws"] = json!(draws);
        out["seed"] = json!(args.seed);
        out["max_abs_difference_from_exact"] = json!(kernel.max_abs_difference(&Kernel::exact()));
    }
    Ok(out)
}

fn evaluate(args: &EvaluateArgs) -> Result<Value> {
    let config = OpeConfig {
        trajectories: args.trajectories,
        cf_samples: args.cf_samples,
        bootstrap: args.bootstrap,
        ..OpeConfig::paper(args.seed)
    };
    Ok(serde_json::to_value(off_policy_study(args.planning.kernel(), &config)?)?)
}

fn pairs(args: &PairsArgs) -> Result<Value> {
    let physician = plan_physician(&args.planning.kernel().build()?)?;
    let config = PairConfig {
        trajectories: args.trajectories,
        pairs: args.pairs,
        ..PairConfig::paper(args.seed)
    };
    let selection = select_pairs(&physician.policy, &config)?;
    let Some(path) = &args.export else {
        return Ok(
            json!({"config": config, "candidates": selection.candidates, "pairs": selection.pairs}),
        );
    };
    let mut text = String::new();
    for pair in &selection.pairs {
        let row = json!({"p": pair.p, "q": pair.q, "observed": pair.observed_next});
        text.push_str(&row.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(json!({
        "config": config,
        "candidates": selection.candidates,
        "export": path.display().to_string(),
        "rows": selection.pairs.len(),
        "outcomes": selection.pairs[0].p.len(),
    }))
}
