//! The Rust side of the Python package's speed comparison (docs/python.md, "Speed"): the exact
//! Gumbel-max couplings of one batch of 10,000 pairs at K = 10 with a reward, through `methods`, as
//! `gg.couple(P, Q, reward=h)` computes them (the mechanism's batched joints, then P(x != y) and
//! Var[h(x) - h(y)] per pair). Pairs are Dirichlet(1, ..., 1) draws, as the Python benchmark's are.
//!
//! `cargo run --release -p methods --example batch_couple` prints pairs per second (best of 5).

use std::time::Instant;

use gumbel_core::method::Computation;
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;
use methods::{Method, Options, Spelling};
use rand::Rng;

const K: usize = 10;
const N: usize = 10_000;

/// A Dirichlet(1, ..., 1) draw: K exponential variates, normalised.
fn dirichlet(rng: &mut impl Rng) -> Categorical {
    let e: Vec<f64> = (0..K).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let total: f64 = e.iter().sum();
    Categorical::from_probs(&e.iter().map(|v| v / total).collect::<Vec<_>>())
        .expect("a distribution")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = from_seed(0);
    let pairs: Vec<(Categorical, Categorical)> =
        (0..N).map(|_| (dirichlet(&mut rng), dirichlet(&mut rng))).collect();
    let h: Vec<f64> = (0..K).map(|i| i as f64).collect();
    let options =
        Options { order: None, permutation_seed: 1, gadget: None, spelling: Spelling::Keywords };
    let mechanism = methods::mechanism(Method::GumbelMax, &options, None)?;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        let joints = mechanism.joints(&pairs, Computation::Exact)?;
        let mut checksum = 0.0;
        for joint in &joints {
            let coupling = &joint.value;
            let kept = coupling.joint().clone();
            checksum += coupling.p_x_ne_y() + coupling.variance(&h, &h)? + kept[[0, 0]];
        }
        best = best.min(start.elapsed().as_secs_f64());
        assert!(checksum.is_finite());
    }
    println!(
        "methods, gumbel-max, one batch of {N} pairs, K = {K}: {:.0} pairs/s ({:.2} us per pair)",
        N as f64 / best,
        best / N as f64 * 1e6
    );
    Ok(())
}
