//! Both gadgets on logits of spread 300 to 1e6 (probabilities far below f64's range): Gadget 2's
//! exact coupling, a mixture of exact Gumbel-max joints, keeps the marginals p and q, and its exact
//! counterfactuals are distributions consistent with the joint and with counterfactual sampling;
//! Gadget 1's sampled pairs have the right marginals (f32 noise on f32 log-probabilities).

mod common;

use common::{dist, gadget, small};
use gadgets::GadgetKind;
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;
use rand::Rng;
use rand_distr::StandardNormal;

/// Random pairs of K = 6 logits at every scale.
fn pairs() -> Vec<(String, Categorical, Categorical)> {
    let mut rng = from_seed(300);
    let mut out = Vec::new();
    for scale in [300.0, 1_000.0, 1e4, 1e6] {
        for trial in 0..3 {
            let mut draw = || -> Vec<f64> {
                (0..6).map(|_| scale * rng.sample::<f64, _>(StandardNormal)).collect()
            };
            out.push((format!("scale {scale} trial {trial}"), dist(&draw()), dist(&draw())));
        }
    }
    out
}

#[test]
fn gadget2_exact_answers_hold_at_every_scale() {
    let g2 = gadget(small(GadgetKind::Gadget2, 6, 5), 8);
    for (name, p, q) in pairs() {
        let estimate = g2.coupling(&p, &q, 0, 0).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(estimate.exact);
        // The mixture of |Z| = 5 exact joints, each exact to 4 (K + 753) eps relative (gumbel-core's
        // tests/extreme_scales.rs), and the network's conditionals, whose marginal is p to f64
        // rounding: 1e-12 relative leaves a wide margin over both.
        let joint = &estimate.coupling;
        for (side, found, expected) in
            [("row", joint.x_marginal(), p.probs()), ("column", joint.y_marginal(), q.probs())]
        {
            for (i, (f, e)) in found.iter().zip(&expected).enumerate() {
                assert!(
                    (f - e).abs() <= 1e-12 * e + 1e-300,
                    "{name}: {side} {i} sums to {f:e}, not {e:e}"
                );
            }
        }
        for observed in (0..6).filter(|&x| p.is_possible(x)) {
            let cf = g2
                .counterfactual(&p, &q, observed, 0, 0)
                .unwrap_or_else(|e| panic!("{name} x = {observed}: {e}"));
            let total: f64 = cf.distribution.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{name}: sums to {total}");
            assert!(cf.distribution.iter().all(|v| v.is_finite() && *v >= 0.0), "{name}");
            let p_x = p.prob(observed);
            if p_x > 1e-250 {
                for (y, v) in cf.distribution.iter().enumerate() {
                    let entry = joint.joint()[[observed, y]];
                    assert!(
                        (p_x * v - entry).abs() <= 1e-12 * p_x,
                        "{name} [{observed}, {y}]: {} vs {entry}",
                        p_x * v
                    );
                }
            }
        }
    }
}

#[test]
fn gadget_samples_have_the_marginals_at_every_scale() {
    // Outcomes of probability below 1e-6 must be (almost) never drawn: at most 5 of n by a
    // Bernstein bound on a cell of probability <= 1e-6 x K; every other cell within 5 sigma.
    let n = 20_000;
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let g = gadget(small(kind, 6, 5), 3);
        for (name, p, q) in pairs().into_iter().step_by(2) {
            let draws = g.sample_pairs(&p, &q, n, 17).unwrap();
            for (side, dist, values) in [
                ("x", &p, draws.iter().map(|d| d.0).collect::<Vec<_>>()),
                ("y", &q, draws.iter().map(|d| d.1).collect()),
            ] {
                for (i, e) in dist.probs().iter().enumerate() {
                    let count = values.iter().filter(|&&v| v == i).count() as f64;
                    let bound = 5.0 * (n as f64 * e * (1.0 - e)).sqrt() + 25.0 / 3.0;
                    assert!(
                        (count - n as f64 * e).abs() <= bound,
                        "{kind:?} {name}: {side} = {i} drawn {count} times, expected {}",
                        n as f64 * e
                    );
                }
            }
        }
    }
}
