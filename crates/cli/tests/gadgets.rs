//! `train` and the gadget methods of `couple` and `counterfactual`: a tiny gadget of each kind is
//! trained to a temporary directory and used through the JSON contract.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{assert_bad_input, json};

use std::path::Path;

use serde_json::Value;

/// Trains a tiny gadget of `kind` and returns its checkpoint path.
fn trained(dir: &Path, kind: &str) -> String {
    let config = dir.join(format!("{kind}.json"));
    let text = format!(
        r#"{{"gadget": {{"kind": "{kind}", "outcomes": 3, "hidden": [8], "latent": 4}},
            "pairs": {{"type": "fixed", "p": [0.0, 1.0, "-inf"], "q": [1.0, 0.0, 0.5], "noise": 0.0}},
            "cost": {{"type": "mismatch"}},
            "training": {{"steps": 3, "batch": 4, "inner_samples": 2, "seed": 1, "progress": false}},
            "device": "cpu"}}"#
    );
    std::fs::write(&config, text).unwrap();
    let out = dir.join(format!("{kind}.ckpt"));
    let v = json(&["train", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(v["method"], kind);
    assert_eq!(v["steps"], 3);
    out.to_str().unwrap().to_owned()
}

#[test]
fn trained_gadgets_couple_and_answer_counterfactuals() {
    let dir = tempfile::tempdir().unwrap();
    let g1 = trained(dir.path(), "gadget-1");
    let g2 = trained(dir.path(), "gadget-2");
    let pq = ["--p", "[0.5, 0.3, 0.2]", "--q", "[0.2, 0.2, 0.6]"];

    let v = json(&[&["couple", "--method", "gadget-2", "--checkpoint", &g2][..], &pq].concat());
    assert_eq!(v["exact"], true);
    let joint: Vec<Vec<f64>> = serde_json::from_value(v["joint"].clone()).unwrap();
    for (i, p) in [0.5, 0.3, 0.2].iter().enumerate() {
        assert!(
            (joint[i].iter().sum::<f64>() - p).abs() < 1e-9,
            "row {i} of the exact Gadget 2 joint"
        );
    }
    let v = json(
        &[&["couple", "--method", "gadget-1", "--checkpoint", &g1, "--samples", "20000"][..], &pq]
            .concat(),
    );
    assert_eq!(
        (v["exact"].clone(), v["samples"].clone()),
        (Value::Bool(false), Value::from(20000))
    );

    let v = json(
        &[
            &[
                "counterfactual",
                "--method",
                "gadget-2",
                "--checkpoint",
                &g2,
                "--observed",
                "1",
                "--samples",
                "1000",
            ][..],
            &pq,
        ]
        .concat(),
    );
    assert_eq!(v["exact"], true);
    assert!(v["sampled"].is_array());
    let v = json(
        &[
            &["counterfactual", "--method", "gadget-1", "--checkpoint", &g1, "--observed", "1"][..],
            &pq,
        ]
        .concat(),
    );
    assert_eq!(v["exact"], false);
    assert!(v["samples"].as_u64().unwrap() > 0);
    let v = json(&[
        "counterfactual",
        "--method",
        "gumbel-max",
        "--observed",
        "0",
        "--p",
        "[0.5, 0.5]",
        "--q",
        "[0.5, 0.5]",
    ]);
    assert_eq!(v["exact"], true);

    assert_bad_input(
        &[&["couple", "--method", "gadget-1", "--checkpoint", &g2][..], &pq].concat(),
        "not a gadget-1",
    );
    assert_bad_input(&[&["couple", "--method", "gadget-2"][..], &pq].concat(), "--checkpoint");
    assert_bad_input(
        &[&["couple", "--method", "gadget-2", "--checkpoint", &g2, "--device", "gpu"][..], &pq]
            .concat(),
        "unknown device",
    );
    assert_bad_input(
        &[
            "couple",
            "--method",
            "gadget-2",
            "--checkpoint",
            &g2,
            "--p",
            "[0.5, 0.5]",
            "--q",
            "[0.5, 0.5]",
        ],
        "outcomes",
    );
    assert_bad_input(
        &[
            "couple",
            "--method",
            "gadget-2",
            "--checkpoint",
            &g2,
            "--p",
            "[0.5, 0.5, 0]",
            "--q",
            "[0.5, 0.5, 0]",
            "--samples",
            "0",
        ],
        "--samples",
    );
    let missing = dir.path().join("missing.ckpt");
    assert_bad_input(
        &[&["couple", "--method", "gadget-2", "--checkpoint", missing.to_str().unwrap()][..], &pq]
            .concat(),
        "missing.ckpt",
    );
    assert_bad_input(
        &["train", "--config", missing.to_str().unwrap(), "--out", "x"],
        "missing.ckpt",
    );
}

/// A configuration shipped in `examples/configs/` (the README's commands use them).
fn shipped_config(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs").join(name);
    root.to_str().unwrap().to_owned()
}

#[test]
fn the_shipped_configurations_train_and_their_gadgets_answer() {
    let dir = tempfile::tempdir().unwrap();
    let pq = ["--p", "[0.5, 0.2, 0.3]", "--q", "[0.1, 0.3, 0.6]"];
    for (config, kind) in [("gadget2.json", "gadget-2"), ("gadget1.json", "gadget-1")] {
        let out = dir.path().join(format!("{kind}.ckpt"));
        let out = out.to_str().unwrap();
        let v = json(&["train", "--config", &shipped_config(config), "--out", out]);
        assert_eq!(v["method"], kind);
        assert!(v["final_loss"].as_f64().unwrap().is_finite());
        let v = json(&[&["couple", "--method", kind, "--checkpoint", out][..], &pq].concat());
        let joint: Vec<Vec<f64>> = serde_json::from_value(v["joint"].clone()).unwrap();
        assert_eq!(joint.len(), 3);
        assert_eq!(v["exact"], kind == "gadget-2");
        let v = json(
            &[
                &["counterfactual", "--method", kind, "--checkpoint", out, "--observed", "0"][..],
                &pq,
            ]
            .concat(),
        );
        let distribution: Vec<f64> = serde_json::from_value(v["distribution"].clone()).unwrap();
        assert!((distribution.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{kind}: {distribution:?}");
    }
}

#[test]
fn a_missing_configuration_or_checkpoint_is_named_once_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gadget2.json");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["train", "--config", missing, "--out", "x.ckpt"],
        vec!["couple", "--method", "gadget-2", "--checkpoint", missing, "--p", "[1]", "--q", "[1]"],
    ] {
        let out = common::run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("gadget2.json").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{args:?}: {err}");
    }
}
