//! A finite MDP with sparse transition rows, in the form pymdptoolbox plans on: P[a][s][s'] and the
//! expected immediate reward R[a][s] = sum_s' P[a][s][s'] r(s, a, s') (mdp.py `_computeMatrixReward`).

use crate::action::{Action, N_ACTIONS};
use crate::error::{Result, SepsisError};

/// Tolerance on the sum of a transition row.
pub const ROW_SUM_TOLERANCE: f64 = 1e-9;

/// A finite MDP over `n_states` states and the eight actions.
#[derive(Debug, Clone)]
pub struct SparseMdp {
    n_states: usize,
    /// Row a * n_states + s spans offsets[row]..offsets[row + 1].
    offsets: Vec<usize>,
    targets: Vec<u32>,
    probs: Vec<f64>,
    /// R[a * n_states + s].
    rewards: Vec<f64>,
}

impl SparseMdp {
    /// Builds the MDP from its rows `row(a, s)` (pairs (s', p), each s' at most once) and the reward
    /// `reward(s, a, s')` of a transition. Errors on a successor out of range or a row that is not a
    /// distribution.
    pub fn new<I>(
        n_states: usize,
        mut row: impl FnMut(Action, usize) -> I,
        reward: impl Fn(usize, Action, usize) -> f64,
    ) -> Result<Self>
    where
        I: IntoIterator<Item = (usize, f64)>,
    {
        if n_states == 0 {
            return Err(SepsisError::ZeroCount { what: "number of states" });
        }
        let mut mdp = Self {
            n_states,
            offsets: vec![0],
            targets: Vec::new(),
            probs: Vec::new(),
            rewards: Vec::new(),
        };
        for a in Action::all() {
            for s in 0..n_states {
                let (mut sum, mut expected_reward) = (0.0, 0.0);
                for (t, p) in row(a, s) {
                    if t >= n_states {
                        return Err(SepsisError::StateOutOfRange {
                            space: "MDP",
                            index: t,
                            len: n_states,
                        });
                    }
                    if !(p.is_finite() && p >= 0.0) {
                        return Err(SepsisError::Parameter {
                            what: "transition probability",
                            value: p,
                            expected: "[0, 1]",
                        });
                    }
                    if p > 0.0 {
                        mdp.targets.push(t as u32);
                        mdp.probs.push(p);
                        sum += p;
                        expected_reward += p * reward(s, a, t);
                    }
                }
                if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
                    return Err(SepsisError::Parameter {
                        what: "transition row sum",
                        value: sum,
                        expected: "1",
                    });
                }
                mdp.offsets.push(mdp.probs.len());
                mdp.rewards.push(expected_reward);
            }
        }
        Ok(mdp)
    }

    /// The number of states.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// The successors and probabilities of (s, a).
    pub fn row(&self, state: usize, action: Action) -> (&[u32], &[f64]) {
        let r = action.index() * self.n_states + state;
        let (a, b) = (self.offsets[r], self.offsets[r + 1]);
        (&self.targets[a..b], &self.probs[a..b])
    }

    /// The expected immediate reward R(s, a).
    pub fn reward(&self, state: usize, action: Action) -> f64 {
        self.rewards[action.index() * self.n_states + state]
    }

    /// Q(s, a) = R(s, a) + discount * sum_s' P(s' | s, a) V(s').
    pub fn q_value(&self, state: usize, action: Action, values: &[f64], discount: f64) -> f64 {
        let (targets, probs) = self.row(state, action);
        let future: f64 = targets.iter().zip(probs).map(|(&t, p)| p * values[t as usize]).sum();
        self.reward(state, action) + discount * future
    }

    /// The greedy policy and its values under `values`: argmax_a Q(s, a), ties to the lowest action
    /// (numpy's argmax, as in pymdptoolbox's `_bellmanOperator`).
    pub fn greedy(&self, values: &[f64], discount: f64) -> (Vec<u8>, Vec<f64>) {
        (0..self.n_states)
            .map(|s| {
                let mut best = (0u8, f64::NEG_INFINITY);
                for a in Action::all() {
                    let q = self.q_value(s, a, values, discount);
                    if q > best.1 {
                        best = (a.index() as u8, q);
                    }
                }
                best
            })
            .unzip()
    }

    /// One sweep of the evaluation of a deterministic policy: R_pi + discount P_pi V.
    pub fn backup(&self, policy: &[u8], values: &[f64], discount: f64, out: &mut [f64]) {
        for (s, o) in out.iter_mut().enumerate() {
            *o = self.q_value(
                s,
                Action::from_index_unchecked(usize::from(policy[s])),
                values,
                discount,
            );
        }
    }

    /// Checks that a deterministic policy has one valid action per state.
    pub fn check_policy(&self, policy: &[u8]) -> Result<()> {
        if policy.len() != self.n_states {
            return Err(SepsisError::PolicyShape {
                space: "MDP",
                expected: self.n_states,
                found: policy.len(),
            });
        }
        match policy.iter().find(|&&a| usize::from(a) >= N_ACTIONS) {
            Some(&a) => Err(SepsisError::ActionOutOfRange(usize::from(a))),
            None => Ok(()),
        }
    }
}
