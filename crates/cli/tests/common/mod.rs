//! Helpers shared by the CLI's integration tests: run the binary, read its JSON, check its errors.

#![allow(dead_code)] // Each test file uses the helpers it needs.

use std::process::{Command, Output};

use serde_json::Value;

/// Runs `gumbel-gadgets` with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gumbel-gadgets")).args(args).output().unwrap()
}

/// Runs `gumbel-gadgets` and parses its stdout, failing the test when it fails.
pub fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks the bad-input contract: exit code 2, nothing on stdout, one line on stderr containing `needle`.
pub fn assert_bad_input(args: &[&str], needle: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}
