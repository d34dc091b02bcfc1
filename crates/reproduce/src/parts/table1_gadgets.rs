//! The Gadget 1 and Gadget 2 rows of Table 1, columns 1-2 (Section 7.2): each gadget is trained on
//! l = log_softmax(8 U[0,1]^10) pairs (independent or mirrored) with cost (i - j)^2 (Adam, B = 64,
//! N_in = 16, |Z| = 20; learning rates G2 1e-3, G1 1e-4 as the authors chose), then scored by
//! E[(x - y)^2] averaged over the authors' evaluation pairs of seed 1000 + training seed (Gadget 2
//! exactly per pair, Gadget 1 from 1,000 samples per pair, as the authors did). Each trained gadget is
//! kept as `results/checkpoints/<mode>/<gadget>-<column>-seed<s>.ckpt`; finished trainings and
//! evaluations are never redone after an interruption (a training cut short restarts).
//!
//! Columns 3-4: the fixed pair p = softmax((10..1)/4), q = softmax((0..9)/4), the authors' numpy rewards
//! per trial, each gadget retrained per trial (gadgets-part2.md section 1), scored by Var[h(x) - h(y)].

use anyhow::Result;
use gadgets::checkpoint::{load, save};
use gadgets::coupling::mean_expected_cost;
use gadgets::train::{train, LossKind, TrainOptions};
use gadgets::{DeviceChoice, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::jax_random::evaluation_pairs;
use gumbel_core::pairs::{FixedPair, LogitPair, PairDistribution, PairMode, SoftmaxUniform};
use gumbel_core::{Categorical, CostMatrix};
use serde_json::{json, Map, Value};

use baselines::rewards::{trial_rewards, RewardStream};
use super::{Outcome, Part};
use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::paper::{self, Printed};
use crate::report::table;

/// The part.
pub const PART: Part = Part {
    name: "table1_gadgets",
    title: "Table 1, gadget rows: Gadget 1 and Gadget 2 (Section 7.2, columns 1-2)",
    about: "Table 1 columns 1-2 for the gadgets: trained, checkpointed, scored on the authors' pairs",
    run,
};

/// The sizes of a run.
struct Protocol {
    steps: usize,
    trials: u32,
    fixed_steps: usize,
    seeds: u64,
    evaluation_pairs: usize,
    gadget1_samples: u64,
}

fn protocol(mode: Mode) -> Protocol {
    match mode {
        Mode::Quick => Protocol { steps: 150, trials: 2, fixed_steps: 100, seeds: 1, evaluation_pairs: 200, gadget1_samples: 1_000 },
        Mode::Full => Protocol { steps: 50_000, trials: 10, fixed_steps: 3_000, seeds: 5, evaluation_pairs: 10_000, gadget1_samples: 1_000 },
    }
}

/// Agreement required with the paper in full mode (its spread over seeds is up to 0.45).
const TOLERANCE: f64 = 0.5;

const COLUMNS: [(&str, PairMode); 2] = [("independent", PairMode::Independent), ("mirrored", PairMode::Mirrored)];
const GADGETS: [(GadgetKind, f64); 2] = [(GadgetKind::Gadget2, 1e-3), (GadgetKind::Gadget1, 1e-4)];

fn run(ctx: &Context) -> Result<Outcome> {
    let plan = protocol(ctx.mode);
    let cost = CostMatrix::squared_index(10);
    let device = DeviceChoice::Auto.resolve()?;
    gadgets::device::set_cpu_threads(gadgets::device::DEFAULT_CPU_THREADS);
    let (mut columns, mut rows, mut checks) = (Map::new(), Vec::new(), Vec::new());
    for (column, mode) in COLUMNS {
        let dist = SoftmaxUniform::paper(mode);
        let mut methods = Map::new();
        for (kind, learning_rate) in GADGETS {
            let per_seed: Vec<f64> = (1..=plan.seeds)
                .map(|seed| {
                    let key = format!("{column}-{}-seed{seed}", kind.name());
                    ctx.cached(PART.name, &key, || {
                        let path = ctx.path(format!("checkpoints/{}/{}-{column}-seed{seed}.ckpt", ctx.mode.label(), kind.name()));
                        let options = TrainOptions { loss: LossKind::Joint, batch: 64, inner_samples: 16, learning_rate, steps: plan.steps, seed, progress: true };
                        let gadget = trained(&path, GadgetConfig::paper(kind, 10), &dist, &cost, &options, device)?;
                        let pairs = evaluation_pairs(&dist, 1000 + seed, plan.evaluation_pairs)?;
                        Ok(mean_expected_cost(&gadget, &pairs, &cost, plan.gadget1_samples, 1000 + seed)?)
                    })
                })
                .collect::<Result<_>>()?;
            let (m, sd) = (mean(&per_seed), std_ddof0(&per_seed));
            let method = kind.name();
            methods.insert(method.to_owned(), json!({"mean": m, "std": sd, "per_seed": per_seed, "exact": kind == GadgetKind::Gadget2}));
            let printed = paper::table1_columns_1_2(method, column);
            rows.push(vec![
                column.to_owned(),
                method.to_owned(),
                format!("{m:.2} ± {sd:.2}"),
                printed.map_or("–".to_owned(), |p| format!("{:.2} ± {:.2}", p.mean, p.spread)),
                printed.map_or("–".to_owned(), |p| format!("{:+.2}", m - p.mean)),
            ]);
            if let (Some(p), Mode::Full) = (printed, ctx.mode) {
                checks.push(Check::new(format!("{column} / {method}"), p.mean, m, TOLERANCE));
            }
        }
        columns.insert(column.to_owned(), Value::Object(methods));
    }
    let (fixed_rows, fixed_data) = columns_3_4(ctx, &plan, device, &mut checks)?;
    columns.insert("fixed_pair".to_owned(), fixed_data);
    let scope = match ctx.mode {
        Mode::Quick => format!(
            "**Quick run: each gadget trained for only {} steps (the paper: 50,000) on one seed and scored on {} \
             evaluation pairs, so these rows are NOT comparable with the paper's; `--full` runs the paper's protocol.**",
            plan.steps, plan.evaluation_pairs
        ),
        Mode::Full => format!("{} steps per gadget, {} seeds, {} evaluation pairs per seed (the paper's protocol).", plan.steps, plan.seeds, plan.evaluation_pairs),
    };
    let markdown = format!(
        "{scope}\n\nE[(x - y)^2], mean ± std (ddof 0) over training seeds; Gadget 2 exact per pair, Gadget 1 from \
         {} samples per pair. Checkpoints: `results/checkpoints/{}/`.\n\n{}",
        plan.gadget1_samples,
        ctx.mode.label(),
        table(&["column", "method", "ours", "paper", "ours − paper"], &rows)
    ) + &format!(
        "\n### Columns 3-4: the fixed decreasing / increasing pair, random rewards\n\n\
         Var[h(x) - h(y)] per trial (ddof 0; Gadget 2 exact, Gadget 1 from {} samples), mean ± s.e. over {} trials of \
         the authors' numpy rewards, each gadget retrained per trial for {} steps (the authors: 3,000; Adam 1e-5; \
         Gadget 1 with two networks, Gadget 2 with a learned prior).\n\n{}",
        FIXED_PAIR_SAMPLES,
        plan.trials,
        plan.fixed_steps,
        table(&["column", "method", "ours", "paper", "ours − paper"], &fixed_rows)
    );
    Ok(Outcome {
        data: Value::Object(columns),
        config: json!({
            "steps": plan.steps, "seeds": plan.seeds, "evaluation_pairs": plan.evaluation_pairs,
            "gadget1_samples_per_pair": plan.gadget1_samples, "batch": 64, "inner_samples": 16, "latent": 20,
            "hidden": [1024, 1024], "learning_rates": {"gadget-2": 1e-3, "gadget-1": 1e-4}, "cost": "(i-j)^2",
            "device": gadgets::device::device_name(device),
        }),
        markdown,
        checks,
    })
}

/// Samples of a Gadget 1 coupling in columns 3-4.
const FIXED_PAIR_SAMPLES: u64 = 100_000;

/// The paper's columns 3-4 (mean, s.e. over 10 trials; gadgets-part2.md): (method, monotone, non-monotone).
const PRINTED_3_4: [(GadgetKind, Printed, Printed); 2] = [
    (GadgetKind::Gadget2, Printed { mean: 2.0025, spread: 0.3011 }, Printed { mean: 0.2155, spread: 0.0378 }),
    (GadgetKind::Gadget1, Printed { mean: 1.4268, spread: 0.2217 }, Printed { mean: 0.2689, spread: 0.0370 }),
];

/// Columns 3-4: per trial and reward kind, each gadget trained on the fixed pair with cost
/// (h_i - h_j)^2 and scored by Var[h(x) - h(y)].
fn columns_3_4(ctx: &Context, plan: &Protocol, device: gadgets::Device, checks: &mut Vec<Check>) -> Result<(Vec<Vec<String>>, Value)> {
    let pair = LogitPair { p: (1..=10).rev().map(|v| f64::from(v) / 4.0).collect(), q: (0..10).map(|v| f64::from(v) / 4.0).collect() };
    let dist = FixedPair { pair: pair.clone(), noise: 0.0 };
    let (p, q) = (Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?);
    let (mut rows, mut data) = (Vec::new(), Map::new());
    for (column, index) in [("monotone", 0usize), ("non-monotone", 1)] {
        let mut methods = Map::new();
        for (kind, printed_mono, printed_non) in PRINTED_3_4 {
            let per_trial: Vec<f64> = (0..plan.trials)
                .map(|trial| {
                    let key = format!("{column}-{}-trial{trial}", kind.name());
                    ctx.cached(PART.name, &key, || {
                        let drawn = trial_rewards(RewardStream::NumpyLegacy, trial, 10);
                        let h = if index == 0 { drawn.monotone } else { drawn.non_monotone };
                        let cost = CostMatrix::squared_reward(&h)?;
                        let config = GadgetConfig {
                            separate_networks: kind == GadgetKind::Gadget1,
                            learned_prior: kind == GadgetKind::Gadget2,
                            ..GadgetConfig::paper(kind, 10)
                        };
                        let options = TrainOptions { loss: LossKind::Joint, batch: 64, inner_samples: 16, learning_rate: 1e-5, steps: plan.fixed_steps, seed: u64::from(trial), progress: true };
                        let path = ctx.path(format!("checkpoints/{}/{}-{column}-trial{trial}.ckpt", ctx.mode.label(), kind.name()));
                        let gadget = trained(&path, config, &dist, &cost, &options, device)?;
                        let coupling = gadget.coupling(&p, &q, FIXED_PAIR_SAMPLES, u64::from(trial))?.coupling;
                        Ok(coupling.variance(&h, &h)?)
                    })
                })
                .collect::<Result<_>>()?;
            let m = mean(&per_trial);
            let se = std_ddof0(&per_trial) / (per_trial.len() as f64).sqrt();
            let Printed { mean: paper_mean, spread: paper_se } = if index == 0 { printed_mono } else { printed_non };
            methods.insert(kind.name().to_owned(), json!({"mean": m, "se": se, "per_trial": per_trial}));
            rows.push(vec![
                column.to_owned(),
                kind.name().to_owned(),
                format!("{m:.2} ± {se:.2}"),
                format!("{paper_mean:.2} ± {paper_se:.2}"),
                format!("{:+.2}", m - paper_mean),
            ]);
            if ctx.mode == Mode::Full {
                checks.push(Check::new(format!("{column} / {}", kind.name()), paper_mean, m, (3.0 * paper_se).max(0.05)));
            }
        }
        data.insert(column.to_owned(), Value::Object(methods));
    }
    Ok((rows, Value::Object(data)))
}

/// The gadget kept at `path` if a finished run left it there, else a fresh one trained and saved.
fn trained(path: &std::path::Path, config: GadgetConfig, pairs: &dyn PairDistribution, cost: &CostMatrix, options: &TrainOptions, device: gadgets::Device) -> Result<Gadget> {
    if let Ok(loaded) = load(path, device) {
        return Ok(loaded.gadget);
    }
    eprintln!("reproduce: training {} for {} ({} steps)", config.kind.name(), path.display(), options.steps);
    let gadget = Gadget::new(config, device, options.seed)?;
    let record = train(&gadget, pairs, cost, options)?;
    save(&gadget, Some(&record), path)?;
    Ok(gadget)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn std_ddof0(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}
