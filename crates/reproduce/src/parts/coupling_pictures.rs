//! Figure 1b and supplement Figure 5: heatmaps of the coupling matrix of every method (independent,
//! Gumbel-max, inverse-CDF, LP-optimal, maximal, Gadget 1, Gadget 2) for the fixed pair of Table 1
//! columns 3-4 (p logits (10..1)/4 decreasing, q logits (0..9)/4 increasing) under the monotone and
//! the non-monotone reward of the authors' trial 0, each titled with Var[h(x) - h(y)], exact for every
//! method but Gadget 1 (a Monte Carlo estimate). The gadgets are trained on that pair and reward as
//! in the authors' second repository (gadgets-part2.md): Gadget 1 with separate p and q networks,
//! Gadget 2 with |Z| = 20 and a learned prior, Adam 1e-5, 3,000 steps, batch 64, 16 inner samples.

use anyhow::Result;
use baselines::rewards::{fixed_inc_dec_pair, trial_rewards, RewardStream};
use baselines::{independent_coupling, inverse_cdf_coupling, lp_optimal_coupling, maximal_coupling, OutcomeOrder};
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{GadgetConfig, GadgetKind};
use gumbel_core::exact::gumbel_max_coupling;
use gumbel_core::rng::splitmix64;
use gumbel_core::{Categorical, CostMatrix, Coupling};
use serde_json::{json, Value};

use crate::context::{Context, Mode};
use crate::plot::{heatmaps, Heatmap};
use crate::progress::Progress;
use crate::report::table;
use crate::training::{Run, Throughput};

/// K.
const OUTCOMES: usize = 10;
/// Gadget 1's Monte Carlo samples for its coupling.
const GADGET1_SAMPLES: u64 = 100_000;

/// (steps, learning rate, hidden widths) of the gadgets: the authors' 3,000 steps at 1e-5 with
/// [1024, 1024], or a brief quick run of a smaller network at a larger rate.
fn schedule(mode: Mode) -> (usize, f64, Vec<usize>) {
    match mode {
        Mode::Full => (3_000, 1e-5, vec![1024, 1024]),
        Mode::Quick => (100, 1e-3, vec![128, 128]),
    }
}

fn gadget_run(kind: GadgetKind, p: &Categorical, q: &Categorical, h: &[f64], mode: Mode, master: u64) -> Run {
    let (steps, learning_rate, hidden) = schedule(mode);
    let config = GadgetConfig { hidden, ..GadgetConfig::paper(kind, OUTCOMES) };
    let gadget = match kind {
        GadgetKind::Gadget1 => GadgetConfig { separate_networks: true, ..config },
        GadgetKind::Gadget2 => GadgetConfig { learned_prior: true, ..config },
    };
    Run {
        gadget,
        pairs: PairSpec::Fixed { p: p.log_probs().to_vec(), q: q.log_probs().to_vec(), noise: 0.0 },
        cost: CostSpec::SquaredReward { h: h.to_vec() },
        training: TrainOptions {
            loss: LossKind::Joint,
            batch: 64,
            inner_samples: 16,
            learning_rate,
            steps,
            seed: splitmix64(master ^ 0x0f16_1b00),
            progress: false,
        },
    }
}

/// What Figure 1b adds to the figure1 part.
pub struct Figure1b {
    /// The rewards and every method's variance, per reward.
    pub data: Value,
    /// The variances as a markdown table.
    pub table: String,
    /// How the gadgets were trained, in words.
    pub schedule: String,
}

/// Draws Figure 1b into `file` (training its gadgets, resumably, in `part`'s cache).
pub fn figure_1b(ctx: &Context, part: &str, file: &str, throughput: &mut Throughput) -> Result<Figure1b> {
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let rewards = trial_rewards(RewardStream::NumpyLegacy, 0, OUTCOMES);
    let settings = [("monotone", rewards.monotone), ("non-monotone", rewards.non_monotone)];
    let mut runs = Vec::new();
    for (name, h) in &settings {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            runs.push((format!("{}-{name}", kind.name()), gadget_run(kind, &p, &q, h, ctx.mode, ctx.seed)));
        }
    }
    let remaining: u64 = runs.iter().map(|(label, run)| run.remaining_steps(ctx, part, label)).sum::<Result<_>>()?;
    let progress = Progress::new("figure1b", remaining, "steps");
    let mut panels = Vec::new();
    let mut data = serde_json::Map::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (index, (name, h)) in settings.iter().enumerate() {
        let cost = CostMatrix::squared_reward(h)?;
        let mut couplings: Vec<(&str, Coupling)> = vec![
            ("independent", independent_coupling(&p, &q)?),
            ("Gumbel-max", gumbel_max_coupling(&p, &q)?),
            ("CDF^-1", inverse_cdf_coupling(&p, &q, &OutcomeOrder::identity(OUTCOMES))?),
            ("LP-optimal", lp_optimal_coupling(&p, &q, &cost)?),
            ("maximal", maximal_coupling(&p, &q)?),
        ];
        for (offset, method) in ["Gadget 1", "Gadget 2"].into_iter().enumerate() {
            let (label, run) = &runs[2 * index + offset];
            let trained = run.trained(ctx, part, label, &progress)?;
            throughput.add(&trained);
            couplings.push((method, trained.gadget.coupling(&p, &q, GADGET1_SAMPLES, splitmix64(ctx.seed ^ 0x0f16_1b01))?.coupling));
        }
        let mut variances = serde_json::Map::new();
        for (row, (method, coupling)) in couplings.into_iter().enumerate() {
            let variance = coupling.variance(h, h)?;
            if index == 0 {
                rows.push(vec![method.to_owned()]);
            }
            rows[row].push(format!("{variance:.4}"));
            variances.insert(method.to_owned(), json!(variance));
            panels.push(Heatmap { title: format!("{method}: Var {variance:.3}"), matrix: coupling.to_rows() });
        }
        data.insert((*name).to_owned(), json!({"reward": h, "variance": variances}));
    }
    progress.finish();
    heatmaps(
        &ctx.path(file),
        &format!(
            "Figure 1b ({} mode): p decreasing / q increasing; top row monotone reward, bottom row non-monotone",
            ctx.mode.label()
        ),
        &panels,
        7,
    )?;
    let (steps, learning_rate, hidden) = schedule(ctx.mode);
    Ok(Figure1b {
        data: Value::Object(data),
        table: table(&["method", "Var, monotone reward", "Var, non-monotone reward"], &rows),
        schedule: format!(
            "Gadget 1 with separate p and q networks, Gadget 2 with |Z| = 20 and a learned prior; hidden {hidden:?}, \
             Adam {learning_rate:e}, {steps} steps, batch 64, 16 inner samples"
        ),
    })
}
