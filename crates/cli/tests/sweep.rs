//! `sweep`: a grid's points in a stable order with stable names, shards that partition them, a
//! rerun that skips the points done, a summary best first that refuses missing points, and bad grids
//! and shards as one line with exit code 2. Four points of a Gadget 2 with 20 steps each.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// 40 rows at K = 3 where q is p shifted up by one outcome (as in file_training.rs).
fn write_pairs(dir: &Path) {
    let lines: Vec<String> = (0..40)
        .map(|i| {
            let s = -1.0 + 2.0 * f64::from(i) / 40.0;
            format!(r#"{{"p_logits": [0.0, {s}, -6.0], "q_logits": [-6.0, 0.0, {s}]}}"#)
        })
        .collect();
    std::fs::write(dir.join("pairs.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// A grid over `vary` (JSON object text) around a tiny Gadget 2 on `pairs.jsonl` (relative, so the
/// names do not depend on the temporary folder), written to DIR/`file`.
fn write_grid(dir: &Path, file: &str, vary: &str) {
    let text = format!(
        r#"{{"base": {{
              "gadget": {{"kind": "gadget-2", "outcomes": 3, "hidden": [8], "latent": 4}},
              "pairs": {{"type": "file", "path": "pairs.jsonl",
                         "split": {{"held_out": 0.25, "seed": 5}}}},
              "cost": {{"type": "squared-reward", "h": [0, 1, 2]}},
              "training": {{"steps": 20, "batch": 16, "inner_samples": 4,
                            "learning_rate": 0.01, "seed": 1}},
              "device": "cpu", "threads": 1}},
            "vary": {vary},
            "evaluate": {{"methods": ["inverse-cdf"]}}}}"#
    );
    std::fs::write(dir.join(file), text).unwrap();
}

const VARY: &str = r#"{"training.seed": [1, 2], "gadget.hidden": [[8], [16]]}"#;

/// A folder with the pair file and `grid.json` over [`VARY`].
fn sweep_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_pairs(dir.path());
    write_grid(dir.path(), "grid.json", VARY);
    dir
}

/// Runs `gumbel-gadgets sweep ARGS` in `dir` with `env` set (and no job array of the caller's).
fn sweep_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gumbel-gadgets"));
    command.current_dir(dir).arg("sweep").args(args);
    for name in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().unwrap()
}

/// The JSON of a successful `sweep ARGS` in `dir`.
fn sweep(dir: &Path, args: &[&str]) -> Value {
    let out = sweep_env(dir, args, &[]);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Exit code 2, nothing on stdout, one line on stderr containing `needle`.
fn assert_refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "printed to stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// The names of the plan, in order.
fn plan_names(dir: &Path, grid: &str) -> Vec<String> {
    let plan = sweep(dir, &["--grid", grid, "--out", "out", "--plan"]);
    plan["plan"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().into()).collect()
}

#[test]
fn the_points_are_the_cartesian_product_in_key_order_with_stable_names() {
    let dir = sweep_dir();
    let plan = sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--plan"]);
    let values: Vec<String> =
        plan["plan"].as_array().unwrap().iter().map(|p| p["values"].to_string()).collect();
    assert_eq!(
        values,
        [
            r#"{"gadget.hidden":[8],"training.seed":1}"#,
            r#"{"gadget.hidden":[16],"training.seed":1}"#,
            r#"{"gadget.hidden":[8],"training.seed":2}"#,
            r#"{"gadget.hidden":[16],"training.seed":2}"#,
        ]
    );
    // The names hash the configuration: fixed values, so a grid means the same folders everywhere.
    let names = plan_names(dir.path(), "grid.json");
    assert_eq!(
        names,
        ["b3d3db76d131099f", "2dc9480e5edc8a42", "9f19bb810e5cbbc6", "5b840b735383323b"]
    );
    // The keys in the other order: the other order of the same points, the same names.
    write_grid(
        dir.path(),
        "swapped.json",
        r#"{"gadget.hidden": [[8], [16]], "training.seed": [1, 2]}"#,
    );
    let swapped = plan_names(dir.path(), "swapped.json");
    assert_eq!(swapped, [&*names[0], &names[2], &names[1], &names[3]]);
}

#[test]
fn shards_partition_the_points_and_a_repeated_shard_finds_its_points_done() {
    let dir = sweep_dir();
    let all = plan_names(dir.path(), "grid.json");
    let (mut plans, mut widths) = (Vec::new(), Vec::new());
    for shard in ["0/2", "1/2"] {
        let args = ["--grid", "grid.json", "--out", "out", "--plan", "--shard", shard];
        let plan = sweep(dir.path(), &args)["plan"].as_array().unwrap().clone();
        plans.push(plan.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>());
        let mut hidden: Vec<String> =
            plan.iter().map(|p| p["values"]["gadget.hidden"].to_string()).collect();
        hidden.sort();
        widths.push(hidden);
    }
    // Balanced by cost, not count: each shard has one point of each hidden width.
    assert_eq!(widths, [["[16]", "[8]"], ["[16]", "[8]"]], "{plans:?}");
    let first = sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--shard", "0/2"]);
    let auto = sweep_env(
        dir.path(),
        &["--grid", "grid.json", "--out", "out", "--shard", "auto"],
        &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")],
    );
    assert!(auto.status.success(), "{}", String::from_utf8_lossy(&auto.stderr));
    let second: Value = serde_json::from_slice(&auto.stdout).unwrap();
    assert_eq!(second["shard"], "1/2");
    let (a, b) = (strings(&first["trained"]), strings(&second["trained"]));
    assert_eq!((&a, &b), (&plans[0], &plans[1]), "each shard trains the points of its plan");
    let mut union: Vec<String> = a.iter().chain(&b).cloned().collect();
    union.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(union, expected, "the shards' points are disjoint and cover the grid");
    // Shard 0 again: its points are done, nothing is trained twice.
    let again = sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--shard", "0/2"]);
    assert_eq!(strings(&again["trained"]), Vec::<String>::new());
    assert_eq!(strings(&again["already_done"]), a);
}

#[test]
fn a_rerun_resumes_with_the_points_not_done() {
    let dir = sweep_dir();
    let all = plan_names(dir.path(), "grid.json");
    let first = sweep(dir.path(), &["--grid", "grid.json", "--out", "out"]);
    assert_eq!(strings(&first["trained"]), all);
    // A run killed in point 2: its result never renamed into place, a partial file left behind.
    let folder = dir.path().join("out/points").join(&all[2]);
    std::fs::remove_file(folder.join("result.json")).unwrap();
    std::fs::write(folder.join("result.json.partial-1"), "{\"trunc").unwrap();
    let untouched = std::fs::read(dir.path().join("out/points").join(&all[0]).join("result.json"));
    let rerun = sweep(dir.path(), &["--grid", "grid.json", "--out", "out"]);
    assert_eq!(strings(&rerun["trained"]), [all[2].clone()]);
    assert_eq!(strings(&rerun["already_done"]).len(), 3);
    let after = std::fs::read(dir.path().join("out/points").join(&all[0]).join("result.json"));
    assert_eq!(untouched.unwrap(), after.unwrap());
    assert!(folder.join("model.safetensors").exists() && folder.join("config.json").exists());
}

#[test]
fn the_summary_is_best_first_and_refuses_while_points_are_missing() {
    let dir = sweep_dir();
    let all = plan_names(dir.path(), "grid.json");
    sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--shard", "0/2"]);
    let missing = sweep_env(dir.path(), &["--grid", "grid.json", "--out", "out", "--summary"], &[]);
    assert_refused(&missing, "2 of 4 points are not done");
    sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--shard", "1/2"]);

    let table = sweep(dir.path(), &["--grid", "grid.json", "--out", "out", "--summary"]);
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let mut names: Vec<String> = rows.iter().map(|r| r["name"].as_str().unwrap().into()).collect();
    names.sort();
    let mut expected = all;
    expected.sort();
    assert_eq!(names, expected);
    let costs: Vec<f64> = rows
        .iter()
        .map(|r| r["gadget_numbers"]["expected_cost"]["mean"].as_f64().unwrap())
        .collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "not best first: {costs:?}");
    for row in rows {
        assert!(row["gumbel_max"]["expected_cost"]["mean"].as_f64().unwrap() > 0.0);
        assert!(row["gadget"].as_str().unwrap().starts_with("gadget-2"));
    }
    let by_variance = sweep(
        dir.path(),
        &["--grid", "grid.json", "--out", "out", "--summary", "--by", "variance"],
    );
    let variances: Vec<f64> = by_variance["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gadget_numbers"]["variance"]["mean"].as_f64().unwrap())
        .collect();
    assert!(variances.windows(2).all(|w| w[0] <= w[1]), "not best first: {variances:?}");

    let out = sweep_env(
        dir.path(),
        &["--grid", "grid.json", "--out", "out", "--summary", "--markdown"],
        &[],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text
        .lines()
        .nth(2)
        .unwrap()
        .starts_with(&format!("| 1 | {} |", rows[0]["name"].as_str().unwrap())));
}

#[test]
fn bad_grids_and_shards_are_one_line_with_exit_code_2_and_lose_nothing() {
    let dir = sweep_dir();
    let path = dir.path();
    let refused = |args: &[&str], needle: &str| assert_refused(&sweep_env(path, args, &[]), needle);
    let bad = |vary: &str, needle: &str| {
        write_grid(path, "bad.json", vary);
        refused(&["--grid", "bad.json", "--out", "out"], needle);
    };
    // One point done before the bad calls, which must leave it in place.
    write_grid(path, "one.json", r#"{"training.seed": [7]}"#);
    sweep(path, &["--grid", "one.json", "--out", "out"]);
    let done = plan_names(path, "one.json");
    let result = path.join("out/points").join(&done[0]).join("result.json");
    let before = std::fs::read(&result).unwrap();

    bad(r#"{"gadget.colour": ["red"]}"#, "unknown field `colour`");
    bad(r#"{"gadgets.kind": ["gadget-1"]}"#, "unknown key 'gadgets.kind'");
    bad(r#"{"training.seed": []}"#, "the list of 'training.seed' is empty");
    bad(r#"{"training.seed": 3}"#, "'training.seed' must be a list");
    bad(r#"{"training.seed": [1, 2, 1]}"#, "points 0 (training.seed=1) and 2 (training.seed=1)");
    std::fs::write(path.join("extra.json"), r#"{"base": {}, "varies": {}}"#).unwrap();
    refused(&["--grid", "extra.json", "--out", "out"], "unknown field `varies`");
    let generated = r#"{"base": {"gadget": {"kind": "gadget-2", "outcomes": 3},
        "pairs": {"type": "softmax-uniform", "outcomes": 3, "mode": "independent"},
        "cost": {"type": "mismatch"}, "training": {"steps": 5}}}"#;
    std::fs::write(path.join("generated.json"), generated).unwrap();
    refused(&["--grid", "generated.json", "--out", "out"], "needs \"pairs\"");
    for shard in ["2/2", "x", "0/0", "1/2/3"] {
        refused(&["--grid", "grid.json", "--out", "out", "--shard", shard], shard);
    }
    refused(&["--grid", "grid.json", "--out", "out", "--shard", "auto"], "no job array");
    assert_eq!(std::fs::read(&result).unwrap(), before);
}

/// A point trained with the cost `pair-reward` on a file with a reward column is evaluated on each
/// held-out row's own reward: lp-optimal solves each row's LP and the variances exist.
#[test]
fn a_pair_reward_point_is_evaluated_on_the_reward_column() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..40)
        .map(|i| {
            let s = -1.0 + 2.0 * f64::from(i) / 40.0;
            let r = i % 3;
            format!(
                r#"{{"p_logits": [0.0, {s}, -6.0], "q_logits": [-6.0, 0.0, {s}], "reward": [0, 1, {r}]}}"#
            )
        })
        .collect();
    std::fs::write(dir.path().join("rewarded.jsonl"), lines.join("\n") + "\n").unwrap();
    let grid = r#"{"base": {
          "gadget": {"kind": "gadget-2", "outcomes": 3, "hidden": [8], "latent": 4},
          "pairs": {"type": "file", "path": "rewarded.jsonl", "split": {"held_out": 0.25, "seed": 5}},
          "cost": {"type": "pair-reward"},
          "training": {"steps": 5, "batch": 8, "inner_samples": 4, "learning_rate": 0.01, "seed": 1},
          "device": "cpu", "threads": 1},
        "vary": {"training.seed": [1]},
        "evaluate": {"methods": ["lp-optimal"]}}"#;
    std::fs::write(dir.path().join("grid.json"), grid).unwrap();
    sweep(dir.path(), &["--grid", "grid.json", "--out", "out"]);
    let name = &plan_names(dir.path(), "grid.json")[0];
    let result = dir.path().join("out").join("points").join(name).join("result.json");
    let result: Value = serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    let methods = &result["evaluate"]["methods"];
    for method in ["gumbel-max", "lp-optimal", "gadget-2 (model.safetensors)"] {
        assert!(methods[method]["variance"]["mean"].is_f64(), "{method}: {methods}");
    }
    let cost = |m: &str| methods[m]["expected_cost"]["mean"].as_f64().unwrap();
    assert!(cost("lp-optimal") <= cost("gumbel-max") + 1e-12);
}
