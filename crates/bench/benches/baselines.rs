//! Benchmarks of the baselines crate: the LP-optimal coupling by the transportation simplex (K = 10,
//! 146, 500) and through good_lp + microlp (K = 10, 146; K = 500 takes about 22 s a solve, measured
//! once in docs/baselines.md), and the exact independent, inverse-CDF and maximal joints.

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly on bad fixtures.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use baselines::{
    independent_coupling, inverse_cdf_coupling, lp_optimal_coupling_with, maximal_coupling,
    LpSolver,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gumbel_core::pairs::{PairDistribution, PairMode, SoftmaxUniform};
use gumbel_core::rng::from_seed;
use gumbel_core::{Categorical, CostMatrix};

fn pair(k: usize, seed: u64) -> (Categorical, Categorical) {
    let dist = SoftmaxUniform { outcomes: k, scale: 8.0, mode: PairMode::Independent };
    let pair = dist.sample(&mut from_seed(seed));
    (Categorical::from_logits(&pair.p).unwrap(), Categorical::from_logits(&pair.q).unwrap())
}

/// C_ij = (h_i - h_j)^2 for h = sin(30 i), a non-monotone reward (the LP is then not a sorted
/// inverse-CDF coupling in index order).
fn cost(k: usize) -> CostMatrix {
    let h: Vec<f64> = (0..k).map(|i| (30.0 * i as f64).sin()).collect();
    CostMatrix::squared_reward(&h).unwrap()
}

fn lp(c: &mut Criterion) {
    for (name, solver, sizes) in [
        ("lp_optimal_network_simplex", LpSolver::NetworkSimplex, &[10, 146, 500][..]),
        ("lp_optimal_microlp", LpSolver::MicroLp, &[10, 146][..]),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for &k in sizes {
            let (p, q) = pair(k, 1);
            let cost = cost(k);
            group.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
                b.iter(|| lp_optimal_coupling_with(&p, &q, &cost, solver).unwrap())
            });
        }
        group.finish();
    }
}

fn exact_joints(c: &mut Criterion) {
    let mut group = c.benchmark_group("exact_joint");
    for k in [10, 146, 500] {
        let (p, q) = pair(k, 2);
        let order = baselines::authors::permutation(k, 1).unwrap();
        group.bench_with_input(BenchmarkId::new("independent", k), &k, |b, _| {
            b.iter(|| independent_coupling(&p, &q).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("inverse_cdf_permuted", k), &k, |b, _| {
            b.iter(|| inverse_cdf_coupling(&p, &q, &order).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("maximal", k), &k, |b, _| {
            b.iter(|| maximal_coupling(&p, &q).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, lp, exact_joints);
criterion_main!(benches);
