//! The CPU's training bits, pinned: the FNV-1a hash of the weights and loss logs of short runs,
//! alone and in stacks, for both gadgets, both losses, a fixed observation, impossible outcomes,
//! per-run rates, costs and observations and the authors' unnormalised logits. The constants were
//! taken from the eager step before it was split into host preparation and a device part
//! (`gadgets::stack`'s static inputs, Adam's scalars as tensors, Gadget 2's sweeps chosen by device):
//! the CPU's numbers must not move.

mod common;

use common::{small, weights};
use gadgets::stack::StackedTrainer;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Device, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::hash::fnv1a;
use gumbel_core::pairs::{FixedPair, LogitPair, PairDistribution, Ramp};
use gumbel_core::CostMatrix;

const STEPS: usize = 12;

fn options(loss: LossKind, seed: u64, learning_rate: f64, unnormalised: bool) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 4,
        inner_samples: 3,
        learning_rate,
        steps: STEPS,
        seed,
        unnormalised_logits: unnormalised,
    }
}

/// FNV-1a of every weight's bits (in name order) and of the loss logs' bits.
fn hash(g: &Gadget, losses: &[Vec<f64>]) -> u64 {
    let mut bytes: Vec<u8> = weights(g)
        .iter()
        .flat_map(|(name, values)| {
            name.bytes().chain(values.iter().flat_map(|v| v.to_bits().to_le_bytes()))
        })
        .collect();
    bytes.extend(losses.iter().flatten().flat_map(|v| v.to_bits().to_le_bytes()));
    fnv1a(&bytes)
}

const RAMP: Ramp = Ramp { outcomes: 4, base_scale: 0.3, noise: 0.5 };

fn impossible() -> FixedPair {
    let pair = LogitPair {
        p: vec![0.0, f64::NEG_INFINITY, 1.0, -0.5],
        q: vec![f64::NEG_INFINITY, 0.3, 0.2, 1.0],
    };
    FixedPair { pair, noise: 0.5 }
}

fn config(kind: GadgetKind, learned_prior: bool) -> GadgetConfig {
    GadgetConfig { learned_prior, ..small(kind, 4, 3) }
}

fn alone(
    config: GadgetConfig,
    pairs: &dyn PairDistribution,
    observed: Option<usize>,
    options: &TrainOptions,
) -> u64 {
    let g = Gadget::new(config, Device::Cpu, 9).expect("gadget");
    let cost = CostMatrix::squared_index(4);
    let mut trainer = match observed {
        Some(x) => Trainer::given_observation(&g, pairs, &cost, x, options),
        None => Trainer::new(&g, pairs, &cost, options),
    }
    .expect("run");
    while trainer.steps_done() < STEPS {
        trainer.step().expect("finite");
    }
    let losses = trainer.record().losses;
    drop(trainer);
    hash(&g, &[losses])
}

fn stacked(
    config: GadgetConfig,
    pairs: &[&dyn PairDistribution],
    costs: &[CostMatrix],
    observed: &[Option<usize>],
    options: &[TrainOptions],
) -> u64 {
    let seeds: Vec<u64> = (0..pairs.len() as u64).map(|r| 9 + r).collect();
    let stack = Gadget::stacked(config, Device::Cpu, &seeds).expect("stack");
    let costs: Vec<&CostMatrix> = costs.iter().collect();
    let mut trainer =
        StackedTrainer::per_run(&stack, pairs.to_vec(), &costs, observed, options).expect("stack");
    while trainer.steps_done() < STEPS {
        trainer.step().expect("finite");
    }
    let losses: Vec<Vec<f64>> = trainer.records().into_iter().map(|r| r.losses).collect();
    drop(trainer);
    hash(&stack, &losses)
}

#[test]
fn cpu_training_bits_are_pinned() {
    use GadgetKind::{Gadget1, Gadget2};
    use LossKind::{Counterfactual, Joint};
    let impossible = impossible();
    let wide = Ramp { noise: 2.0, ..RAMP };
    let squared = CostMatrix::squared_index(4);
    let mismatch = CostMatrix::mismatch(4);
    let found = [
        alone(config(Gadget1, false), &RAMP, None, &options(Joint, 1, 1e-2, false)),
        alone(config(Gadget2, true), &impossible, None, &options(Joint, 2, 1e-2, false)),
        alone(config(Gadget2, false), &RAMP, None, &options(Counterfactual, 3, 1e-2, false)),
        alone(config(Gadget2, false), &RAMP, Some(2), &options(Counterfactual, 4, 1e-2, false)),
        alone(config(Gadget2, false), &wide, None, &options(Joint, 5, 1e-2, true)),
        stacked(
            config(Gadget2, false),
            &[&RAMP, &wide, &RAMP],
            &[squared.clone(), squared.clone(), squared.clone()],
            &[None, None, None],
            &[
                options(Joint, 1, 1e-2, false),
                options(Joint, 2, 3e-3, false),
                options(Joint, 3, 1e-2, false),
            ],
        ),
        stacked(
            config(Gadget2, true),
            &[&RAMP, &wide],
            &[squared.clone(), mismatch.clone()],
            &[Some(1), Some(3)],
            &[options(Counterfactual, 4, 1e-2, false), options(Counterfactual, 5, 1e-2, false)],
        ),
        stacked(
            config(Gadget1, false),
            &[&RAMP, &wide],
            &[squared.clone(), squared.clone()],
            &[None, None],
            &[options(Joint, 6, 1e-2, false), options(Joint, 7, 1e-2, false)],
        ),
        stacked(
            config(Gadget2, true),
            &[&impossible, &wide],
            &[squared.clone(), mismatch.clone()],
            &[None, None],
            &[options(Joint, 8, 1e-2, true), options(Joint, 9, 3e-3, true)],
        ),
        stacked(
            config(Gadget2, false),
            &[&wide, &RAMP],
            &[squared.clone(), squared.clone()],
            &[None, None],
            &[options(Counterfactual, 10, 1e-2, false), options(Counterfactual, 11, 1e-2, false)],
        ),
    ];
    let expected: [u64; 10] = [
        0xd7de172dcf14bc84,
        0x212f94b3d1fbe869,
        0xfd6efcade8be7fe5,
        0xebb3186f61f4f877,
        0x7808ddcfb6612cc9,
        0x77ce69e690e09f9d,
        0xc2a1fde12a740e54,
        0xd9e41a90b1ce096f,
        0x47cd30b6ce9c0d1d,
        0xb4edb32c7fde3758,
    ];
    let text: Vec<String> = found.iter().map(|h| format!("0x{h:016x}")).collect();
    assert_eq!(found, expected, "found [{}]", text.join(", "));
}
