//! The CLI's JSON contract and its error behaviour (one line on stderr, exit code 2, empty stdout).

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{assert_bad_input, json};

#[test]
fn couple_gumbel_max_gives_the_exact_joint_and_summaries() {
    let v = json(&[
        "couple",
        "--method",
        "gumbel-max",
        "--p",
        "[0.7, 0.3]",
        "--q",
        "[0.4, 0.6]",
        "--reward",
        "[0, 1]",
    ]);
    assert_eq!(v["exact"], true);
    let joint: Vec<Vec<f64>> = serde_json::from_value(v["joint"].clone()).unwrap();
    let expected = [[0.4, 0.3], [0.0, 0.3]];
    for (row, want) in joint.iter().zip(expected) {
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
    }
    assert!((v["p_x_ne_y"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    assert!((v["expected_cost"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    // x - y is -1 w.p. 0.3 and 0 otherwise: variance 0.3 * 0.7.
    assert!((v["variance"].as_f64().unwrap() - 0.21).abs() < 1e-12);
}

#[test]
fn couple_with_samples_is_marked_inexact_and_reproducible() {
    let args = [
        "couple",
        "--p-logits",
        "[0, 1, \"-inf\"]",
        "--q",
        "[0.2, 0.3, 0.5]",
        "--samples",
        "20000",
        "--seed",
        "4",
    ];
    let v = json(&args);
    assert_eq!(v["exact"], false);
    assert_eq!(v["samples"], 20000);
    assert_eq!(v, json(&args));
    // The impossible outcome x = 2 never appears.
    assert_eq!(v["joint"][2], serde_json::json!([0.0, 0.0, 0.0]));
}

#[test]
fn couple_accepts_a_cost_matrix_from_a_file() {
    let dir = std::env::temp_dir().join(format!("gg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cost.json");
    std::fs::write(&path, "[[0, 1], [1, 0]]").unwrap();
    let v = json(&[
        "couple",
        "--p",
        "[0.7, 0.3]",
        "--q",
        "[0.4, 0.6]",
        "--cost",
        path.to_str().unwrap(),
    ]);
    assert!((v["expected_cost"].as_f64().unwrap() - v["p_x_ne_y"].as_f64().unwrap()).abs() < 1e-12);
    assert!(v.get("variance").is_none());
}

#[test]
fn counterfactual_gives_the_exact_distribution_and_a_histogram() {
    let v = json(&[
        "counterfactual",
        "--p",
        "[0.5, 0.2, 0.3]",
        "--q",
        "[0.1, 0.3, 0.6]",
        "--observed",
        "0",
        "--samples",
        "100000",
        "--seed",
        "3",
    ]);
    let exact: Vec<f64> = serde_json::from_value(v["distribution"].clone()).unwrap();
    let sampled: Vec<f64> = serde_json::from_value(v["sampled"].clone()).unwrap();
    assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    for (e, s) in exact.iter().zip(&sampled) {
        assert!((e - s).abs() <= 5.0 * (e * (1.0 - e) / 1e5).sqrt() + 1e-4);
    }
    let without = json(&[
        "counterfactual",
        "--p",
        "[0.5, 0.2, 0.3]",
        "--q",
        "[0.1, 0.3, 0.6]",
        "--observed",
        "0",
    ]);
    assert!(without.get("sampled").is_none());
}

#[test]
fn bad_input_is_one_line_on_stderr_with_exit_code_2() {
    assert_bad_input(&["couple", "--p", "[0.7, 0.3]", "--q", "[0.4, 0.6, 0.0]"], "length");
    assert_bad_input(&["couple", "--p", "[0.7, 0.4]", "--q", "[0.4, 0.6]"], "sum to");
    assert_bad_input(&["couple", "--p", "[0.7, -0.3]", "--q", "[0.4, 0.6]"], "probability 1");
    assert_bad_input(
        &["couple", "--p-logits", "[\"-inf\", \"-inf\"]", "--q", "[0.4, 0.6]"],
        "impossible",
    );
    assert_bad_input(
        &["couple", "--p", "[0.7, 0.3]", "--p-logits", "[0, 0]", "--q", "[0.4, 0.6]"],
        "exactly one",
    );
    assert_bad_input(&["couple", "--p", "[0.7, 0.3", "--q", "[0.4, 0.6]"], "--p");
    assert_bad_input(
        &["couple", "--p", "no-such-file.json", "--q", "[0.4, 0.6]"],
        "no-such-file.json",
    );
    assert_bad_input(
        &["couple", "--p", "[0.7, 0.3]", "--q", "[0.4, 0.6]", "--cost", "[[0, 1], [1]]"],
        "square",
    );
    assert_bad_input(
        &["couple", "--p", "[0.7, 0.3]", "--q", "[0.4, 0.6]", "--samples", "0"],
        "--samples",
    );
    assert_bad_input(&["couple", "--method", "bogus", "--p", "[1]", "--q", "[1]"], "bogus");
    assert_bad_input(
        &["counterfactual", "--p", "[0.5, 0, 0.5]", "--q", "[0.2, 0.3, 0.5]", "--observed", "1"],
        "probability zero",
    );
    assert_bad_input(
        &["counterfactual", "--p", "[0.5, 0.5]", "--q", "[0.2, 0.8]", "--observed", "2"],
        "out of range",
    );
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::process::{Command, Stdio};
    // A 100 x 100 joint is about 200 KB of JSON, more than a pipe holds, so the write meets the closed pipe.
    let logits = serde_json::to_string(&(0..100).map(f64::from).collect::<Vec<_>>()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gumbel-gadgets"))
        .args(["couple", "--p-logits", &logits, "--q-logits", &logits])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 0`
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
