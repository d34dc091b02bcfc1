//! Bad input to `reproduce`'s shard options and a `--require-cuda` without CUDA: one line on stderr naming the problem, exit code 2, and
//! nothing written.

use std::process::Command;

/// Runs `reproduce ARGS --only sepsis --out DIR` with no job array in the environment; returns the exit code
/// and stderr.
fn reproduce(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut command = Command::new(env!("CARGO_BIN_EXE_reproduce"));
    command.args(args).args(["--only", "sepsis", "--out"]).arg(dir.path().join("results"));
    for name in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"] {
        command.env_remove(name);
    }
    for name in ["JOB_COMPLETION_INDEX", "SHARD_COUNT"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().expect("reproduce runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn malformed_shards_are_refused_with_exit_code_2() {
    for (shard, says) in [
        ("4/4", "index must be below the count"),
        ("0/0", "count must be at least 1"),
        ("two/4", "is not a shard"),
        ("1", "is not a shard"),
    ] {
        let (code, stderr) = reproduce(&["--plan", "--shard", shard], &[]);
        assert_eq!(code, Some(2), "{shard}: {stderr}");
        assert!(stderr.contains(says), "{shard}: {stderr}");
    }
}

#[test]
fn auto_without_an_array_index_is_refused_with_exit_code_2() {
    let (code, stderr) = reproduce(&["--plan", "--shard", "auto"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SLURM_ARRAY_TASK_ID"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let (code, stderr) = reproduce(
        &["--plan", "--shard", "auto"],
        &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")],
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_merge_with_units_missing_is_refused_with_exit_code_2_naming_one() {
    let (code, stderr) = reproduce(&["--merge"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("sepsis-whole-") && stderr.contains("not done"), "{stderr}");
}

#[test]
fn require_cuda_without_a_cuda_device_is_refused_with_exit_code_2() {
    let (code, stderr) = reproduce(&["--require-cuda", "--list"], &[]);
    if tch::Cuda::is_available() {
        assert_eq!(code, Some(0), "{stderr}");
    } else {
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("no CUDA device"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
