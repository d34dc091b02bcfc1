//! Compiles `csrc/shim.cpp` against the installed libtorch, only where that libtorch is a CUDA build
//! and the CUDA runtime headers are found; otherwise compiles nothing, and the crate reports every
//! graph as unavailable with the reason this script found (`CUDA_GRAPH_SHIM_ABSENT`).
//!
//! libtorch: `LIBTORCH` (as for torch-sys; a relative value is taken from the workspace root, as
//! cargo's `[env] relative = true` does). It must hold `include/ATen/cuda/CUDAGraph.h` and
//! `lib/libtorch_cuda.so`. The CUDA runtime headers (`cuda_runtime_api.h`), in this order:
//! `$CUDA_HOME/include`; `<libtorch>/../nvidia/*/include`, the headers of the CUDA release the pip
//! wheel was built with; `/usr/local/cuda/include`. The pip wheels ship those headers without their
//! `crt/` folder (it belongs to the CUDA compiler's package); where it is missing, the `crt/` of
//! another of those folders or of the CUDA headers that triton (a dependency of the same wheel)
//! carries is searched after them. The shim uses no CUDA compiler internals: `crt/` only defines
//! the host-compiler macros that `cuda_runtime_api.h` needs.

use std::path::{Path, PathBuf};

/// What the shim compiles against.
struct Found {
    /// libtorch's folder (`include/`, `lib/`).
    torch: PathBuf,
    /// The folder holding `cuda_runtime_api.h`.
    cuda_include: PathBuf,
    /// A folder holding `crt/host_defines.h`, when `cuda_include` lacks it.
    crt_fallback: Option<PathBuf>,
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cuda_graph_shim)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=csrc/shim.cpp");
    for variable in ["LIBTORCH", "CUDA_HOME", "LIBTORCH_CXX11_ABI"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    match find() {
        Ok(found) => {
            compile(&found);
            println!("cargo::rustc-cfg=cuda_graph_shim");
        }
        Err(reason) => println!("cargo::rustc-env=CUDA_GRAPH_SHIM_ABSENT={reason}"),
    }
}

/// libtorch with CUDA and the CUDA runtime headers, or why not (one line).
fn find() -> Result<Found, String> {
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        return Err("this build found no libtorch (LIBTORCH is not set)".into());
    };
    let torch = workspace_root().join(libtorch);
    let graph_header = torch.join("include/ATen/cuda/CUDAGraph.h");
    let cuda_library = torch.join("lib/libtorch_cuda.so");
    for needed in [&graph_header, &cuda_library] {
        if !needed.exists() {
            return Err(format!(
                "this build's libtorch has no CUDA: {} is missing",
                needed.display()
            ));
        }
        println!("cargo::rerun-if-changed={}", needed.display());
    }
    let candidates = cuda_include_candidates(&torch);
    let Some(cuda_include) =
        candidates.iter().find(|dir| dir.join("cuda_runtime_api.h").exists()).cloned()
    else {
        let searched: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "this build found no CUDA headers (cuda_runtime_api.h) in {}",
            searched.join(", ")
        ));
    };
    let has_crt = |dir: &Path| dir.join("crt/host_defines.h").exists();
    let crt_fallback = if has_crt(&cuda_include) {
        None
    } else {
        let mut others = candidates.clone();
        others.push(torch.join("../triton/backends/nvidia/include"));
        match others.into_iter().find(|dir| has_crt(dir)) {
            Some(dir) => Some(dir),
            None => {
                return Err(format!(
                    "this build found CUDA headers in {} but no crt/host_defines.h for them",
                    cuda_include.display()
                ))
            }
        }
    };
    Ok(Found { torch, cuda_include, crt_fallback })
}

/// The workspace root, against which cargo resolves the relative `LIBTORCH` of `.cargo/config.toml`.
fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    PathBuf::from(manifest).join("../..")
}

/// The folders that may hold the CUDA runtime headers, in order of preference.
fn cuda_include_candidates(torch: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(cuda_home) = std::env::var_os("CUDA_HOME") {
        candidates.push(PathBuf::from(cuda_home).join("include"));
    }
    let mut wheel: Vec<PathBuf> = std::fs::read_dir(torch.join("../nvidia"))
        .map(|entries| entries.flatten().map(|entry| entry.path().join("include")).collect())
        .unwrap_or_default();
    wheel.sort();
    candidates.extend(wheel);
    candidates.push(PathBuf::from("/usr/local/cuda/include"));
    candidates
}

/// Compiles the shim into a static library and links libtorch's CUDA and CPU libraries after it.
fn compile(found: &Found) {
    // libtorch's C++ ABI, as torch-sys decides it (the pip wheels use the C++11 ABI).
    let cxx11_abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .pic(true)
        .warnings(false)
        .std("c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", cxx11_abi.as_str())
        .include(found.torch.join("include"))
        .include(found.torch.join("include/torch/csrc/api/include"))
        .include(&found.cuda_include)
        // libtorch's host allocator aligns to the cache line through this constant; gcc warns that
        // its value may differ between compilers. The shim only calls that allocator's methods.
        .flag_if_supported("-Wno-interference-size")
        .file("csrc/shim.cpp");
    if let Some(crt) = &found.crt_fallback {
        // After every other include folder, so that only the missing crt/ comes from it.
        build.flag("-idirafter").flag(crt.display().to_string());
    }
    build.compile("cuda_graph_shim");
    println!("cargo::rustc-link-search=native={}", found.torch.join("lib").display());
    for library in ["torch_cuda", "c10_cuda", "torch_cpu", "c10"] {
        println!("cargo::rustc-link-lib=dylib={library}");
    }
}
