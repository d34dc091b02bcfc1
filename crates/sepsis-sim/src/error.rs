//! The typed errors of sepsis-sim.

use thiserror::Error;

/// Everything that can be wrong with the input of a sepsis-sim function.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SepsisError {
    /// A state index outside its index space.
    #[error("{space} state index {index} is out of range (there are {len})")]
    StateOutOfRange {
        /// The index space ("obs", "full" or "projected").
        space: &'static str,
        /// The offending index.
        index: usize,
        /// The number of states in that space.
        len: usize,
    },
    /// An action index outside 0..8.
    #[error("action {0} is out of range (there are 8 actions)")]
    ActionOutOfRange(usize),
    /// A policy table of the wrong size for its index space.
    #[error("a policy over {space} states needs {expected} rows, found {found}")]
    PolicyShape {
        /// The index space.
        space: &'static str,
        /// Rows required.
        expected: usize,
        /// Rows given.
        found: usize,
    },
    /// A policy row that is not a probability distribution.
    #[error("policy row {row} is not a distribution over the 8 actions (sum {sum})")]
    PolicyRow {
        /// The row.
        row: usize,
        /// Its sum (NaN when an entry is invalid).
        sum: f64,
    },
    /// A parameter outside its valid range.
    #[error("{what} = {value} is out of range ({expected})")]
    Parameter {
        /// The parameter's name.
        what: &'static str,
        /// Its value.
        value: f64,
        /// The valid range in words.
        expected: &'static str,
    },
    /// Fewer distinct (p, q) pairs passed the Section 7.3 filters than were asked for.
    #[error(
        "{requested} pairs were requested but only {found} distinct (p, q) pairs pass the filters \
         (support of at least {min_support} next states, p != q); simulate more trajectories or ask for fewer pairs"
    )]
    TooFewCandidates {
        /// Pairs asked for.
        requested: usize,
        /// Distinct candidates found.
        found: usize,
        /// The support filter in force.
        min_support: usize,
    },
    /// A count that must be positive.
    #[error("{what} must be positive")]
    ZeroCount {
        /// What was zero.
        what: &'static str,
    },
    /// Weighted importance sampling with no trajectory of non-zero weight.
    #[error("weighted importance sampling: no observed trajectory has non-zero weight under the target policy")]
    NoImportanceWeight,
    /// An error from gumbel-core (counterfactual distributions).
    #[error(transparent)]
    Core(#[from] gumbel_core::CoreError),
}

/// The result type of sepsis-sim.
pub type Result<T> = std::result::Result<T, SepsisError>;
