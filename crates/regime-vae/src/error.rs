//! The crate's error type: every fallible entry point returns [`Result`].

use thiserror::Error;

/// Errors raised by the regime-VAE crate.
#[derive(Debug, Error)]
pub enum RegimeVaeError {
    /// A configuration value is out of its valid range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Two arrays that must agree in shape do not.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A value that must be finite is not.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// A graph without nodes.
    #[error("a graph needs at least one node")]
    NoNodes,
    /// A graph with a directed cycle.
    #[error("the graph has a cycle")]
    Cyclic,
    /// More regimes asked for than the single-target assumption allows (`N + 1` for `N` nodes).
    #[error(
        "{requested} regimes asked for; the single-target assumption allows at most {allowed}"
    )]
    TooManyRegimes {
        /// Regimes asked for.
        requested: usize,
        /// `N + 1`.
        allowed: usize,
    },
    /// A linear system is singular.
    #[error("singular linear system: {0}")]
    Singular(String),
    /// An error raised by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The crate's result alias.
pub type Result<T> = std::result::Result<T, RegimeVaeError>;

/// Returns an [`RegimeVaeError::InvalidConfig`] with `msg` unless `ok`.
pub(crate) fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(RegimeVaeError::InvalidConfig(msg()))
    }
}
