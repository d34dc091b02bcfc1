//! Table 1 columns 3-4, the gadget rows (Section 7.2; gadgets-part2.md section 1): the fixed pair
//! p = softmax((10..1)/4) decreasing, q = softmax((0..9)/4) increasing, and per reward trial t (the
//! authors' numpy stream, `RandomState(t)`) and reward kind (monotone, non-monotone), each gadget trained
//! on that pair with cost (h_i - h_j)^2 as in the authors' second repository: Gadget 1 with separate p
//! and q networks, Gadget 2 with |Z| = 20 and a learned prior, Adam 1e-5, 3,000 steps, batch 64,
//! 16 inner samples. Scored by Var[h(x) - h(y)] under the gadget's coupling (Gadget 2 exact, Gadget 1
//! from [`GADGET1_SAMPLES`] samples); mean +- s.e. over trials. Figure 1b draws the gadgets of trial 0
//! (the same checkpoints).

use anyhow::Result;
use baselines::rewards::{fixed_inc_dec_pair, trial_rewards, RewardStream};
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::rng::splitmix64;
use gumbel_core::{Categorical, Coupling};
use serde_json::{json, Map, Value};

use super::table1_protocol::GadgetRows;
use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::paper;
use crate::progress::Progress;
use crate::report::table;
use crate::sharing::share;
use crate::stats::{mean, spread_units, standard_error_ddof0};
use crate::training::{Run, Throughput};

/// K.
const OUTCOMES: usize = 10;
/// Gadget 1's Monte Carlo samples for its coupling.
pub const GADGET1_SAMPLES: u64 = 100_000;
/// The two reward columns, in the order of `trial_rewards`' fields.
const COLUMNS: [&str; 2] = ["monotone", "non-monotone"];
const KINDS: [GadgetKind; 2] = [GadgetKind::Gadget1, GadgetKind::Gadget2];

/// Steps, learning rate, hidden widths and reward trials: the authors' 3,000 steps at 1e-5 with
/// [1024, 1024] over 10 trials, or a brief quick run of a smaller network at a larger rate on 2 trials.
pub struct Schedule {
    /// Adam steps per gadget.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Reward trials 0..trials.
    pub trials: u32,
}

impl Schedule {
    /// The schedule of `mode`.
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Full => {
                Self { steps: 3_000, learning_rate: 1e-5, hidden: vec![1024, 1024], trials: 10 }
            }
            Mode::Quick => {
                Self { steps: 100, learning_rate: 1e-3, hidden: vec![128, 128], trials: 2 }
            }
        }
    }

    /// The schedule in words, for reports.
    pub fn describe(&self) -> String {
        format!(
            "Gadget 1 with separate p and q networks, Gadget 2 with |Z| = 20 and a learned prior; hidden {:?}, \
             Adam {:e}, {} steps, batch 64, 16 inner samples",
            self.hidden, self.learning_rate, self.steps
        )
    }
}

/// The training run of `kind` on the fixed pair (p, q) with reward `h`, for reward trial `trial`.
pub fn gadget_run(
    kind: GadgetKind,
    p: &Categorical,
    q: &Categorical,
    h: &[f64],
    mode: Mode,
    master: u64,
    trial: u32,
) -> Run {
    let schedule = Schedule::new(mode);
    let config = GadgetConfig { hidden: schedule.hidden, ..GadgetConfig::paper(kind, OUTCOMES) };
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
            learning_rate: schedule.learning_rate,
            steps: schedule.steps,
            seed: splitmix64(master ^ 0x0f16_1b00).wrapping_add(u64::from(trial)),
            progress: false,
            unnormalised_logits: false,
        },
        observed: None,
    }
}

/// The coupling of (p, q) under a trained gadget: exact for Gadget 2, for Gadget 1 from
/// [`GADGET1_SAMPLES`] samples drawn from a seed derived from the master seed.
pub fn coupling(
    ctx: &Context,
    gadget: &Gadget,
    p: &Categorical,
    q: &Categorical,
) -> Result<Coupling> {
    Ok(gadget.coupling(p, q, GADGET1_SAMPLES, splitmix64(ctx.seed ^ 0x0f16_1b01))?.coupling)
}

/// The checkpoint label of a gadget of column `column` and reward trial `trial`.
pub fn label(kind: GadgetKind, column: &str, trial: u32) -> String {
    format!("{}-table1-{column}-trial{trial}", kind.name())
}

/// Trains (resumably) and scores every gadget of columns 3-4, and formats their rows.
pub fn gadget_rows(ctx: &Context) -> Result<GadgetRows> {
    let schedule = Schedule::new(ctx.mode);
    let (p, q) = fixed_inc_dec_pair(OUTCOMES)?;
    let mut runs = Vec::new();
    for trial in 0..schedule.trials {
        let drawn = trial_rewards(RewardStream::NumpyLegacy, trial, OUTCOMES);
        for (column, h) in COLUMNS.into_iter().zip([drawn.monotone, drawn.non_monotone]) {
            for kind in KINDS {
                runs.push((
                    column,
                    kind,
                    trial,
                    gadget_run(kind, &p, &q, &h, ctx.mode, ctx.seed, trial),
                    h.clone(),
                ));
            }
        }
    }
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
    let mut throughput = Throughput::default();
    let mut variances: Vec<((&str, GadgetKind), f64)> = Vec::new();
    for (column, kind, trial, run, h) in &runs {
        let name = label(*kind, column, *trial);
        let trained = run.trained(ctx, &name, &progress)?;
        throughput.add(&trained);
        let key = format!("variance-{}-{GADGET1_SAMPLES}", run.key(&name)?);
        let variance: f64 = ctx.cached("table1", &key, || {
            Ok(coupling(ctx, &trained.gadget, &p, &q)?.variance(h, h)?)
        })?;
        variances.push(((column, *kind), variance));
    }
    progress.finish();
    Ok(format_rows(ctx, &schedule, &variances, throughput))
}

fn format_rows(
    ctx: &Context,
    schedule: &Schedule,
    variances: &[((&str, GadgetKind), f64)],
    throughput: Throughput,
) -> GadgetRows {
    let (mut rows, mut checks, mut data) = (Vec::new(), Vec::new(), Map::new());
    for column in COLUMNS {
        let mut methods = Map::new();
        for kind in KINDS {
            let per_trial: Vec<f64> = variances
                .iter()
                .filter(|((c, k), _)| *c == column && *k == kind)
                .map(|(_, v)| *v)
                .collect();
            let (m, se) = (mean(&per_trial), standard_error_ddof0(&per_trial));
            let printed = paper::table1_columns_3_4(kind.name(), column);
            rows.push(vec![
                column.to_owned(),
                kind.name().to_owned(),
                format!("{m:.4} ± {se:.4}"),
                printed.map_or("–".to_owned(), |p| format!("{:.4} ± {:.4}", p.mean, p.spread)),
                printed.map_or("–".to_owned(), |p| spread_units(m - p.mean, p.spread)),
            ]);
            if let (Some(p), Mode::Full) = (printed, ctx.mode) {
                checks.push(
                    Check::new(
                        format!("{column} / {} (trained)", kind.name()),
                        p.mean,
                        m,
                        (3.0 * p.spread).max(0.05),
                    )
                    .with_spread(p.spread),
                );
            }
            methods.insert(kind.name().to_owned(), json!({"mean": m, "se": se, "per_trial": per_trial, "exact": kind == GadgetKind::Gadget2}));
        }
        data.insert(column.to_owned(), Value::Object(methods));
    }
    let quick = match ctx.mode {
        Mode::Quick => " **Quick mode**: a smaller network, a larger rate and 2 trials; the gadgets are barely trained, so these rows are not the paper's values.",
        Mode::Full => "",
    };
    let markdown = format!(
        "\n### Gadget rows of columns 3-4: trained per reward trial ({} mode)\n\n\
         Var[h(x) - h(y)] for the fixed pair, each gadget retrained for each of {} reward trials of the authors' stream \
         ({}); Gadget 2 exact, Gadget 1 from {GADGET1_SAMPLES} samples; mean ± s.e. over trials. \"paper\" is the \
         printed mean ± s.e. of 2000-sample estimates.{quick}\n\n{}\n\
         Training: {} steps in {:.0} s.\n",
        ctx.mode.label(),
        schedule.trials,
        schedule.describe(),
        table(&["column", "gadget", "ours", "paper", "in paper's s.e."], &rows),
        throughput.steps,
        throughput.seconds,
    );
    GadgetRows {
        data: json!({"schedule": {"steps": schedule.steps, "learning_rate": schedule.learning_rate, "hidden": schedule.hidden,
                     "trials": schedule.trials, "gadget1_samples": GADGET1_SAMPLES}, "columns": data}),
        markdown,
        checks,
    }
}
