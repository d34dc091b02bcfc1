//! Property checks of gumbel-core against exact values, with tolerances from standard errors.
//!
//! Monte Carlo counts are compared with Bernstein's inequality at the 5-sigma level:
//! |count - n pi| <= 5 sqrt(n pi (1 - pi)) + 25/3, i.e. sqrt(2 v t) + 2t/3 with t = 5^2/2, which
//! is 5 standard errors for well-filled cells and stays valid for the Poisson-like tails of rare ones.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly.

use gumbel_core::exact::{counterfactual_distribution, diagonal_entry, gumbel_max_coupling};
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::rng::from_seed;
use gumbel_core::{montecarlo, Categorical};
use rand::Rng;
use rand_distr::StandardNormal;

/// The cases every property runs on: (name, p logits, q logits).
fn cases() -> Vec<(String, Vec<f64>, Vec<f64>)> {
    let mut rng = from_seed(2024);
    let mut normal = |k: usize, scale: f64| -> Vec<f64> {
        (0..k).map(|_| scale * rng.sample::<f64, _>(StandardNormal)).collect()
    };
    let ninf = f64::NEG_INFINITY;
    let mut out = vec![
        ("k2".to_owned(), vec![0.3, -0.4], vec![-1.0, 0.8]),
        ("k2-identical".to_owned(), vec![0.3, -0.4], vec![0.3, -0.4]),
        ("near-degenerate".to_owned(), vec![25.0, 0.0, -3.0, 1.0], vec![0.0, 24.0, 0.5, -2.0]),
        (
            "zeros".to_owned(),
            vec![0.5, ninf, 1.0, -0.3, ninf, 0.2],
            vec![ninf, 0.1, 0.7, ninf, -1.0, 0.4],
        ),
        ("tiny-probabilities".to_owned(), vec![0.0, -30.0, 1.0, -12.0], vec![-25.0, 0.0, 0.3, 2.0]),
    ];
    out.push(("k10".to_owned(), normal(10, 1.5), normal(10, 1.5)));
    out.push(("k146".to_owned(), normal(146, 2.0), normal(146, 2.0)));
    out
}

fn categorical(logits: &[f64]) -> Categorical {
    Categorical::from_logits(logits).unwrap()
}

/// The 5-sigma Bernstein bound on |count - n pi| (module docs).
fn count_tolerance(n: u64, pi: f64) -> f64 {
    5.0 * (n as f64 * pi * (1.0 - pi)).sqrt() + 25.0 / 3.0
}

#[test]
fn exact_joint_has_the_right_marginals() {
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let coupling = gumbel_max_coupling(&p, &q).unwrap();
        coupling.check_marginals(&p, &q, 1e-12).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn exact_diagonal_is_proposition_1() {
    // Proposition 1 by a direct second computation with probabilities instead of log-ratios.
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let coupling = gumbel_max_coupling(&p, &q).unwrap();
        let (pp, qq) = (p.probs(), q.probs());
        for i in 0..pp.len() {
            let expected = if pp[i] > 0.0 && qq[i] > 0.0 {
                let others: f64 = (0..pp.len())
                    .filter(|&k| k != i)
                    .map(|k| (pp[k] / pp[i]).max(qq[k] / qq[i]))
                    .sum();
                1.0 / (1.0 + others)
            } else {
                0.0
            };
            let found = coupling.joint()[[i, i]];
            assert!(
                (found - expected).abs() <= 1e-12 * expected.max(1e-300) + 1e-15,
                "{name} [{i}]: {found} vs {expected}"
            );
            assert!((diagonal_entry(p.log_probs(), q.log_probs(), i) - found).abs() < 1e-14);
        }
    }
}

#[test]
fn exact_counterfactual_is_the_joint_row_over_p() {
    // Two computations: one row on its own (its q ratios per entry) and the whole joint (tabulated).
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let coupling = gumbel_max_coupling(&p, &q).unwrap();
        for observed in (0..p.len()).filter(|&x| p.is_possible(x)) {
            let Ok(row) = counterfactual_distribution(&p, &q, observed) else { continue };
            let mass: f64 = coupling.joint().row(observed).sum();
            for (y, found) in row.iter().enumerate() {
                let expected = coupling.joint()[[observed, y]] / mass;
                assert!(
                    (found - expected).abs() <= 1e-12,
                    "{name} [{observed}, {y}]: {found} vs {expected}"
                );
            }
        }
    }
}

#[test]
fn exact_joint_vanishes_where_counterfactual_stability_forbids() {
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let coupling = gumbel_max_coupling(&p, &q).unwrap();
        let (la, lb) = (p.log_probs(), q.log_probs());
        for ((i, j), &v) in coupling.joint().indexed_iter() {
            // q_j / q_i <= p_j / p_i, in logs b_j - b_i <= a_j - a_i, forbids (x = i, y = j) for i != j.
            if i != j && lb[j] - lb[i] <= la[j] - la[i] {
                assert_eq!(v, 0.0, "{name} ({i}, {j})");
            }
        }
    }
}

#[test]
fn corollary_2_bounds_the_maximal_coupling() {
    // Maximal P(x = y) = sum min(p, q) <= 2 x Gumbel-max P(x = y).
    for (name, a, b) in cases() {
        let (p, q) = (categorical(&a), categorical(&b));
        let gumbel_max = gumbel_max_coupling(&p, &q).unwrap().p_x_eq_y();
        let maximal: f64 = p.probs().iter().zip(q.probs()).map(|(x, y)| x.min(y)).sum();
        assert!(gumbel_max <= maximal + 1e-12, "{name}");
        assert!(maximal <= 2.0 * gumbel_max + 1e-12, "{name}: {maximal} vs {gumbel_max}");
    }
}

#[test]
fn exact_joint_agrees_with_monte_carlo() {
    for (index, (name, a, b)) in cases().into_iter().enumerate() {
        let mechanism = GumbelMax::new(categorical(&a), categorical(&b)).unwrap();
        let n = 1_000_000;
        let estimate = mechanism.estimate_coupling(n, 100 + index as u64).unwrap();
        let exact = mechanism.exact_coupling().unwrap();
        for ((i, j), &pi) in exact.joint().indexed_iter() {
            let count = estimate.joint()[[i, j]] * n as f64;
            let tolerance = count_tolerance(n, pi);
            assert!(
                (count - n as f64 * pi).abs() <= tolerance,
                "{name} ({i}, {j}): {count} vs {}",
                n as f64 * pi
            );
        }
    }
}

#[test]
fn posterior_counterfactuals_agree_with_the_exact_conditional() {
    for (index, (name, a, b)) in cases().into_iter().enumerate() {
        let mechanism = GumbelMax::new(categorical(&a), categorical(&b)).unwrap();
        let observed = (0..a.len()).find(|&i| mechanism.p().prob(i) > 1e-3).unwrap();
        let n = 200_000;
        let sampled = mechanism.counterfactual_histogram(observed, n, 7 + index as u64).unwrap();
        let exact = counterfactual_distribution(mechanism.p(), mechanism.q(), observed).unwrap();
        assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for (y, (&s, &e)) in sampled.iter().zip(&exact).enumerate() {
            let diff = (s - e).abs() * n as f64;
            assert!(
                diff <= count_tolerance(n, e),
                "{name}: P(y = {y} | x = {observed}) {s} vs {e}"
            );
        }
    }
}

#[test]
fn sampler_marginals_pass_a_chi_square_bound() {
    // sum (O - E)^2 / E over possible outcomes is chi-square with K' - 1 degrees of freedom (mean df,
    // variance 2 df); accept below df + 5 sqrt(2 df). Impossible outcomes must never be drawn.
    for (index, (name, a, _)) in cases().into_iter().enumerate() {
        let p = categorical(&a);
        let n = 200_000;
        let counts = montecarlo::count(n, 900 + index as u64, p.len(), |rng| p.sample(rng));
        let mut chi2 = 0.0;
        let mut cells = 0;
        for (i, &c) in counts.iter().enumerate() {
            let e = n as f64 * p.prob(i);
            if p.is_possible(i) && e > 0.0 {
                chi2 += (c as f64 - e).powi(2) / e;
                cells += 1;
            } else {
                assert_eq!(c, 0, "{name}: impossible outcome {i} drawn");
            }
        }
        let df = f64::from(cells - 1);
        assert!(chi2 <= df + 5.0 * (2.0 * df).sqrt() + 1.0, "{name}: chi2 {chi2} with {df} df");
    }
}

#[test]
fn monte_carlo_does_not_depend_on_the_thread_count() {
    let mechanism =
        GumbelMax::new(categorical(&[0.1, 0.5, -0.3]), categorical(&[0.4, -0.2, 0.0])).unwrap();
    let estimate = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mechanism.estimate_coupling(300_000, 11).unwrap())
    };
    assert_eq!(estimate(1), estimate(4));
}
