//! What holds on every machine, with or without a GPU: the shim is compiled exactly where libtorch
//! has CUDA headers, availability agrees with libtorch, and a capture on a missing device is refused
//! with a one-line reason without running its body.

use std::path::PathBuf;

use cuda_graph::{available, compiled, CaptureError, CudaGraph, GraphError};

/// Whether the libtorch this test was built against has CUDA graphs and the CUDA runtime headers
/// (looked up here independently of the build script, in the places its docs name).
fn libtorch_has_cuda_headers() -> bool {
    let torch = PathBuf::from(env!("LIBTORCH", "LIBTORCH is set by .cargo/config.toml"));
    let mut cuda_includes: Vec<PathBuf> = std::env::var_os("CUDA_HOME")
        .map(|home| PathBuf::from(home).join("include"))
        .into_iter()
        .collect();
    if let Ok(entries) = std::fs::read_dir(torch.join("../nvidia")) {
        cuda_includes.extend(entries.flatten().map(|entry| entry.path().join("include")));
    }
    cuda_includes.push(PathBuf::from("/usr/local/cuda/include"));
    torch.join("include/ATen/cuda/CUDAGraph.h").exists()
        && torch.join("lib/libtorch_cuda.so").exists()
        && cuda_includes.iter().any(|dir| dir.join("cuda_runtime_api.h").exists())
}

#[test]
fn the_shim_is_compiled_exactly_where_libtorch_has_cuda_headers() {
    let expected = libtorch_has_cuda_headers();
    eprintln!("libtorch at {}: CUDA headers {expected}", env!("LIBTORCH"));
    assert_eq!(compiled(), expected, "the build script's decision differs from the headers found");
}

#[test]
fn available_agrees_with_libtorch() {
    let devices = usize::try_from(tch::Cuda::device_count()).expect("a device count");
    for device in [0, 1, devices, 1000] {
        assert_eq!(available(device), compiled() && device < devices, "device {device}");
    }
}

#[test]
fn a_capture_on_a_missing_device_is_refused_without_running_the_body() {
    let missing = usize::try_from(tch::Cuda::device_count()).expect("a device count");
    let mut ran = false;
    let result = CudaGraph::capture(missing, || -> Result<(), String> {
        ran = true;
        Ok(())
    });
    assert!(!ran, "the body ran although there is no device {missing}");
    let Err(CaptureError::Graph(GraphError::Unavailable(reason))) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    let message = CaptureError::<String>::Graph(GraphError::Unavailable(reason)).to_string();
    eprintln!("{message}");
    assert!(message.starts_with("CUDA graphs unavailable: "), "{message}");
    assert!(!message.contains('\n'), "not one line: {message}");
    let says_why = if compiled() {
        message.contains(&format!("no device {missing}"))
    } else {
        message.contains("this build found no")
    };
    assert!(says_why, "the reason is missing: {message}");
}
