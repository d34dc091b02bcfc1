//! Training steps per second of the gadgets in the paper's configuration (K = 10, hidden [1024, 1024],
//! B = 64, N_in = 16; Gadget 2 with |Z| = 20, Gadget 1 with one shared network), on the CPU and, when
//! libtorch sees one, on CUDA. One iteration is one full Adam step (pairs, forward, backward, update).
//! steps/s = 1 / (time per iteration). CPU runs use 1 libtorch thread (the default) and, on a machine
//! with more cores, all of them (`cpu-tN`). libtorch's OpenMP reads OMP_WAIT_POLICY at start-up:
//! on an idle machine `OMP_WAIT_POLICY=ACTIVE cargo xtask bench --bench gadgets` is the fastest
//! multi-threaded setting (docs/gadgets.md).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;
use tch::Device;

fn training_steps(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut settings: Vec<(Device, usize)> = vec![(Device::Cpu, gadgets::device::DEFAULT_CPU_THREADS)];
    if cores > gadgets::device::DEFAULT_CPU_THREADS {
        settings.push((Device::Cpu, cores));
    }
    if tch::Cuda::is_available() {
        settings.push((Device::Cuda(0), gadgets::device::DEFAULT_CPU_THREADS));
    }
    let pairs = SoftmaxUniform::paper(PairMode::Independent);
    let cost = CostMatrix::squared_index(10);
    let mut group = c.benchmark_group("gadgets_training_step");
    group.sample_size(20);
    for (device, threads) in settings {
        gadgets::device::set_cpu_threads(threads);
        let place = match device {
            Device::Cpu => format!("cpu-t{threads}"),
            other => gadgets::device::device_name(other),
        };
        for kind in [GadgetKind::Gadget2, GadgetKind::Gadget1] {
            for loss in [LossKind::Joint, LossKind::Counterfactual] {
                let Ok(gadget) = Gadget::new(GadgetConfig::paper(kind, 10), device, 0) else { continue };
                let options = TrainOptions { loss, batch: 64, inner_samples: 16, learning_rate: 1e-4, steps: 1, seed: 0, progress: false };
                let Ok(mut trainer) = Trainer::new(&gadget, &pairs, &cost, &options) else { continue };
                let name = format!("{}/{:?}/{place}", kind.name(), loss).to_lowercase();
                group.bench_function(name, |b| b.iter(|| trainer.step().map_err(|e| e.to_string())));
            }
        }
    }
    group.finish();
}

criterion_group!(benches, training_steps);
criterion_main!(benches);
