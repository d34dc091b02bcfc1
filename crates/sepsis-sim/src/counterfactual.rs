//! Gumbel-max SCM counterfactual trajectories in the projected MDP (Oberst & Sontag 2019, Section 4;
//! cf/counterfactual.py `cf_trajectory`), with the exact counterfactual distribution of gumbel-core
//! in place of the authors' 1,000 posterior draws per step.
//!
//! From the observed initial state, at each step the target action a' is taken at the
//! counterfactual state s and q = T(. | s, a'). While the observed episode lasts, the next state is
//! drawn from P(s'_cf | s'_obs) under the Gumbel-max SCM with p = T(. | s_obs, a_obs) and evidence
//! the observed next state; after it ended, from q itself. A copy stops at its first non-zero reward
//! or at the horizon.

use gumbel_core::exact::counterfactual_distribution;
use gumbel_core::Categorical;
use rand::Rng;

use crate::action::Action;
use crate::error::{Result, SepsisError};
use crate::projected::{projected_reward, ProjectedMdp};
use crate::state::N_PROJ_ABS;

/// The exact counterfactual distribution over the 146 states for observational row `p`,
/// interventional row `q` and observed outcome `observed`. Outcomes impossible under both p and q
/// never win either argmax, so the computation runs on the union of the supports; p = q gives the
/// point mass on the observation (counterfactual stability).
pub fn counterfactual_row(p: &[f64], q: &[f64], observed: usize) -> Result<Vec<f64>> {
    let mut out = vec![0.0; p.len()];
    if p == q {
        out[observed] = 1.0;
        return Ok(out);
    }
    let support: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0 || q[i] > 0.0).collect();
    let position = support.iter().position(|&i| i == observed).unwrap_or(support.len());
    let pick = |row: &[f64]| support.iter().map(|&i| row[i]).collect::<Vec<_>>();
    // An observation outside the support (position = len) is rejected by gumbel-core.
    let cf = counterfactual_distribution(
        &Categorical::from_probs(&pick(p))?,
        &Categorical::from_probs(&pick(q))?,
        position,
    )?;
    for (&i, v) in support.iter().zip(cf) {
        out[i] = v;
    }
    Ok(out)
}

/// One draw from a distribution over 0..len by inversion.
pub(crate) fn sample_row<R: Rng + ?Sized>(row: &[f64], rng: &mut R) -> usize {
    let u: f64 = rng.random::<f64>() * row.iter().sum::<f64>();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &p) in row.iter().enumerate().filter(|(_, p)| **p > 0.0) {
        acc += p;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// A trajectory in the projected MDP: its states (one more than its actions) and its return.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedTrajectory {
    /// Visited projected states.
    pub states: Vec<usize>,
    /// Actions taken.
    pub actions: Vec<usize>,
    /// The (undiscounted) return.
    pub reward: f64,
}

/// Checks a deterministic policy over the 146 projected states.
fn check_target(target: &[u8]) -> Result<()> {
    if target.len() != N_PROJ_ABS {
        return Err(SepsisError::PolicyShape {
            space: "projected (with absorbing states)",
            expected: N_PROJ_ABS,
            found: target.len(),
        });
    }
    Ok(())
}

/// One counterfactual copy of an observed projected trajectory (`observed_states` has one more entry
/// than `observed_actions`) under the deterministic target policy `target` (146 actions), over
/// `horizon` steps.
pub fn counterfactual_trajectory<R: Rng + ?Sized>(
    mdp: &ProjectedMdp,
    target: &[u8],
    observed_states: &[usize],
    observed_actions: &[usize],
    horizon: usize,
    rng: &mut R,
) -> Result<ProjectedTrajectory> {
    check_target(target)?;
    if observed_states.len() != observed_actions.len() + 1 {
        return Err(SepsisError::Parameter {
            what: "observed states",
            value: observed_states.len() as f64,
            expected: "one more than the observed actions",
        });
    }
    if let Some(&bad) = observed_states.iter().find(|&&s| s >= N_PROJ_ABS) {
        return Err(SepsisError::StateOutOfRange {
            space: "projected",
            index: bad,
            len: N_PROJ_ABS,
        });
    }
    rollout(mdp, target, observed_states[0], horizon, |t, q| match observed_actions.get(t) {
        Some(&a_obs) => {
            let p = mdp.row(observed_states[t], Action::new(a_obs)?);
            Ok(sample_row(&counterfactual_row(p, q, observed_states[t + 1])?, rng))
        }
        None => Ok(sample_row(q, rng)),
    })
}

/// A trajectory of the projected MDP itself under `target`, from its empirical initial
/// distribution (the model-based estimate's rollouts).
pub fn model_trajectory<R: Rng + ?Sized>(
    mdp: &ProjectedMdp,
    target: &[u8],
    horizon: usize,
    rng: &mut R,
) -> Result<ProjectedTrajectory> {
    check_target(target)?;
    let start = sample_row(mdp.initial(), rng);
    rollout(mdp, target, start, horizon, |_, q| Ok(sample_row(q, rng)))
}

/// Follows `target` from `start` for up to `horizon` steps, the next state at step t drawn by
/// `next(t, T(.|s, target(s)))`, stopping at the first nonzero projected reward (death or discharge).
fn rollout<F>(
    mdp: &ProjectedMdp,
    target: &[u8],
    start: usize,
    horizon: usize,
    mut next: F,
) -> Result<ProjectedTrajectory>
where
    F: FnMut(usize, &[f64]) -> Result<usize>,
{
    let mut s = start;
    let mut out = ProjectedTrajectory { states: vec![s], actions: Vec::new(), reward: 0.0 };
    for t in 0..horizon {
        let a = Action::new(usize::from(target[s]))?;
        let drawn = next(t, mdp.row(s, a))?;
        out.actions.push(a.index());
        out.states.push(drawn);
        let r = projected_reward(s, drawn);
        s = drawn;
        if r != 0.0 {
            out.reward = r;
            break;
        }
    }
    Ok(out)
}
