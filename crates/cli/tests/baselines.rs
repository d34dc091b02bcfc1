//! The baseline methods through the CLI: the same JSON contract as gumbel-max, and typed errors.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{assert_bad_input, json};

use serde_json::Value;

fn joint(v: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v["joint"].clone()).unwrap()
}

const P: &str = "[0.5, 0.3, 0.2]";
const Q: &str = "[0.2, 0.3, 0.5]";

#[test]
fn every_method_gives_an_exact_joint_with_the_marginals() {
    for method in ["independent", "inverse-cdf", "permuted-inverse-cdf", "maximal", "lp-optimal"] {
        let v = json(&["couple", "--method", method, "--p", P, "--q", Q, "--reward", "[0, 1, 3]"]);
        assert_eq!(v["method"], method);
        assert_eq!(v["exact"], true);
        let j = joint(&v);
        for (i, (pi, qi)) in [0.5, 0.3, 0.2].iter().zip([0.2, 0.3, 0.5]).enumerate() {
            assert!((j[i].iter().sum::<f64>() - pi).abs() < 1e-12, "{method}");
            assert!((j.iter().map(|r| r[i]).sum::<f64>() - qi).abs() < 1e-12, "{method}");
        }
        assert!(v["expected_cost"].is_f64() && v["variance"].is_f64() && v["p_x_ne_y"].is_f64());
    }
    // Hand-solved: maximal P(x != y) = TV = 0.3; for (h_i - h_j)^2 with increasing h the LP optimum is
    // the index-order inverse-CDF coupling (comonotone).
    let maximal = json(&["couple", "--method", "maximal", "--p", P, "--q", Q]);
    assert!((maximal["p_x_ne_y"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    let lp =
        json(&["couple", "--method", "lp-optimal", "--p", P, "--q", Q, "--reward", "[0, 1, 3]"]);
    let icdf =
        json(&["couple", "--method", "inverse-cdf", "--p", P, "--q", Q, "--reward", "[0, 1, 3]"]);
    assert!(
        (lp["expected_cost"].as_f64().unwrap() - icdf["expected_cost"].as_f64().unwrap()).abs()
            < 1e-12
    );
    // The authors' permutation of 3 outcomes (jax PRNGKey(1)) is (1, 0, 2), the same as --order.
    let permuted = json(&["couple", "--method", "permuted-inverse-cdf", "--p", P, "--q", Q]);
    let ordered =
        json(&["couple", "--method", "inverse-cdf", "--order", "[1, 0, 2]", "--p", P, "--q", Q]);
    assert_eq!(permuted["joint"], ordered["joint"]);
}

#[test]
fn sampled_joints_and_counterfactuals() {
    let v = json(&[
        "couple",
        "--method",
        "maximal",
        "--p",
        P,
        "--q",
        Q,
        "--samples",
        "20000",
        "--seed",
        "3",
    ]);
    assert_eq!(v["exact"], false);
    assert_eq!(v["samples"], 20000);
    let cf = json(&[
        "counterfactual",
        "--method",
        "inverse-cdf",
        "--p",
        P,
        "--q",
        Q,
        "--observed",
        "0",
        "--samples",
        "1000",
    ]);
    // x = 0 is u in [0, 0.5): y = 0 on [0, 0.2), y = 1 on [0.2, 0.5).
    let dist: Vec<f64> = serde_json::from_value(cf["distribution"].clone()).unwrap();
    assert!((dist[0] - 0.4).abs() < 1e-12 && (dist[1] - 0.6).abs() < 1e-12 && dist[2] == 0.0);
    assert_eq!(cf["sampled"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_inputs_are_one_line_errors() {
    assert_bad_input(&["couple", "--method", "lp-optimal", "--p", P, "--q", Q], "needs a cost");
    assert_bad_input(
        &["couple", "--method", "maximal", "--order", "[0, 1, 2]", "--p", P, "--q", Q],
        "--order is for",
    );
    assert_bad_input(
        &["couple", "--method", "inverse-cdf", "--order", "[0, 0, 1]", "--p", P, "--q", Q],
        "not a permutation",
    );
    assert_bad_input(
        &["couple", "--method", "inverse-cdf", "--order", "[0, 1]", "--p", P, "--q", Q],
        "outcome order",
    );
    assert_bad_input(
        &["couple", "--method", "lp-optimal", "--p", P, "--q", Q, "--cost", "[[0, 1], [1, 0]]"],
        "cost matrix",
    );
    assert_bad_input(
        &["couple", "--method", "maximal", "--p", P, "--q", "[0.5, 0.5]"],
        "expected length 3",
    );
    assert_bad_input(
        &["counterfactual", "--method", "maximal", "--p", P, "--q", Q, "--observed", "0"],
        "mechanisms",
    );
    assert_bad_input(
        &["counterfactual", "--method", "inverse-cdf", "--p", P, "--q", Q, "--observed", "3"],
        "out of range",
    );
}
