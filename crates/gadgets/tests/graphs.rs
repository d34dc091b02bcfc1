//! A training step replayed as a CUDA graph (`StackedTrainer::set_graphs`, `Trainer::set_graphs`):
//! on a GPU with the shim, the weights and losses of 20 steps are those of the eager step bit for
//! bit, for both gadgets, per-run rates, costs and observations, across a snapshot and resume, and
//! for a run alone; on the CPU, in a build without the shim, or for a run on each pair's own reward,
//! asking for graphs is a one-line error that leaves the trainer training eagerly.

mod common;

use common::{small, weights};
use cuda_graph::GraphError;
use gadgets::stack::StackedTrainer;
use gadgets::task::TrainCost;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{Device, Gadget, GadgetConfig, GadgetError, GadgetKind};
use gumbel_core::pairs::{LogitPair, PairDistribution, Ramp, Rows};
use gumbel_core::CostMatrix;

const STEPS: usize = 20;

fn options(loss: LossKind, seed: u64, learning_rate: f64) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 8,
        inner_samples: 4,
        learning_rate,
        steps: STEPS,
        seed,
        unnormalised_logits: false,
    }
}

const RAMPS: [Ramp; 3] = [
    Ramp { outcomes: 5, base_scale: 0.3, noise: 0.5 },
    Ramp { outcomes: 5, base_scale: 0.3, noise: 2.0 },
    Ramp { outcomes: 5, base_scale: 1.0, noise: 0.0 },
];

/// A stack's named weights and every run's loss log.
type Trained = (Vec<(String, Vec<f32>)>, Vec<Vec<f64>>);

/// A stack of three runs of `config` on `device`, trained `steps` steps (from the snapshot at
/// `resume` when given; writing one at step `snapshot_at` when given), with or without graphs:
/// its weights and every run's loss log.
fn train(
    config: &GadgetConfig,
    loss: LossKind,
    device: Device,
    graphs: bool,
    snapshot: Option<(&std::path::Path, bool)>,
) -> Trained {
    let stack = Gadget::stacked(config.clone(), device, &[3, 4, 5]).expect("stack");
    let dists: Vec<&dyn PairDistribution> = RAMPS.iter().map(|r| r as _).collect();
    let costs =
        [CostMatrix::squared_index(5), CostMatrix::mismatch(5), CostMatrix::squared_index(5)];
    let observed: Vec<Option<usize>> = match loss {
        LossKind::Counterfactual => vec![Some(1), Some(3), Some(0)],
        LossKind::Joint => vec![None; 3],
    };
    let all = [options(loss, 3, 1e-2), options(loss, 4, 3e-3), options(loss, 5, 1e-2)];
    let mut trainer =
        StackedTrainer::per_run(&stack, dists, &costs.iter().collect::<Vec<_>>(), &observed, &all)
            .expect("stack run");
    trainer.set_readback_every(7);
    trainer.set_graphs(graphs).expect("graphs available");
    match snapshot {
        Some((path, true)) => trainer.resume(path).expect("resume"),
        Some((path, false)) => {
            while trainer.steps_done() < STEPS / 2 {
                trainer.step().expect("finite");
            }
            trainer.save_snapshot(path).expect("snapshot");
        }
        None => {}
    }
    while trainer.steps_done() < STEPS {
        trainer.step().expect("finite");
    }
    let losses = trainer.records().into_iter().map(|r| r.losses).collect();
    drop(trainer);
    (weights(&stack), losses)
}

#[test]
fn a_stack_replaying_a_graph_ends_bit_for_bit_as_an_eager_one() {
    if !tch::Cuda::is_available() {
        eprintln!("skipped: libtorch sees no CUDA device");
        return;
    }
    if !cuda_graph::available(0) {
        eprintln!("skipped: CUDA graphs unavailable (compiled: {})", cuda_graph::compiled());
        return;
    }
    let device = Device::Cuda(0);
    let dir = tempfile::tempdir().expect("temporary directory");
    let gadget2 = GadgetConfig { learned_prior: true, ..small(GadgetKind::Gadget2, 5, 4) };
    let gadget1 = GadgetConfig { separate_networks: true, ..small(GadgetKind::Gadget1, 5, 5) };
    for (config, loss) in [
        (&gadget2, LossKind::Joint),
        (&gadget2, LossKind::Counterfactual),
        (&gadget1, LossKind::Counterfactual),
    ] {
        let what = format!("{:?} {loss:?}", config.kind);
        let eager = train(config, loss, device, false, None);
        let replayed = train(config, loss, device, true, None);
        assert_eq!(eager, replayed, "{what}: graphs against eager");
        assert_ne!(
            eager.0,
            weights(&Gadget::stacked(config.clone(), device, &[3, 4, 5]).expect("stack"))
        );
        // Cut at step 10 and resumed: the graph is captured again, and the run ends the same.
        let path = dir.path().join("stack.snapshot");
        let _ = train(config, loss, device, true, Some((&path, false)));
        let resumed = train(config, loss, device, true, Some((&path, true)));
        assert_eq!(eager.0, resumed.0, "{what}: resumed with graphs");
    }
}

/// A run alone of `config` on `device` (Gadget 2 on unnormalised logits), 20 steps with or without
/// graphs: its weights and losses.
fn train_alone(
    config: &GadgetConfig,
    observed: Option<usize>,
    device: Device,
    graphs: bool,
) -> Trained {
    let g = Gadget::new(config.clone(), device, 7).expect("gadget");
    let cost = CostMatrix::squared_index(5);
    let loss = if observed.is_some() { LossKind::Counterfactual } else { LossKind::Joint };
    // Gadget 2 on the raw logits: their logsumexps are static inputs too.
    let unnormalised_logits = config.kind == GadgetKind::Gadget2;
    let run_options = TrainOptions { unnormalised_logits, ..options(loss, 8, 1e-2) };
    let mut trainer = match observed {
        Some(x) => Trainer::given_observation(&g, &RAMPS[1], &cost, x, &run_options),
        None => Trainer::new(&g, &RAMPS[1], &cost, &run_options),
    }
    .expect("run");
    trainer.set_readback_every(7);
    trainer.set_graphs(graphs).expect("graphs available");
    while trainer.steps_done() < STEPS {
        trainer.step().expect("finite");
    }
    let losses = vec![trainer.record().losses];
    drop(trainer);
    (weights(&g), losses)
}

#[test]
fn a_run_alone_replaying_a_graph_ends_bit_for_bit_as_an_eager_one() {
    if !(tch::Cuda::is_available() && cuda_graph::available(0)) {
        eprintln!("skipped: no CUDA device with graphs (compiled: {})", cuda_graph::compiled());
        return;
    }
    let device = Device::Cuda(0);
    let gadget2 = GadgetConfig { learned_prior: true, ..small(GadgetKind::Gadget2, 5, 4) };
    let gadget1 = small(GadgetKind::Gadget1, 5, 5);
    for (config, observed) in [(&gadget2, None), (&gadget1, Some(2))] {
        let eager = train_alone(config, observed, device, false);
        assert_eq!(eager, train_alone(config, observed, device, true), "{:?}", config.kind);
    }
}

#[test]
fn graphs_where_they_cannot_be_captured_are_a_one_line_error() {
    let stack =
        Gadget::stacked(small(GadgetKind::Gadget2, 5, 3), Device::Cpu, &[1, 2]).expect("stack");
    let dists: Vec<&dyn PairDistribution> = RAMPS[..2].iter().map(|r| r as _).collect();
    let all = [options(LossKind::Joint, 1, 1e-2), options(LossKind::Joint, 2, 1e-2)];
    let mut trainer = StackedTrainer::new(&stack, dists, &CostMatrix::squared_index(5), None, &all)
        .expect("stack");
    match trainer.set_graphs(true) {
        Err(error @ GadgetError::Graph(GraphError::Unavailable(_))) => {
            let message = error.to_string();
            assert!(message.starts_with("CUDA graphs unavailable: "), "{message}");
            assert!(message.contains("cpu") && !message.contains('\n'), "{message}");
        }
        other => panic!("graphs on the CPU: {other:?}"),
    }
    // The trainer is unchanged: it trains eagerly, and turning graphs off is always possible.
    trainer.set_graphs(false).expect("off");
    trainer.step().expect("an eager step");
    assert_eq!(trainer.steps_done(), 1);

    // A run alone: on the CPU, and (on any device) when it trains on each pair's own reward.
    let g = Gadget::new(small(GadgetKind::Gadget2, 5, 3), Device::Cpu, 1).expect("gadget");
    let cost = CostMatrix::squared_index(5);
    let mut alone =
        Trainer::new(&g, &RAMPS[0], &cost, &options(LossKind::Joint, 1, 1e-2)).expect("run");
    let error = alone.set_graphs(true).expect_err("no graphs on the CPU");
    assert!(error.to_string().starts_with("CUDA graphs unavailable: "), "{error}");
    let pair = LogitPair { p: vec![0.0, 0.5, 1.0, -1.0, 0.2], q: vec![0.3, 0.1, 0.0, 0.4, -0.5] };
    let rewarded =
        Rows::with_rewards(vec![pair], vec![vec![1.0, 0.0, 2.0, -1.0, 0.5]]).expect("rows");
    let mut by_reward =
        Trainer::new(&g, &rewarded, TrainCost::PairReward, &options(LossKind::Joint, 1, 1e-2))
            .expect("run");
    let error = by_reward.set_graphs(true).expect_err("no graphs for pair rewards");
    assert!(error.to_string().contains("cost pair-reward"), "{error}");
    by_reward.step().expect("an eager step");
}
