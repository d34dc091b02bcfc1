//! The gadgets against the exact Gumbel-max coupling, and counterfactual sampling against the forward
//! coupling (5-sigma bounds, fixed seeds).

mod common;

use common::{assert_joint_close, dist, gadget, small};
use gadgets::{GadgetConfig, GadgetKind};
use gumbel_core::exact::{counterfactual_distribution, gumbel_max_coupling};
use gumbel_core::rng::from_seed;
use gumbel_core::{Categorical, Coupling};

fn pair() -> (Categorical, Categorical) {
    (dist(&[0.5, -1.0, 1.2, 0.0, -0.3, 0.8]), dist(&[-0.2, 0.9, 0.1, 1.4, -1.5, 0.3]))
}

#[test]
fn gadget2_with_one_latent_value_is_the_gumbel_max_coupling() {
    let (p, q) = pair();
    let exact = gumbel_max_coupling(&p, &q).expect("exact");
    let g = gadget(small(GadgetKind::Gadget2, 6, 1), 1);
    let coupling = g.coupling(&p, &q, 0, 0).expect("coupling");
    assert!(coupling.exact);
    for (a, b) in coupling.coupling.joint().iter().zip(exact.joint()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let n = 200_000;
    let sampled =
        Coupling::from_samples(6, g.sample_pairs(&p, &q, n, 2).expect("samples")).expect("counts");
    assert_joint_close(&sampled, &exact, n as f64, 0.0);
}

#[test]
fn gumbel_max_parameters_make_both_gadgets_gumbel_max() {
    let (p, q) = pair();
    let exact = gumbel_max_coupling(&p, &q).expect("exact");
    // Gadget 2 with constant R: pi(x | z, p) = p for every z, so the exact mixture is Gumbel-max.
    let mut g2 = gadget(small(GadgetKind::Gadget2, 6, 20), 4);
    g2.set_gumbel_max_parameters();
    let c2 = g2.coupling(&p, &q, 0, 0).expect("coupling");
    for (a, b) in c2.coupling.joint().iter().zip(exact.joint()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // Gadget 1 with pi(x = k, z = k | p) = p_k (Section 5.1), shared and separate networks.
    for separate in [false, true] {
        let mut g1 = gadget(
            GadgetConfig { separate_networks: separate, ..small(GadgetKind::Gadget1, 6, 0) },
            5,
        );
        g1.set_gumbel_max_parameters();
        let n = 200_000;
        let c1 = g1.coupling(&p, &q, n, 6).expect("coupling");
        assert!(!c1.exact && c1.samples == Some(n));
        assert_joint_close(&c1.coupling, &exact, n as f64, 0.0);
    }
}

/// Joint of x ~ p (drawn here) and y ~ the gadget's counterfactual given x, from `n` draws.
fn counterfactual_joint(
    g: &gadgets::Gadget,
    p: &Categorical,
    q: &Categorical,
    n: usize,
    seed: u64,
) -> Coupling {
    let mut rng = from_seed(seed);
    let mut per_x = vec![0usize; p.len()];
    (0..n).for_each(|_| per_x[p.sample(&mut rng)] += 1);
    let mut pairs = Vec::with_capacity(n);
    for (x, &count) in per_x.iter().enumerate().filter(|(_, c)| **c > 0) {
        let ys =
            g.sample_counterfactuals(p, q, x, count, seed + 1 + x as u64).expect("counterfactuals");
        pairs.extend(ys.into_iter().map(|y| (x, y)));
    }
    Coupling::from_samples(p.len(), pairs).expect("counts")
}

#[test]
fn gadget2_counterfactuals_agree_with_its_exact_coupling() {
    let (p, q) = pair();
    let g = gadget(small(GadgetKind::Gadget2, 6, 5), 7);
    let exact = g.coupling(&p, &q, 0, 0).expect("coupling").coupling;
    exact.check_marginals(&p, &q, 1e-12).expect("exact marginals");
    // The exact counterfactual distribution is the coupling's row given x.
    for x in 0..6 {
        let row = g.counterfactual(&p, &q, x, 0, 0).expect("counterfactual");
        assert!(row.exact);
        for (a, b) in row.distribution.iter().zip(exact.conditional_given_x(x).expect("row")) {
            assert!((a - b).abs() < 1e-9, "x = {x}: {a} vs {b}");
        }
    }
    let n = 200_000;
    assert_joint_close(&counterfactual_joint(&g, &p, &q, n, 8), &exact, n as f64, 0.0);
}

#[test]
fn gadget2_with_one_latent_value_has_gumbel_max_counterfactuals() {
    let (p, q) = pair();
    let g = gadget(small(GadgetKind::Gadget2, 6, 1), 3);
    for x in 0..6 {
        let ours = g.counterfactual(&p, &q, x, 0, 0).expect("counterfactual").distribution;
        let theirs = counterfactual_distribution(&p, &q, x).expect("exact");
        ours.iter().zip(theirs).for_each(|(a, b)| assert!((a - b).abs() < 1e-9, "{a} vs {b}"));
    }
}

#[test]
fn gadget1_counterfactuals_agree_with_its_forward_coupling() {
    let (p, q) = pair();
    for separate in [false, true] {
        let g = gadget(
            GadgetConfig { separate_networks: separate, ..small(GadgetKind::Gadget1, 6, 0) },
            9,
        );
        let n = 200_000;
        let forward = g.coupling(&p, &q, n as u64, 10).expect("coupling").coupling;
        // Two independent estimates: the variance of their difference is twice a binomial one.
        assert_joint_close(&counterfactual_joint(&g, &p, &q, n, 11), &forward, n as f64, 1.0);
        let row = g.counterfactual(&p, &q, 2, 50_000, 12).expect("counterfactual");
        assert!(!row.exact && row.samples == Some(50_000));
    }
}

#[test]
fn impossible_observations_are_errors() {
    let p = dist(&[0.0, f64::NEG_INFINITY, 1.0]);
    let q = dist(&[0.0, 0.5, 1.0]);
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let g = gadget(small(kind, 3, 4), 1);
        assert!(g.counterfactual(&p, &q, 1, 100, 0).is_err());
        assert!(g.counterfactual(&p, &q, 3, 100, 0).is_err());
        assert!(g.coupling(&p, &dist(&[0.0, 1.0]), 100, 0).is_err());
    }
}
