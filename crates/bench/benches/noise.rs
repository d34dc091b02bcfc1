//! The training noise of one step (`gadgets::noise::StepNoise`): uniforms from JAX's Threefry made by
//! the tensor generator (libtorch operations) and by the scalar generator (the block function on
//! rayon's threads), which give the same bits, on the CPU with 1 and with all threads, and on CUDA
//! when libtorch sees one; beside them the workspace's xoshiro generator (`SeededRng`) that draws
//! evaluation noise. Sizes: Table 1's Gadget 1 step (B N_in K^2 = 64 x 16 x 10^2 uniforms) and
//! Figure 2's (K = 146: 21.8 M). Throughput in uniforms per second. Beside them, at K = 146 on one
//! thread, what a Gadget 1 step does with its uniforms: Gumbels of them (`noise::gumbel`) and the
//! top-down posterior over the K^2 grid of 1,024 samples (`noise::top_down`, the counterfactual loss).
//! docs/gadgets.md, "Noise on the device", has the numbers.

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gadgets::noise::{gumbel, top_down, NoiseSource, StepNoise};
use gadgets::threefry::Generator;
use gumbel_core::rng::stream;
use tch::{Device, Kind, Tensor};

fn step_noise(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut group = c.benchmark_group("step_noise");
    group.sample_size(10);
    for (label, k) in [("k10", 10_i64), ("k146", 146)] {
        let shape = [64, 16, k, k];
        group.throughput(Throughput::Elements(shape.iter().product::<i64>() as u64));
        for threads in [1, cores] {
            // libtorch's threads for the tensor generator, rayon's for the scalar one.
            tch::set_num_threads(threads as i32);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            for generator in [Generator::Tensor, Generator::Scalar] {
                let name = format!("{label}/{generator:?}/cpu-t{threads}").to_lowercase();
                group.bench_function(name, |b| {
                    b.iter(|| {
                        pool.install(|| {
                            StepNoise::new(&[7], 1, generator).uniforms(&shape, Device::Cpu)
                        })
                    })
                });
            }
        }
        tch::set_num_threads(1);
        let mut rng = stream(7, 1);
        group.bench_function(format!("{label}/xoshiro/cpu-t1"), |b| {
            b.iter(|| rng.uniforms(&shape, Device::Cpu))
        });
        if tch::Cuda::is_available() {
            let device = Device::Cuda(0);
            for generator in [Generator::Tensor, Generator::Scalar] {
                let name = format!("{label}/{generator:?}/cuda").to_lowercase();
                group.bench_function(name, |b| {
                    b.iter(|| {
                        let u = StepNoise::new(&[7], 1, generator).uniforms(&shape, device);
                        tch::Cuda::synchronize(0);
                        u
                    })
                });
            }
        }
    }
    group.finish();
}

/// The transforms a Figure 2 Gadget 1 step (K = 146, 1,024 samples, counterfactual loss) applies to its
/// noise, on one thread: Gumbels of 21.8 M uniforms (drawing included: subtract `step_noise`'s
/// `k146/scalar/cpu-t1`), and the top-down posterior of `[1024, 146^2]` uniforms given an observed
/// cell (uniforms made beforehand).
fn step_noise_transforms(c: &mut Criterion) {
    tch::set_num_threads(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (k, samples) = (146_i64, 1024_i64);
    let mut group = c.benchmark_group("step_noise_transforms");
    group.sample_size(10);
    group.throughput(Throughput::Elements((samples * k * k) as u64));
    let generator = Generator::Scalar;
    group.bench_function("k146/gumbel/cpu-t1", |b| {
        b.iter(|| {
            pool.install(|| {
                gumbel(&mut StepNoise::new(&[7], 1, generator), &[64, 16, k, k], Device::Cpu)
            })
        })
    });
    let u = pool
        .install(|| StepNoise::new(&[7], 1, generator).uniforms(&[samples, k * k], Device::Cpu));
    let log_p = Tensor::randn([k * k], (Kind::Float, Device::Cpu)).log_softmax(0, Kind::Float);
    let log_p = log_p.expand([samples, k * k], false);
    let observed = Tensor::full([samples], 7 * k + 3, (Kind::Int64, Device::Cpu));
    group.bench_function("k146/top_down/cpu-t1", |b| b.iter(|| top_down(&log_p, &observed, &u)));
    group.finish();
}

criterion_group!(benches, step_noise, step_noise_transforms);
criterion_main!(benches);
