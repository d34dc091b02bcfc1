//! The typed errors of the baselines crate.

use gumbel_core::CoreError;
use thiserror::Error;

/// Everything that can be wrong with the input of a baseline coupling, or with an LP solve.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BaselineError {
    /// Invalid distributions, cost matrices, observations or joints (checked by gumbel-core).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An outcome order that is not a permutation of `0..len`.
    #[error("the outcome order {order:?} is not a permutation of 0..{len}")]
    NotAPermutation {
        /// The order given.
        order: Vec<usize>,
        /// The number of outcomes it must permute.
        len: usize,
    },
    /// The LP solver did not return an optimum.
    #[error("the LP solver failed: {0}")]
    Solver(String),
    /// The LP solution breaks a marginal by more than the solver's tolerance.
    #[error("the LP solution misses a marginal by {error:e} (tolerance {tolerance:e})")]
    InaccurateSolution {
        /// The largest marginal error.
        error: f64,
        /// The tolerance that was applied.
        tolerance: f64,
    },
}

/// The result type of the baselines crate.
pub type Result<T> = std::result::Result<T, BaselineError>;
