//! The exact Gumbel-max joint and counterfactual rows over the whole floating-point range: logit
//! spreads of 300 to 1e8, probabilities down to the smallest subnormal and below (which round to
//! zero), impossible outcomes among them.
//!
//! Tolerances follow from rounding. Every quantity of the sweep is a sum of at most K + 2 positive
//! terms, each a product or quotient of a few correctly rounded operations, so an entry carries a
//! relative error of at most ~(K + 8) eps from the arithmetic; a ratio exp(a_k - a_i) of
//! log-probabilities differing by |d| <= 745 (beyond, it is 0 or inf and is handled as such) adds
//! |d| eps. An entry, a row sum and the renormalisation by the total add their errors, hence
//! |sum_j pi(i, j) - p_i| <= 4 (K + 8 + 745) eps p_i, plus (K + 2)^2 2^-1022 absolute for pieces that
//! fall below f64's normal range and round to zero or to a subnormal.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

use gumbel_core::exact::{counterfactual_distribution, gumbel_max_coupling};
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;
use rand::Rng;
use rand_distr::StandardNormal;

/// Logit scales of the random cases: ordinary, then beyond exp's range (709) by far.
const SCALES: [f64; 6] = [1.0, 300.0, 1_000.0, 1e4, 1e6, 1e8];

/// Random (p, q) logit pairs at every scale and several K, plus hand-made subnormal cases.
fn cases() -> Vec<(String, Vec<f64>, Vec<f64>)> {
    let mut rng = from_seed(33);
    let mut out = Vec::new();
    for scale in SCALES {
        for k in [2, 3, 5, 10, 40] {
            for trial in 0..4 {
                let mut draw = || -> Vec<f64> {
                    (0..k).map(|_| scale * rng.sample::<f64, _>(StandardNormal)).collect()
                };
                out.push((format!("scale {scale} k {k} trial {trial}"), draw(), draw()));
            }
        }
    }
    let ninf = f64::NEG_INFINITY;
    // e^-744 is subnormal (~1.4e-323); e^-745.2 rounds to zero yet is a possible outcome.
    out.push((
        "subnormal".to_owned(),
        vec![0.0, -744.0, -745.2, -1e4, -3.0],
        vec![-745.2, 0.0, -744.0, -2.0, -1e4],
    ));
    out.push((
        "subnormal with zeros".to_owned(),
        vec![0.0, ninf, -745.2, -700.0, -1e5, ninf],
        vec![ninf, -1e5, 0.0, -744.0, -2.0, -745.0],
    ));
    out
}

fn categorical(logits: &[f64]) -> Categorical {
    Categorical::from_logits(logits).unwrap()
}

/// The bound of the module docs on |sum - target| for a marginal entry `target` of a K-outcome joint.
fn marginal_tolerance(k: usize, target: f64) -> f64 {
    let relative = 4.0 * (k as f64 + 8.0 + 745.0) * f64::EPSILON;
    relative * target + ((k + 2) * (k + 2)) as f64 * f64::MIN_POSITIVE
}

#[test]
fn joint_marginals_are_p_and_q_at_every_scale() {
    let mut worst = 0.0_f64;
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let joint = gumbel_max_coupling(&p, &q).unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = p.len();
        for (side, marginal, target) in
            [("row", joint.x_marginal(), p.probs()), ("column", joint.y_marginal(), q.probs())]
        {
            for (i, (found, expected)) in marginal.iter().zip(&target).enumerate() {
                let error = (found - expected).abs();
                if *expected > 1e-290 {
                    worst = worst.max(error / expected);
                }
                assert!(
                    error <= marginal_tolerance(k, *expected),
                    "{name}: {side} {i} sums to {found:e}, not {expected:e}"
                );
            }
        }
    }
    eprintln!("worst relative marginal error {worst:e}");
}

#[test]
fn counterfactual_rows_are_distributions_consistent_with_the_joint() {
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let joint = gumbel_max_coupling(&p, &q).unwrap();
        let k = p.len();
        let (la, lb) = (p.log_probs(), q.log_probs());
        let mut mixture = vec![0.0; k];
        for observed in (0..k).filter(|&x| p.is_possible(x)) {
            let row = counterfactual_distribution(&p, &q, observed)
                .unwrap_or_else(|e| panic!("{name} x = {observed}: {e}"));
            let total: f64 = row.iter().sum();
            assert!(
                (total - 1.0).abs() <= 4.0 * k as f64 * f64::EPSILON,
                "{name}: sums to {total}"
            );
            for (y, &v) in row.iter().enumerate() {
                assert!(v.is_finite() && v >= 0.0, "{name} [{observed}, {y}] = {v}");
                // Counterfactual stability (Oberst & Sontag, Definition 2) forbids these outcomes.
                if y != observed && lb[y] - lb[observed] <= la[y] - la[observed] {
                    assert_eq!(v, 0.0, "{name} [{observed}, {y}]");
                }
            }
            // p(x) P(y | x) = pi(x, y), relative to p(x) where the joint's row is in f64's normal
            // range (the tolerance of one row sum, doubled: the row and the joint's rounding).
            let p_x = p.prob(observed);
            if p_x >= 1e-250 {
                for (y, &v) in row.iter().enumerate() {
                    let entry = joint.joint()[[observed, y]];
                    assert!(
                        (p_x * v - entry).abs() <= 2.0 * marginal_tolerance(k, p_x),
                        "{name} [{observed}, {y}]: {} vs {entry}",
                        p_x * v
                    );
                }
            }
            mixture.iter_mut().zip(&row).for_each(|(m, v)| *m += p_x * v);
        }
        // sum_x p(x) P(y | x) = q(y).
        for (y, (found, expected)) in mixture.iter().zip(q.probs()).enumerate() {
            assert!(
                (found - expected).abs() <= 2.0 * marginal_tolerance(k, expected),
                "{name}: mixture at {y} {found:e} vs {expected:e}"
            );
        }
    }
}

/// Bernstein's 5-sigma bound on |count - n pi| (tests/properties.rs).
fn count_tolerance(n: u64, pi: f64) -> f64 {
    5.0 * (n as f64 * pi * (1.0 - pi)).sqrt() + 25.0 / 3.0
}

#[test]
fn improbable_observations_agree_with_posterior_sampling() {
    // Observations of probability e^-900 to e^-5000, whose joint row has rounded to zero: the exact
    // row (computed in logarithms) against counterfactual draws from the top-down posterior, which
    // works in logarithms too but by a different route.
    let cases: [(&[f64], &[f64], usize); 3] = [
        (&[0.0, -900.0, -901.0, -899.5], &[-2.0, -900.5, 0.0, -898.0], 1),
        (&[0.0, -3.0, -5000.0, -4999.0], &[-4998.0, -1.0, -5000.5, 0.0], 2),
        (&[-1.0, -1200.0, 0.0, -1199.0, -1201.0], &[-1.0, -1199.5, -1200.5, 0.0, -1198.0], 4),
    ];
    for (index, (a, b, observed)) in cases.into_iter().enumerate() {
        let mechanism = GumbelMax::new(categorical(a), categorical(b)).unwrap();
        assert_eq!(mechanism.p().prob(observed), 0.0, "case {index} is not improbable enough");
        let exact = mechanism.exact_counterfactual(observed).unwrap();
        let n = 200_000;
        let sampled = mechanism.counterfactual_histogram(observed, n, 40 + index as u64).unwrap();
        assert!(exact.iter().filter(|&&v| v > 0.01).count() >= 2, "case {index}: degenerate");
        for (y, (&s, &e)) in sampled.iter().zip(&exact).enumerate() {
            assert!(
                (s - e).abs() * n as f64 <= count_tolerance(n, e),
                "case {index}: P(y = {y} | x = {observed}) sampled {s} vs exact {e}"
            );
        }
    }
}
