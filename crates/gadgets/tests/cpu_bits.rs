//! The CPU's training bits, pinned: the FNV-1a hash of the weights and loss logs of short runs,
//! alone and in stacks, for both gadgets, both losses, a fixed observation, impossible outcomes,
//! per-run rates, costs and observations and the authors' unnormalised logits: the CPU's numbers
//! must not move unless a change means them to. They hold on every x86-64 processor: Adam's CPU
//! update takes a correctly rounded square root (`adam::fused`), not libtorch's vector one, which
//! picks its code by processor. The step's split into host preparation and a device part (static
//! inputs, Adam's scalars as tensors, Gadget 2's sweeps chosen by device) changes none of them.

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
        0xd73724d8c3694bcb,
        0x5846593eb8f40c73,
        0xeef3b865af8770b6,
        0x8d8dc7072eaff584,
        0x0290e9b060d88c20,
        0x33968351a06258c5,
        0x28803100be772dec,
        0x76173bd97eefe42f,
        0x6a021a31c0fccac6,
        0x47586bbfe1ddc7d1,
    ];
    let text: Vec<String> = found.iter().map(|h| format!("0x{h:016x}")).collect();
    assert_eq!(found, expected, "found [{}]", text.join(", "));
}
