//! The module's errors and the Python exception each becomes.
//!
//! Bad input (arrays, distributions, configurations, method names) raises `ValueError`; a file that
//! cannot be read or written raises the `OSError` subclass of its cause (`FileNotFoundError`, ...);
//! everything else (a diverged training run, a corrupt checkpoint, libtorch) raises
//! `gumbel_gadgets.GumbelGadgetsError`. Each message is the text the CLI prints for the same input,
//! with the argument named as in Python (`p: ...` where the CLI says `--p: ...`).

use gadgets::GadgetError;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::PyErr;

pyo3::create_exception!(
    gumbel_gadgets,
    GumbelGadgetsError,
    PyException,
    "A failure that is not bad input or a file error: a training run that diverged, a corrupt \
     checkpoint, a failure inside libtorch."
);

/// An error of the module, classified by the Python exception it raises.
#[derive(Debug)]
pub enum Error {
    /// Bad input: `ValueError`.
    Value(String),
    /// A file: `OSError` (or its subclass for the cause).
    Io(std::io::Error, String),
    /// Anything else: `GumbelGadgetsError`.
    Other(String),
}

/// The result type of the module's Rust code.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A `ValueError` with `message`.
    pub fn value(message: impl Into<String>) -> Self {
        Error::Value(message.into())
    }

    /// The same error with `what: ` in front of its message (the CLI's `--p: ...` context).
    pub fn context(self, what: &str) -> Self {
        match self {
            Error::Value(m) => Error::Value(format!("{what}: {m}")),
            Error::Io(e, m) => Error::Io(e, format!("{what}: {m}")),
            Error::Other(m) => Error::Other(format!("{what}: {m}")),
        }
    }
}

impl From<gumbel_core::CoreError> for Error {
    fn from(e: gumbel_core::CoreError) -> Self {
        Error::Value(e.to_string())
    }
}

impl From<baselines::BaselineError> for Error {
    fn from(e: baselines::BaselineError) -> Self {
        match e {
            baselines::BaselineError::Solver(_)
            | baselines::BaselineError::InaccurateSolution { .. } => Error::Other(e.to_string()),
            _ => Error::Value(e.to_string()),
        }
    }
}

impl From<GadgetError> for Error {
    fn from(e: GadgetError) -> Self {
        let message = e.to_string();
        match e {
            GadgetError::Io { error, .. } => Error::Io(error, message),
            GadgetError::UnknownDevice(_)
            | GadgetError::InvalidConfig(_)
            | GadgetError::Core(_)
            | GadgetError::OutcomeMismatch { .. } => Error::Value(message),
            GadgetError::CudaUnavailable
            | GadgetError::NonFinite { .. }
            | GadgetError::Checkpoint { .. }
            | GadgetError::Torch(_)
            | GadgetError::Memory { .. }
            | GadgetError::Graph(_) => Error::Other(message),
        }
    }
}

impl From<methods::MethodError> for Error {
    fn from(e: methods::MethodError) -> Self {
        let message = e.to_string();
        match e {
            methods::MethodError::Baseline(e) => e.into(),
            methods::MethodError::Gadget(e) => e.into(),
            methods::MethodError::OpenPairs { error, .. }
            | methods::MethodError::File { error, .. } => Error::Io(error, message),
            _ => Error::Value(message),
        }
    }
}

impl From<sepsis_sim::SepsisError> for Error {
    fn from(e: sepsis_sim::SepsisError) -> Self {
        match e {
            sepsis_sim::SepsisError::NoImportanceWeight => Error::Other(e.to_string()),
            _ => Error::Value(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Other(format!("could not write JSON: {e}"))
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        match e {
            Error::Value(m) => PyValueError::new_err(m),
            Error::Io(source, m) => {
                // The errno makes Python pick the subclass (FileNotFoundError, PermissionError, ...).
                match source.raw_os_error() {
                    Some(errno) => PyOSError::new_err((errno, m)),
                    None => PyOSError::new_err(m),
                }
            }
            Error::Other(m) => GumbelGadgetsError::new_err(m),
        }
    }
}
