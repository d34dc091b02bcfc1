//! `evaluate` on a file of pairs: the JSON contract, agreement with `couple` pair by pair, the
//! seeded held-out split, markdown, and bad input as one line with exit code 2.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{assert_bad_input, json, run};
use serde_json::Value;

const REWARD: &str = "[0, 1, 3]";

/// A JSON-lines file of `rows` pairs at K = 3 (logits, probabilities, an impossible outcome).
fn pairs_file(dir: &tempfile::TempDir, rows: usize) -> String {
    let lines: Vec<String> = (0..rows)
        .map(|i| {
            let s = i as f64 / rows as f64;
            match i % 3 {
                0 => format!(r#"{{"p_logits": [{s}, 0.5, -1.0], "q_logits": [0.2, {s}, 0.1], "observed": 1}}"#),
                1 => format!(r#"{{"p": [0.5, 0.3, 0.2], "q": [{}, 0.4, {}]}}"#, 0.3 * s, 0.6 - 0.3 * s + 0.0),
                _ => r#"{"p_logits": [0.0, "-inf", 1.0], "q_logits": [1.0, 0.0, -2.0], "observed": 2}"#.to_owned(),
            }
        })
        .collect();
    let path = dir.path().join("pairs.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

#[test]
fn evaluate_matches_couple_pair_by_pair() {
    let dir = tempfile::tempdir().unwrap();
    let path = pairs_file(&dir, 3);
    let out = json(&["evaluate", "--pairs", &path, "--reward", REWARD]);
    assert_eq!(out["pairs"], 3);
    assert_eq!(out["rows"], "all");
    let methods = out["methods"].as_object().unwrap();
    assert_eq!(methods.len(), 6);
    let text = std::fs::read_to_string(&path).unwrap();
    for (name, m) in methods {
        assert_eq!(m["exact"], true, "{name}");
        for key in ["expected_cost", "variance", "p_x_ne_y"] {
            assert!(m[key]["mean"].is_f64() && m[key]["se"].is_f64(), "{name} {key}");
        }
        // The mean over rows of what `couple` says of each row.
        let mut total = 0.0;
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            let mut args = vec!["couple".to_owned(), "--method".into(), name.clone()];
            for side in ["p", "q"] {
                for key in [side.to_owned(), format!("{side}_logits")] {
                    if let Some(v) = row.get(&key) {
                        args.push(format!("--{}", key.replace('_', "-")));
                        args.push(v.to_string());
                    }
                }
            }
            args.extend(["--reward".into(), REWARD.into()]);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            total += json(&refs)["expected_cost"].as_f64().unwrap();
        }
        let mean = m["expected_cost"]["mean"].as_f64().unwrap();
        assert!((mean - total / 3.0).abs() < 1e-12, "{name}: {mean} vs {}", total / 3.0);
    }
    // Two of the three rows carry an observation.
    assert!(out["counterfactual"]["gumbel-max"]["variance"]["mean"].is_f64());
}

#[test]
fn the_held_out_split_is_reproducible_from_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let path = pairs_file(&dir, 300);
    let held = |seed: &str| {
        json(&[
            "evaluate",
            "--pairs",
            &path,
            "--reward",
            REWARD,
            "--methods",
            "gumbel-max",
            "--rows",
            "held-out",
            "--held-out",
            "0.25",
            "--split-seed",
            seed,
        ])
    };
    let (mut a, mut b, c) = (held("7"), held("7"), held("8"));
    // Everything but the timing.
    a["methods"]["gumbel-max"]["seconds"] = Value::Null;
    b["methods"]["gumbel-max"]["seconds"] = Value::Null;
    assert_eq!(a, b);
    let n = a["pairs"].as_u64().unwrap();
    // Binomial(300, 1/4): mean 75, sd 7.5.
    assert!((75 - 38..=75 + 38).contains(&n), "{n} held out");
    let cost = |v: &Value| v["methods"]["gumbel-max"]["expected_cost"]["mean"].as_f64().unwrap();
    assert_ne!(cost(&a), cost(&c));
    let out = run(&["evaluate", "--pairs", &path, "--reward", REWARD, "--markdown"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("300 pairs (all)"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 7);
}

#[test]
fn bad_pair_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cases = [
        ("ragged.jsonl", "{\"p\": [0.5, 0.5], \"q\": [0.2, 0.3, 0.5]}\n", "row 1"),
        ("k.jsonl", "{\"p\": [0.5, 0.5], \"q\": [0.2, 0.8]}\n{\"p\": [0.5, 0.25, 0.25], \"q\": [0.2, 0.3, 0.5]}\n", "row 2"),
        ("negative.jsonl", "{\"p\": [1.5, -0.5], \"q\": [0.2, 0.8]}\n", "row 1"),
        ("unnormalised.jsonl", "{\"p\": [0.5, 0.6], \"q\": [0.2, 0.8]}\n", "sum"),
        ("impossible.jsonl", "{\"p_logits\": [\"-inf\", \"-inf\"], \"q\": [0.2, 0.8]}\n", "row 1"),
        ("observed.jsonl", "{\"p\": [1.0, 0.0], \"q\": [0.2, 0.8], \"observed\": 1}\n", "observed"),
        ("empty.jsonl", "", "no pairs"),
        ("json.jsonl", "{\"p\": [0.5, 0.5], \"q\": \n", "row 1"),
    ];
    for (name, text, needle) in cases {
        let path = write(name, text);
        assert_bad_input(&["evaluate", "--pairs", &path, "--reward", "[0, 1]"], needle);
        assert_bad_input(&["evaluate", "--pairs", &path, "--reward", "[0, 1]"], name);
    }
    let good = write("good.jsonl", "{\"p\": [0.5, 0.5], \"q\": [0.2, 0.8]}\n");
    assert_bad_input(&["evaluate", "--pairs", &good, "--reward", "[0, 1, 2]"], "outcomes");
    assert_bad_input(
        &[
            "evaluate",
            "--pairs",
            &good,
            "--reward",
            "[0, 1]",
            "--rows",
            "held-out",
            "--held-out",
            "1.5",
        ],
        "(0, 1)",
    );
}

/// A reward column: row r's cost is (h^r_i - h^r_j)^2 and its variances use h^r, as `couple
/// --reward h^r` says of the row alone; lp-optimal minimises each row's own cost.
#[test]
fn a_reward_column_gives_each_row_its_own_cost() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        (r#"[0.5, 0.3, 0.2]"#, r#"[0.2, 0.3, 0.5]"#, "[0, 1, 3]"),
        (r#"[0.1, 0.6, 0.3]"#, r#"[0.4, 0.4, 0.2]"#, "[5, -2, 0.5]"),
    ];
    let text: String = rows
        .iter()
        .map(|(p, q, h)| format!("{{\"p\": {p}, \"q\": {q}, \"reward\": {h}, \"observed\": 1}}\n"))
        .collect();
    let path = dir.path().join("rewards.jsonl");
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    let out = json(&["evaluate", "--pairs", &path, "--methods", "gumbel-max,lp-optimal"]);
    for name in ["gumbel-max", "lp-optimal"] {
        for key in ["expected_cost", "variance"] {
            let per_row: Vec<f64> = rows
                .iter()
                .map(|(p, q, h)| {
                    json(&["couple", "--method", name, "--p", p, "--q", q, "--reward", h])[key]
                        .as_f64()
                        .unwrap()
                })
                .collect();
            let mean = out["methods"][name][key]["mean"].as_f64().unwrap();
            let expected = (per_row[0] + per_row[1]) / 2.0;
            assert!((mean - expected).abs() < 1e-12, "{name} {key}: {mean} vs {expected}");
        }
        assert!(out["counterfactual"][name]["variance"]["mean"].is_f64());
    }
    assert_bad_input(&["evaluate", "--pairs", &path, "--reward", "[0, 1, 2]"], "own reward");
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, "{\"p\": [0.5, 0.5], \"q\": [0.2, 0.8], \"reward\": [1, 2, 3]}\n")
        .unwrap();
    let short = short.display().to_string();
    assert_bad_input(&["evaluate", "--pairs", &short], "short.jsonl: row 1 invalid: reward has 3");
    let none = dir.path().join("none.jsonl");
    std::fs::write(&none, "{\"p\": [0.5, 0.5], \"q\": [0.2, 0.8]}\n").unwrap();
    assert_bad_input(
        &["evaluate", "--pairs", &none.display().to_string()],
        "evaluate needs --cost or --reward",
    );
}
