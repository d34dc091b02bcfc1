//! Writing files atomically, so that a reader (or an interrupted run) never sees half a file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = private_temporary(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

/// `<path>.<pid>.tmp`: a temporary name no other process uses, so that runs side by side on one
/// results folder (e.g. one `--only` part per core) never write into each other's half-written file;
/// the last rename wins, and the contents are the same.
pub fn private_temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    PathBuf::from(name)
}
