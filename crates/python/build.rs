//! Build script of the Python module: an rpath to `torch/lib` beside the installed package
//! (`site-packages/gumbel_gadgets/_native*.so` -> `site-packages/torch/lib`), so that the module
//! finds the libtorch of the torch installed in the same environment. The package's `__init__.py`
//! imports torch first (which loads its libtorch, CUDA included) and checks its version.

fn main() {
    println!("cargo:rustc-link-arg-cdylib=-Wl,-rpath,$ORIGIN/../torch/lib");
}
