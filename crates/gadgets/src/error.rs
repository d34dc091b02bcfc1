//! The typed errors of the gadgets crate.

use thiserror::Error;

/// Everything that can go wrong when building, running, training, saving or loading a gadget.
#[derive(Debug, Error)]
pub enum GadgetError {
    /// A device name other than `cpu`, `cuda` or `auto`.
    #[error("unknown device {0:?}; expected \"cpu\", \"cuda\" or \"auto\"")]
    UnknownDevice(String),
    /// `cuda` was asked for on a machine without a usable CUDA device.
    #[error("device \"cuda\" was requested but libtorch sees no CUDA device on this machine (use \"cpu\" or \"auto\")")]
    CudaUnavailable,
    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Invalid logits, probabilities, couplings or observations (from gumbel-core).
    #[error(transparent)]
    Core(#[from] gumbel_core::CoreError),
    /// A pair or observation whose size does not match the gadget.
    #[error("{what}: the gadget has {expected} outcomes, the input has {found}")]
    OutcomeMismatch {
        /// What was given.
        what: &'static str,
        /// The gadget's number of outcomes K.
        expected: usize,
        /// The input's length.
        found: usize,
    },
    /// The training loss or a gradient became NaN or infinite.
    #[error("training diverged at step {step}: the {what} is not finite ({value})")]
    NonFinite {
        /// The step (counting from 1) at which it happened.
        step: usize,
        /// "loss" or "gradient".
        what: &'static str,
        /// The offending value (a sum over the gradients for "gradient").
        value: f64,
    },
    /// A checkpoint that cannot be read, is corrupt, or does not fit the gadget.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file that could not be read or written. The message names the file and says why; the
    /// io error is part of it, not a separate source, so that an error chain says it once.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A failure inside libtorch (its message is part of this one, not a separate source).
    #[error("libtorch: {0}")]
    Torch(tch::TchError),
    /// CUDA graphs were asked for where they cannot be captured, or capturing or replaying one
    /// failed (`cuda_graph`).
    #[error(transparent)]
    Graph(#[from] cuda_graph::GraphError),
    /// One training run needs more memory than the device has free (`crate::footprint`).
    #[error(
        "one training run needs about {} MiB, the device has {} MiB to give",
        needed >> 20,
        available >> 20
    )]
    Memory {
        /// The run's estimated bytes.
        needed: u64,
        /// The bytes the device can give.
        available: u64,
    },
}

impl GadgetError {
    /// Whether this is libtorch failing to allocate memory (CUDA's "out of memory", the CPU
    /// allocator's "not enough memory"), eagerly or while capturing a CUDA graph: a stack that meets
    /// it may fit when split.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            GadgetError::Torch(error) => is_out_of_memory_message(&error.to_string()),
            GadgetError::Graph(error) => is_out_of_memory_message(&error.to_string()),
            GadgetError::Memory { .. } => true,
            _ => false,
        }
    }
}

/// Whether libtorch's error `message` says an allocation failed (CUDA's "out of memory", the CPU
/// allocator's "not enough memory"), as [`GadgetError::is_out_of_memory`] and a caught panic of
/// tch's infallible calls both need to tell.
pub fn is_out_of_memory_message(message: &str) -> bool {
    message.contains("out of memory") || message.contains("not enough memory")
}

impl From<tch::TchError> for GadgetError {
    fn from(error: tch::TchError) -> Self {
        GadgetError::Torch(error)
    }
}

/// The result type of the gadgets crate.
pub type Result<T> = std::result::Result<T, GadgetError>;

#[cfg(test)]
mod tests {
    use super::*;
    use cuda_graph::GraphError;

    #[test]
    fn running_out_of_memory_while_capturing_a_graph_counts_as_out_of_memory() {
        let capture =
            GraphError::Cuda("capture failed: CUDA out of memory. Tried to allocate".into());
        assert!(GadgetError::Graph(capture).is_out_of_memory());
        let unavailable = GraphError::Unavailable("this build has no CUDA graph shim".into());
        assert!(!GadgetError::Graph(unavailable).is_out_of_memory());
    }
}
