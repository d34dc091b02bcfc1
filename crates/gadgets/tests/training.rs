//! Training: a short run on the Section 7.1 maximality task lowers P(x != y); both losses stay finite
//! with impossible outcomes; a diverging loss is reported with its step; same seed, same weights;
//! checkpoints round-trip (with the noise version of the record) and reject corrupt files.

mod common;

use common::{devices, dist, gadget, small, weights};
use gadgets::checkpoint::{load, save};
use gadgets::noise::NOISE_VERSION;
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{train, LossKind, TrainOptions, TrainingRecord};
use gadgets::{Gadget, GadgetError, GadgetKind, TrainJob};
use gumbel_core::pairs::{FixedPair, LogitPair, Ramp};
use gumbel_core::CostMatrix;
use ndarray::Array2;
use tch::Device;

fn options(steps: usize, learning_rate: f64, loss: LossKind) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 16,
        inner_samples: 16,
        learning_rate,
        steps,
        seed: 3,
        unnormalised_logits: false,
    }
}

#[test]
fn a_short_run_on_the_maximality_task_lowers_p_x_ne_y() {
    let ramp = Ramp { outcomes: 10, base_scale: 0.1, noise: 0.0 };
    let pair = ramp.noise_free();
    let (p, q) = (dist(&pair.p), dist(&pair.q));
    let g = gadget(small(GadgetKind::Gadget2, 10, 20), 1);
    let before = g.coupling(&p, &q, 0, 0).expect("coupling").coupling.p_x_ne_y();
    let record = train(&g, &ramp, &CostMatrix::mismatch(10), &options(150, 1e-2, LossKind::Joint))
        .expect("training");
    let after = g.coupling(&p, &q, 0, 0).expect("coupling").coupling.p_x_ne_y();
    assert!(after < before - 0.02, "P(x != y) went from {before} to {after}");
    assert_eq!((record.log_every, record.losses.len()), (2, 75));
    assert!(record.final_loss < record.losses[0]);
}

#[test]
fn both_losses_stay_finite_with_impossible_outcomes() {
    let pair = LogitPair {
        p: vec![0.0, f64::NEG_INFINITY, 1.0, -0.5],
        q: vec![f64::NEG_INFINITY, 0.3, 0.2, 1.0],
    };
    let pairs = FixedPair { pair, noise: 0.5 };
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        for loss in [LossKind::Joint, LossKind::Counterfactual] {
            let config = gadgets::GadgetConfig { learned_prior: true, ..small(kind, 4, 3) };
            let g = gadget(config, 2);
            let record = train(&g, &pairs, &CostMatrix::squared_index(4), &options(5, 1e-3, loss))
                .unwrap_or_else(|e| panic!("{kind:?} {loss:?}: {e}"));
            assert!(record.final_loss.is_finite());
        }
    }
}

#[test]
fn a_diverging_loss_names_its_step() {
    let mut huge = Array2::from_elem((3, 3), 3.0e38);
    huge.diag_mut().fill(0.0);
    let cost = CostMatrix::new(huge).expect("finite in f64");
    let pairs = FixedPair { pair: LogitPair { p: vec![0.0; 3], q: vec![0.0; 3] }, noise: 0.0 };
    let g = gadget(small(GadgetKind::Gadget2, 3, 2), 0);
    match train(&g, &pairs, &cost, &options(3, 1e-3, LossKind::Joint)) {
        Err(GadgetError::NonFinite { step, what, .. }) => assert_eq!((step, what), (1, "loss")),
        other => panic!("expected a non-finite loss at step 1, got {other:?}"),
    }
}

#[test]
fn the_same_seed_trains_the_same_bits_twice_on_every_device() {
    // On CUDA this needs a backward pass without atomic additions (gadget2.rs `rows_at`): with
    // gather's, two runs of one seed on an H200 ended with different weights.
    let pairs = Ramp { outcomes: 4, base_scale: 0.3, noise: 0.5 };
    let cost = CostMatrix::squared_index(4);
    for device in devices() {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            for loss in [LossKind::Joint, LossKind::Counterfactual] {
                let trained = || {
                    let g = Gadget::new(small(kind, 4, 3), device, 5).expect("gadget");
                    train(&g, &pairs, &cost, &options(5, 1e-2, loss)).expect("finite");
                    weights(&g)
                };
                assert_eq!(trained(), trained(), "{kind:?} {loss:?} on {device:?}");
            }
        }
    }
}

#[test]
fn same_seed_same_weights_and_checkpoints_round_trip() {
    let job: TrainJob = serde_json::from_value(serde_json::json!({
        "gadget": { "kind": "gadget-1", "outcomes": 5, "hidden": [16] },
        "pairs": { "type": "softmax-uniform", "outcomes": 5, "mode": "mirrored" },
        "cost": { "type": "squared-index" },
        "training": { "steps": 4, "batch": 8, "inner_samples": 4, "learning_rate": 1e-3, "seed": 7, "progress": false },
        "device": "cpu"
    }))
    .expect("job");
    let (first, record) = job.run(&mut |_| {}).expect("run");
    let (second, _) = job.run(&mut |_| {}).expect("run");
    assert_eq!(weights(&first), weights(&second));
    let fresh = Gadget::new(job.run.gadget.clone(), Device::Cpu, 7).expect("fresh");
    assert_ne!(weights(&first), weights(&fresh), "training must change the weights");

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("g1.safetensors");
    save(&first, Some(&record), &path).expect("save");
    let loaded = load(&path, Device::Cpu).expect("load");
    assert_eq!(weights(&loaded.gadget), weights(&first));
    assert_eq!(loaded.gadget.config(), first.config());
    // The record survives (JSON floats may differ in the last bit, so compare them loosely).
    let stored = loaded.training.expect("a training record");
    assert_eq!(
        (&stored.options, &stored.device, stored.log_every, stored.noise),
        (&record.options, &record.device, record.log_every, NOISE_VERSION)
    );
    // A record that names no noise version was trained with the first noise.
    let mut unnamed = serde_json::to_value(&record).expect("record JSON");
    unnamed.as_object_mut().expect("object").remove("noise");
    let old: TrainingRecord = serde_json::from_value(unnamed).expect("record");
    assert_eq!(old.noise, 1);
    assert!(stored
        .losses
        .iter()
        .zip(&record.losses)
        .all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs()));
    assert!(
        (stored.steps_per_second - record.steps_per_second).abs() <= 1e-9 * record.steps_per_second
    );

    // A flipped weight byte, a truncated file and a foreign file are clear errors.
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    assert!(
        matches!(load(&path, Device::Cpu), Err(GadgetError::Checkpoint { reason, .. }) if reason.contains("checksum"))
    );
    std::fs::write(&path, &bytes[..100]).expect("write");
    assert!(matches!(load(&path, Device::Cpu), Err(GadgetError::Checkpoint { .. })));
    std::fs::write(&path, b"{}").expect("write");
    assert!(
        matches!(load(&path, Device::Cpu), Err(GadgetError::Checkpoint { reason, .. }) if reason.contains("not a safetensors file"))
    );
    assert!(matches!(load(&dir.path().join("missing"), Device::Cpu), Err(GadgetError::Io { .. })));
}

#[test]
fn training_configuration_errors_are_typed() {
    let base = serde_json::json!({
        "gadget": { "kind": "gadget-2", "outcomes": 4, "hidden": [8] },
        "pairs": { "type": "fixed", "p": [0.0, 1.0, 2.0], "q": [0.0, 1.0, 2.0] },
        "cost": { "type": "mismatch" },
        "training": { "steps": 1, "progress": false }
    });
    let job: TrainJob = serde_json::from_value(base.clone()).expect("parses");
    assert!(matches!(job.run(&mut |_| {}), Err(GadgetError::OutcomeMismatch { .. })));
    // The step counter that keys the noise is 32 bits.
    let too_long = TrainOptions { steps: 1 << 32, ..options(1, 1e-3, LossKind::Joint) };
    assert!(
        matches!(too_long.validate(), Err(GadgetError::InvalidConfig(m)) if m.contains("2^32"))
    );
    let unknown = serde_json::json!({ "gadget": { "kind": "gadget-3", "outcomes": 4 } });
    assert!(serde_json::from_value::<TrainJob>(unknown).is_err());
    // A key that is neither the run's nor the job's is refused; device and threads are the job's.
    let with = |key: &str, value: serde_json::Value| {
        let mut object = base.as_object().expect("an object").clone();
        object.insert(key.to_owned(), value);
        serde_json::from_value::<TrainJob>(serde_json::Value::Object(object))
    };
    assert!(with("bogus", serde_json::json!(1)).is_err());
    assert_eq!(with("threads", serde_json::json!(3)).expect("parses").threads().ok(), Some(3));
    assert!(matches!(
        with("threads", serde_json::json!(0)).expect("parses").threads(),
        Err(GadgetError::InvalidConfig(_))
    ));
    assert!(with("device", serde_json::json!("tpu")).is_err());
    // `progress`, a key of earlier files, is read and ignored, and written back as false.
    let quiet: TrainOptions =
        serde_json::from_value(serde_json::json!({ "steps": 2, "progress": true }))
            .expect("parses");
    assert_eq!(serde_json::to_value(&quiet).expect("serialises")["progress"], false);
    let _ = PairSpec::Ramp { outcomes: 4, base_scale: 0.1, noise: -1.0 }
        .build()
        .map(|_| ())
        .expect_err("negative noise");
    let _ = CostSpec::SquaredReward { h: vec![1.0, 2.0] }
        .build(4)
        .map(|_| ())
        .expect_err("wrong length");
}

#[test]
fn unnormalised_logits_change_gadget_2_training_only_through_the_logits_scale() {
    // One pair, as log-probabilities and shifted by +2.3 (the ramp pair's logsumexp).
    let log_p = [-2.0, -1.2, -0.9, -2.5];
    let log_q = [-1.1, -2.2, -1.7, -1.0];
    let normalise = |l: &[f64]| gumbel_core::pairs::log_softmax(l);
    let normalised = LogitPair { p: normalise(&log_p), q: normalise(&log_q) };
    let shifted = LogitPair {
        p: normalised.p.iter().map(|v| v + 2.3).collect(),
        q: normalised.q.iter().map(|v| v + 2.3).collect(),
    };
    let trained = |pair: &LogitPair, unnormalised_logits: bool| {
        let g = gadget(small(GadgetKind::Gadget2, 4, 3), 4);
        let pairs = FixedPair { pair: pair.clone(), noise: 0.0 };
        train(
            &g,
            &pairs,
            &CostMatrix::mismatch(4),
            &TrainOptions { unnormalised_logits, ..options(5, 1e-2, LossKind::Joint) },
        )
        .expect("training");
        weights(&g)
    };
    let reference = trained(&normalised, false);
    // Normalised logits (L = 0): the authors' mechanism is ours. Shifted logits without the flag are
    // normalised on entry. Only shifted logits with the flag train differently.
    assert_eq!(trained(&normalised, true), reference);
    assert_eq!(trained(&shifted, false), reference);
    assert_ne!(trained(&shifted, true), reference);

    let g1 = gadget(small(GadgetKind::Gadget1, 4, 3), 4);
    let pairs = FixedPair { pair: shifted, noise: 0.0 };
    let refused = train(
        &g1,
        &pairs,
        &CostMatrix::mismatch(4),
        &TrainOptions { unnormalised_logits: true, ..options(1, 1e-2, LossKind::Joint) },
    );
    assert!(
        matches!(refused, Err(GadgetError::InvalidConfig(ref m)) if m.contains("Gadget 2 only")),
        "{refused:?}"
    );
}

#[test]
fn the_observer_hears_every_step_and_the_record_is_the_same_without_one() {
    let job: TrainJob = serde_json::from_value(serde_json::json!({
        "gadget": { "kind": "gadget-2", "outcomes": 4, "hidden": [8] },
        "pairs": { "type": "softmax-uniform", "outcomes": 4, "mode": "independent" },
        "cost": { "type": "squared-index" },
        "training": { "steps": 3, "batch": 4, "inner_samples": 2, "seed": 5 },
        "device": "cpu"
    }))
    .expect("job");
    let mut heard = Vec::new();
    let (observed, record) = job.run(&mut |report| heard.push(report)).expect("run");
    assert_eq!(
        heard.iter().map(|r| (r.step, r.steps)).collect::<Vec<_>>(),
        [(1, 3), (2, 3), (3, 3)]
    );
    assert_eq!(heard[2].block_loss, Some(record.final_loss));
    let (quiet, quiet_record) = job.run(&mut |_| {}).expect("run");
    assert_eq!(weights(&observed), weights(&quiet));
    assert_eq!(record.losses, quiet_record.losses);
}
