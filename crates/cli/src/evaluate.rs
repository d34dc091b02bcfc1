//! `gumbel-gadgets evaluate`: every method's mean expected cost, variance Var[h(x) - h(y)] and
//! P(x != y) over the pairs of a file (all rows, or the held-out ones of a seeded split), and, where
//! rows carry `observed`, the mean counterfactual variance Var[h(y) | x_obs]. The computation is the
//! `methods` crate's ([`methods::evaluate`], [`methods::pair_file`]); this module reads the options,
//! loads the checkpoints and prints the summary as JSON or a markdown table.

use std::path::PathBuf;

use anyhow::Result;
use gadgets::task::Split;
use methods::evaluate::{self, Candidate, Cost, Settings, DEFAULT_METHODS};
use methods::pair_file::PairReader;
use methods::{Method, Spelling};
use serde_json::Value;

use crate::gadget;
use crate::input;

/// Arguments of `evaluate`.
#[derive(clap::Args)]
pub struct Args {
    /// The pairs: JSON lines {"p": [...], "q": [...]} or p_logits / q_logits, optional "observed";
    /// or a .npy array [N, 2, K] of float32 or float64 logits (probabilities with --probabilities).
    #[arg(long)]
    pairs: PathBuf,
    /// The .npy file holds probabilities, not logits.
    #[arg(long)]
    probabilities: bool,
    /// A K x K cost matrix C (a JSON array or a path).
    #[arg(long, conflicts_with = "reward")]
    cost: Option<String>,
    /// A reward vector h: cost (h_i - h_j)^2, and the variances.
    #[arg(long)]
    reward: Option<String>,
    /// The methods without checkpoints, comma-separated (default: all six).
    #[arg(long, value_enum, value_delimiter = ',')]
    methods: Option<Vec<Method>>,
    /// A trained gadget to evaluate beside them (repeatable).
    #[arg(long)]
    checkpoint: Vec<PathBuf>,
    /// Where to run the gadgets: cpu, cuda, or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Which rows: all, or the held-out ones of the split by --split-seed and --held-out.
    #[arg(long, default_value = "all", value_parser = ["all", "held-out"])]
    rows: String,
    /// The seed of the split: row i is held out when the first uniform of stream (seed, i) is below
    /// --held-out.
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// The held-out fraction, in (0, 1).
    #[arg(long, default_value_t = 0.2)]
    held_out: f64,
    /// Samples per pair for methods without a closed form (Gadget 1).
    #[arg(long, default_value_t = 10_000)]
    samples: u64,
    /// Seed of the samples (pair i uses seed + i).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A table in markdown instead of JSON.
    #[arg(long)]
    markdown: bool,
}

/// Runs `evaluate`.
pub fn run(args: &Args) -> Result<Value> {
    let held_out = (args.rows == "held-out").then_some(args.held_out);
    evaluate::check(held_out, args.samples, Spelling::Flags)?;
    let reward: Option<Vec<f64>> =
        args.reward.as_deref().map(|t| input::json_arg("--reward", t)).transpose()?;
    let shared = input::cost(args.cost.as_deref(), reward.as_deref())?;
    let cost = match &shared {
        Some(cost) => Cost::Shared { cost, reward: reward.as_deref() },
        None => Cost::RewardColumn,
    };
    let mut candidates = Vec::new();
    for &method in args.methods.as_deref().unwrap_or(&DEFAULT_METHODS) {
        candidates.push(Candidate::method(method, shared.as_ref(), Spelling::Flags)?);
    }
    let gadgets = args
        .checkpoint
        .iter()
        .map(|path| gadget::load_any(path, &args.device))
        .collect::<Result<Vec<_>>>()?;
    for (path, loaded) in args.checkpoint.iter().zip(&gadgets) {
        let file = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
        candidates.push(Candidate::gadget(loaded, &file));
    }
    let settings = Settings {
        cost,
        split: held_out.map(|held_out| Split { held_out, seed: args.split_seed }),
        samples: args.samples,
        seed: args.seed,
        spelling: Spelling::Flags,
    };
    let mut reader = PairReader::open(&args.pairs, args.probabilities)?;
    let out = serde_json::to_value(evaluate::evaluate(&mut reader, &candidates, &settings)?)?;
    if args.markdown {
        return Ok(Value::String(markdown(&out)));
    }
    Ok(out)
}

/// The table of `out` in markdown.
fn markdown(out: &Value) -> String {
    let cell = |v: &Value| match (v["mean"].as_f64(), v["se"].as_f64()) {
        (Some(m), Some(se)) => format!("{m:.4} ± {se:.4}"),
        _ => "-".to_owned(),
    };
    let mut text = format!(
        "{} pairs ({})\n\n| method | exact | E[C] | Var[h(x) - h(y)] | P(x != y) | Var[h(y) given x_obs] | seconds |\n|---|---|---|---|---|---|---|\n",
        out["pairs"], out["rows"].as_str().unwrap_or("")
    );
    if let Some(methods) = out["methods"].as_object() {
        for (name, m) in methods {
            let cf = &out["counterfactual"][name]["variance"];
            text.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {:.2} |\n",
                m["exact"],
                cell(&m["expected_cost"]),
                cell(&m["variance"]),
                cell(&m["p_x_ne_y"]),
                cell(cf),
                m["seconds"].as_f64().unwrap_or(0.0)
            ));
        }
    }
    text
}
