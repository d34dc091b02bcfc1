//! The off-policy evaluation study of Oberst & Sontag (2019), Section 5.1, on the sepsis simulator
//! (crates/sepsis-sim): the physician's exact outcomes and, over several seeds, the six estimates of
//! the RL policy's value beside the authors' single run (plots-main-paper.ipynb, reference note
//! section 8). Each seed repeats the authors' protocol: 1,000 physician trajectories, the projected
//! MDP and RL policy learned from them, 5 counterfactual copies per trajectory, 100 bootstrap resamples.

use std::collections::BTreeMap;

use anyhow::Result;
use rayon::prelude::*;
use sepsis_sim::bootstrap::Estimate;
use sepsis_sim::evaluation::{evaluate_exact, ExactOutcomes};
use sepsis_sim::kernel::SparseKernel;
use sepsis_sim::ope::{off_policy_evaluation, OpeConfig, OpeEstimates};
use sepsis_sim::physician::{plan_physician, PlanningKernel};
use serde::{Deserialize, Serialize};

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::markdown::table;
use crate::part::{names, Part};
use crate::stats::mean;

/// The part.
pub struct Sepsis;

/// The authors' printed estimates: (key, name, bootstrap mean, 2.5%, 97.5%).
const AUTHORS: [(&str, &str, f64, f64, f64); 6] = [
    ("observed", "observed (physician)", 0.3240, 0.2889, 0.3692),
    ("true_rl", "true RL", -0.4907, -0.5405, -0.4445),
    ("wis", "WIS", 0.6286, 0.0680, 0.9458),
    ("wis_soft", "WIS (soft target)", f64::NAN, f64::NAN, f64::NAN),
    ("model_based", "model-based", 0.9164, 0.8950, 0.9365),
    ("counterfactual", "counterfactual (Gumbel-max SCM)", 0.9531, 0.9460, 0.9600),
];

/// The physician's exact epsilon-soft return (20 steps) as planned by the authors on their Monte Carlo
/// kernel, and its greedy version (reference note section 8).
const AUTHORS_PHYSICIAN: f64 = 0.3119;

/// Draws of the Monte Carlo kernel the authors planned the physician on.
const MONTE_CARLO_DRAWS: u64 = 10_000;

/// The study's settings (`meta.config`).
#[derive(Debug, Serialize)]
pub struct Config {
    /// Seeds of the protocol.
    seeds: u64,
    /// The protocol of one seed (its seed field is 0: each run has its own).
    ope: OpeConfig,
    /// The physician's epsilon-soft exploration.
    physician_epsilon: f64,
    /// Draws of the Monte Carlo kernel of the second planning.
    monte_carlo_planning_draws: u64,
}

/// The physician planned on a Monte Carlo kernel, as the authors had it.
#[derive(Debug, Serialize, Deserialize)]
pub struct MonteCarloPlanning {
    /// Its exact outcomes.
    outcomes: ExactOutcomes,
    /// Greedy actions that differ from the physician planned on the exact kernel.
    greedy_actions_changed: usize,
}

/// One seed of the protocol.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpeRun {
    /// Its seed.
    seed: u64,
    /// The six estimates.
    estimates: OpeEstimates,
    /// The RL policy's exact outcomes.
    true_rl_exact: ExactOutcomes,
    /// Trajectories with a non-zero hard WIS weight.
    wis_matching: usize,
}

/// One estimate over the seeds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Mean of the bootstrap means.
    mean: f64,
    /// Mean of the 2.5% quantiles.
    mean_low: f64,
    /// Mean of the 97.5% quantiles.
    mean_high: f64,
    /// Smallest bootstrap mean.
    min: f64,
    /// Largest bootstrap mean.
    max: f64,
    /// The bootstrap mean of each seed.
    per_seed: Vec<f64>,
}

/// sepsis.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct SepsisResult {
    /// The physician planned on the exact kernel, evaluated exactly.
    physician: ExactOutcomes,
    /// The same physician planned on a Monte Carlo kernel.
    physician_monte_carlo_planning: MonteCarloPlanning,
    /// Each estimate over the seeds, by its key in [`AUTHORS`].
    estimates: BTreeMap<String, Summary>,
    /// The mean over seeds of the RL policy's exact return.
    true_rl_exact_mean: f64,
    /// Every seed.
    runs: Vec<OpeRun>,
}

/// The estimate named `key` ([`AUTHORS`]).
fn estimate(estimates: &OpeEstimates, key: &str) -> Estimate {
    match key {
        "observed" => estimates.observed,
        "true_rl" => estimates.true_rl,
        "wis" => estimates.wis,
        "wis_soft" => estimates.wis_soft,
        "model_based" => estimates.model_based,
        "counterfactual" => estimates.counterfactual,
        other => unreachable!("no estimate {other}"),
    }
}

impl Part for Sepsis {
    type Result = SepsisResult;
    type Details = ();
    type Config = Config;

    fn name(&self) -> &'static str {
        names::SEPSIS
    }

    fn title(&self) -> &'static str {
        "Sepsis simulator: off-policy evaluation (Oberst & Sontag 2019, Section 5.1)"
    }

    fn about(&self) -> &'static str {
        "Exact physician outcomes and the observed / true / WIS / MB / CF estimates over several seeds"
    }

    fn config(&self, ctx: &Context) -> Result<Config> {
        Ok(Config {
            seeds: match ctx.mode {
                Mode::Quick => 20,
                Mode::Full => 100,
            },
            ope: OpeConfig::paper(0),
            physician_epsilon: 0.05,
            monte_carlo_planning_draws: MONTE_CARLO_DRAWS,
        })
    }

    fn compute(&self, ctx: &Context, config: &Config) -> Result<(SepsisResult, ())> {
        let truth = SparseKernel::exact();
        let physician = plan_physician(&truth)?;
        let exact = evaluate_exact(&truth, &physician.policy, 20, 0.2)?;
        let mc_seed = gumbel_core::rng::splitmix64(ctx.seed ^ 0x5e95_1500);
        let mc: MonteCarloPlanning =
            ctx.cached(names::SEPSIS, &format!("physician-monte-carlo-{mc_seed}"), || {
                let kernel = PlanningKernel::MonteCarlo { draws: MONTE_CARLO_DRAWS, seed: mc_seed };
                let planned = plan_physician(&kernel.build()?)?;
                let changed =
                    planned.greedy.iter().zip(&physician.greedy).filter(|(a, b)| a != b).count();
                Ok(MonteCarloPlanning {
                    outcomes: evaluate_exact(&truth, &planned.policy, 20, 0.2)?,
                    greedy_actions_changed: changed,
                })
            })?;
        let runs: Vec<OpeRun> = (0..config.seeds)
            .into_par_iter()
            .map(|s| {
                let seed =
                    gumbel_core::rng::splitmix64(ctx.seed ^ gumbel_core::rng::splitmix64(5000 + s));
                ctx.cached(names::SEPSIS, &format!("ope-{seed}"), || {
                    let report =
                        off_policy_evaluation(&physician.policy, &truth, &OpeConfig::paper(seed))?;
                    Ok(OpeRun {
                        seed,
                        estimates: report.estimates,
                        true_rl_exact: report.true_rl_exact,
                        wis_matching: report.wis_matching,
                    })
                })
            })
            .collect::<Result<_>>()?;
        let estimates = AUTHORS
            .iter()
            .map(|(key, ..)| {
                let of = |f: fn(&Estimate) -> f64| -> Vec<f64> {
                    runs.iter().map(|r| f(&estimate(&r.estimates, key))).collect()
                };
                let values = of(|e| e.value);
                let (min, max) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
                let summary = Summary {
                    mean: mean(&values),
                    mean_low: mean(&of(|e| e.low)),
                    mean_high: mean(&of(|e| e.high)),
                    min,
                    max,
                    per_seed: values,
                };
                ((*key).to_owned(), summary)
            })
            .collect();
        let true_exact: Vec<f64> = runs.iter().map(|r| r.true_rl_exact.expected_return).collect();
        let result = SepsisResult {
            physician: exact,
            physician_monte_carlo_planning: mc,
            estimates,
            true_rl_exact_mean: mean(&true_exact),
            runs,
        };
        Ok((result, ()))
    }

    fn render(
        &self,
        _ctx: &Context,
        config: &Config,
        result: &SepsisResult,
        (): (),
    ) -> Result<String> {
        let rows: Vec<Vec<String>> = AUTHORS
            .iter()
            .map(|(key, name, value, low, high)| {
                let s = &result.estimates[*key];
                vec![
                    (*name).to_owned(),
                    format!("{:.4}", s.mean),
                    format!("{:.4} – {:.4}", s.mean_low, s.mean_high),
                    format!("{:.4} – {:.4}", s.min, s.max),
                    if value.is_nan() {
                        "–".to_owned()
                    } else {
                        format!("{value:.4} ({low:.4} – {high:.4})")
                    },
                ]
            })
            .collect();
        let (exact, mc) = (&result.physician, &result.physician_monte_carlo_planning);
        Ok(format!(
            "Physician (epsilon-soft 0.05, planned on the exact kernel), exact over 20 steps from the initial \
             distribution: E[return] {:.4}, P(death) {:.4}, P(none) {:.4}, P(discharge) {:.4}. Planned instead on a \
             10,000-draw Monte Carlo kernel (as the authors): E[return] {:.4}, {} greedy actions changed; \
             the authors' physician gives {AUTHORS_PHYSICIAN}.\n\n\
             Estimates of the RL policy's value over {} seeds (each: the authors' protocol, bootstrap mean and \
             95% range); the authors' column is their single run. The RL policy's exact value averages {:.4} \
             (the 'true RL' row samples it). For comparison, the \
             authors' appendix averages 100 repeats (held-out protocol): observed 0.3097, true RL -0.2743, \
             model-based 0.8128.\n\n{}",
            exact.expected_return,
            exact.p_death,
            exact.p_none,
            exact.p_discharge,
            mc.outcomes.expected_return,
            mc.greedy_actions_changed,
            config.seeds,
            result.true_rl_exact_mean,
            table(
                &[
                    "estimate",
                    "ours: mean over seeds",
                    "ours: mean 95% range",
                    "ours: min – max over seeds",
                    "authors (95% range)"
                ],
                &rows
            )
        ))
    }

    /// Quick: 1.4 s on an idle 2-core AMD EPYC (docs/figure1-table1.md, "Measured time"); full mode
    /// runs 100 seeds instead of 20.
    fn estimated_seconds(&self, mode: Mode) -> f64 {
        match mode {
            Mode::Quick => 1.4,
            Mode::Full => 7.0,
        }
    }

    fn checks(&self, _mode: Mode, result: &SepsisResult) -> Vec<Check> {
        vec![
            Check::new(
                "physician exact return (Monte Carlo planning)",
                AUTHORS_PHYSICIAN,
                result.physician_monte_carlo_planning.outcomes.expected_return,
                0.002,
            ),
            Check::new(
                "physician exact return (exact planning)",
                AUTHORS_PHYSICIAN,
                result.physician.expected_return,
                0.002,
            ),
            Check::new(
                "observed return, mean over seeds",
                AUTHORS[0].2,
                result.estimates.get("observed").map_or(f64::NAN, |s| s.mean),
                0.03,
            ),
        ]
    }
}
