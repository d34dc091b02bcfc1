//! CUDA graphs of libtorch (a stub: no shim is compiled into this build, so graphs are never
//! available and capturing one is an error).

use std::marker::PhantomData;

/// Why a graph could not be captured or replayed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// No shim in this build, or no CUDA device.
    #[error("CUDA graphs unavailable: {0}")]
    Unavailable(String),
    /// A CUDA or libtorch error while capturing or replaying.
    #[error("CUDA graph {0}")]
    Cuda(String),
}

/// Whether the shim was compiled into this build: never in this stub.
pub fn compiled() -> bool {
    false
}

/// Whether graphs can be captured on CUDA device `device`: never in this stub.
pub fn available(_device: usize) -> bool {
    false
}

/// Releases libtorch's cached CUDA blocks (nothing to do in this stub).
pub fn empty_cache() {}

/// A captured graph.
pub struct CudaGraph {
    _not_send: PhantomData<*const ()>,
}

/// A failed capture: the graph's error, or the body's own.
#[derive(Debug)]
pub enum CaptureError<E> {
    /// Capturing failed.
    Graph(GraphError),
    /// The body returned an error.
    Body(E),
}

impl CudaGraph {
    /// Captures `body`'s kernels on device `device`: always [`GraphError::Unavailable`] here.
    pub fn capture<T, E>(
        _device: usize,
        _body: impl FnOnce() -> Result<T, E>,
    ) -> Result<(CudaGraph, T), CaptureError<E>> {
        Err(CaptureError::Graph(GraphError::Unavailable("stub".into())))
    }

    /// Runs the captured kernels: always [`GraphError::Unavailable`] here.
    pub fn replay(&self) -> Result<(), GraphError> {
        Err(GraphError::Unavailable("stub".into()))
    }
}
