//! Off-policy evaluation of the RL policy from physician data, as in plots-main-paper.ipynb
//! (Oberst & Sontag 2019, Section 5.1): observed return, true return of the RL policy (simulated,
//! and exact by dynamic programming), weighted importance sampling (hard and soft target), the
//! model-based estimate and the Gumbel-max SCM counterfactual estimate, each with a bootstrap range.
//!
//! Every random part draws from its own stream of the configuration's seed; trajectory-parallel parts
//! use one stream per block or trajectory, so the report depends on the seed only.

use gumbel_core::rng::stream;
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::action::N_ACTIONS;
use crate::bootstrap::{bootstrap_mean, resample, summarize, Estimate};
use crate::counterfactual::{counterfactual_trajectory, model_trajectory};
use crate::error::{Result, SepsisError};
use crate::evaluation::{evaluate_exact, ExactOutcomes};
use crate::initial::P_DIABETES;
use crate::kernel::SparseKernel;
use crate::policy::{Policy, PolicySpace};
use crate::projected::ProjectedMdp;
use crate::state::N_PROJ;
use crate::trajectories::{simulate, SimulationConfig, Trajectories};

/// The study's settings (defaults: the paper's main experiment).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpeConfig {
    /// Observed (physician) trajectories, also the number of RL and model rollouts (1,000).
    pub trajectories: usize,
    /// The horizon (20).
    pub horizon: usize,
    /// Counterfactual copies per observed trajectory (5).
    pub cf_samples: usize,
    /// Bootstrap resamples (100).
    pub bootstrap: usize,
    /// The soft RL policy's exploration for soft WIS (0.01).
    pub rl_soft_epsilon: f64,
    /// The prior P(diabetic) (0.2).
    pub p_diabetes: f64,
    /// The seed.
    pub seed: u64,
}

impl OpeConfig {
    /// The paper's settings with a seed.
    pub fn paper(seed: u64) -> Self {
        Self {
            trajectories: 1000,
            horizon: 20,
            cf_samples: 5,
            bootstrap: 100,
            rl_soft_epsilon: 0.01,
            p_diabetes: P_DIABETES,
            seed,
        }
    }
}

/// The six estimates of the paper's table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpeEstimates {
    /// The physician's observed return.
    pub observed: Estimate,
    /// The RL policy's return in the simulator (fresh trajectories).
    pub true_rl: Estimate,
    /// WIS with the deterministic RL policy as target.
    pub wis: Estimate,
    /// WIS with the soft RL policy (0.99 / 0.01 / 7).
    pub wis_soft: Estimate,
    /// Rollouts of the RL policy in the estimated projected MDP.
    pub model_based: Estimate,
    /// Gumbel-max SCM counterfactual rollouts.
    pub counterfactual: Estimate,
}

/// The full report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpeReport {
    /// The estimates.
    pub estimates: OpeEstimates,
    /// The RL policy's exact outcome distribution in the simulator.
    pub true_rl_exact: ExactOutcomes,
    /// Observed trajectories whose hard WIS weight is non-zero (they follow the RL policy).
    pub wis_matching: usize,
    /// Bootstrap resamples left out of hard WIS because no trajectory in them had weight.
    pub wis_empty_resamples: usize,
    /// The RL policy over the 146 projected states.
    pub rl_policy: Vec<u8>,
}

/// The sub-seed of part `part` of a study.
pub(crate) fn sub_seed(seed: u64, part: u64) -> u64 {
    stream(seed, part).random()
}

/// The importance weight of each observed trajectory: prod_t pi_target(a_t | s_t) / pi_obs(a_t | s_t)
/// in projected states, with the empirical behaviour policy.
fn importance_weights(
    observed: &Trajectories,
    behaviour: &[[f64; N_ACTIONS]],
    target: &[[f64; N_ACTIONS]],
) -> Vec<f64> {
    (0..observed.len())
        .map(|i| {
            let (states, actions) = observed.projected(i);
            actions.iter().zip(&states).map(|(&a, &s)| target[s][a] / behaviour[s][a]).product()
        })
        .collect()
}

/// Bootstrap WIS: per resample sum(w r) / sum(w); resamples with no weight are left out and counted.
fn wis<R: Rng + ?Sized>(
    weights: &[f64],
    returns: &[f64],
    resamples: usize,
    rng: &mut R,
) -> Result<(Estimate, usize)> {
    if weights.iter().all(|&w| w == 0.0) {
        return Err(SepsisError::NoImportanceWeight);
    }
    let stats = resample(weights.len(), resamples, rng, |idx| {
        let total: f64 = idx.iter().map(|&i| weights[i]).sum();
        (total > 0.0).then(|| idx.iter().map(|&i| weights[i] * returns[i]).sum::<f64>() / total)
    })?;
    let empty = resamples - stats.len();
    Ok((summarize(&stats)?, empty))
}

/// One-hot rows (or epsilon-soft) of a deterministic policy over the 146 projected states.
fn policy_rows(actions: &[u8], epsilon: f64) -> Vec<[f64; N_ACTIONS]> {
    actions
        .iter()
        .map(|&a| {
            let mut row = [epsilon / (N_ACTIONS - 1) as f64; N_ACTIONS];
            row[usize::from(a)] = 1.0 - epsilon;
            row
        })
        .collect()
}

/// Runs the study: physician data under `physician`, the RL policy learned from it, and the
/// estimates of the RL policy's value; `kernel` is the simulator's (exact) kernel for the exact
/// true value.
pub fn off_policy_evaluation(
    physician: &Policy,
    kernel: &SparseKernel,
    config: &OpeConfig,
) -> Result<OpeReport> {
    if config.trajectories == 0 || config.cf_samples == 0 || config.bootstrap == 0 {
        return Err(SepsisError::ZeroCount {
            what: "trajectories, counterfactual samples and bootstrap resamples",
        });
    }
    if !(0.0..=1.0).contains(&config.rl_soft_epsilon) {
        return Err(SepsisError::Parameter {
            what: "rl_soft_epsilon",
            value: config.rl_soft_epsilon,
            expected: "[0, 1]",
        });
    }
    let sim = |seed| SimulationConfig {
        trajectories: config.trajectories,
        horizon: config.horizon,
        p_diabetes: config.p_diabetes,
        seed,
    };
    let observed = simulate(physician, &sim(sub_seed(config.seed, 0)))?;
    let mdp = ProjectedMdp::estimate(&observed)?;
    let rl = mdp.rl_policy()?;
    let rl_sim = Policy::deterministic(PolicySpace::Projected, &rl[..N_PROJ])?;
    let mut boot = gumbel_core::rng::from_seed(sub_seed(config.seed, 1));

    let returns = observed.returns();
    let observed_estimate = bootstrap_mean(&returns, config.bootstrap, &mut boot)?;

    let rl_returns = simulate(&rl_sim, &sim(sub_seed(config.seed, 2)))?.returns();
    let true_rl = bootstrap_mean(&rl_returns, config.bootstrap, &mut boot)?;
    let true_rl_exact = evaluate_exact(kernel, &rl_sim, config.horizon, config.p_diabetes)?;

    let behaviour = mdp.behaviour();
    let hard = importance_weights(&observed, &behaviour, &policy_rows(&rl, 0.0));
    let (wis_hard, wis_empty_resamples) = wis(&hard, &returns, config.bootstrap, &mut boot)?;
    let soft = importance_weights(&observed, &behaviour, &policy_rows(&rl, config.rl_soft_epsilon));
    let (wis_soft, _) = wis(&soft, &returns, config.bootstrap, &mut boot)?;

    let mb_seed = sub_seed(config.seed, 3);
    let mb_returns = (0..config.trajectories)
        .into_par_iter()
        .map(|i| {
            Ok(model_trajectory(&mdp, &rl, config.horizon, &mut stream(mb_seed, i as u64))?.reward)
        })
        .collect::<Result<Vec<f64>>>()?;
    let model_based = bootstrap_mean(&mb_returns, config.bootstrap, &mut boot)?;

    let cf_seed = sub_seed(config.seed, 4);
    let cf_returns = (0..observed.len())
        .into_par_iter()
        .map(|i| {
            let mut rng = stream(cf_seed, i as u64);
            let (states, actions) = observed.projected(i);
            (0..config.cf_samples)
                .map(|_| {
                    Ok(counterfactual_trajectory(
                        &mdp,
                        &rl,
                        &states,
                        &actions,
                        config.horizon,
                        &mut rng,
                    )?
                    .reward)
                })
                .collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<Vec<Vec<f64>>>>()?
        .concat();
    let counterfactual = bootstrap_mean(&cf_returns, config.bootstrap, &mut boot)?;

    Ok(OpeReport {
        estimates: OpeEstimates {
            observed: observed_estimate,
            true_rl,
            wis: wis_hard,
            wis_soft,
            model_based,
            counterfactual,
        },
        true_rl_exact,
        wis_matching: hard.iter().filter(|&&w| w > 0.0).count(),
        wis_empty_resamples,
        rl_policy: rl,
    })
}

/// The physician's exact outcome distribution in the simulator, beside the kernel it was planned on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlannedOutcomes {
    /// P(death) and P(discharge) within the horizon.
    #[serde(flatten)]
    pub outcomes: ExactOutcomes,
    /// The kernel the physician's policy was planned on.
    pub planning: crate::physician::PlanningKernel,
}

/// The off-policy study of one configuration, as `gumbel-gadgets sepsis evaluate` and the Python
/// package report it: the physician planned on `planning`, its exact outcomes, and the estimates of
/// the RL policy's outcomes from its trajectories ([`off_policy_evaluation`]).
#[derive(Debug, Clone, Serialize)]
pub struct OffPolicyStudy {
    /// The physician's exact outcomes and planning kernel.
    pub physician: PlannedOutcomes,
    /// The estimates.
    pub estimates: OpeEstimates,
    /// The RL policy's exact outcome distribution in the simulator.
    pub true_rl_exact: ExactOutcomes,
    /// Observed trajectories whose hard WIS weight is non-zero.
    pub wis_matching: usize,
    /// The settings.
    pub config: OpeConfig,
}

/// Plans the physician on `planning`, evaluates it exactly in the true simulator, and runs
/// [`off_policy_evaluation`] with `config`.
pub fn off_policy_study(
    planning: crate::physician::PlanningKernel,
    config: &OpeConfig,
) -> Result<OffPolicyStudy> {
    let truth = SparseKernel::exact();
    let physician = crate::physician::plan_physician(&planning.build()?)?;
    let outcomes = evaluate_exact(&truth, &physician.policy, config.horizon, config.p_diabetes)?;
    let report = off_policy_evaluation(&physician.policy, &truth, config)?;
    Ok(OffPolicyStudy {
        physician: PlannedOutcomes { outcomes, planning },
        estimates: report.estimates,
        true_rl_exact: report.true_rl_exact,
        wis_matching: report.wis_matching,
        config: *config,
    })
}
