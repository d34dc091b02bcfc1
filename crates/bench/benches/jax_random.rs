//! Benchmarks of gumbel_core::jax_random and gumbel_core::authors: the Threefry-2x32 block, one evaluation seed of Table 1
//! (10,000 of the authors' pairs), and the authors' per-pair Gumbel-max estimate (1,000 samples).

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly on bad fixtures.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gumbel_core::authors::{evaluation_pairs, evaluation_sample_keys, gumbel_max_estimate};
use gumbel_core::jax_random::threefry2x32;
use gumbel_core::pairs::{PairMode, SoftmaxUniform};
use std::hint::black_box;

fn block(c: &mut Criterion) {
    let mut group = c.benchmark_group("threefry2x32");
    group.throughput(Throughput::Elements(1));
    group
        .bench_function("block", |b| b.iter(|| threefry2x32(black_box([1, 2]), black_box([3, 4]))));
    group.finish();
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("evaluation_pairs");
    group.throughput(Throughput::Elements(10_000));
    for (name, mode) in
        [("independent_10000", PairMode::Independent), ("mirrored_10000", PairMode::Mirrored)]
    {
        let dist = SoftmaxUniform::paper(mode);
        group.bench_function(name, |b| {
            b.iter(|| evaluation_pairs(&dist, black_box(1001), 10_000).unwrap())
        });
    }
    group.finish();
}

fn gumbel_max(c: &mut Criterion) {
    let dist = SoftmaxUniform::paper(PairMode::Independent);
    let pair = evaluation_pairs(&dist, 1001, 1).unwrap().remove(0);
    let key = evaluation_sample_keys(1001, 1).unwrap()[0];
    let mut group = c.benchmark_group("gumbel_max_estimate");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("samples_1000", |b| {
        b.iter(|| gumbel_max_estimate(&pair, black_box(key), 1_000).unwrap())
    });
    group.finish();
}

criterion_group!(benches, block, pairs, gumbel_max);
criterion_main!(benches);
