//! Stochastic policies over one of the three state encodings, as the authors' simulator takes them
//! (`policy_idx_type` 'full', 'obs' or 'proj_obs'): a table of action probabilities per state.

use rand::Rng;
use serde::Serialize;

use crate::action::{Action, N_ACTIONS};
use crate::error::{Result, SepsisError};
use crate::state::{full_index, State, N_FULL, N_OBS, N_PROJ};

/// Tolerance on the sum of a policy row.
pub const POLICY_SUM_TOLERANCE: f64 = 1e-9;

/// The state encoding a policy is indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySpace {
    /// 1440 full states (diabetes visible): the physician.
    Full,
    /// 720 obs states.
    Obs,
    /// 144 projected states (glucose dropped): the RL policy.
    Projected,
}

impl PolicySpace {
    /// The number of rows a policy in this space has.
    pub fn states(self) -> usize {
        match self {
            PolicySpace::Full => N_FULL,
            PolicySpace::Obs => N_OBS,
            PolicySpace::Projected => N_PROJ,
        }
    }

    fn name(self) -> &'static str {
        match self {
            PolicySpace::Full => "full",
            PolicySpace::Obs => "obs",
            PolicySpace::Projected => "projected",
        }
    }

    /// The row of a patient's state.
    pub fn index(self, diabetic: bool, state: &State) -> usize {
        match self {
            PolicySpace::Full => full_index(diabetic, state.obs_index()),
            PolicySpace::Obs => state.obs_index(),
            PolicySpace::Projected => state.proj_index(),
        }
    }
}

/// A validated stochastic policy: every row a distribution over the eight actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    space: PolicySpace,
    probs: Vec<[f64; N_ACTIONS]>,
    cumulative: Vec<[f64; N_ACTIONS]>,
}

impl Policy {
    /// A policy from its rows (one per state of `space`).
    pub fn new(space: PolicySpace, probs: Vec<[f64; N_ACTIONS]>) -> Result<Self> {
        if probs.len() != space.states() {
            return Err(SepsisError::PolicyShape {
                space: space.name(),
                expected: space.states(),
                found: probs.len(),
            });
        }
        let mut cumulative = Vec::with_capacity(probs.len());
        for (row, p) in probs.iter().enumerate() {
            let valid = p.iter().all(|v| v.is_finite() && *v >= 0.0);
            let sum: f64 = p.iter().sum();
            if !valid || (sum - 1.0).abs() > POLICY_SUM_TOLERANCE {
                return Err(SepsisError::PolicyRow {
                    row,
                    sum: if valid { sum } else { f64::NAN },
                });
            }
            let mut c = [0.0; N_ACTIONS];
            let mut acc = 0.0;
            for (ci, v) in c.iter_mut().zip(p) {
                acc += v / sum;
                *ci = acc;
            }
            cumulative.push(c);
        }
        Ok(Self { space, probs, cumulative })
    }

    /// The deterministic policy taking `actions[s]` in state s.
    pub fn deterministic(space: PolicySpace, actions: &[u8]) -> Result<Self> {
        Self::soft(space, actions, 0.0)
    }

    /// The epsilon-soft version of a deterministic policy: 1 - epsilon on `actions[s]`, epsilon / 7
    /// on each other action (the physician: epsilon = 0.05; the soft RL policy for WIS: 0.01).
    pub fn soft(space: PolicySpace, actions: &[u8], epsilon: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(SepsisError::Parameter {
                what: "epsilon",
                value: epsilon,
                expected: "[0, 1]",
            });
        }
        let rows = actions
            .iter()
            .map(|&a| {
                let a = Action::new(usize::from(a))?;
                let mut row = [epsilon / (N_ACTIONS - 1) as f64; N_ACTIONS];
                row[a.index()] = 1.0 - epsilon;
                Ok(row)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(space, rows)
    }

    /// The state encoding.
    pub fn space(&self) -> PolicySpace {
        self.space
    }

    /// The rows.
    pub fn rows(&self) -> &[[f64; N_ACTIONS]] {
        &self.probs
    }

    /// The action probabilities for a patient's state.
    pub fn probs(&self, diabetic: bool, state: &State) -> &[f64; N_ACTIONS] {
        &self.probs[self.space.index(diabetic, state)]
    }

    /// One action drawn for a patient's state (inversion with one uniform).
    pub fn sample<R: Rng + ?Sized>(&self, diabetic: bool, state: &State, rng: &mut R) -> Action {
        let c = &self.cumulative[self.space.index(diabetic, state)];
        let u: f64 = rng.random();
        // Skip zero-probability actions even when rounding leaves u at the last cumulative value.
        let mut a = c.iter().position(|&v| u < v).unwrap_or(N_ACTIONS - 1);
        while a > 0 && c[a] == c[a - 1] {
            a -= 1;
        }
        Action::from_index_unchecked(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_policies_are_validated() {
        let p = Policy::soft(PolicySpace::Projected, &[3; N_PROJ], 0.05).unwrap();
        assert!((p.rows()[0][3] - 0.95).abs() < 1e-15);
        assert!((p.rows()[0][0] - 0.05 / 7.0).abs() < 1e-15);
        assert!(matches!(
            Policy::deterministic(PolicySpace::Obs, &[0; 3]),
            Err(SepsisError::PolicyShape { .. })
        ));
        assert!(matches!(
            Policy::deterministic(PolicySpace::Projected, &[9; N_PROJ]),
            Err(SepsisError::ActionOutOfRange(9))
        ));
        let mut rows = vec![[0.125; N_ACTIONS]; N_PROJ];
        rows[5][0] = f64::NAN;
        assert!(matches!(
            Policy::new(PolicySpace::Projected, rows),
            Err(SepsisError::PolicyRow { row: 5, .. })
        ));
    }
}
