//! Table 1 of the gadgets paper (Section 7.2). Columns 1-2: E[(x - y)^2] over K = 10 logit pairs
//! l = log_softmax(8 U[0,1]^10), independent or mirrored; 10,000 pairs per evaluation seed 1001..1005,
//! mean +- std (ddof 0) over seeds, as the authors report. The pairs are the authors' own, regenerated
//! bit for bit from JAX's PRNG (`gumbel_core::jax_random`), so the table compares number for number;
//! every row is computed exactly per pair (no sampling).

use anyhow::Result;
use gumbel_core::exact::gumbel_max_coupling;
use gumbel_core::jax_random::evaluation_pairs;
use gumbel_core::pairs::{LogitPair, PairMode, SoftmaxUniform};
use gumbel_core::{Categorical, CostMatrix};
use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::{Outcome, Part};
use crate::checks::Check;
use crate::context::Context;
use crate::paper;
use crate::plot::{heatmaps, Heatmap};
use crate::report::table;

/// The part.
pub const PART: Part = Part {
    name: "table1",
    title: "Table 1: couplings of logit pairs (Section 7.2)",
    about: "Table 1 of the gadgets paper: E[(x-y)^2] over random logit pairs, exact per pair",
    run,
};

/// Pairs per evaluation seed (the paper's 10,000).
const PAIRS_PER_SEED: usize = 10_000;
/// Evaluation seeds (the paper's 5).
const SEEDS: u64 = 5;
/// Agreement required with the paper's (deterministic) baseline rows.
const TOLERANCE: f64 = 0.05;

/// The columns: (name in table1.json, pair mode).
const COLUMNS: [(&str, PairMode); 2] = [("independent", PairMode::Independent), ("mirrored", PairMode::Mirrored)];

/// An exact per-pair score: E[C] of a method's coupling of one pair.
type Scorer = fn(&LogitPair, &CostMatrix) -> Result<f64>;

/// The methods of columns 1-2 with their exact scores.
const METHODS: [(&str, Scorer); 1] = [("gumbel-max", gumbel_max_score)];

fn gumbel_max_score(pair: &LogitPair, cost: &CostMatrix) -> Result<f64> {
    let coupling = gumbel_max_coupling(&Categorical::from_logits(&pair.p)?, &Categorical::from_logits(&pair.q)?)?;
    Ok(coupling.expected_cost(cost)?)
}

fn run(ctx: &Context) -> Result<Outcome> {
    let cost = CostMatrix::squared_index(10);
    let mut columns = Map::new();
    let mut rows = Vec::new();
    let mut checks = Vec::new();
    for (column, mode) in COLUMNS {
        let dist = SoftmaxUniform::paper(mode);
        let mut methods = Map::new();
        for (method, score) in METHODS {
            let per_seed: Vec<f64> = (1..=SEEDS)
                .map(|s| {
                    ctx.cached("table1", &format!("{column}-{method}-authors-pairs-seed{}", 1000 + s), || {
                        let pairs = evaluation_pairs(&dist, 1000 + s, PAIRS_PER_SEED)?;
                        let scores = pairs.par_iter().map(|pair| score(pair, &cost)).collect::<Result<Vec<f64>>>()?;
                        Ok(mean(&scores))
                    })
                })
                .collect::<Result<_>>()?;
            let (m, sd) = (mean(&per_seed), std_ddof0(&per_seed));
            methods.insert(method.to_owned(), json!({"mean": m, "std": sd, "per_seed": per_seed, "exact": true}));
            let printed = paper::table1_columns_1_2(method, column);
            rows.push(vec![
                column.to_owned(),
                method.to_owned(),
                format!("{m:.2} ± {sd:.2}"),
                printed.map_or("–".to_owned(), |p| format!("{:.2} ± {:.2}", p.mean, p.spread)),
                printed.map_or("–".to_owned(), |p| format!("{:+.2}", m - p.mean)),
            ]);
            if let Some(p) = printed {
                checks.push(Check::new(format!("{column} / {method}"), p.mean, m, TOLERANCE));
            }
        }
        columns.insert(column.to_owned(), Value::Object(methods));
    }
    let figure = coupling_pictures(ctx)?;
    let gadget_rows = super::table1_gadgets::gadget_rows(ctx)?;
    columns.insert("gadgets".to_owned(), gadget_rows.data);
    checks.extend(gadget_rows.checks);
    let mut markdown = format!(
        "E[(x - y)^2] under each coupling, computed exactly per pair and averaged over the authors' {PAIRS_PER_SEED} \
         evaluation pairs of each seed 1001..1005 (regenerated from JAX's PRNG); mean ± std (ddof 0) over {SEEDS} seeds.\n\n{}\n\
         Couplings of the decreasing / increasing pair of columns 3-4 (p logits (10..1)/4, q logits (0..9)/4): \
         ![couplings]({figure})\n",
        table(&["column", "method", "ours", "paper", "ours − paper"], &rows)
    );
    markdown.push_str(&gadget_rows.markdown);
    Ok(Outcome {
        data: Value::Object(columns),
        config: json!({"pairs_per_seed": PAIRS_PER_SEED, "seeds": SEEDS, "pairs": "the authors' (JAX threefry, evaluation seeds 1001..1005)", "outcomes": 10, "logit_scale": 8.0, "cost": "(i-j)^2"}),
        markdown,
        checks,
    })
}

/// The logits of the fixed pair of Table 1 columns 3-4: p decreasing, q increasing.
fn increasing_decreasing_pair() -> LogitPair {
    LogitPair { p: (1..=10).rev().map(|v| f64::from(v) / 4.0).collect(), q: (0..10).map(|v| f64::from(v) / 4.0).collect() }
}

/// Heatmaps of each method's coupling of the fixed pair; returns the PNG's file name.
fn coupling_pictures(ctx: &Context) -> Result<String> {
    let pair = increasing_decreasing_pair();
    let (p, q) = (Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?);
    let panels = vec![Heatmap { title: "gumbel-max".to_owned(), matrix: gumbel_max_coupling(&p, &q)?.to_rows() }];
    let name = "table1_couplings.png";
    heatmaps(&ctx.path(name), "Couplings of the decreasing / increasing pair", &panels, 4)?;
    Ok(name.to_owned())
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn std_ddof0(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}
