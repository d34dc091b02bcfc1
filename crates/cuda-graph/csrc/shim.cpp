// The C side of the `cuda-graph` crate: libtorch's at::cuda::CUDAGraph behind a C interface.
//
// Every function catches every C++ exception and hands its message back through `err` (a malloc'd
// copy the Rust side frees with cuda_graph_shim_free_message); nothing throws across the boundary.
// Return value: 0 on success, 1 on failure (then *err is set; it may stay null if the copy failed).
//
// The capture mirrors torch.cuda.graph (torch/cuda/graphs.py of torch 2.11), step by step:
//   (every torch.cuda call: torch.cuda._lazy_init()  -> at::globalContext().lazyInitDevice(kCUDA),
//    once, in cuda_graph_shim_new)
//   __enter__: torch.cuda.synchronize()             -> c10::cuda::device_synchronize()
//              torch.cuda.empty_cache()             -> CUDACachingAllocator::emptyCache()
//              torch._C._host_emptyCache()          -> getHostAllocator(kCUDA)->empty_cache()
//              torch.cuda.stream(side stream)       -> setCurrentCUDAStream(the device's side stream)
//              cuda_graph.capture_begin()           -> CUDAGraph::capture_begin() (fresh private pool)
//   __exit__:  cuda_graph.capture_end()             -> CUDAGraph::capture_end() (also instantiates)
//              stream context exit                  -> the previous device and stream restored
// The gc.collect() of torch.cuda.graph (off by default there) has no counterpart: Rust frees
// tensors when they are dropped. The side stream is one per device from libtorch's stream pool,
// created on first use and kept, as graphs.py keeps its default_capture_stream.
//
// The previous stream is restored with setCurrentCUDAStream rather than a CUDAStreamGuard: the
// guard's inline implementation (CUDAGuardImpl) calls the CUDA runtime directly, which would make
// every program linking this crate depend on libcudart itself, not only through libtorch_cuda.

#include <ATen/Context.h>
#include <ATen/cuda/CUDAGraph.h>
#include <ATen/core/CachingHostAllocator.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

namespace {

char* copy_message(const char* message) {
  const size_t length = std::strlen(message);
  char* copy = static_cast<char*>(std::malloc(length + 1));
  if (copy != nullptr) {
    std::memcpy(copy, message, length + 1);
  }
  return copy;
}

// Runs `body`; any exception becomes 1 and its message in *err.
template <class Body>
int guarded(char** err, Body&& body) {
  try {
    body();
    return 0;
  } catch (const c10::Error& e) {
    *err = copy_message(e.what_without_backtrace());
  } catch (const std::exception& e) {
    *err = copy_message(e.what());
  } catch (...) {
    *err = copy_message("unknown C++ exception");
  }
  return 1;
}

// The capture stream of `device`: one per device, taken from libtorch's pool on first use and kept.
c10::cuda::CUDAStream side_stream(c10::DeviceIndex device) {
  static std::mutex mutex;
  static std::vector<std::optional<c10::cuda::CUDAStream>> streams;
  std::lock_guard<std::mutex> lock(mutex);
  if (streams.size() <= static_cast<size_t>(device)) {
    streams.resize(static_cast<size_t>(device) + 1);
  }
  if (!streams[device].has_value()) {
    streams[device] = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
  }
  return *streams[device];
}

// A CUDAGraph plus what a capture changes and must put back. Deriving gives access to the pool
// id and device of a capture, to release the pool when capture_end fails (CUDAGraph::reset only
// releases it after a successful end).
struct Graph : at::cuda::CUDAGraph {
  explicit Graph(c10::DeviceIndex device) : device(device) {}

  c10::DeviceIndex device;
  // Set between begin and end: the device and that device's stream current before the capture.
  std::optional<c10::DeviceIndex> previous_device;
  std::optional<c10::cuda::CUDAStream> previous_stream;

  void switch_to_side_stream() {
    previous_device = c10::cuda::current_device();
    c10::cuda::set_device(device);
    previous_stream = c10::cuda::getCurrentCUDAStream(device);
    c10::cuda::setCurrentCUDAStream(side_stream(device));
  }

  // Undoes switch_to_side_stream; never throws (it also runs while an exception is in flight).
  void restore_stream() noexcept {
    try {
      if (previous_stream.has_value()) {
        c10::cuda::setCurrentCUDAStream(*previous_stream);
      }
      if (previous_device.has_value()) {
        c10::cuda::set_device(*previous_device);
      }
    } catch (...) {
    }
    previous_stream.reset();
    previous_device.reset();
  }

  // After a failed capture_end: stop routing allocations to the private pool and release it, as
  // reset() does for a capture that ended. Each step may already have happened inside
  // capture_end; those throw and are skipped.
  void release_failed_capture() noexcept {
    if (capture_ended_) {
      return;  // reset() releases the pool.
    }
    try {
      c10::cuda::CUDACachingAllocator::endAllocateToPool(capture_dev_, mempool_id_);
    } catch (...) {
    }
    try {
      c10::cuda::CUDACachingAllocator::releasePool(capture_dev_, mempool_id_);
    } catch (...) {
    }
  }
};

Graph* as_graph(void* graph) {
  return static_cast<Graph*>(graph);
}

}  // namespace

extern "C" {

// The number of CUDA devices libtorch sees (0 without a driver or device). Never throws.
int64_t cuda_graph_shim_device_count() {
  return static_cast<int64_t>(c10::cuda::device_count());
}

void cuda_graph_shim_free_message(char* message) {
  std::free(message);
}

// Releases the unused cached blocks of libtorch's CUDA caching allocator; nothing before CUDA
// is initialised.
int cuda_graph_shim_empty_cache(char** err) {
  return guarded(err, [] {
    auto* allocator = c10::cuda::CUDACachingAllocator::get();
    if (allocator != nullptr && allocator->initialized()) {
      allocator->emptyCache();
    }
  });
}

// A new, empty graph for CUDA device `device` (the caller checks the device exists).
int cuda_graph_shim_new(int64_t device, void** out, char** err) {
  return guarded(err, [&] {
    const auto index = static_cast<c10::DeviceIndex>(device);
    // CUDA's state in libtorch (the caching allocator, generators), as torch.cuda initialises it
    // before any call; a capture must not be the first to touch it.
    at::globalContext().lazyInitDevice(at::kCUDA);
    // The constructor reads the current stream of the current device: make that `device`.
    const c10::DeviceIndex previous = c10::cuda::current_device();
    c10::cuda::set_device(index);
    try {
      *out = new Graph(index);
    } catch (...) {
      c10::cuda::set_device(previous);
      throw;
    }
    c10::cuda::set_device(previous);
  });
}

// Synchronises the device, releases cached blocks, makes the side stream current and begins
// capturing into a fresh private memory pool. On failure the previous stream is current again.
int cuda_graph_shim_begin(void* graph, char** err) {
  Graph* g = as_graph(graph);
  return guarded(err, [&] {
    try {
      g->switch_to_side_stream();
      c10::cuda::device_synchronize();
      c10::cuda::CUDACachingAllocator::emptyCache();
      at::getHostAllocator(at::kCUDA)->empty_cache();
      g->capture_begin(/*pool=*/{0, 0}, cudaStreamCaptureModeGlobal);
    } catch (...) {
      g->restore_stream();
      throw;
    }
  });
}

// Ends the capture begun by cuda_graph_shim_begin and instantiates the graph; the previous stream
// is current again whether or not this succeeds. After a failure the graph cannot be replayed.
int cuda_graph_shim_end(void* graph, char** err) {
  Graph* g = as_graph(graph);
  return guarded(err, [&] {
    try {
      g->capture_end();
    } catch (...) {
      g->release_failed_capture();
      g->restore_stream();
      throw;
    }
    g->restore_stream();
  });
}

// Launches the graph's kernels on the current stream of its device.
int cuda_graph_shim_replay(void* graph, char** err) {
  return guarded(err, [&] { as_graph(graph)->replay(); });
}

// Frees the graph and (through CUDAGraph::reset) its private memory pool.
void cuda_graph_shim_delete(void* graph) {
  try {
    delete as_graph(graph);
  } catch (...) {
  }
}

}  // extern "C"
