//! Running cargo with libtorch on the library path.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// glibc malloc settings that keep libtorch's per-step buffers out of the kernel (the same as
/// `.cargo/config.toml`'s `[env]`, which covers programs started by cargo).
pub const MALLOC_SETTINGS: [(&str, &str); 2] =
    [("MALLOC_MMAP_THRESHOLD_", "268435456"), ("MALLOC_TRIM_THRESHOLD_", "1073741824")];

/// `LD_LIBRARY_PATH` with libtorch's `lib/` first, keeping whatever was there.
pub fn library_path(torch: &Path) -> String {
    let lib = torch.join("lib").display().to_string();
    match std::env::var("LD_LIBRARY_PATH") {
        Ok(existing) if !existing.is_empty() => format!("{lib}:{existing}"),
        _ => lib,
    }
}

/// Runs `cargo <fixed> <extra>` in the workspace root with LIBTORCH and the library path set; fails
/// when cargo fails.
pub fn cargo(root: &Path, torch: &Path, fixed: &[&str], extra: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(fixed)
        .args(extra)
        .current_dir(root)
        .env("LIBTORCH", torch)
        .env("LD_LIBRARY_PATH", library_path(torch))
        .status()
        .with_context(|| format!("could not start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", fixed.join(" "));
    }
    Ok(())
}
