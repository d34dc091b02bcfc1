//! The projected MDP the RL policy is learned on, estimated from observed trajectories as in
//! plots-main-paper.ipynb (reference note section 6):
//! 1. count (a, s, s') over obs states, pooled over diabetes;
//! 2. obs states observed as death (negative summed incoming reward) or discharge get one count to
//!    the absorbing state 720 / 721 for every action, and those self-loop with one count;
//! 3. project with the one-hot map obs -> projected (glucose dropped; 720 -> 144, 721 -> 145);
//! 4. normalise the rows; an (s, a) never seen goes to death with probability 1.
//!
//! Rewards: -1 on entering 144, +1 on entering 145, 0 on their self-loops and everywhere else. The
//! initial distribution is the empirical one. The RL policy is policy iteration (discount 0.99) on it.

use crate::action::{Action, N_ACTIONS};
use crate::error::{Result, SepsisError};
use crate::mdp::SparseMdp;
use crate::policy_iteration::{policy_iteration, PolicyIterationConfig};
use crate::state::{outcome_table, Outcome, State, N_OBS, N_PROJ_ABS, PROJ_DEATH, PROJ_DISCHARGE};
use crate::trajectories::Trajectories;

/// The estimated 146-state MDP.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedMdp {
    /// Projected counts [a][s][s'] (including the absorbing counts).
    counts: Vec<f64>,
    /// Transition probabilities [a][s][s'].
    transition: Vec<f64>,
    /// The empirical initial distribution.
    initial: Vec<f64>,
}

/// The projected index of an obs index or of the absorbing obs states 720 (death) and 721.
fn project(obs: usize) -> usize {
    match obs {
        N_OBS => PROJ_DEATH,
        o if o == N_OBS + 1 => PROJ_DISCHARGE,
        o => State::from_obs_unchecked(o).proj_index(),
    }
}

fn cell(a: usize, s: usize, t: usize) -> usize {
    (a * N_PROJ_ABS + s) * N_PROJ_ABS + t
}

/// The reward of a projected transition s -> t.
pub fn projected_reward(s: usize, t: usize) -> f64 {
    match t {
        PROJ_DEATH if s != PROJ_DEATH => -1.0,
        PROJ_DISCHARGE if s != PROJ_DISCHARGE => 1.0,
        _ => 0.0,
    }
}

impl ProjectedMdp {
    /// Estimates the projected MDP from a batch of observed trajectories.
    pub fn estimate(observed: &Trajectories) -> Result<Self> {
        if observed.is_empty() {
            return Err(SepsisError::ZeroCount { what: "observed trajectories" });
        }
        let outcomes = outcome_table();
        let mut counts = vec![0.0; N_ACTIONS * N_PROJ_ABS * N_PROJ_ABS];
        let mut seen_terminal = vec![false; N_OBS];
        let mut initial = vec![0.0; N_PROJ_ABS];
        for i in 0..observed.len() {
            let states = observed.states(i);
            initial[project(usize::from(states[0]))] += 1.0;
            for (t, &a) in observed.actions(i).iter().enumerate() {
                let (from, to) = (usize::from(states[t]), usize::from(states[t + 1]));
                counts[cell(usize::from(a), project(from), project(to))] += 1.0;
                if outcomes[to] != Outcome::Continue {
                    seen_terminal[to] = true;
                }
            }
        }
        // Observed terminal obs states lead to their absorbing state under every action; the
        // absorbing states loop on themselves.
        for (o, _) in seen_terminal.iter().enumerate().filter(|(_, seen)| **seen) {
            let target = if outcomes[o] == Outcome::Death { PROJ_DEATH } else { PROJ_DISCHARGE };
            for a in 0..N_ACTIONS {
                counts[cell(a, project(o), target)] += 1.0;
            }
        }
        for a in 0..N_ACTIONS {
            counts[cell(a, PROJ_DEATH, PROJ_DEATH)] += 1.0;
            counts[cell(a, PROJ_DISCHARGE, PROJ_DISCHARGE)] += 1.0;
        }
        let mut transition = counts.clone();
        for row in transition.chunks_mut(N_PROJ_ABS) {
            let total: f64 = row.iter().sum();
            if total > 0.0 {
                row.iter_mut().for_each(|v| *v /= total);
            } else {
                row[PROJ_DEATH] = 1.0;
            }
        }
        let n = observed.len() as f64;
        initial.iter_mut().for_each(|v| *v /= n);
        Ok(Self { counts, transition, initial })
    }

    /// The row T(. | s, a) over the 146 states (`state` < 146, like a slice index).
    pub fn row(&self, state: usize, action: Action) -> &[f64] {
        let start = cell(action.index(), state, 0);
        &self.transition[start..start + N_PROJ_ABS]
    }

    /// The number of (projected, absorbing-augmented) transitions counted for (s, a).
    pub fn count(&self, state: usize, action: Action) -> f64 {
        let start = cell(action.index(), state, 0);
        self.counts[start..start + N_PROJ_ABS].iter().sum()
    }

    /// The empirical initial distribution over the 146 states.
    pub fn initial(&self) -> &[f64] {
        &self.initial
    }

    /// The empirical behaviour policy: P(a | s) from the counts (uniform-free: rows of states never
    /// left are all zero), as the authors' `obs_pol_proj` for weighted importance sampling.
    pub fn behaviour(&self) -> Vec<[f64; N_ACTIONS]> {
        (0..N_PROJ_ABS)
            .map(|s| {
                let mut row = [0.0; N_ACTIONS];
                for a in Action::all() {
                    row[a.index()] = self.count(s, a);
                }
                let total: f64 = row.iter().sum();
                if total > 0.0 {
                    row.iter_mut().for_each(|v| *v /= total);
                }
                row
            })
            .collect()
    }

    /// The MDP for planning.
    pub fn to_mdp(&self) -> Result<SparseMdp> {
        SparseMdp::new(
            N_PROJ_ABS,
            |a: Action, s| {
                self.row(s, a)
                    .iter()
                    .copied()
                    .enumerate()
                    .filter(|(_, p)| *p > 0.0)
                    .collect::<Vec<_>>()
            },
            |s, _, t| projected_reward(s, t),
        )
    }

    /// The RL policy: policy iteration with discount 0.99 (pymdptoolbox semantics); one action per
    /// projected state, 146 of them.
    pub fn rl_policy(&self) -> Result<Vec<u8>> {
        Ok(policy_iteration(&self.to_mdp()?, &PolicyIterationConfig::default())?.policy)
    }
}
