//! Where a result came from: git revision, host and hardware, time and versions.

use std::process::Command;

use serde::Serialize;

/// The provenance stamped on every result file.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// `git rev-parse HEAD`, with `-dirty` when the work tree has uncommitted changes; for a binary run
    /// from a bundle (`cargo xtask bundle`), the revision it was built from, which its `run.sh` passes
    /// as `GUMBEL_GADGETS_REVISION`.
    pub git_revision: String,
    /// The host name.
    pub host: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// The processor's model name (`/proc/cpuinfo`), or "unknown".
    pub cpu_model: String,
    /// libtorch's intra-op CPU threads (`--threads`).
    pub torch_threads: i32,
    /// Where gadgets train: `cpu` or `cuda:N` (CUDA whenever libtorch sees a GPU).
    pub training_device: String,
    /// The NVIDIA GPUs' model names (`/proc/driver/nvidia/gpus/*/information`); empty without a driver.
    pub gpus: Vec<String>,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// This crate's version.
    pub version: &'static str,
}

impl Provenance {
    /// Gathers provenance from the environment (unknown values become "unknown"); call it after
    /// setting libtorch's threads.
    pub fn gather() -> Self {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let git_revision = std::env::var("GUMBEL_GADGETS_REVISION").unwrap_or_else(|_| {
            let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{revision}-dirty")
            } else {
                revision
            }
        });
        let host = std::fs::read_to_string("/etc/hostname")
            .map_or_else(|_| "unknown".to_owned(), |h| h.trim().to_owned());
        Self {
            git_revision,
            host,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|info| field(&info, "model name"))
                .unwrap_or_else(|| "unknown".to_owned()),
            torch_threads: tch::get_num_threads(),
            training_device: gadgets::DeviceChoice::Auto
                .resolve()
                .map_or_else(|_| "unknown".to_owned(), gadgets::device::device_name),
            gpus: nvidia_gpus(),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The value of the first `name: value` line of `text` (as in `/proc/cpuinfo` and the NVIDIA
/// driver's information files), trimmed.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// The model of every GPU the NVIDIA driver lists, in directory order.
fn nvidia_gpus() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc/driver/nvidia/gpus") else { return Vec::new() };
    let mut paths: Vec<_> =
        entries.filter_map(|e| e.ok().map(|e| e.path().join("information"))).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|info| field(&info, "Model"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_proc_style_lines() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu: vme\n";
        assert_eq!(field(cpuinfo, "model name").as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(field(cpuinfo, "flags").as_deref(), Some("fpu: vme"));
        assert_eq!(field(cpuinfo, "model"), None);
        let nvidia = "Model: \t\t NVIDIA H200\nIRQ:   \t\t 16\nGPU UUID: \t GPU-0\n";
        assert_eq!(field(nvidia, "Model").as_deref(), Some("NVIDIA H200"));
    }
}
