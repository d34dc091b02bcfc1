//! The physician (behaviour) policy: policy iteration on the full-information planning model, then
//! epsilon-soft (reference note section 6; plots-main-paper.ipynb).
//!
//! The planning model has the 1440 full states and is block diagonal in diabetes; the reward is +1 on
//! every entry into a discharge state and -1 on every entry into a death state, and no state is
//! absorbing (the rows of death and discharge states follow the simulator's rules like any other).

use serde::Serialize;

use crate::action::Action;
use crate::error::Result;
use crate::kernel::{Kernel, SparseKernel};
use crate::mdp::SparseMdp;
use crate::policy::{Policy, PolicySpace};
use crate::policy_iteration::{policy_iteration, PolicyIterationConfig};
use crate::state::{outcome_table, N_FULL, N_OBS};

/// The physician's exploration: 0.95 on the planned action, 0.05 / 7 on each other.
pub const PHYSICIAN_EPSILON: f64 = 0.05;

/// Which kernel the physician plans on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanningKernel {
    /// The exact kernel (default).
    Exact,
    /// A Monte Carlo estimate as the authors had (they used 10,000 draws per entry).
    MonteCarlo {
        /// Simulator steps per (diabetes, action, state).
        draws: u64,
        /// Its seed.
        seed: u64,
    },
}

impl PlanningKernel {
    /// The sparse kernel this choice denotes.
    pub fn build(self) -> Result<SparseKernel> {
        match self {
            PlanningKernel::Exact => Ok(SparseKernel::exact()),
            PlanningKernel::MonteCarlo { draws, seed } => {
                Ok(Kernel::monte_carlo(draws, seed)?.to_sparse())
            }
        }
    }
}

/// The 1440-state planning model of a kernel.
pub fn planning_model(kernel: &SparseKernel) -> Result<SparseMdp> {
    let outcomes = outcome_table();
    SparseMdp::new(
        N_FULL,
        |a: Action, s| {
            let diabetic = s >= N_OBS;
            let base = if diabetic { N_OBS } else { 0 };
            let (targets, probs) = kernel.row(diabetic, a, s - base);
            targets
                .iter()
                .zip(probs)
                .map(move |(&t, &p)| (base + usize::from(t), p))
                .collect::<Vec<_>>()
        },
        |_, _, t| outcomes[t % N_OBS].reward(),
    )
}

/// The planned physician.
#[derive(Debug, Clone)]
pub struct Physician {
    /// The greedy (planned) action of each full state.
    pub greedy: Vec<u8>,
    /// The discounted values of the greedy policy in the planning model.
    pub values: Vec<f64>,
    /// The epsilon-soft behaviour policy over full states.
    pub policy: Policy,
    /// Rounds of policy iteration.
    pub rounds: usize,
}

/// Plans the physician on `kernel` (discount 0.99, pymdptoolbox semantics) and softens it.
pub fn plan_physician(kernel: &SparseKernel) -> Result<Physician> {
    let mdp = planning_model(kernel)?;
    let result = policy_iteration(&mdp, &PolicyIterationConfig::default())?;
    let policy = Policy::soft(PolicySpace::Full, &result.policy, PHYSICIAN_EPSILON)?;
    Ok(Physician { greedy: result.policy, values: result.values, policy, rounds: result.rounds })
}
