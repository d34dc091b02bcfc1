//! Table 1 columns 3-4, the gadget rows (Section 7.2; gadgets-part2.md section 1): the gadgets of the
//! fixed pair ([`crate::experiments::fixed_pair`]) retrained per reward trial and reward kind, scored by
//! Var[h(x) - h(y)] under the gadget's coupling (Gadget 2 exact, Gadget 1 from [`GADGET1_SAMPLES`]
//! samples); mean +- s.e. over trials.

use std::collections::BTreeMap;

use anyhow::Result;
use baselines::authors::rewards::{fixed_inc_dec_pair, trial_rewards, RewardStream};
use gadgets::{GadgetKind, TrainRun};
use serde::{Deserialize, Serialize};

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::experiments::fixed_pair::{
    gadget_coupling, gadget_run, label, measured_step, Schedule, GADGET1_SAMPLES, OUTCOMES,
};
use crate::markdown::table;
use crate::paper;
use crate::part::names;
use crate::progress::Progress;
use crate::sharing::share;
use crate::stats::{mean, spread_units, standard_error_ddof0};
use crate::training::{self, Resumable, Throughput};
use crate::units::Unit;

/// The two reward columns, in the order of `trial_rewards`' fields.
const COLUMNS: [&str; 2] = ["monotone", "non-monotone"];
const KINDS: [GadgetKind; 2] = [GadgetKind::Gadget1, GadgetKind::Gadget2];

/// The schedule as written in table1.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// Adam steps per gadget.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Reward trials.
    pub trials: u32,
    /// Gadget 1's Monte Carlo samples for its coupling.
    pub gadget1_samples: u64,
}

/// One gadget of one column: Var[h(x) - h(y)] per trial.
#[derive(Debug, Serialize, Deserialize)]
pub struct GadgetRow {
    /// Mean over trials.
    pub mean: f64,
    /// Standard error (ddof 0) over trials.
    pub se: f64,
    /// By trial.
    pub per_trial: Vec<f64>,
    /// Whether the variances are exact (Gadget 2).
    pub exact: bool,
}

/// What columns 3-4's gadget rows add to table1.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct FixedPairRows {
    /// How the gadgets were trained.
    pub schedule: ScheduleRecord,
    /// By column, then by gadget name.
    pub columns: BTreeMap<String, BTreeMap<String, GadgetRow>>,
}

/// A gadget of columns 3-4: its column, kind, reward trial, run and reward.
type Run = (&'static str, GadgetKind, u32, TrainRun, Vec<f64>);

/// Every gadget of columns 3-4, trial by trial.
fn runs(ctx: &Context) -> Result<Vec<Run>> {
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let mut runs = Vec::new();
    for trial in 0..Schedule::new(ctx.mode).trials {
        let drawn = trial_rewards(RewardStream::NumpyLegacy, trial, OUTCOMES);
        for (column, h) in COLUMNS.into_iter().zip([drawn.monotone, drawn.non_monotone]) {
            for kind in KINDS {
                let run = gadget_run(kind, (&p, &q), &h, ctx.mode, ctx.seed, trial);
                runs.push((column, kind, trial, run, h.clone()));
            }
        }
    }
    Ok(runs)
}

/// The training of every gadget of columns 3-4 as units of the plan (stage 0; their variances are
/// computed when the part's results are written).
pub fn units(ctx: &Context) -> Result<Vec<Unit<'_>>> {
    runs(ctx)?
        .into_iter()
        .map(|(column, kind, trial, run, _)| {
            let label = label(kind, column, trial);
            training::unit(ctx, 0, names::TABLE1, label, run, &measured_step(kind))
        })
        .collect()
}

/// Trains (resumably) and scores every gadget of columns 3-4; returns the rows and the training's
/// throughput.
pub fn gadget_rows(ctx: &Context) -> Result<(FixedPairRows, Throughput)> {
    let schedule = Schedule::new(ctx.mode);
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let runs = runs(ctx)?;
    let remaining: u64 = runs
        .iter()
        .map(|(c, k, t, run, _)| run.remaining_steps(ctx, &label(*k, c, *t)))
        .sum::<Result<_>>()?;
    let progress = Progress::new("table1 columns 3-4", remaining, "steps");
    share(
        ctx,
        &progress,
        &runs,
        |(c, k, t, run, _)| run.plan(ctx, &label(*k, c, *t)),
        |(c, k, t, run, _)| run.trained(ctx, &label(*k, c, *t), &progress).map(drop),
    )?;
    let mut training = Throughput::default();
    let mut variances: Vec<((&str, GadgetKind), f64)> = Vec::new();
    for (column, kind, trial, run, h) in &runs {
        let name = label(*kind, column, *trial);
        let trained = run.trained(ctx, &name, &progress)?;
        training.add(&trained);
        let key = format!("variance-{}-{GADGET1_SAMPLES}", run.key(&name)?);
        let variance: f64 = ctx.cached(names::TABLE1, &key, || {
            Ok(gadget_coupling(ctx.seed, &trained.gadget, &p, &q)?.variance(h, h)?)
        })?;
        variances.push(((column, *kind), variance));
    }
    progress.finish();
    let columns = COLUMNS
        .iter()
        .map(|column| {
            let gadgets = KINDS
                .iter()
                .map(|kind| {
                    let per_trial: Vec<f64> = variances
                        .iter()
                        .filter(|((c, k), _)| c == column && k == kind)
                        .map(|(_, v)| *v)
                        .collect();
                    let row = GadgetRow {
                        mean: mean(&per_trial),
                        se: standard_error_ddof0(&per_trial),
                        per_trial,
                        exact: *kind == GadgetKind::Gadget2,
                    };
                    (kind.name().to_owned(), row)
                })
                .collect();
            ((*column).to_owned(), gadgets)
        })
        .collect();
    let schedule = ScheduleRecord {
        steps: schedule.steps,
        learning_rate: schedule.learning_rate,
        hidden: schedule.hidden,
        trials: schedule.trials,
        gadget1_samples: GADGET1_SAMPLES,
    };
    Ok((FixedPairRows { schedule, columns }, training))
}

/// The rows in table order: (column, gadget, its row) for those present.
fn rows(result: &FixedPairRows) -> impl Iterator<Item = (&str, GadgetKind, &GadgetRow)> {
    COLUMNS.into_iter().flat_map(move |column| {
        KINDS.into_iter().filter_map(move |kind| {
            Some((column, kind, result.columns.get(column)?.get(kind.name())?))
        })
    })
}

/// The gadget rows against the paper's printed means (full mode only).
pub fn checks(mode: Mode, result: &FixedPairRows) -> Vec<Check> {
    if mode != Mode::Full {
        return Vec::new();
    }
    rows(result)
        .filter_map(|(column, kind, row)| {
            let p = paper::table1_columns_3_4(kind.name(), column)?;
            let check = Check::new(
                format!("{column} / {} (trained)", kind.name()),
                p.mean,
                row.mean,
                (3.0 * p.spread).max(0.05),
            );
            Some(check.with_spread(p.spread))
        })
        .collect()
}

/// The markdown section of columns 3-4's gadget rows, trained at `training`'s throughput.
pub fn render(mode: Mode, result: &FixedPairRows, training: &Throughput) -> String {
    let table_rows: Vec<Vec<String>> = rows(result)
        .map(|(column, kind, row)| {
            let (m, se) = (row.mean, row.se);
            let printed = paper::table1_columns_3_4(kind.name(), column);
            vec![
                column.to_owned(),
                kind.name().to_owned(),
                format!("{m:.4} ± {se:.4}"),
                printed.map_or("–".to_owned(), |p| format!("{:.4} ± {:.4}", p.mean, p.spread)),
                printed.map_or("–".to_owned(), |p| spread_units(m - p.mean, p.spread)),
            ]
        })
        .collect();
    let quick = match mode {
        Mode::Quick => " **Quick mode**: a smaller network, a larger rate and 2 trials; the gadgets are barely trained, so these rows are not the paper's values.",
        Mode::Full => "",
    };
    format!(
        "\n### Gadget rows of columns 3-4: trained per reward trial ({} mode)\n\n\
         Var[h(x) - h(y)] for the fixed pair, each gadget retrained for each of {} reward trials of the authors' stream \
         ({}); Gadget 2 exact, Gadget 1 from {GADGET1_SAMPLES} samples; mean ± s.e. over trials. \"paper\" is the \
         printed mean ± s.e. of 2000-sample estimates.{quick}\n\n{}\n\
         Training: {} steps in {:.0} s.\n",
        mode.label(),
        result.schedule.trials,
        Schedule::new(mode).describe(),
        table(&["column", "gadget", "ours", "paper", "in paper's s.e."], &table_rows),
        training.steps,
        training.seconds,
    )
}
