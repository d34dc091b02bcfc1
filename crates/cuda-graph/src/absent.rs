//! The backend of a build without the shim (no libtorch with CUDA headers at build time): no
//! device, and no graph can exist.

use crate::GraphError;

/// libtorch's CUDA devices as this build sees them: none.
pub(crate) fn device_count() -> usize {
    0
}

/// Nothing to release without CUDA.
pub(crate) fn empty_cache() {}

/// No graph exists in this build: the type has no values.
pub(crate) enum RawGraph {}

impl RawGraph {
    pub(crate) fn new(device: usize) -> Result<Self, GraphError> {
        Err(crate::unavailable(device))
    }

    pub(crate) fn device(&self) -> usize {
        match *self {}
    }

    pub(crate) fn begin(&mut self) -> Result<(), GraphError> {
        match *self {}
    }

    pub(crate) fn end(&mut self) -> Result<(), GraphError> {
        match *self {}
    }

    pub(crate) fn replay(&self) -> Result<(), GraphError> {
        match *self {}
    }
}
