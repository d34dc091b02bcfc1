//! The `sepsis` subcommands' JSON contract, the .npy kernel file and their errors.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{json, run};

#[test]
fn evaluate_prints_the_physician_and_every_estimate() {
    let v =
        json(&["sepsis", "evaluate", "--trajectories", "300", "--bootstrap", "20", "--seed", "2"]);
    let physician = &v["physician"];
    let total: f64 =
        ["p_death", "p_none", "p_discharge"].iter().map(|k| physician[k].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-12);
    // The exact physician (reference note: 0.3119 when planned on the authors' Monte Carlo kernel).
    assert!((physician["expected_return"].as_f64().unwrap() - 0.3118).abs() < 5e-4);
    for key in ["observed", "true_rl", "wis", "wis_soft", "model_based", "counterfactual"] {
        let e = &v["estimates"][key];
        let (low, value, high) =
            (e["low"].as_f64().unwrap(), e["value"].as_f64().unwrap(), e["high"].as_f64().unwrap());
        assert!(low <= value && value <= high, "{key}: {e}");
    }
    assert_eq!(
        v,
        json(&["sepsis", "evaluate", "--trajectories", "300", "--bootstrap", "20", "--seed", "2"])
    );
}

#[test]
fn kernel_writes_a_float64_npy_of_the_documented_shape() {
    let dir = std::env::temp_dir().join(format!("gg-sepsis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kernel.npy");
    let v = json(&[
        "sepsis",
        "kernel",
        "--out",
        path.to_str().unwrap(),
        "--monte-carlo",
        "50",
        "--seed",
        "1",
    ]);
    assert_eq!(v["shape"], serde_json::json!([2, 8, 720, 720]));
    assert_eq!(v["exact"], false);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert!(String::from_utf8_lossy(&bytes[10..10 + header]).contains("'shape': (2, 8, 720, 720)"));
    assert_eq!(bytes.len(), 10 + header + 2 * 8 * 720 * 720 * 8);
    // Row (0, 0, 0) sums to one.
    let row: f64 = bytes[10 + header..10 + header + 720 * 8]
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .sum();
    assert!((row - 1.0).abs() < 1e-12);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_sepsis_input_is_one_line_and_exit_code_2() {
    for args in [
        vec!["sepsis", "evaluate", "--trajectories", "0"],
        vec!["sepsis", "kernel", "--out", "/nonexistent-dir/k.npy"],
        vec!["sepsis", "kernel", "--out", "/tmp/x.npy", "--monte-carlo", "0"],
        vec!["sepsis", "pairs", "--pairs", "100000"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end().lines().count(), 1, "{args:?}");
    }
}

#[test]
fn exported_pairs_are_the_printed_pairs_and_evaluate_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sepsis.jsonl").display().to_string();
    let printed = json(&["sepsis", "pairs", "--pairs", "4"]);
    let out = json(&["sepsis", "pairs", "--pairs", "4", "--export", &file]);
    assert_eq!((out["rows"].as_u64(), out["outcomes"].as_u64()), (Some(4), Some(146)));
    let text = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 4);
    for (row, pair) in rows.iter().zip(printed["pairs"].as_array().unwrap()) {
        assert_eq!((&row["p"], &row["q"]), (&pair["p"], &pair["q"]));
        assert_eq!(row["observed"], pair["observed_next"]);
    }
    let reward: Vec<u32> = (0..146).collect();
    let reward = serde_json::to_string(&reward).unwrap();
    let scores =
        json(&["evaluate", "--pairs", &file, "--reward", &reward, "--methods", "gumbel-max"]);
    assert_eq!(scores["pairs"], 4);
    assert!(scores["counterfactual"]["gumbel-max"]["variance"]["mean"].is_f64());
}
