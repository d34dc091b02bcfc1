//! Training given a fixed observation, and pooled samples over many pairs.

mod common;

use common::{dist, gadget, small};
use gadgets::mixture::mixture_samples;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{GadgetError, GadgetKind};
use gumbel_core::pairs::{FixedPair, LogitPair};
use gumbel_core::{CostMatrix, Coupling};

fn pair() -> LogitPair {
    LogitPair { p: vec![0.0, 0.5, f64::NEG_INFINITY, 1.0], q: vec![1.0, 0.2, 0.3, 0.0] }
}

#[test]
fn observed_training_refuses_impossible_observations_and_the_joint_loss() {
    let g = gadget(small(GadgetKind::Gadget2, 4, 3), 1);
    let pairs = FixedPair { pair: pair(), noise: 0.0 };
    let cost = CostMatrix::squared_index(4);
    let options = TrainOptions {
        loss: LossKind::Counterfactual,
        batch: 2,
        inner_samples: 4,
        learning_rate: 1e-3,
        steps: 1,
        seed: 0,
        unnormalised_logits: false,
    };
    let mut trainer =
        Trainer::given_observation(&g, &pairs, &cost, 2, &options).expect("valid sizes");
    assert!(matches!(trainer.step(), Err(GadgetError::Core(_))), "outcome 2 has p = 0");
    let joint = TrainOptions { loss: LossKind::Joint, ..options.clone() };
    assert!(Trainer::given_observation(&g, &pairs, &cost, 1, &joint).is_err());
    let mut trainer =
        Trainer::given_observation(&g, &pairs, &cost, 1, &options).expect("valid sizes");
    assert!(
        trainer.step().expect("a finite step").is_some_and(f64::is_finite),
        "the last step is read back"
    );
}

#[test]
fn pooled_samples_match_gadget_two_exact_coupling() {
    let g = gadget(small(GadgetKind::Gadget2, 4, 3), 2);
    let (p, q) = (dist(&pair().p), dist(&pair().q));
    let exact = g.coupling(&p, &q, 0, 0).expect("exact").coupling;
    let n = 20_000;
    let samples = mixture_samples(&g, &[pair(), pair()], n / 2, None, 5).expect("samples");
    let estimate = Coupling::from_samples(4, samples).expect("counts");
    common::assert_joint_close(&estimate, &exact, n as f64, 0.0);
    let cf = mixture_samples(&g, &[pair()], 1000, Some(1), 6).expect("counterfactual samples");
    assert!(cf.iter().all(|&(x, _)| x == 1));
}
