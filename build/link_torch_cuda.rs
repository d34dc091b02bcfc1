//! The build script of every crate whose programs run libtorch (gadgets, regime-vae, cli, reproduce,
//! bench: `build = "../../build/link_torch_cuda.rs"`): it keeps libtorch's CUDA library among each
//! program's dependencies, so that CUDA is there whenever the machine has a GPU.
//!
//! torch-sys asks the linker for `torch_cuda`, but no symbol of it is referenced directly, so the
//! linker's default `--as-needed` dropped it: the programs' `NEEDED` entries lacked `libtorch_cuda.so`,
//! libtorch never loaded its CUDA backend, and `tch::Cuda::is_available()` was false on any machine.
//! Naming it again after `--no-as-needed` keeps it (test: `crates/gadgets/tests/cuda_link.rs`; with it
//! the gadgets trained on an H200, docs/gadgets.md). A libtorch built without CUDA links as before.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH") else { return };
    let lib = PathBuf::from(libtorch).join("lib");
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
