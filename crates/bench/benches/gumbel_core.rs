//! Benchmarks of gumbel-core: the exact Gumbel-max joint (K = 10, 146), the top-down posterior, and
//! Monte Carlo pair sampling (pair-samples per second, K = 10).

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly on bad fixtures.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gumbel_core::exact::{counterfactual_distribution, gumbel_max_coupling};
use gumbel_core::gumbel::top_down_posterior;
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::pairs::{PairDistribution, PairMode, SoftmaxUniform};
use gumbel_core::rng::from_seed;
use gumbel_core::Categorical;

fn pair(k: usize, seed: u64) -> (Categorical, Categorical) {
    let dist = SoftmaxUniform { outcomes: k, scale: 8.0, mode: PairMode::Independent };
    let pair = dist.sample(&mut from_seed(seed));
    (Categorical::from_logits(&pair.p).unwrap(), Categorical::from_logits(&pair.q).unwrap())
}

fn exact_joint(c: &mut Criterion) {
    let mut group = c.benchmark_group("exact_gumbel_max_joint");
    for k in [10, 146] {
        let (p, q) = pair(k, 1);
        group.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| gumbel_max_coupling(&p, &q).unwrap())
        });
    }
    let (p, q) = pair(146, 2);
    group.bench_function("counterfactual_row_146", |b| {
        b.iter(|| counterfactual_distribution(&p, &q, 3).unwrap())
    });
    group.finish();
}

fn posterior(c: &mut Criterion) {
    let (p, _) = pair(10, 3);
    let mut rng = from_seed(4);
    c.bench_function("top_down_posterior_10", |b| {
        b.iter(|| top_down_posterior(&mut rng, &p, 2).unwrap())
    });
}

fn monte_carlo(c: &mut Criterion) {
    let (p, q) = pair(10, 5);
    let mechanism = GumbelMax::new(p, q).unwrap();
    let samples = 1_000_000;
    let mut group = c.benchmark_group("monte_carlo_coupling_10");
    group.throughput(Throughput::Elements(samples));
    group.sample_size(10);
    group.bench_function("pair_samples", |b| {
        b.iter(|| mechanism.estimate_coupling(samples, 6).unwrap())
    });
    group.finish();
}

criterion_group!(benches, exact_joint, posterior, monte_carlo);
criterion_main!(benches);
