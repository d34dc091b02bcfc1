//! The training noise of one step (`gadgets::noise::StepNoise`): uniforms from JAX's Threefry made by
//! the tensor generator (libtorch operations) and by the scalar generator (the block function on
//! rayon's threads), which give the same bits, on the CPU with 1 and with all threads, and on CUDA
//! when libtorch sees one; beside them the workspace's xoshiro generator (`SeededRng`) that draws
//! evaluation noise. Sizes: Table 1's Gadget 1 step (B N_in K^2 = 64 x 16 x 10^2 uniforms) and
//! Figure 2's (K = 146: 21.8 M). Throughput in uniforms per second; docs/gadgets.md, "Noise on the
//! device", has the numbers.

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gadgets::noise::{NoiseSource, StepNoise};
use gadgets::threefry::Generator;
use gumbel_core::rng::stream;
use tch::Device;

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

criterion_group!(benches, step_noise);
criterion_main!(benches);
