//! Training steps per second of the gadgets in the paper's configuration (K = 10, hidden [1024, 1024],
//! B = 64, N_in = 16; Gadget 2 with |Z| = 20, Gadget 1 with one shared network), on the CPU and, when
//! libtorch sees one, on CUDA. One iteration is one full Adam step (pairs, forward, backward, update).
//! steps/s = 1 / (time per iteration). CPU runs use `DEFAULT_CPU_THREADS` (1) libtorch threads.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;
use tch::Device;

fn training_steps(c: &mut Criterion) {
    gadgets::device::set_cpu_threads(gadgets::device::DEFAULT_CPU_THREADS);
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    let pairs = SoftmaxUniform::paper(PairMode::Independent);
    let cost = CostMatrix::squared_index(10);
    let mut group = c.benchmark_group("gadgets_training_step");
    group.sample_size(20);
    for device in devices {
        for kind in [GadgetKind::Gadget2, GadgetKind::Gadget1] {
            for loss in [LossKind::Joint, LossKind::Counterfactual] {
                let Ok(gadget) = Gadget::new(GadgetConfig::paper(kind, 10), device, 0) else { continue };
                let options = TrainOptions { loss, batch: 64, inner_samples: 16, learning_rate: 1e-4, steps: 1, seed: 0, progress: false };
                let Ok(mut trainer) = Trainer::new(&gadget, &pairs, &cost, &options) else { continue };
                let name = format!("{}/{:?}/{}", kind.name(), loss, gadgets::device::device_name(device)).to_lowercase();
                group.bench_function(name, |b| b.iter(|| trainer.step().map_err(|e| e.to_string())));
            }
        }
    }
    group.finish();
}

criterion_group!(benches, training_steps);
criterion_main!(benches);
