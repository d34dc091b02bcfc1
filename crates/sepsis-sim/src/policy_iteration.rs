//! Policy iteration with the semantics of pymdptoolbox 4.0b3 (`PolicyIteration`, eval_type 1), which
//! the authors planned with. The smallest Q gaps of the physician model are about 1e-4, the size of
//! the evaluation error, so each detail below can change the policy:
//! - initial policy: the greedy policy for V = 0 (argmax of the expected immediate reward);
//! - evaluation: iterative from V = 0 in every round, V <- R_pi + gamma P_pi V, stopping at the first
//!   sweep with max |dV| < (1 - gamma) / gamma * epsilon (epsilon = 1e-4) or after 10,000 sweeps;
//! - improvement: Q = R + gamma P V, argmax with ties to the lowest action;
//! - stop when the improved policy equals the current one (or after 1,000 rounds).

use crate::error::{Result, SepsisError};
use crate::mdp::SparseMdp;

/// Settings of policy iteration (defaults: pymdptoolbox's, with the authors' discount 0.99).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyIterationConfig {
    /// The discount factor gamma, in (0, 1).
    pub discount: f64,
    /// The evaluation tolerance epsilon of the stopping rule.
    pub epsilon: f64,
    /// The most sweeps of one evaluation.
    pub max_sweeps: usize,
    /// The most improvement rounds.
    pub max_rounds: usize,
}

impl Default for PolicyIterationConfig {
    fn default() -> Self {
        Self { discount: 0.99, epsilon: 1e-4, max_sweeps: 10_000, max_rounds: 1_000 }
    }
}

impl PolicyIterationConfig {
    fn validate(&self) -> Result<()> {
        if !(self.discount > 0.0 && self.discount < 1.0) {
            return Err(SepsisError::Parameter {
                what: "discount",
                value: self.discount,
                expected: "(0, 1)",
            });
        }
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(SepsisError::Parameter {
                what: "epsilon",
                value: self.epsilon,
                expected: "> 0",
            });
        }
        if self.max_sweeps == 0 || self.max_rounds == 0 {
            return Err(SepsisError::ZeroCount { what: "policy iteration limits" });
        }
        Ok(())
    }
}

/// The result of policy iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyIterationResult {
    /// The deterministic policy: one action index per state.
    pub policy: Vec<u8>,
    /// The values of the last evaluation (of `policy`).
    pub values: Vec<f64>,
    /// Improvement rounds run.
    pub rounds: usize,
    /// Whether the policy was stable (false: stopped at `max_rounds`).
    pub stable: bool,
}

/// Iterative evaluation of a deterministic policy from V = 0 with pymdptoolbox's stopping rule;
/// returns the values and the number of sweeps.
pub fn evaluate_iterative(
    mdp: &SparseMdp,
    policy: &[u8],
    config: &PolicyIterationConfig,
) -> Result<(Vec<f64>, usize)> {
    config.validate()?;
    mdp.check_policy(policy)?;
    let threshold = (1.0 - config.discount) / config.discount * config.epsilon;
    let mut values = vec![0.0; mdp.n_states()];
    let mut next = vec![0.0; mdp.n_states()];
    for sweep in 1..=config.max_sweeps {
        mdp.backup(policy, &values, config.discount, &mut next);
        let variation = values.iter().zip(&next).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        std::mem::swap(&mut values, &mut next);
        if variation < threshold {
            return Ok((values, sweep));
        }
    }
    Ok((values, config.max_sweeps))
}

/// Policy iteration as in pymdptoolbox (module docs).
pub fn policy_iteration(
    mdp: &SparseMdp,
    config: &PolicyIterationConfig,
) -> Result<PolicyIterationResult> {
    config.validate()?;
    let (mut policy, _) = mdp.greedy(&vec![0.0; mdp.n_states()], config.discount);
    let mut rounds = 0;
    loop {
        rounds += 1;
        let (values, _) = evaluate_iterative(mdp, &policy, config)?;
        let (next, _) = mdp.greedy(&values, config.discount);
        if next == policy {
            return Ok(PolicyIterationResult { policy, values, rounds, stable: true });
        }
        if rounds == config.max_rounds {
            return Ok(PolicyIterationResult { policy, values, rounds, stable: false });
        }
        policy = next;
    }
}

/// The largest Bellman optimality gap max_s [max_a Q(s, a) - Q(s, pi(s))] of `policy` under `values`.
pub fn optimality_gap(
    mdp: &SparseMdp,
    policy: &[u8],
    values: &[f64],
    discount: f64,
) -> Result<f64> {
    mdp.check_policy(policy)?;
    if values.len() != mdp.n_states() {
        return Err(SepsisError::PolicyShape {
            space: "value function",
            expected: mdp.n_states(),
            found: values.len(),
        });
    }
    let (_, best) = mdp.greedy(values, discount);
    let mut own = vec![0.0; mdp.n_states()];
    mdp.backup(policy, values, discount, &mut own);
    Ok(best.iter().zip(&own).map(|(b, o)| b - o).fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;

    /// Two states; in state 0 action 1 moves to the rewarding state 1 (reward 1 on entry), every
    /// other action stays; state 1 returns to 0.
    fn toy() -> SparseMdp {
        SparseMdp::new(
            2,
            |a: Action, s| if s == 0 && a.index() == 1 { vec![(1, 1.0)] } else { vec![(0, 1.0)] },
            |_, _, t| if t == 1 { 1.0 } else { 0.0 },
        )
        .unwrap()
    }

    #[test]
    fn solves_a_hand_solvable_mdp() {
        let config = PolicyIterationConfig { discount: 0.9, ..Default::default() };
        let result = policy_iteration(&toy(), &config).unwrap();
        assert!(result.stable);
        assert_eq!(result.policy, vec![1, 0]);
        // V(0) = 1 + 0.9 V(1), V(1) = 0.9 V(0): V(0) = 1 / (1 - 0.81).
        assert!((result.values[0] - 1.0 / 0.19).abs() < 1e-3);
        assert!(
            policy_iteration(&toy(), &PolicyIterationConfig { discount: 1.0, ..config }).is_err()
        );
    }
}
