//! Figure 1b and supplement Figure 5: heatmaps of the coupling matrix of every method (independent,
//! Gumbel-max, inverse-CDF, LP-optimal, maximal, Gadget 1, Gadget 2) for the fixed pair of Table 1
//! columns 3-4 (p logits (10..1)/4 decreasing, q logits (0..9)/4 increasing) under the monotone and
//! the non-monotone reward of the authors' trial 0, each titled with Var[h(x) - h(y)], exact for every
//! method but Gadget 1 (a Monte Carlo estimate). The gadgets are those of reward trial 0 of Table 1's
//! columns 3-4 (`table1_fixed_pair`: the same runs and checkpoints).

use anyhow::Result;
use baselines::rewards::{fixed_inc_dec_pair, trial_rewards, RewardStream};
use baselines::{
    independent_coupling, inverse_cdf_coupling, lp_optimal_coupling, maximal_coupling, OutcomeOrder,
};
use gadgets::GadgetKind;
use gumbel_core::exact::gumbel_max_coupling;
use gumbel_core::{CostMatrix, Coupling};
use serde_json::{json, Value};

use super::table1_fixed_pair as fixed_pair;
use crate::context::Context;
use crate::plot::{heatmaps, Heatmap};
use crate::progress::Progress;
use crate::report::table;
use crate::sharing::share;
use crate::training::Throughput;

/// K.
const OUTCOMES: usize = 10;

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
pub fn figure_1b(ctx: &Context, file: &str, throughput: &mut Throughput) -> Result<Figure1b> {
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let rewards = trial_rewards(RewardStream::NumpyLegacy, 0, OUTCOMES);
    let settings = [("monotone", rewards.monotone), ("non-monotone", rewards.non_monotone)];
    let mut runs = Vec::new();
    for (name, h) in &settings {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            runs.push((
                fixed_pair::label(kind, name, 0),
                fixed_pair::gadget_run(kind, &p, &q, h, ctx.mode, ctx.seed, 0),
            ));
        }
    }
    let remaining: u64 =
        runs.iter().map(|(label, run)| run.remaining_steps(ctx, label)).sum::<Result<_>>()?;
    let progress = Progress::new("figure1b", remaining, "steps");
    share(
        ctx,
        &progress,
        &runs,
        |(label, run)| run.plan(ctx, label),
        |(label, run)| run.trained(ctx, label, &progress).map(drop),
    )?;
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
            let trained = run.trained(ctx, label, &progress)?;
            throughput.add(&trained);
            couplings.push((method, fixed_pair::coupling(ctx, &trained.gadget, &p, &q)?));
        }
        let mut variances = serde_json::Map::new();
        for (row, (method, coupling)) in couplings.into_iter().enumerate() {
            let variance = coupling.variance(h, h)?;
            if index == 0 {
                rows.push(vec![method.to_owned()]);
            }
            rows[row].push(format!("{variance:.4}"));
            variances.insert(method.to_owned(), json!(variance));
            panels.push(Heatmap {
                title: format!("{method}: Var {variance:.3}"),
                matrix: coupling.to_rows(),
            });
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
    Ok(Figure1b {
        data: Value::Object(data),
        table: table(&["method", "Var, monotone reward", "Var, non-monotone reward"], &rows),
        schedule: fixed_pair::Schedule::new(ctx.mode).describe(),
    })
}
