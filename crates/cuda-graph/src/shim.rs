//! The backend of a build with the shim: the C functions of `csrc/shim.cpp` and a safe owner of a
//! graph. The only unsafe code of the crate; every C function catches its C++ exceptions and returns
//! 1 with a message that is copied here and freed.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::{null_mut, NonNull};

use crate::GraphError;

unsafe extern "C" {
    fn cuda_graph_shim_device_count() -> i64;
    fn cuda_graph_shim_free_message(message: *mut c_char);
    fn cuda_graph_shim_empty_cache(err: *mut *mut c_char) -> c_int;
    fn cuda_graph_shim_new(device: i64, out: *mut *mut c_void, err: *mut *mut c_char) -> c_int;
    fn cuda_graph_shim_begin(graph: *mut c_void, err: *mut *mut c_char) -> c_int;
    fn cuda_graph_shim_end(graph: *mut c_void, err: *mut *mut c_char) -> c_int;
    fn cuda_graph_shim_replay(graph: *mut c_void, err: *mut *mut c_char) -> c_int;
    fn cuda_graph_shim_delete(graph: *mut c_void);
}

/// The number of CUDA devices libtorch sees (0 without a driver or a device).
pub(crate) fn device_count() -> usize {
    // SAFETY: no arguments; the C function catches everything (c10's device_count is noexcept).
    let count = unsafe { cuda_graph_shim_device_count() };
    usize::try_from(count).unwrap_or(0)
}

/// Releases the caching allocator's unused cached blocks. A failure (only possible while a capture
/// is under way) leaves the cache as it is, which is all that releasing can change.
pub(crate) fn empty_cache() {
    // SAFETY: `err` is a valid out-pointer for the call's duration.
    let _ = checked("empty_cache", |err| unsafe { cuda_graph_shim_empty_cache(err) });
}

/// Calls a shim function that reports failure as 1 and a malloc'd message; the message becomes
/// `GraphError::Cuda("<what> failed: <message on one line>")`.
fn checked(what: &str, call: impl FnOnce(*mut *mut c_char) -> c_int) -> Result<(), GraphError> {
    let mut err: *mut c_char = null_mut();
    if call(&mut err) == 0 {
        return Ok(());
    }
    let message = if err.is_null() {
        "no message (it could not be copied)".to_owned()
    } else {
        // SAFETY: a non-null `err` is a NUL-terminated copy made by the shim with malloc, freed
        // here exactly once after it has been read.
        let text = unsafe { CStr::from_ptr(err) }.to_string_lossy().into_owned();
        unsafe { cuda_graph_shim_free_message(err) };
        text
    };
    Err(GraphError::Cuda(format!("{what} failed: {}", one_line(&message))))
}

/// libtorch's messages span several lines (the error, then hints); joined with "; ".
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.join("; ")
}

/// An owned `at::cuda::CUDAGraph` (with the stream state of a capture under way) of one device.
pub(crate) struct RawGraph {
    graph: NonNull<c_void>,
    device: usize,
}

impl RawGraph {
    /// An empty graph of `device`, which the caller has checked exists.
    pub(crate) fn new(device: usize) -> Result<Self, GraphError> {
        let index = i64::try_from(device)
            .map_err(|_| GraphError::Unavailable(format!("device index {device} is too large")))?;
        let mut out: *mut c_void = null_mut();
        // SAFETY: `out` and `err` are valid out-pointers for the call's duration.
        checked("creation", |err| unsafe { cuda_graph_shim_new(index, &mut out, err) })?;
        let graph = NonNull::new(out).ok_or_else(|| {
            GraphError::Cuda("creation failed: the shim returned no graph".into())
        })?;
        Ok(RawGraph { graph, device })
    }

    pub(crate) fn device(&self) -> usize {
        self.device
    }

    /// Synchronises, releases cached blocks, makes the side stream current and begins capturing.
    pub(crate) fn begin(&mut self) -> Result<(), GraphError> {
        // SAFETY: `self.graph` is a live graph from `cuda_graph_shim_new`, owned by `self`.
        checked("capture begin", |err| unsafe { cuda_graph_shim_begin(self.graph.as_ptr(), err) })
    }

    /// Ends the capture and instantiates the graph; the previous stream is current again either way.
    pub(crate) fn end(&mut self) -> Result<(), GraphError> {
        // SAFETY: as in `begin`.
        checked("capture", |err| unsafe { cuda_graph_shim_end(self.graph.as_ptr(), err) })
    }

    /// Launches the graph on the current stream of its device.
    pub(crate) fn replay(&self) -> Result<(), GraphError> {
        // SAFETY: as in `begin`; replay does not change the graph's host state.
        checked("replay", |err| unsafe { cuda_graph_shim_replay(self.graph.as_ptr(), err) })
    }
}

impl Drop for RawGraph {
    fn drop(&mut self) {
        // SAFETY: the graph is live and owned by `self`; it is freed exactly once, here.
        unsafe { cuda_graph_shim_delete(self.graph.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpp_exception_comes_back_as_one_line_error() {
        // libtorch throws for a device it does not have (on a CPU machine: no driver at all);
        // the shim must catch it and hand the message over, not abort the process.
        let missing = device_count();
        let Err(GraphError::Cuda(message)) = RawGraph::new(missing) else {
            panic!("a graph on missing device {missing} was created");
        };
        eprintln!("{message}");
        assert!(message.starts_with("creation failed: "), "{message}");
        assert!(message.len() > "creation failed: ".len() + 10, "no message from libtorch");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn messages_are_joined_into_one_line() {
        assert_eq!(
            one_line("CUDA error: x\n  hint one \n\nhint two\n"),
            "CUDA error: x; hint one; hint two"
        );
    }
}
