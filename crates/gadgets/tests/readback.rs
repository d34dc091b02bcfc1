//! Reading a run's losses back every N steps (`gadgets::readback`): the weights and the loss log of
//! a finite run do not depend on N, bit for bit, alone and in a stack; a NaN at step 7 of a run read
//! back every 50 steps is an error naming step 7 and the loss, at the snapshot that would have been
//! written (which is not written), at the run's end and at every step after it.

mod common;

use common::{gadget, small, weights};
use gadgets::stack::StackedTrainer;
use gadgets::train::{LossKind, TrainOptions, Trainer, TrainingRecord};
use gadgets::{Device, Gadget, GadgetError, GadgetKind};
use gumbel_core::hash::fnv1a;
use gumbel_core::pairs::{PairDistribution, Ramp};
use gumbel_core::CostMatrix;

fn options(steps: usize, seed: u64) -> TrainOptions {
    TrainOptions {
        loss: LossKind::Joint,
        batch: 4,
        inner_samples: 3,
        learning_rate: 1e-2,
        steps,
        seed,
        unnormalised_logits: false,
    }
}

const PAIRS: Ramp = Ramp { outcomes: 4, base_scale: 0.3, noise: 0.5 };

/// FNV-1a of every weight's bits, in name order.
fn weights_hash(g: &Gadget) -> u64 {
    let bytes: Vec<u8> = weights(g)
        .iter()
        .flat_map(|(name, values)| {
            name.bytes().chain(values.iter().flat_map(|v| v.to_bits().to_le_bytes()))
        })
        .collect();
    fnv1a(&bytes)
}

/// Trains a run of `steps` steps read back every `every` steps: its weights' hash and its record.
fn train_alone(kind: GadgetKind, steps: usize, every: usize) -> (u64, TrainingRecord) {
    let g = gadget(small(kind, 4, 3), 9);
    let cost = CostMatrix::squared_index(4);
    let mut trainer = Trainer::new(&g, &PAIRS, &cost, &options(steps, 5)).expect("run");
    trainer.set_readback_every(every);
    let mut read_at = Vec::new();
    while trainer.steps_done() < steps {
        if trainer.step().expect("finite").is_some() {
            read_at.push(trainer.steps_done());
        }
    }
    let expected: Vec<usize> = (1..=steps).filter(|s| s % every == 0 || *s == steps).collect();
    assert_eq!(read_at, expected, "read back every {every} steps and at the last");
    let record = trainer.record();
    drop(trainer);
    (weights_hash(&g), record)
}

#[test]
fn the_weights_do_not_depend_on_how_often_the_run_is_read_back() {
    // 120 steps: two full blocks of 50 and a last part block of 20.
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let (every_step, record) = train_alone(kind, 120, 1);
        let (every_fifty, record_fifty) = train_alone(kind, 120, 50);
        assert_eq!(every_step, every_fifty, "{kind:?}: weights");
        assert_eq!(record.losses, record_fifty.losses, "{kind:?}: loss log");
        assert_eq!(record.losses.len(), 60, "{kind:?}: a block per 2 steps at 120 steps");
        assert_ne!(every_step, weights_hash(&gadget(small(kind, 4, 3), 9)), "training moves them");
    }
}

fn stack_trainer<'a>(stack: &'a Gadget, pairs: &'a [Ramp; 2], steps: usize) -> StackedTrainer<'a> {
    let dists: Vec<&dyn PairDistribution> = pairs.iter().map(|r| r as _).collect();
    let all = [options(steps, 3), options(steps, 4)];
    StackedTrainer::new(stack, dists, &CostMatrix::squared_index(4), None, &all).expect("stack")
}

#[test]
fn a_stacks_weights_do_not_depend_on_how_often_it_is_read_back() {
    let pairs = [PAIRS, Ramp { noise: 2.0, ..PAIRS }];
    let mut runs = Vec::new();
    for every in [1, 50] {
        let stack =
            Gadget::stacked(small(GadgetKind::Gadget2, 4, 3), Device::Cpu, &[3, 4]).expect("stack");
        let mut trainer = stack_trainer(&stack, &pairs, 60);
        trainer.set_readback_every(every);
        let mut last = None;
        while trainer.steps_done() < 60 {
            last = trainer.step().expect("finite").or(last);
        }
        let losses: Vec<Vec<f64>> = trainer.records().into_iter().map(|r| r.losses).collect();
        drop(trainer);
        runs.push((weights_hash(&stack), losses, last));
    }
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0].1[1].len(), 60, "every step of run 1 is logged");
}

/// Sets every weight of the first layer of run `run` (None: of the only run) to NaN.
fn poison(g: &Gadget, run: Option<i64>) {
    let variables = g.var_store().variables();
    let (_, weight) = variables
        .iter()
        .filter(|(name, _)| name.ends_with("weight"))
        .min_by_key(|(name, _)| name.to_string())
        .expect("a layer");
    let target = match run {
        Some(r) => weight.get(r),
        None => weight.shallow_clone(),
    };
    tch::no_grad(|| {
        let _ = target.shallow_clone().fill_(f64::NAN);
    });
}

fn is_step_seven_loss(result: &Result<impl std::fmt::Debug, GadgetError>) -> bool {
    matches!(result, Err(GadgetError::NonFinite { step: 7, what: "loss", .. }))
}

#[test]
fn a_nan_at_step_seven_read_back_every_fifty_steps_names_step_seven_and_saves_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cost = CostMatrix::squared_index(4);
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let g = gadget(small(kind, 4, 3), 9);
        let mut trainer = Trainer::new(&g, &PAIRS, &cost, &options(20, 5)).expect("run");
        trainer.set_readback_every(50);
        for _ in 0..6 {
            assert_eq!(trainer.step().expect("finite"), None, "{kind:?}: nothing read back yet");
        }
        poison(&g, None);
        for _ in 7..=10 {
            assert_eq!(trainer.step().expect("not read back"), None, "{kind:?}");
        }
        let path = dir.path().join(format!("{kind:?}.snapshot"));
        let saved = trainer.save_snapshot(&path);
        assert!(is_step_seven_loss(&saved), "{kind:?}: {saved:?}");
        assert!(!path.exists(), "{kind:?}: a snapshot of NaN weights was written");
        assert!(is_step_seven_loss(&trainer.step()), "{kind:?}: the run stays failed");
        assert_eq!(trainer.steps_done(), 10, "{kind:?}: no step after the failure");

        // Without a snapshot, the run's last step reads it back.
        let g = gadget(small(kind, 4, 3), 9);
        let mut trainer = Trainer::new(&g, &PAIRS, &cost, &options(20, 5)).expect("run");
        trainer.set_readback_every(50);
        let mut results = Vec::new();
        for step in 1..=20 {
            if step == 7 {
                poison(&g, None);
            }
            results.push(trainer.step());
        }
        assert!(results[..19].iter().all(|r| matches!(r, Ok(None))), "{kind:?}: {results:?}");
        assert!(is_step_seven_loss(&results[19]), "{kind:?}: {:?}", results[19]);
    }
}

#[test]
fn a_nan_in_one_run_of_a_stack_names_its_step_and_saves_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pairs = [PAIRS, Ramp { noise: 2.0, ..PAIRS }];
    let stack =
        Gadget::stacked(small(GadgetKind::Gadget2, 4, 3), Device::Cpu, &[3, 4]).expect("stack");
    let mut trainer = stack_trainer(&stack, &pairs, 20);
    trainer.set_readback_every(50);
    for step in 1..=10 {
        if step == 7 {
            poison(&stack, Some(1));
        }
        assert_eq!(trainer.step().expect("not read back"), None);
    }
    let path = dir.path().join("stack.snapshot");
    let saved = trainer.save_snapshot(&path);
    assert!(is_step_seven_loss(&saved), "{saved:?}");
    assert!(!path.exists(), "a snapshot of NaN weights was written");
    assert!(is_step_seven_loss(&trainer.step()));
}
