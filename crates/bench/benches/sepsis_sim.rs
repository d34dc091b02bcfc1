//! Benchmarks of sepsis-sim: trajectories per second under the physician policy (20 steps at most),
//! the exact kernel, physician planning and one off-policy study.

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly on bad fixtures.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sepsis_sim::kernel::SparseKernel;
use sepsis_sim::ope::{off_policy_evaluation, OpeConfig};
use sepsis_sim::physician::plan_physician;
use sepsis_sim::trajectories::{simulate, SimulationConfig};

fn benches(c: &mut Criterion) {
    let kernel = SparseKernel::exact();
    let physician = plan_physician(&kernel).unwrap();
    let mut group = c.benchmark_group("sepsis_sim");
    const N: usize = 100_000;
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("physician_trajectories_100k", |b| {
        b.iter(|| simulate(&physician.policy, &SimulationConfig::new(N, 1)))
    });
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("exact_kernel", |b| b.iter(SparseKernel::exact));
    group.bench_function("plan_physician", |b| b.iter(|| plan_physician(&kernel)));
    group.bench_function("off_policy_study_1000", |b| {
        b.iter(|| off_policy_evaluation(&physician.policy, &kernel, &OpeConfig::paper(1)))
    });
    group.finish();
}

criterion_group!(sepsis, benches);
criterion_main!(sepsis);
