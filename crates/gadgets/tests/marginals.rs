//! Exact marginals by construction: random untrained networks over random logits (normalised,
//! shifted, with zero-probability outcomes), both gadgets, CPU and (when present) CUDA.

mod common;

use common::{devices, small};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{PairDistribution, PairMode, SoftmaxUniform};
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;

fn configs() -> Vec<GadgetConfig> {
    vec![
        small(GadgetKind::Gadget1, 10, 0),
        GadgetConfig { separate_networks: true, ..small(GadgetKind::Gadget1, 10, 0) },
        small(GadgetKind::Gadget2, 10, 20),
        GadgetConfig {
            learned_prior: true,
            sinkhorn_iterations: 0,
            ..small(GadgetKind::Gadget2, 10, 7)
        },
    ]
}

/// Logit vectors: normalised, shifted by +2.3, widely spread, and with impossible outcomes.
fn logits() -> Vec<Vec<f64>> {
    let source = SoftmaxUniform { outcomes: 10, scale: 8.0, mode: PairMode::Independent };
    let mut rng = from_seed(3);
    let mut out = Vec::new();
    for _ in 0..4 {
        let l = source.sample(&mut rng).p;
        out.push(l.iter().map(|v| v + 2.3).collect());
        out.push(l.iter().map(|v| 6.0 * v).collect());
        let mut zeros = l.clone();
        zeros[1] = f64::NEG_INFINITY;
        zeros[7] = f64::NEG_INFINITY;
        out.push(zeros);
        out.push(l);
    }
    out
}

#[test]
fn marginals_equal_p_for_random_networks_and_logits() {
    for device in devices() {
        for (c, config) in configs().into_iter().enumerate() {
            let gadget = Gadget::new(config, device, 11 + c as u64).expect("gadget");
            for l in logits() {
                let p = Categorical::from_logits(&l).expect("logits");
                let marginal = gadget.marginal(&p).expect("marginal");
                for (x, (m, e)) in marginal.iter().zip(p.probs()).enumerate() {
                    assert!(m.is_finite(), "config {c}: NaN marginal at {x}");
                    assert!(
                        (m - e).abs() < 1e-12,
                        "config {c}, {device:?}: marginal {m} vs p {e} at {x}"
                    );
                    if e == 0.0 {
                        assert_eq!(*m, 0.0, "an impossible outcome must keep probability zero");
                    }
                }
            }
        }
    }
}

#[test]
fn sampled_pairs_have_the_marginals_and_avoid_impossible_outcomes() {
    let l_p = vec![0.3, f64::NEG_INFINITY, -1.0, 2.0, 0.0];
    let l_q = vec![-0.5, 1.0, 0.2, f64::NEG_INFINITY, 1.5];
    let (p, q) =
        (Categorical::from_logits(&l_p).expect("p"), Categorical::from_logits(&l_q).expect("q"));
    let n = 100_000;
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let gadget = common::gadget(small(kind, 5, 6), 5);
        let pairs = gadget.sample_pairs(&p, &q, n, 9).expect("pairs");
        for (side, dist) in [(0, &p), (1, &q)] {
            let mut counts = [0.0; 5];
            pairs.iter().for_each(|&(x, y)| counts[if side == 0 { x } else { y }] += 1.0);
            for (k, e) in dist.probs().iter().enumerate() {
                let f = counts[k] / n as f64;
                let sigma = (e * (1.0 - e) / n as f64).sqrt();
                assert!(
                    (f - e).abs() <= 5.0 * sigma,
                    "{kind:?} side {side} outcome {k}: {f} vs {e}"
                );
            }
        }
    }
}
