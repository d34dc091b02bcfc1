//! Figure 1b and supplement Figure 5: the coupling of every method (independent, Gumbel-max,
//! inverse-CDF, LP-optimal, maximal, Gadget 1, Gadget 2) of the fixed pair of Table 1 columns 3-4
//! (p logits (10..1)/4 decreasing, q logits (0..9)/4 increasing) under the monotone and the
//! non-monotone reward of the authors' trial 0, each with its Var[h(x) - h(y)], exact for every method
//! but Gadget 1 (a Monte Carlo estimate). The gadgets are those of reward trial 0 of Table 1's columns
//! 3-4 ([`crate::experiments::fixed_pair`]: the same runs and checkpoints).

use std::collections::BTreeMap;

use anyhow::Result;
use baselines::authors::rewards::{fixed_inc_dec_pair, trial_rewards, RewardStream};
use gadgets::{GadgetKind, TrainRun};
use gumbel_core::CostMatrix;
use methods::Method;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::experiments::fixed_pair::{self, OUTCOMES};
use crate::markdown::table;
use crate::plot::Heatmap;
use crate::progress::Progress;
use crate::sharing::share;
use crate::training::{Resumable, Throughput};

/// The methods, in the order of the panels and the table's rows.
pub const METHODS: [&str; 7] =
    ["independent", "Gumbel-max", "CDF^-1", "LP-optimal", "maximal", "Gadget 1", "Gadget 2"];

/// The method of each of [`METHODS`] (inverse-CDF in index order).
const MECHANISMS: [Method; 7] = [
    Method::Independent,
    Method::GumbelMax,
    Method::InverseCdf,
    Method::LpOptimal,
    Method::Maximal,
    Method::Gadget1,
    Method::Gadget2,
];

/// One reward of Figure 1b: the reward and every method's variance.
#[derive(Debug, Serialize, Deserialize)]
pub struct RewardVariances {
    /// h, the reward of each outcome.
    pub reward: Vec<f64>,
    /// Var[h(x) - h(y)] by method ([`METHODS`]).
    pub variance: BTreeMap<String, f64>,
}

/// Figure 1b's numbers: by reward ("monotone", "non-monotone").
pub type Figure1b = BTreeMap<String, RewardVariances>;

/// The rewards, in the order of the figure's rows.
const REWARDS: [&str; 2] = ["monotone", "non-monotone"];

/// Trial 0's gadgets with their checkpoint labels: per reward, Gadget 1 then Gadget 2.
pub fn runs(ctx: &Context) -> Result<Vec<(String, TrainRun)>> {
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let rewards = trial_rewards(RewardStream::NumpyLegacy, 0, OUTCOMES);
    let mut runs = Vec::new();
    for (name, h) in REWARDS.iter().zip([rewards.monotone, rewards.non_monotone]) {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            runs.push((
                fixed_pair::label(kind, name, 0),
                fixed_pair::gadget_run(kind, (&p, &q), &h, ctx.mode, ctx.seed, 0),
            ));
        }
    }
    Ok(runs)
}

/// Trains (resumably) trial 0's gadgets and computes every method's coupling and variance; returns
/// the numbers, the heatmap panels (row by row) and the training throughput.
pub fn compute(ctx: &Context) -> Result<(Figure1b, Vec<Heatmap>, Throughput)> {
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let rewards = trial_rewards(RewardStream::NumpyLegacy, 0, OUTCOMES);
    let settings = [rewards.monotone, rewards.non_monotone];
    let runs = runs(ctx)?;
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
    let mut throughput = Throughput::default();
    let mut panels = Vec::new();
    let mut data = Figure1b::new();
    for (index, (name, h)) in REWARDS.iter().zip(&settings).enumerate() {
        let cost = CostMatrix::squared_reward(h)?;
        // Gadget 1, then Gadget 2.
        let mut trained = Vec::new();
        for (label, run) in &runs[2 * index..2 * index + 2] {
            trained.push(run.trained(ctx, label, &progress)?);
            throughput.add(&trained[trained.len() - 1]);
        }
        let mut variance = BTreeMap::new();
        for (method, mechanism) in METHODS.iter().zip(MECHANISMS) {
            let gadget = mechanism.gadget_kind().map(|kind| match kind {
                GadgetKind::Gadget1 => &trained[0].gadget,
                GadgetKind::Gadget2 => &trained[1].gadget,
            });
            let coupling =
                fixed_pair::coupling(ctx.seed, mechanism, gadget, Some(&cost), (&p, &q))?;
            let v = coupling.variance(h, h)?;
            variance.insert((*method).to_owned(), v);
            panels.push(Heatmap {
                title: format!("{method}: Var {v:.3}"),
                matrix: coupling.to_rows(),
            });
        }
        data.insert((*name).to_owned(), RewardVariances { reward: h.clone(), variance });
    }
    progress.finish();
    Ok((data, panels, throughput))
}

/// The variances as a markdown table: a row per method, a column per reward.
pub fn variance_table(data: &Figure1b) -> String {
    let rows: Vec<Vec<String>> = METHODS
        .iter()
        .map(|method| {
            let mut row = vec![(*method).to_owned()];
            row.extend(REWARDS.iter().map(|reward| {
                let v = data.get(*reward).and_then(|r| r.variance.get(*method));
                v.map_or("–".to_owned(), |v| format!("{v:.4}"))
            }));
            row
        })
        .collect();
    table(&["method", "Var, monotone reward", "Var, non-monotone reward"], &rows)
}
