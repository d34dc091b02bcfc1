//! libtorch's CUDA library is loaded into every program that uses the gadgets
//! (`build/link_torch_cuda.rs`): without it `tch::Cuda::is_available()` is false even on a GPU machine.

use std::path::Path;

#[test]
fn libtorch_cuda_is_loaded_whenever_libtorch_has_it() {
    let libtorch = env!("LIBTORCH", "LIBTORCH is set by .cargo/config.toml");
    let has_cuda = Path::new(libtorch).join("lib/libtorch_cuda.so").exists();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("the process's memory map");
    let loaded = maps.contains("libtorch_cuda.so");
    eprintln!(
        "libtorch at {libtorch}: CUDA build {has_cuda}, loaded {loaded}, GPU {}",
        tch::Cuda::is_available()
    );
    assert_eq!(loaded, has_cuda, "libtorch_cuda.so must be loaded exactly when libtorch has it");
}
