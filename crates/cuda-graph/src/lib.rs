//! CUDA graphs of libtorch (`at::cuda::CUDAGraph`), which tch does not bind, through a small C++
//! shim (`csrc/shim.cpp`) compiled against the installed libtorch's headers where that libtorch has
//! CUDA (`build.rs`); elsewhere nothing is compiled and every graph is [`GraphError::Unavailable`].
//!
//! A CUDA graph is a recorded sequence of GPU work (kernels, device-to-device copies, memsets) with
//! the device addresses it used. [`CudaGraph::capture`] runs a body once on a side stream while
//! CUDA records its launches instead of executing them; [`CudaGraph::replay`] then launches the whole
//! recording with one call, so a step of a few hundred small kernels costs one launch from the host.
//!
//! What a captured body must follow, because only its GPU work is recorded and replayed:
//! - No host synchronisation: nothing that waits for the device or reads a value back (`.item()`,
//!   `double_value`, printing a CUDA tensor, `.to(Device::Cpu)`, a data-dependent shape such as
//!   `nonzero` or boolean masking). It fails the capture ([`CaptureError::Graph`] or the body's
//!   error).
//! - No host-to-device copies of changing data: a copy of a host tensor is recorded with that
//!   host buffer's address, not its values at replay. Scalars passed to tensor operations (`x * 2.0`)
//!   are fine: they are baked into the kernels' arguments.
//! - Every input is a CUDA tensor allocated before the capture, and a new value is written into it
//!   in place (`copy_`) before each replay. A tensor the body allocates is not an input: its memory
//!   belongs to the graph.
//! - Outputs are tensors the body allocated (or tensors from before the capture that it updates in
//!   place); read them after a replay. Every replay rewrites the same memory.
//! - No host-side randomness or state that should change between replays: the body's host code
//!   runs once. Random numbers must come from tensors (e.g. a counter in a tensor, incremented in
//!   place by the body).
//! - No other thread of the process uses CUDA meanwhile: the capture is in CUDA's global mode (as
//!   `torch.cuda.graph`'s default), in which another thread's unsafe CUDA call fails the capture.
//! - Warm up first: run the body eagerly once or twice before capturing it, so that lazily created
//!   state (gradients, optimiser moments, cuBLAS handles) exists before the capture.
//!
//! Memory: the capture allocates from a private memory pool of libtorch's caching allocator. The
//! tensors the body creates live in that pool and are rewritten by every replay; the pool stays
//! reserved as long as the [`CudaGraph`] lives (tensors the caller keeps from the body keep their
//! blocks even after the graph is dropped), and dropping the graph returns it to the allocator.
//!
//! # Example
//!
//! ```no_run
//! use tch::{Device, Kind, Tensor};
//!
//! let mut x = Tensor::zeros([4], (Kind::Float, Device::Cuda(0)));
//! let _warm_up = &x * 2.0 + 1.0;
//! let (graph, y) = cuda_graph::CudaGraph::capture(0, || x.f_mul_scalar(2.0)?.f_add_scalar(1.0))
//!     .expect("a CUDA device");
//! x.copy_(&Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]));
//! graph.replay().expect("replay");
//! assert!(y.to(Device::Cpu).equal(&Tensor::from_slice(&[3.0f32, 5.0, 7.0, 9.0])));
//! ```
//!
//! Tested on the CPU: the shim compiles wherever libtorch has CUDA headers, and without a device
//! every call is refused with a one-line reason (`tests/cpu.rs`). Capture and replay are tested only
//! on a machine with a GPU (`tests/cuda.rs`, skipped with a message elsewhere).

#[cfg(cuda_graph_shim)]
#[path = "shim.rs"]
mod backend;

#[cfg(not(cuda_graph_shim))]
#[path = "absent.rs"]
mod backend;

use std::fmt;

/// Why graphs cannot be used, or what CUDA said. One line each.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// This build has no shim, or libtorch sees no such CUDA device.
    #[error("CUDA graphs unavailable: {0}")]
    Unavailable(String),
    /// The shim, libtorch or CUDA failed, e.g. "capture failed: <what libtorch threw>".
    #[error("CUDA graph {0}")]
    Cuda(String),
}

/// Whether this build compiled the shim (libtorch with CUDA headers was found at build time).
pub fn compiled() -> bool {
    cfg!(cuda_graph_shim)
}

/// Whether graphs can be captured here now: [`compiled`] and libtorch sees CUDA device `device`.
pub fn available(device: usize) -> bool {
    device < backend::device_count()
}

/// Releases the unused cached blocks of libtorch's CUDA caching allocator
/// (`c10::cuda::CUDACachingAllocator::emptyCache()`); does nothing without CUDA, or before CUDA
/// is used.
pub fn empty_cache() {
    backend::empty_cache();
}

/// Why [`CudaGraph::capture`] cannot run on `device`.
fn unavailable(device: usize) -> GraphError {
    let reason = match option_env!("CUDA_GRAPH_SHIM_ABSENT") {
        Some(absent) => absent.to_owned(),
        None => format!(
            "libtorch sees {} CUDA device(s), so there is no device {device}",
            backend::device_count()
        ),
    };
    GraphError::Unavailable(reason)
}

/// A captured CUDA graph (`at::cuda::CUDAGraph`). Not `Send` or `Sync`. Dropping it frees the graph
/// and its private memory pool.
pub struct CudaGraph {
    raw: backend::RawGraph,
}

impl fmt::Debug for CudaGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CudaGraph").field("device", &self.raw.device()).finish()
    }
}

impl CudaGraph {
    /// Captures `body` on CUDA device `device`, as `torch.cuda.graph` does: synchronises the
    /// device, releases the allocator's cached blocks, makes the device's side stream (one per
    /// device from libtorch's stream pool, kept for later captures) current, begins capturing into
    /// a fresh private memory pool, runs `body` once (its kernels are recorded, not executed), ends
    /// the capture and makes the previous stream current again. The capture is also ended, and the
    /// stream restored, when `body` returns an error or panics (the panic then continues).
    ///
    /// Returns the graph and the body's value (typically the output tensors, which every replay
    /// rewrites); the body's error as [`CaptureError::Body`]; a failure of the capture itself (no
    /// such device, or CUDA refused something the body did) as [`CaptureError::Graph`].
    pub fn capture<T, E>(
        device: usize,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<(CudaGraph, T), CaptureError<E>> {
        if !available(device) {
            return Err(CaptureError::Graph(unavailable(device)));
        }
        let mut raw = backend::RawGraph::new(device)?;
        raw.begin()?;
        let capturing = Capturing(Some(&mut raw));
        let value = body();
        let ended = capturing.end();
        match value {
            Err(error) => Err(CaptureError::Body(error)),
            Ok(value) => {
                ended?;
                Ok((CudaGraph { raw }, value))
            }
        }
    }

    /// Launches the captured kernels once on the current stream of its device. It does not wait for
    /// them: reading an output back waits, as for any CUDA work.
    pub fn replay(&self) -> Result<(), GraphError> {
        self.raw.replay()
    }
}

/// A graph between the begin and the end of its capture; dropping it (a panicking body) ends the
/// capture, so that the previous stream is current again.
struct Capturing<'a>(Option<&'a mut backend::RawGraph>);

impl Capturing<'_> {
    fn end(mut self) -> Result<(), GraphError> {
        self.0.take().map_or(Ok(()), |raw| raw.end())
    }
}

impl Drop for Capturing<'_> {
    fn drop(&mut self) {
        if let Some(raw) = self.0.take() {
            // The panic in flight is the error to report; this one only follows from it.
            let _ = raw.end();
        }
    }
}

/// A capture that failed: in the shim or CUDA, or in the body.
#[derive(Debug)]
pub enum CaptureError<E> {
    /// No device, or the shim, libtorch or CUDA failed.
    Graph(GraphError),
    /// The body returned this error (the capture was ended and discarded).
    Body(E),
}

impl<E> From<GraphError> for CaptureError<E> {
    fn from(error: GraphError) -> Self {
        CaptureError::Graph(error)
    }
}

impl<E: fmt::Display> fmt::Display for CaptureError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Graph(error) => error.fmt(f),
            CaptureError::Body(error) => write!(f, "captured body failed: {error}"),
        }
    }
}

/// The message shows the inner error, so its source is the inner error's source (transparent).
impl<E: std::error::Error + 'static> std::error::Error for CaptureError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Graph(error) => error.source(),
            CaptureError::Body(error) => error.source(),
        }
    }
}
