//! Where a result came from: git revision, host, time and versions.

use std::process::Command;

use serde::Serialize;

/// The provenance stamped on every result file.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// `git rev-parse HEAD`, with `-dirty` when the work tree has uncommitted changes.
    pub git_revision: String,
    /// The host name.
    pub host: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// This crate's version.
    pub version: &'static str,
}

impl Provenance {
    /// Gathers provenance from the environment (unknown values become "unknown").
    pub fn gather() -> Self {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        let host = std::fs::read_to_string("/etc/hostname").map_or_else(|_| "unknown".to_owned(), |h| h.trim().to_owned());
        Self {
            git_revision: if dirty { format!("{revision}-dirty") } else { revision },
            host,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}
