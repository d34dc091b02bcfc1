//! `gumbel-gadgets evaluate`: every method's mean expected cost, variance Var[h(x) - h(y)] and
//! P(x != y) over the pairs of a file (all rows, or the held-out ones of a seeded split), and, where
//! rows carry `observed`, the mean counterfactual variance Var[h(y) | x_obs].
//!
//! Each mean comes with its standard error over the rows, sd / sqrt(N) (for a sampled method the
//! spread includes its sampling noise, pair i drawn from seed + i). Rows are read and scored
//! [`CHUNK`] at a time, so memory does not grow with the file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gumbel_core::method::{Computation, Mechanism, Query};
use gumbel_core::pairs::held_out;
use gumbel_core::CostMatrix;
use serde_json::{json, Map, Value};

use crate::gadget;
use crate::input;
use crate::methods::{self, Method};
use crate::pair_file::{PairReader, PairRow};

/// Rows scored per batch.
const CHUNK: usize = 4096;

/// The methods evaluated by default: every one that needs no checkpoint.
const DEFAULT_METHODS: [Method; 6] = [
    Method::Independent,
    Method::InverseCdf,
    Method::PermutedInverseCdf,
    Method::Maximal,
    Method::LpOptimal,
    Method::GumbelMax,
];

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

/// Running mean and variance (Welford).
#[derive(Default, Clone)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn json(&self) -> Value {
        if self.n == 0 {
            return Value::Null;
        }
        let se =
            if self.n > 1 { (self.m2 / (self.n - 1) as f64 / self.n as f64).sqrt() } else { 0.0 };
        json!({ "mean": self.mean, "se": se })
    }
}

/// One method's running totals.
struct Score {
    name: String,
    mechanism: Box<dyn Mechanism>,
    cost: Moments,
    variance: Moments,
    mismatch: Moments,
    counterfactual: Moments,
    seconds: f64,
}

/// Runs `evaluate`.
pub fn run(args: &Args) -> Result<Value> {
    if args.rows == "held-out" && !(args.held_out > 0.0 && args.held_out < 1.0) {
        bail!("--held-out must lie in (0, 1), not {}", args.held_out);
    }
    if args.samples == 0 {
        bail!("--samples must be positive");
    }
    let reward: Option<Vec<f64>> =
        args.reward.as_deref().map(|t| input::json_arg("--reward", t)).transpose()?;
    let cost = input::cost(args.cost.as_deref(), reward.as_deref())?;
    let Some(cost) = cost else { bail!("evaluate needs --cost or --reward") };
    let mut scores = scores(args, &cost)?;
    let mut reader = PairReader::open(&args.pairs, args.probabilities)?;
    let mut pairs = 0usize;
    loop {
        let rows = reader.next_rows(CHUNK)?;
        if rows.is_empty() {
            break;
        }
        let k = reader.outcomes().unwrap_or(0);
        if cost.len() != k {
            bail!("{}: the pairs have {k} outcomes, the cost {}", args.pairs.display(), cost.len());
        }
        let rows: Vec<PairRow> = rows
            .into_iter()
            .filter(|r| args.rows == "all" || held_out(args.split_seed, r.index, args.held_out))
            .collect();
        pairs += rows.len();
        for score in &mut scores {
            score_rows(score, &rows, &cost, reward.as_deref(), args)
                .with_context(|| format!("{}: {}", args.pairs.display(), score.name))?;
        }
    }
    if pairs == 0 {
        bail!("{}: no pairs to evaluate", args.pairs.display());
    }
    let rows = if args.rows == "all" {
        "all".to_owned()
    } else {
        format!("held-out {} (split seed {})", args.held_out, args.split_seed)
    };
    let mut methods = Map::new();
    let mut counterfactual = Map::new();
    for s in &scores {
        methods.insert(
            s.name.clone(),
            json!({
                "exact": s.mechanism.has_closed_form(),
                "expected_cost": s.cost.json(),
                "variance": s.variance.json(),
                "p_x_ne_y": s.mismatch.json(),
                "seconds": s.seconds,
            }),
        );
        if s.counterfactual.n > 0 {
            counterfactual.insert(s.name.clone(), json!({ "variance": s.counterfactual.json() }));
        }
    }
    let mut out = json!({ "pairs": pairs, "rows": rows, "methods": methods });
    if !counterfactual.is_empty() {
        out["counterfactual"] = Value::Object(counterfactual);
    }
    if args.markdown {
        return Ok(Value::String(markdown(&out)));
    }
    Ok(out)
}

/// The mechanisms to score: --methods (or the default six), then one per --checkpoint.
fn scores(args: &Args, cost: &CostMatrix) -> Result<Vec<Score>> {
    let mut out = Vec::new();
    for &method in args.methods.as_deref().unwrap_or(&DEFAULT_METHODS) {
        if matches!(method, Method::Gadget1 | Method::Gadget2) {
            bail!("give gadgets by --checkpoint, not in --methods");
        }
        let mechanism = methods::baseline(method, cost)?;
        out.push(Score::new(method.name().to_owned(), mechanism));
    }
    for path in &args.checkpoint {
        let loaded = gadget::load_any(path, &args.device)?;
        let file = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
        out.push(Score::new(format!("{} ({file})", Mechanism::name(&loaded)), Box::new(loaded)));
    }
    Ok(out)
}

impl Score {
    fn new(name: String, mechanism: Box<dyn Mechanism>) -> Self {
        Self {
            name,
            mechanism,
            cost: Moments::default(),
            variance: Moments::default(),
            mismatch: Moments::default(),
            counterfactual: Moments::default(),
            seconds: 0.0,
        }
    }
}

/// Adds `rows` to `score`.
fn score_rows(
    score: &mut Score,
    rows: &[PairRow],
    cost: &CostMatrix,
    reward: Option<&[f64]>,
    args: &Args,
) -> Result<()> {
    let Some(first) = rows.first() else { return Ok(()) };
    let how = if score.mechanism.has_closed_form() {
        Computation::Exact
    } else {
        Computation::Sampled {
            samples: args.samples,
            seed: args.seed.wrapping_add(first.index as u64),
        }
    };
    let start = Instant::now();
    let pairs: Vec<_> = rows.iter().map(|r| (r.p.clone(), r.q.clone())).collect();
    let joints = score.mechanism.joints(&pairs, how)?;
    for joint in &joints {
        score.cost.add(joint.value.expected_cost(cost)?);
        score.mismatch.add(joint.value.p_x_ne_y());
        if let Some(h) = reward {
            score.variance.add(joint.value.variance(h, h)?);
        }
    }
    if let Some(h) = reward {
        let queries: Vec<Query> = rows
            .iter()
            .filter_map(|r| {
                r.observed.map(|x| Query { p: r.p.clone(), q: r.q.clone(), observed: x })
            })
            .collect();
        if !queries.is_empty() {
            for answer in score.mechanism.counterfactuals(&queries, how)? {
                let mean: f64 = answer.value.iter().zip(h).map(|(p, v)| p * v).sum();
                let second: f64 = answer.value.iter().zip(h).map(|(p, v)| p * v * v).sum();
                score.counterfactual.add((second - mean * mean).max(0.0));
            }
        }
    }
    score.seconds += start.elapsed().as_secs_f64();
    Ok(())
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
