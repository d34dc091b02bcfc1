//! Training with each pair's own reward (`"cost": {"type": "pair-reward"}`): a batch row's cost is
//! (h_i - h_j)^2 from the reward of the pair drawn into that row.

mod common;

use common::{gadget, small, weights};
use gadgets::task::TrainCost;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{GadgetError, GadgetKind};
use gumbel_core::pairs::{LogitPair, Rows};
use gumbel_core::CostMatrix;

const NEG: f64 = f64::NEG_INFINITY;

fn options(loss: LossKind, steps: usize) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 8,
        inner_samples: 4,
        learning_rate: 1e-2,
        steps,
        seed: 3,
        unnormalised_logits: false,
    }
}

fn pairs() -> Vec<LogitPair> {
    vec![
        LogitPair { p: vec![0.0, 0.5, -1.0, 1.0], q: vec![1.0, 0.2, 0.3, 0.0] },
        LogitPair { p: vec![2.0, NEG, 0.0, -0.5], q: vec![0.0, 0.0, 1.5, -1.0] },
        LogitPair { p: vec![-1.0, 0.3, 0.3, 0.0], q: vec![0.7, -2.0, 0.0, 1.0] },
    ]
}

/// The losses of every step and the final weights of a run of `kind` on `rows` with `cost`.
fn run(
    kind: GadgetKind,
    rows: &Rows,
    cost: impl Into<TrainCost>,
    options: &TrainOptions,
) -> (Vec<f64>, Vec<(String, Vec<f32>)>) {
    let g = gadget(small(kind, 4, 3), 7);
    let mut trainer = Trainer::new(&g, rows, cost, options).expect("valid run");
    trainer.set_readback_every(1);
    let losses = (0..options.steps)
        .map(|_| trainer.step().expect("finite step").expect("every step is read back"))
        .collect();
    drop(trainer);
    (losses, weights(&g))
}

/// Rows that all carry one reward h train exactly as the matrix (h_i - h_j)^2 given as the cost:
/// the same pairs are drawn (one generator draw per pair either way), and a batch whose rows share
/// one reward is weighed by that reward's matrix, the same f32 entries in the same product, so
/// losses and weights agree bit for bit.
#[test]
fn rows_sharing_one_reward_train_as_that_reward_given_as_the_cost() {
    let h = vec![0.0, 1.0, 3.0, -2.0];
    let shared = Rows::new(pairs()).unwrap();
    let rewarded = Rows::with_rewards(pairs(), vec![h.clone(); 3]).unwrap();
    let cost = CostMatrix::squared_reward(&h).unwrap();
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        for loss in [LossKind::Joint, LossKind::Counterfactual] {
            let options = options(loss, 5);
            let expected = run(kind, &shared, &cost, &options);
            let found = run(kind, &rewarded, TrainCost::PairReward, &options);
            assert_eq!(found.0, expected.0, "{kind:?} {loss:?}: losses");
            assert_eq!(found.1, expected.1, "{kind:?} {loss:?}: weights");
            assert!(expected.0.iter().all(|&l| l > 0.0));
        }
    }
}

/// Two kinds of pair: outcomes {0, 1} only, and {2, 3} only, each with a reward constant on its own
/// outcomes, so that with the right reward every sample costs exactly 0; the other's reward makes
/// moving between its outcomes cost 4 or 9. A batch of 8 draws both kinds, so a reward taken from
/// another row, or another pair, gives a positive loss.
#[test]
fn each_row_is_weighed_by_its_own_pairs_reward() {
    let low = LogitPair { p: vec![0.0, 0.3, NEG, NEG], q: vec![0.5, 0.0, NEG, NEG] };
    let high = LogitPair { p: vec![NEG, NEG, 0.2, 0.0], q: vec![NEG, NEG, -0.4, 0.0] };
    let (low_h, high_h) = (vec![1.0, 1.0, 3.0, 5.0], vec![0.0, 2.0, 4.0, 4.0]);
    let pairs = vec![low.clone(), high.clone(), low, high];
    let own = Rows::with_rewards(
        pairs.clone(),
        vec![low_h.clone(), high_h.clone(), low_h.clone(), high_h.clone()],
    )
    .unwrap();
    let swapped =
        Rows::with_rewards(pairs, vec![high_h.clone(), low_h.clone(), high_h, low_h]).unwrap();
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        for loss in [LossKind::Joint, LossKind::Counterfactual] {
            let options = options(loss, 4);
            let (losses, _) = run(kind, &own, TrainCost::PairReward, &options);
            assert!(losses.iter().all(|&l| l == 0.0), "{kind:?} {loss:?}: {losses:?}");
            let (losses, _) = run(kind, &swapped, TrainCost::PairReward, &options);
            assert!(losses.iter().all(|&l| l > 0.1), "{kind:?} {loss:?}: {losses:?}");
        }
    }
}

#[test]
fn a_reward_per_pair_and_a_cost_matrix_exclude_each_other() {
    let g = gadget(small(GadgetKind::Gadget2, 4, 3), 7);
    let options = options(LossKind::Joint, 1);
    let plain = Rows::new(pairs()).unwrap();
    let rewarded = Rows::with_rewards(pairs(), vec![vec![0.0; 4]; 3]).unwrap();
    let message = |result: gadgets::Result<Trainer>| match result {
        Err(e @ GadgetError::InvalidConfig(_)) => e.to_string(),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted"),
    };
    assert!(message(Trainer::new(&g, &plain, TrainCost::PairReward, &options))
        .contains("pair-reward needs pairs that carry a reward"));
    assert!(message(Trainer::new(&g, &rewarded, &CostMatrix::mismatch(4), &options))
        .contains("carry a reward each"));
}
