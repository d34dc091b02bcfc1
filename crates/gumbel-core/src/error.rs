//! The typed errors of gumbel-core.

use thiserror::Error;

/// Everything that can be wrong with the input of a gumbel-core function.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CoreError {
    /// A distribution with no outcomes.
    #[error("the distribution is empty")]
    Empty,
    /// A logit that is NaN or +inf (-inf is allowed: an impossible outcome).
    #[error("logit {index} is {value}; logits must be finite or -inf")]
    InvalidLogit {
        /// Position of the offending entry.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A probability that is negative, NaN or infinite.
    #[error("probability {index} is {value}; probabilities must be finite and non-negative")]
    InvalidProbability {
        /// Position of the offending entry.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// Probabilities that do not sum to one.
    #[error("probabilities sum to {sum}, not 1 (tolerance {tolerance}); give logits to have them normalised")]
    NotNormalised {
        /// Their sum.
        sum: f64,
        /// The tolerance that was applied.
        tolerance: f64,
    },
    /// Every outcome has probability zero.
    #[error("every outcome is impossible (all probabilities zero or all logits -inf)")]
    AllImpossible,
    /// Two inputs that must have the same length do not.
    #[error("{what}: expected length {expected}, found {found}")]
    LengthMismatch {
        /// What was compared.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// An observed outcome that is out of range.
    #[error("observed outcome {observed} is out of range for {len} outcomes")]
    ObservationOutOfRange {
        /// The observation.
        observed: usize,
        /// The number of outcomes.
        len: usize,
    },
    /// An observed outcome that has probability zero: no noise explains it.
    #[error("observed outcome {observed} has probability zero under the observed distribution")]
    ImpossibleObservation {
        /// The observation.
        observed: usize,
    },
    /// A matrix that is not square.
    #[error("{what} must be square, found {rows} x {cols}")]
    NotSquare {
        /// What was checked.
        what: &'static str,
        /// Its rows.
        rows: usize,
        /// Its columns.
        cols: usize,
    },
    /// A matrix or vector entry that is NaN or infinite (or negative where that is forbidden).
    #[error("{what} has an invalid entry {value} at {position:?}")]
    InvalidEntry {
        /// What was checked.
        what: &'static str,
        /// The row and column (or index, 0) of the entry.
        position: (usize, usize),
        /// Its value.
        value: f64,
    },
    /// A joint whose total mass is not one.
    #[error("the joint sums to {sum}, not 1 (tolerance {tolerance})")]
    JointNotNormalised {
        /// Its total mass.
        sum: f64,
        /// The tolerance that was applied.
        tolerance: f64,
    },
    /// A coupling whose marginal differs from the one required.
    #[error("the {side} marginal differs at outcome {index}: {found} instead of {expected} (tolerance {tolerance})")]
    MarginalMismatch {
        /// "row" (x) or "column" (y).
        side: &'static str,
        /// The outcome.
        index: usize,
        /// The required probability.
        expected: f64,
        /// The coupling's probability.
        found: f64,
        /// The tolerance that was applied.
        tolerance: f64,
    },
    /// An observation so improbable that its joint row underflows in double precision.
    #[error("observed outcome {observed} is too improbable for double precision (its joint row underflows)")]
    Underflow {
        /// The observation.
        observed: usize,
    },
    /// A count beyond what JAX's 32-bit random counters can address (jax_random).
    #[error("{what} is {requested}; JAX's 32-bit counters address at most {max}")]
    CountTooLarge {
        /// What was counted.
        what: &'static str,
        /// The count asked for.
        requested: usize,
        /// The largest count allowed.
        max: usize,
    },
    /// A coupling method's own machinery failed (an LP solver, libtorch), in its words.
    #[error("{method}: {message}")]
    MethodFailed {
        /// The method's name.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// A request for zero samples, or another count that must be positive.
    #[error("{what} must be positive")]
    ZeroCount {
        /// What was zero.
        what: &'static str,
    },
}

/// The result type of gumbel-core.
pub type Result<T> = std::result::Result<T, CoreError>;
