//! `gumbel-gadgets sweep`: a grid of training configurations, one trained gadget and one `evaluate`
//! result per point, spread over the shards of a job array without locks (format in
//! docs/gadgets.md, "Sweeps").
//!
//! A grid is `{"base": TRAIN, "vary": {"dotted.key": [v1, v2, ...], ...}, "evaluate": {...}}`: each
//! value of a `vary` list replaces the whole value at its key in `base` (so a list-valued key such as
//! `gadget.hidden` takes a list of lists). The points are the cartesian product of the lists in the
//! order the keys are written, the last key varying fastest. A point's name is the FNV-1a hash of its
//! training configuration and the grid's `evaluate` section, and its folder `DIR/points/<name>/`
//! holds `config.json`, `model.safetensors` and `result.json`, each written to a temporary file and renamed;
//! `result.json`, written last, marks the point done, so a rerun skips it.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gadgets::checkpoint::save;
use gadgets::task::{CostSpec, PairSpec};
use gadgets::TrainJob;
use gumbel_core::hash::fnv1a;
use gumbel_core::shard::{balance, Shard, ShardSpec};
use gumbel_core::CostMatrix;
use methods::evaluate::{self, Candidate, Cost, Settings};
use methods::pair_file::{pair_distribution, PairReader};
use methods::{Method, Spelling};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// The file of a point that marks it done.
const RESULT: &str = "result.json";
/// The checkpoint of a point.
const CHECKPOINT: &str = "model.safetensors";

/// Arguments of `sweep`.
#[derive(clap::Args)]
pub struct Args {
    /// The grid (JSON: base, vary, evaluate; format in docs/gadgets.md, "Sweeps").
    #[arg(long)]
    grid: PathBuf,
    /// The sweep's folder; point NAME lives in DIR/points/NAME/.
    #[arg(long)]
    out: PathBuf,
    /// Only this shard's points: I/N (0 <= I < N), or auto (SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and SHARD_COUNT).
    #[arg(long, conflicts_with = "summary")]
    shard: Option<String>,
    /// List the points (index, name, varied values, estimated cost) without running them.
    #[arg(long, conflicts_with = "summary")]
    plan: bool,
    /// Every point's results, best first; exit code 2, naming them, while points are not done.
    #[arg(long)]
    summary: bool,
    /// The order of --summary: by the gadget's expected cost or by its variance.
    #[arg(long, default_value = "expected-cost", value_parser = ["expected-cost", "variance"])]
    by: String,
    /// With --summary: a markdown table instead of JSON.
    #[arg(long, requires = "summary")]
    markdown: bool,
}

/// Runs `sweep`.
pub fn run(args: &Args) -> Result<Value> {
    let grid = Grid::read(&args.grid)?;
    let points = grid.points()?;
    if args.summary {
        let table = summary(&grid, &points, &args.out, &args.by)?;
        if args.markdown {
            return Ok(Value::String(markdown(&grid, &table)));
        }
        return Ok(table);
    }
    let shard = args
        .shard
        .as_deref()
        .map(|text| {
            let spec = text.parse::<ShardSpec>().context("--shard")?;
            spec.resolve(|name| std::env::var(name).ok()).context("--shard")
        })
        .transpose()?;
    let mine = shard_points(&points, shard);
    if args.plan {
        let listed: Vec<Value> = mine
            .iter()
            .map(|&i| {
                let p = &points[i];
                json!({"index": i, "name": p.name, "values": p.values_object(), "cost": p.cost()})
            })
            .collect();
        return Ok(
            json!({"points": points.len(), "shard": shard.map(|s| s.to_string()), "plan": listed}),
        );
    }
    let (mut trained, mut done) = (Vec::new(), Vec::new());
    for &i in &mine {
        let point = &points[i];
        let folder = args.out.join("points").join(&point.name);
        if folder.join(RESULT).exists() {
            done.push(point.name.clone());
            continue;
        }
        run_point(point, &grid.evaluate, &folder)
            .with_context(|| format!("point {} ({})", point.name, point.describe()))?;
        trained.push(point.name.clone());
    }
    Ok(json!({
        "points": points.len(),
        "shard": shard.map(|s| s.to_string()),
        "trained": trained,
        "already_done": done,
    }))
}

/// The grid file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grid {
    /// A `train` configuration.
    base: Map<String, Value>,
    /// The keys that vary, in the file's order, each with its values.
    #[serde(default)]
    vary: Vary,
    /// How each point is evaluated.
    #[serde(default)]
    evaluate: EvaluateSection,
}

/// The `vary` object in the order its keys are written (serde_json's map would sort them).
#[derive(Default)]
struct Vary(Vec<(String, Vec<Value>)>);

impl<'de> Deserialize<'de> for Vary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = Vary;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of dotted keys, each with a list of values")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Vary, A::Error> {
                use serde::de::Error;
                let mut keys: Vec<(String, Vec<Value>)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if keys.iter().any(|(k, _)| *k == key) {
                        return Err(A::Error::custom(format!("vary: key '{key}' appears twice")));
                    }
                    let Value::Array(values) = value else {
                        return Err(A::Error::custom(format!(
                            "vary: '{key}' must be a list of values (a list of lists for a \
                             list-valued key)"
                        )));
                    };
                    if values.is_empty() {
                        return Err(A::Error::custom(format!(
                            "vary: the list of '{key}' is empty"
                        )));
                    }
                    keys.push((key, values));
                }
                Ok(Vary(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// How each point is evaluated: on the held-out rows of its pair file (`pairs.type = "file"`), else
/// on every row of `pairs`; with `cost` or `reward`, else the cost the point trains for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EvaluateSection {
    /// A pair file for points whose training pairs are not a file.
    pairs: Option<PathBuf>,
    /// A reward vector h: cost (h_i - h_j)^2, and the variances.
    reward: Option<Vec<f64>>,
    /// A K x K cost matrix.
    cost: Option<Vec<Vec<f64>>>,
    /// The methods compared with the gadget; Gumbel-max is always among them.
    methods: Vec<String>,
    /// Samples per pair for a method without a closed form (Gadget 1).
    samples: u64,
    /// The seed of the samples.
    seed: u64,
}

impl Default for EvaluateSection {
    fn default() -> Self {
        Self {
            pairs: None,
            reward: None,
            cost: None,
            methods: vec![Method::GumbelMax.name().to_owned()],
            samples: 10_000,
            seed: 0,
        }
    }
}

impl EvaluateSection {
    /// Checks the options and returns the methods, Gumbel-max first.
    fn methods(&self) -> Result<Vec<Method>> {
        let mut methods = vec![Method::GumbelMax];
        for name in &self.methods {
            let method = Method::parse(name).context("evaluate.methods")?;
            if method.gadget_kind().is_some() {
                bail!("evaluate.methods: '{name}' is the point's own gadget; list baselines only");
            }
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        evaluate::check(None, self.samples, Spelling::Keywords)?;
        if self.reward.is_some() && self.cost.is_some() {
            bail!("evaluate: give at most one of cost and reward");
        }
        Ok(methods)
    }
}

/// One point of the grid.
struct Point {
    /// The hash of its configuration and the evaluate section, 16 hex digits.
    name: String,
    /// The varied keys and this point's values, in the grid's key order.
    values: Vec<(String, Value)>,
    /// Its `train` configuration.
    config: Value,
    /// The same, parsed.
    job: TrainJob,
}

impl Point {
    fn values_object(&self) -> Value {
        Value::Object(self.values.iter().cloned().collect())
    }

    fn describe(&self) -> String {
        describe(&self.values)
    }

    /// The estimated cost of training it, to balance shards: steps x batch x the weights of its
    /// network (inputs 2K, the hidden widths, outputs K x latent rows).
    fn cost(&self) -> f64 {
        let gadget = &self.job.run.gadget;
        let mut widths = vec![2 * gadget.outcomes];
        widths.extend(&gadget.hidden);
        widths.push(gadget.outcomes * gadget.latent_rows());
        let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
        let training = &self.job.run.training;
        (training.steps * training.batch) as f64 * weights as f64
    }
}

impl Grid {
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--grid: cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("--grid {}", path.display()))
    }

    /// The points, in order: the cartesian product of the lists, the last key fastest. An error
    /// when a point is not a valid `train` configuration, or two points are the same.
    fn points(&self) -> Result<Vec<Point>> {
        self.evaluate.methods()?;
        let count = self.vary.0.iter().map(|(_, values)| values.len()).product::<usize>();
        let mut points: Vec<Point> = Vec::with_capacity(count);
        for index in 0..count {
            let mut config = Value::Object(self.base.clone());
            let mut values = Vec::new();
            let mut rest = index;
            let mut picks = vec![0; self.vary.0.len()];
            for (slot, (_, list)) in self.vary.0.iter().enumerate().rev() {
                picks[slot] = rest % list.len();
                rest /= list.len();
            }
            for ((key, list), &pick) in self.vary.0.iter().zip(&picks) {
                set_path(&mut config, key, list[pick].clone())?;
                values.push((key.clone(), list[pick].clone()));
            }
            let job = TrainJob::deserialize(&config)
                .with_context(|| format!("point {index} ({})", describe(&values)))?;
            let keyed = json!({"train": config, "evaluate": self.evaluate});
            let name = format!("{:016x}", fnv1a(&serde_json::to_vec(&keyed)?));
            if let Some(twin) = points.iter().position(|p| p.name == name) {
                bail!(
                    "points {twin} ({}) and {index} ({}) are the same configuration and would \
                     write the same folder points/{name}",
                    points[twin].describe(),
                    describe(&values)
                );
            }
            let point = Point { name, values, config, job };
            if !matches!(point.job.run.pairs, PairSpec::File { .. })
                && self.evaluate.pairs.is_none()
            {
                bail!(
                    "point {index} ({}): its pairs are not a file, so the grid's evaluate section \
                     needs \"pairs\" (a pair file to evaluate on)",
                    point.describe()
                );
            }
            points.push(point);
        }
        Ok(points)
    }
}

/// `key=value, ...` for messages.
fn describe(values: &[(String, Value)]) -> String {
    let parts: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if parts.is_empty() {
        "the base".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Puts `value` at the dotted `key` of `config`: every part before the last must name an object
/// (the last may be absent, for a key with a default); a key the configuration does not know is
/// refused when the point is parsed.
fn set_path(config: &mut Value, key: &str, value: Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    let (last, parents) = parts.split_last().context("vary: an empty key")?;
    let mut node = config;
    for (depth, part) in parents.iter().enumerate() {
        node = match node.get_mut(*part) {
            Some(child @ Value::Object(_)) => child,
            _ => bail!(
                "vary: unknown key '{key}': base has no object at '{}'",
                parts[..=depth].join(".")
            ),
        };
    }
    let Value::Object(object) = node else { bail!("vary: unknown key '{key}'") };
    object.insert((*last).to_owned(), value);
    Ok(())
}

/// The indices of the points of `shard` (every point without one), balanced by estimated cost.
fn shard_points(points: &[Point], shard: Option<Shard>) -> Vec<usize> {
    let Some(shard) = shard else { return (0..points.len()).collect() };
    let costs: Vec<f64> = points.iter().map(Point::cost).collect();
    let owners = balance(&costs, shard.count);
    (0..points.len()).filter(|&i| owners[i] == shard.index).collect()
}

/// Trains `point`, evaluates its gadget and writes its folder (`result.json` last).
fn run_point(point: &Point, section: &EvaluateSection, folder: &Path) -> Result<()> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    write_atomic(&folder.join("config.json"), &serde_json::to_string_pretty(&point.config)?)?;
    let job = &point.job;
    gadgets::device::set_cpu_threads(job.threads()?);
    let (gadget, record) = match &job.run.pairs {
        spec @ PairSpec::File { .. } => job.run_with(pair_distribution(spec)?, &mut |_| {})?,
        _ => job.run(&mut |_| {})?,
    };
    let checkpoint = folder.join(CHECKPOINT);
    let partial = temporary(&checkpoint);
    save(&gadget, Some(&record), &partial)?;
    rename(&partial, &checkpoint)?;

    let outcomes = job.run.gadget.outcomes;
    // None: each row's reward column, for a point trained on it.
    let (matrix, reward) = match (&section.cost, &section.reward, &job.run.cost) {
        (Some(rows), _, _) => (Some(CostMatrix::from_rows(rows).context("evaluate.cost")?), None),
        (None, Some(h), _) => {
            (Some(CostMatrix::squared_reward(h).context("evaluate.reward")?), Some(h.clone()))
        }
        (None, None, CostSpec::SquaredReward { h }) => {
            (Some(job.run.cost.build(outcomes)?), Some(h.clone()))
        }
        (None, None, CostSpec::PairReward) => (None, None),
        (None, None, spec) => (Some(spec.build(outcomes)?), None),
    };
    let mut candidates = Vec::new();
    for method in section.methods()? {
        candidates.push(Candidate::method(method, matrix.as_ref(), Spelling::Keywords)?);
    }
    candidates.push(Candidate::gadget(&gadget, CHECKPOINT));
    let gadget_key = candidates.last().map(|c| c.name().to_owned()).unwrap_or_default();
    let (mut reader, split) = match &job.run.pairs {
        PairSpec::File { path, split, probabilities } => {
            (PairReader::open(path, *probabilities)?, Some(*split))
        }
        _ => {
            let path = section.pairs.as_deref().context("evaluate.pairs is missing")?;
            (PairReader::open(path, false)?, None)
        }
    };
    let settings = Settings {
        cost: match &matrix {
            Some(cost) => Cost::Shared { cost, reward: reward.as_deref() },
            None => Cost::RewardColumn,
        },
        split,
        samples: section.samples,
        seed: section.seed,
        spelling: Spelling::Keywords,
    };
    let summary = evaluate::evaluate(&mut reader, &candidates, &settings)?;
    let result = json!({
        "name": point.name,
        "values": point.values_object(),
        "gadget": gadget_key,
        "training": {
            "steps": record.options.steps,
            "final_loss": record.final_loss,
            "seconds": record.seconds,
        },
        "evaluate": summary,
    });
    write_atomic(&folder.join(RESULT), &serde_json::to_string_pretty(&result)?)
}

/// `path` with a suffix naming this process, for a file written and then renamed.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".partial-{}", std::process::id()));
    PathBuf::from(name)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).with_context(|| format!("cannot write {}", to.display()))
}

/// Writes `text` to a temporary file beside `path` and renames it to `path`, so that a reader (or a
/// rerun after a kill) sees the whole file or none.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let partial = temporary(path);
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    rename(&partial, path)
}

/// Every point's gadget and Gumbel-max numbers, best first by the gadget's `by` (expected-cost or
/// variance; ties and missing values by name); an error naming the points not done.
fn summary(grid: &Grid, points: &[Point], out: &Path, by: &str) -> Result<Value> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for point in points {
        let path = out.join("points").join(&point.name).join(RESULT);
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(point.name.clone());
            continue;
        };
        let result: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a point's result", path.display()))?;
        let methods = &result["evaluate"]["methods"];
        let numbers = |key: &str| {
            let m = &methods[key];
            json!({
                "expected_cost": m["expected_cost"],
                "variance": m["variance"],
                "p_x_ne_y": m["p_x_ne_y"],
            })
        };
        let gadget = result["gadget"].as_str().unwrap_or_default();
        rows.push(json!({
            "name": point.name,
            "values": point.values_object(),
            "gadget": gadget,
            "pairs": result["evaluate"]["pairs"],
            "gadget_numbers": numbers(gadget),
            "gumbel_max": numbers(Method::GumbelMax.name()),
        }));
    }
    if !missing.is_empty() {
        bail!(
            "{} of {} points are not done (run their shards first): {}",
            missing.len(),
            points.len(),
            missing.join(", ")
        );
    }
    let field = by.replace('-', "_");
    let key = |row: &Value| row["gadget_numbers"][&field]["mean"].as_f64().unwrap_or(f64::INFINITY);
    rows.sort_by(|a, b| {
        key(a).total_cmp(&key(b)).then_with(|| a["name"].as_str().cmp(&b["name"].as_str()))
    });
    let keys: Vec<&str> = grid.vary.0.iter().map(|(k, _)| k.as_str()).collect();
    Ok(json!({"points": rows.len(), "by": field, "keys": keys, "rows": rows}))
}

/// The summary as a markdown table, one row a point, best first.
fn markdown(grid: &Grid, table: &Value) -> String {
    let cell = |v: &Value| match (v["mean"].as_f64(), v["se"].as_f64()) {
        (Some(m), Some(se)) => format!("{m:.4} ± {se:.4}"),
        _ => "-".to_owned(),
    };
    let keys: Vec<&str> = grid.vary.0.iter().map(|(k, _)| k.as_str()).collect();
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut header: Vec<String> =
        ["rank", "point"].iter().chain(&keys).map(|c| c.to_string()).collect();
    header.extend(
        ["gadget E[C]", "Gumbel-max E[C]", "gadget Var", "Gumbel-max Var"].map(str::to_owned),
    );
    let mut text = line(header.clone());
    text.push_str(&line(vec!["---".to_owned(); header.len()]));
    let empty = Vec::new();
    for (rank, row) in table["rows"].as_array().unwrap_or(&empty).iter().enumerate() {
        let (g, m) = (&row["gadget_numbers"], &row["gumbel_max"]);
        let mut cells =
            vec![(rank + 1).to_string(), row["name"].as_str().unwrap_or_default().into()];
        cells.extend(keys.iter().map(|k| match &row["values"][*k] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }));
        cells.extend([
            cell(&g["expected_cost"]),
            cell(&m["expected_cost"]),
            cell(&g["variance"]),
            cell(&m["variance"]),
        ]);
        text.push_str(&line(cells));
    }
    text
}
