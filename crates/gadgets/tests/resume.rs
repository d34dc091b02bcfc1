//! Training snapshots: a run stopped after a few steps and resumed from its snapshot in a fresh
//! trainer (fresh weights, fresh generator) ends with the weights and losses of a run that was never
//! stopped, bit for bit, for both gadgets and every loss; a snapshot of another run or a corrupt one
//! is a clear error that leaves the trainer as it was.

mod common;

use common::{gadget, small, weights};
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Gadget, GadgetError, GadgetKind};
use gumbel_core::pairs::{FixedPair, LogitPair, PairDistribution, Ramp};
use gumbel_core::CostMatrix;

const STEPS: usize = 5;
const STOP_AT: usize = 2;

fn options(loss: LossKind) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 4,
        inner_samples: 3,
        learning_rate: 1e-2,
        steps: STEPS,
        seed: 5,
        unnormalised_logits: false,
    }
}

/// A trainer of `g`: x_obs drawn from p, or the one observed outcome 1.
fn trainer<'a>(
    g: &'a Gadget,
    pairs: &'a dyn PairDistribution,
    cost: &CostMatrix,
    loss: LossKind,
    observed: Option<usize>,
) -> Trainer<'a> {
    match observed {
        Some(x) => Trainer::given_observation(g, pairs, cost, x, &options(loss)),
        None => Trainer::new(g, pairs, cost, &options(loss)),
    }
    .expect("valid run")
}

#[test]
fn a_resumed_run_ends_as_an_uninterrupted_one() {
    let pairs = Ramp { outcomes: 4, base_scale: 0.3, noise: 0.5 };
    let cost = CostMatrix::squared_index(4);
    let dir = tempfile::tempdir().expect("temporary directory");
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        for (loss, observed) in [
            (LossKind::Joint, None),
            (LossKind::Counterfactual, None),
            (LossKind::Counterfactual, Some(1)),
        ] {
            let config = small(kind, 4, 3);
            let whole = gadget(config.clone(), 9);
            let mut straight = trainer(&whole, &pairs, &cost, loss, observed);
            for _ in 0..STEPS {
                straight.step().expect("finite");
            }

            let stopped = gadget(config.clone(), 9);
            let mut first = trainer(&stopped, &pairs, &cost, loss, observed);
            for _ in 0..STOP_AT {
                first.step().expect("finite");
            }
            let path = dir.path().join(format!("{kind:?}-{loss:?}-{observed:?}.snapshot"));
            first.save_snapshot(&path).expect("snapshot");

            let resumed = gadget(config, 1234);
            let mut second = trainer(&resumed, &pairs, &cost, loss, observed);
            second.resume(&path).expect("resume");
            assert_eq!(second.steps_done(), STOP_AT);
            while second.steps_done() < STEPS {
                second.step().expect("finite");
            }
            let case = format!("{kind:?} {loss:?} observed {observed:?}");
            assert_eq!(weights(&resumed), weights(&whole), "{case}: weights");
            assert_ne!(
                weights(&resumed),
                weights(&gadget(small(kind, 4, 3), 9)),
                "{case}: training must move the weights"
            );
            let (a, b) = (second.record(), straight.record());
            assert_eq!(
                (a.losses, a.log_every, a.options),
                (b.losses, b.log_every, b.options),
                "{case}: record"
            );
            // The generator was restored too: the next step draws the same batch and noise.
            second.step().expect("finite");
            straight.step().expect("finite");
            assert_eq!(
                second.read_back().expect("finite").map(f64::to_bits),
                straight.read_back().expect("finite").map(f64::to_bits),
                "{case}: next step"
            );
        }
    }
}

#[test]
fn a_snapshot_of_another_run_or_a_corrupt_one_is_refused_and_changes_nothing() {
    let pairs = FixedPair {
        pair: LogitPair { p: vec![0.0, 0.5, 1.0], q: vec![1.0, 0.5, 0.0] },
        noise: 0.3,
    };
    let cost = CostMatrix::mismatch(3);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("run.snapshot");
    let g = gadget(small(GadgetKind::Gadget2, 3, 2), 4);
    let mut run = trainer(&g, &pairs, &cost, LossKind::Joint, None);
    run.step().expect("finite");
    run.save_snapshot(&path).expect("snapshot");

    let other = gadget(small(GadgetKind::Gadget2, 3, 2), 4);
    let before = weights(&other);
    let slower = TrainOptions { learning_rate: 1e-3, ..options(LossKind::Joint) };
    let mut different = Trainer::new(&other, &pairs, &cost, &slower).expect("valid run");
    assert!(
        matches!(different.resume(&path), Err(GadgetError::Checkpoint { reason, .. }) if reason.contains("another run"))
    );

    let mut same = trainer(&other, &pairs, &cost, LossKind::Joint, None);
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    assert!(
        matches!(same.resume(&path), Err(GadgetError::Checkpoint { reason, .. }) if reason.contains("checksum"))
    );
    std::fs::write(&path, b"GUMBEL-GADGETS-CHECKPOINT\n").expect("write");
    assert!(
        matches!(same.resume(&path), Err(GadgetError::Checkpoint { reason, .. }) if reason.contains("magic"))
    );
    assert!(matches!(same.resume(&dir.path().join("missing")), Err(GadgetError::Io { .. })));
    assert_eq!(
        (weights(&other), same.steps_done()),
        (before, 0),
        "a refused snapshot changes nothing"
    );
}
