//! The Gadget 1 and Gadget 2 rows of Table 1, columns 1-2 (Section 7.2): each gadget is trained on
//! l = log_softmax(8 U[0,1]^10) pairs (independent or mirrored) with cost (i - j)^2 (Adam, B = 64,
//! N_in = 16, |Z| = 20; learning rates G2 1e-3, G1 1e-4 as the authors chose), then scored by
//! E[(x - y)^2] averaged over the authors' evaluation pairs of seed 1000 + training seed (Gadget 2
//! exactly per pair, Gadget 1 from 1,000 samples per pair, as the authors did). Each trained gadget is
//! kept as `results/checkpoints/<mode>/<gadget>-<column>-seed<s>.ckpt`; finished trainings and
//! evaluations are never redone after an interruption. Columns 3-4 are not reproduced here yet (they
//! need the authors' numpy reward draws).

use anyhow::Result;
use gadgets::checkpoint::{load, save};
use gadgets::coupling::mean_expected_cost;
use gadgets::train::{train, LossKind, TrainOptions};
use gadgets::{DeviceChoice, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::jax_random::evaluation_pairs;
use gumbel_core::pairs::{PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;
use serde_json::{json, Map, Value};

use super::{Outcome, Part};
use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::paper;
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
    seeds: u64,
    evaluation_pairs: usize,
    gadget1_samples: u64,
}

fn protocol(mode: Mode) -> Protocol {
    match mode {
        Mode::Quick => Protocol { steps: 150, seeds: 1, evaluation_pairs: 200, gadget1_samples: 1_000 },
        Mode::Full => Protocol { steps: 50_000, seeds: 5, evaluation_pairs: 10_000, gadget1_samples: 1_000 },
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
                        let gadget = match load(&path, device) {
                            Ok(loaded) => loaded.gadget,
                            Err(_) => {
                                eprintln!("reproduce: training {} on {column} pairs, seed {seed}, {} steps", kind.name(), plan.steps);
                                let gadget = Gadget::new(GadgetConfig::paper(kind, 10), device, seed)?;
                                let options = TrainOptions { loss: LossKind::Joint, batch: 64, inner_samples: 16, learning_rate, steps: plan.steps, seed, progress: true };
                                let record = train(&gadget, &dist, &cost, &options)?;
                                save(&gadget, Some(&record), &path)?;
                                gadget
                            }
                        };
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

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn std_ddof0(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}
