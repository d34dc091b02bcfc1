//! Training steps per second of the gadgets in the paper's configuration (K = 10, hidden [1024, 1024],
//! B = 64, N_in = 16; Gadget 2 with |Z| = 20, Gadget 1 with one shared network; also Figure 1a's
//! |Z| = 100 and the separate-network Gadget 1 of Table 1 columns 3-4), on the CPU and, when libtorch
//! sees one, on CUDA; and the K = 146 step of Figure 2. One iteration is one full Adam step (pairs, forward, backward, update).
//! steps/s = 1 / (time per iteration). CPU runs use 1 libtorch thread (the default) and, on a machine
//! with more cores, all of them (`cpu-tN`). libtorch's OpenMP reads OMP_WAIT_POLICY at start-up:
//! on an idle machine `OMP_WAIT_POLICY=ACTIVE cargo xtask bench --bench gadgets` is the fastest
//! multi-threaded setting (docs/gadgets.md).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{FixedPair, LogitPair, PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;
use tch::Device;

fn training_steps(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut settings: Vec<(Device, usize)> =
        vec![(Device::Cpu, gadgets::device::DEFAULT_CPU_THREADS)];
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
        // Table 1's two gadgets with both losses; Figure 1a's Gadget 2 (|Z| = 100) and Table 1 columns
        // 3-4's Gadget 1 (separate p and q networks) with the joint loss they are trained on.
        let g2 = GadgetConfig::paper(GadgetKind::Gadget2, 10);
        let g1 = GadgetConfig::paper(GadgetKind::Gadget1, 10);
        let cases = [
            ("gadget-2", g2.clone(), LossKind::Joint),
            ("gadget-2", g2.clone(), LossKind::Counterfactual),
            ("gadget-1", g1.clone(), LossKind::Joint),
            ("gadget-1", g1.clone(), LossKind::Counterfactual),
            ("gadget-2-z100", GadgetConfig { latent: 100, ..g2 }, LossKind::Joint),
            ("gadget-1-separate", GadgetConfig { separate_networks: true, ..g1 }, LossKind::Joint),
        ];
        for (label, config, loss) in cases {
            let Ok(gadget) = Gadget::new(config, device, 0) else { continue };
            let options = TrainOptions {
                loss,
                batch: 64,
                inner_samples: 16,
                learning_rate: 1e-4,
                steps: 1,
                seed: 0,
                unnormalised_logits: false,
            };
            let Ok(mut trainer) = Trainer::new(&gadget, &pairs, &cost, &options) else { continue };
            let name = format!("{label}/{loss:?}/{place}").to_lowercase();
            group.bench_function(name, |b| b.iter(|| trainer.step().map_err(|e| e.to_string())));
        }
    }
    group.finish();
}

/// One step of the Figure 2 training in its full schedule (gadgets-part2.md section 2): K = 146 sepsis
/// states, the counterfactual loss given a fixed observed next state, 1,024 noise samples per step:
/// one (p, q) pair x 1,024 (the fixed setting) or 64 perturbed pairs x 16 (generalized, logits plus
/// N(0, 1)); Gadget 1 with separate p and q networks (two 1024 x 146^2 output layers, 44 M weights),
/// Gadget 2 with |Z| = 20. Run on its own with `cargo bench -p bench --bench gadgets -- k146`.
fn sepsis_size_steps(c: &mut Criterion) {
    gadgets::device::set_cpu_threads(gadgets::device::DEFAULT_CPU_THREADS);
    let k = 146;
    // Every state possible, probabilities spread over a factor of e^6, as the sepsis transitions are.
    let pair = LogitPair {
        p: (0..k).map(|i| 3.0 * (i as f64).sin()).collect(),
        q: (0..k).map(|i| 3.0 * (i as f64).cos()).collect(),
    };
    let cost = CostMatrix::squared_index(k);
    let mut group = c.benchmark_group("gadgets_k146_step");
    group.sample_size(10);
    for (setting, noise, batch, inner_samples) in
        [("fixed-1x1024", 0.0, 1, 1024), ("generalized-64x16", 1.0, 64, 16)]
    {
        let pairs = FixedPair { pair: pair.clone(), noise };
        for kind in [GadgetKind::Gadget2, GadgetKind::Gadget1] {
            let config = GadgetConfig {
                separate_networks: kind == GadgetKind::Gadget1,
                ..GadgetConfig::paper(kind, k)
            };
            let Ok(gadget) = Gadget::new(config, Device::Cpu, 0) else { continue };
            let options = TrainOptions {
                loss: LossKind::Counterfactual,
                batch,
                inner_samples,
                learning_rate: 1e-5,
                steps: 1,
                seed: 0,
                unnormalised_logits: false,
            };
            let Ok(mut trainer) = Trainer::given_observation(&gadget, &pairs, &cost, 0, &options)
            else {
                continue;
            };
            group.bench_function(format!("{}/{setting}/cpu-t1", kind.name()), |b| {
                b.iter(|| trainer.step().map_err(|e| e.to_string()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, training_steps, sepsis_size_steps);
criterion_main!(benches);
