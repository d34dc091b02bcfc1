//! Stacked training (`gadgets::stack`): R runs trained as one stacked gadget end where each run
//! trained alone ends, up to rounding, for both gadgets and both losses, at one learning rate or one
//! per run; the stack starts from each run's own weights exactly; a stack resumed from its snapshot
//! ends as an uninterrupted one, bit for bit; misuse is a clear error.

mod common;

use common::{devices, small, weights};
use gadgets::noise::{open_unit, NoiseSource, StepNoise};
use gadgets::stack::StackedTrainer;
use gadgets::threefry::Generator;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{checkpoint, Device, Gadget, GadgetConfig, GadgetError, GadgetKind};
use gumbel_core::jax_random::JaxKey;
use gumbel_core::pairs::{PairDistribution, Ramp};
use gumbel_core::{Categorical, CostMatrix};

const STEPS: usize = 4;

fn options(loss: LossKind, seed: u64, unnormalised_logits: bool) -> TrainOptions {
    TrainOptions {
        loss,
        batch: 4,
        inner_samples: 3,
        learning_rate: 1e-2,
        steps: STEPS,
        seed,
        unnormalised_logits,
    }
}

/// The losses of a step read back at that step (the trainer reads back every step).
fn every_step<T: std::fmt::Debug>(step: Result<Option<T>, GadgetError>) -> T {
    step.expect("finite").expect("read back every step")
}

/// Largest absolute difference between two gadgets' weights, and the largest weight.
fn gap(a: &Gadget, b: &Gadget) -> (f64, f64) {
    let (wa, wb) = (weights(a), weights(b));
    let mut largest = (0.0_f64, 0.0_f64);
    for ((name, x), (other, y)) in wa.iter().zip(&wb) {
        assert_eq!(name, other);
        for (u, v) in x.iter().zip(y) {
            largest = (largest.0.max(f64::from((u - v).abs())), largest.1.max(f64::from(u.abs())));
        }
    }
    largest
}

/// Trains three runs (different seeds and pair distributions) alone and as one stack on `device`;
/// asserts that each stacked run ends where it ends alone and far from the other runs.
///
/// "Where it ends alone" is up to 0.1% of how far training moved the weights: the two differ in the
/// order of floating-point operations, and Adam, which divides each gradient by its running size,
/// turns a rounding difference in a gradient near zero into a visible difference in that weight's
/// update (at most the learning rate per step). Mixing up two runs' data moves weights by far more.
fn stacked_equals_alone(
    config: &GadgetConfig,
    loss: LossKind,
    observed: Option<usize>,
    unnormalised: bool,
    rates: [f64; 3],
    device: Device,
) {
    stacked_equals_alone_with(config, loss, observed, false, unnormalised, rates, device);
}

/// The three runs' costs: one shared, or (`per_run`) each its own.
fn costs(per_run: bool) -> [CostMatrix; 3] {
    if per_run {
        [
            CostMatrix::squared_index(4),
            CostMatrix::mismatch(4),
            CostMatrix::squared_reward(&[0.5, -1.0, 2.0, 0.0]).expect("cost"),
        ]
    } else {
        [CostMatrix::squared_index(4), CostMatrix::squared_index(4), CostMatrix::squared_index(4)]
    }
}

/// The three runs' observations: `observed` for all, or (`per_run`) run r `observed + r` mod 4.
fn observations(observed: Option<usize>, per_run: bool) -> [Option<usize>; 3] {
    [0, 1, 2].map(|r| observed.map(|x| if per_run { (x + r) % 4 } else { x }))
}

/// [`stacked_equals_alone`], with (`per_run`) each run its own cost and observation, as the trials
/// of the sepsis study have.
fn stacked_equals_alone_with(
    config: &GadgetConfig,
    loss: LossKind,
    observed: Option<usize>,
    per_run: bool,
    unnormalised: bool,
    rates: [f64; 3],
    device: Device,
) {
    let ramps: Vec<Ramp> =
        [0.0, 0.5, 2.0].iter().map(|&noise| Ramp { outcomes: 4, base_scale: 0.3, noise }).collect();
    let seeds = [3_u64, 11, 12];
    let costs = costs(per_run);
    let observations = observations(observed, per_run);
    let all: Vec<TrainOptions> = seeds
        .iter()
        .zip(rates)
        .map(|(&s, learning_rate)| TrainOptions { learning_rate, ..options(loss, s, unnormalised) })
        .collect();
    let case = format!("{:?} learned prior {} {loss:?} observed {observed:?} per run {per_run} unnormalised {unnormalised} rates {rates:?} on {device:?}", config.kind, config.learned_prior);

    let mut alone = Vec::new();
    let mut alone_losses = Vec::new();
    for (r, ((ramp, opts), &seed)) in ramps.iter().zip(&all).zip(&seeds).enumerate() {
        let g = Gadget::new(config.clone(), device, seed).expect("gadget");
        let cost = &costs[r];
        let mut trainer = match observations[r] {
            Some(x) => Trainer::given_observation(&g, ramp, cost, x, opts),
            None => Trainer::new(&g, ramp, cost, opts),
        }
        .expect("run");
        trainer.set_readback_every(1);
        alone_losses.push((0..STEPS).map(|_| every_step(trainer.step())).collect::<Vec<_>>());
        drop(trainer);
        alone.push(g);
    }

    let stack = Gadget::stacked(config.clone(), device, &seeds).expect("stack");
    let dists: Vec<&dyn PairDistribution> =
        ramps.iter().map(|r| r as &dyn PairDistribution).collect();
    let mut trainer =
        StackedTrainer::per_run(&stack, dists, &costs.each_ref(), &observations, &all)
            .expect("stacked run");
    trainer.set_readback_every(1);
    let stacked_losses: Vec<Vec<f64>> = (0..STEPS).map(|_| every_step(trainer.step())).collect();
    let records = trainer.records();
    drop(trainer);
    let parted = stack.unstack().expect("unstack");

    for (run, (single, stacked)) in alone.iter().zip(&parted).enumerate() {
        let (moved, _) =
            gap(single, &Gadget::new(config.clone(), device, seeds[run]).expect("gadget"));
        let (diff, _) = gap(single, stacked);
        assert!(
            diff < 1e-3 * moved,
            "{case}, run {run}: stacked weights off by {diff}, training moved them by {moved}"
        );
        for (step, per_run) in stacked_losses.iter().enumerate() {
            let want = alone_losses[run][step];
            assert!(
                (per_run[run] - want).abs() < 1e-5 * want.abs().max(1.0),
                "{case}, run {run} step {step}: {} vs {want}",
                per_run[run]
            );
        }
        assert_eq!(records[run].options, all[run]);
        assert_eq!(records[run].stacked, Some(3));
        // The runs differ by far more than the tolerance, so a run given another's data would fail.
        let (other, _) = gap(single, &parted[(run + 1) % parted.len()]);
        assert!(other > 1e-2, "{case}: runs {run} and the next are too alike ({other}) for the test to tell them apart");
    }
}

#[test]
fn stacked_runs_end_where_runs_trained_alone_end() {
    const ONE_RATE: [f64; 3] = [1e-2; 3];
    for device in devices() {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            let config = GadgetConfig {
                separate_networks: kind == GadgetKind::Gadget1,
                ..small(kind, 4, 3)
            };
            stacked_equals_alone(&config, LossKind::Joint, None, false, ONE_RATE, device);
            stacked_equals_alone(&config, LossKind::Counterfactual, None, false, ONE_RATE, device);
            stacked_equals_alone(
                &config,
                LossKind::Counterfactual,
                Some(1),
                false,
                ONE_RATE,
                device,
            );
            // Each run at its own rate (Table 1's learning-rate sweep as one stack).
            stacked_equals_alone(
                &small(kind, 4, 3),
                LossKind::Joint,
                None,
                false,
                [1e-2, 3e-3, 3e-2],
                device,
            );
        }
        // The sepsis study's trials: each run its own cost and observation, Gadget 2's prior learned.
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            let config = GadgetConfig {
                separate_networks: kind == GadgetKind::Gadget1,
                learned_prior: kind == GadgetKind::Gadget2,
                ..small(kind, 4, 3)
            };
            for (loss, observed) in [
                (LossKind::Joint, None),
                (LossKind::Counterfactual, None),
                (LossKind::Counterfactual, Some(1)),
            ] {
                stacked_equals_alone_with(&config, loss, observed, true, false, ONE_RATE, device);
            }
        }
        // The authors' Figure 1a procedure.
        stacked_equals_alone(
            &small(GadgetKind::Gadget2, 4, 3),
            LossKind::Joint,
            None,
            true,
            ONE_RATE,
            device,
        );
    }
}

#[test]
fn a_stack_starts_from_each_runs_own_weights() {
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let config = small(kind, 4, 3);
        let stack = Gadget::stacked(config.clone(), Device::Cpu, &[5, 6]).expect("stack");
        assert_eq!(stack.runs(), 2);
        for (gadget, seed) in stack.unstack().expect("unstack").iter().zip([5, 6]) {
            assert_eq!(
                weights(gadget),
                weights(&Gadget::new(config.clone(), Device::Cpu, seed).expect("gadget")),
                "{kind:?} seed {seed}"
            );
        }
    }
}

#[test]
fn stacked_rows_are_each_runs_own_draws() {
    for generator in [Generator::Tensor, Generator::Scalar] {
        let alone = |seed: u64| {
            let mut noise = StepNoise::new(&[seed], 5, generator);
            [noise.uniforms(&[2, 3], Device::Cpu), noise.uniforms(&[2, 1], Device::Cpu)]
        };
        let (a, b) = (alone(1), alone(2));
        let mut both = StepNoise::new(&[1, 2], 5, generator);
        for (draw, rest) in [3, 1].into_iter().enumerate() {
            let rows = both.uniforms(&[4, rest], Device::Cpu);
            assert!(rows.get(0).equal(&a[draw].get(0)) && rows.get(2).equal(&a[draw].get(1)));
            assert!(rows.get(1).equal(&b[draw].get(0)) && rows.get(3).equal(&b[draw].get(1)));
        }
    }
}

#[test]
fn step_noise_is_jax_bits_of_the_seed_the_step_and_the_draw() {
    let jax = |seed: u64, step: u32, draw: u32| -> Vec<f32> {
        let key = JaxKey::from_seed(seed).fold_in(step).fold_in(draw);
        key.bits(6).expect("bits").into_iter().map(open_unit).collect()
    };
    for generator in [Generator::Tensor, Generator::Scalar] {
        let mut noise = StepNoise::new(&[9], 3, generator);
        for draw in 0..2 {
            let u = Vec::<f32>::try_from(noise.uniforms(&[2, 3], Device::Cpu).flatten(0, -1));
            assert_eq!(u.expect("f32"), jax(9, 3, draw), "{generator:?} draw {draw}");
        }
    }
    // Seed, step and draw each change every value.
    let base = jax(9, 3, 0);
    for other in [jax(10, 3, 0), jax(9, 4, 0), jax(9, 3, 1)] {
        assert!(base.iter().zip(&other).all(|(x, y)| x != y));
    }
}

#[test]
fn a_resumed_stack_ends_as_an_uninterrupted_one() {
    let ramps: Vec<Ramp> =
        [0.0, 2.0].iter().map(|&noise| Ramp { outcomes: 4, base_scale: 0.3, noise }).collect();
    let dists = || -> Vec<&dyn PairDistribution> {
        ramps.iter().map(|r| r as &dyn PairDistribution).collect()
    };
    let cost = CostMatrix::squared_index(4);
    let all = [options(LossKind::Joint, 3, false), options(LossKind::Joint, 4, false)];
    let config = small(GadgetKind::Gadget2, 4, 3);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("stack.snapshot");

    let whole = Gadget::stacked(config.clone(), Device::Cpu, &[3, 4]).expect("stack");
    let mut straight = StackedTrainer::new(&whole, dists(), &cost, None, &all).expect("stack run");
    straight.set_readback_every(1);
    let straight_losses: Vec<Vec<f64>> = (0..STEPS).map(|_| every_step(straight.step())).collect();

    let stopped = Gadget::stacked(config.clone(), Device::Cpu, &[3, 4]).expect("stack");
    let mut first = StackedTrainer::new(&stopped, dists(), &cost, None, &all).expect("stack run");
    first.set_readback_every(1);
    let mut losses: Vec<Vec<f64>> = (0..2).map(|_| every_step(first.step())).collect();
    first.save_snapshot(&path).expect("snapshot");

    // A fresh stack with other weights takes the snapshot's.
    let resumed = Gadget::stacked(config, Device::Cpu, &[8, 9]).expect("stack");
    let mut second = StackedTrainer::new(&resumed, dists(), &cost, None, &all).expect("stack run");
    let before = weights(&resumed);
    let other_runs = [options(LossKind::Joint, 3, false), options(LossKind::Joint, 5, false)];
    let mut other =
        StackedTrainer::new(&resumed, dists(), &cost, None, &other_runs).expect("stack run");
    assert!(
        matches!(other.resume(&path), Err(GadgetError::Checkpoint { .. })),
        "another stack's snapshot"
    );
    assert_eq!(weights(&resumed), before, "a refused snapshot changes nothing");
    second.resume(&path).expect("resume");
    second.set_readback_every(1);
    assert_eq!(second.steps_done(), 2);
    losses.extend((2..STEPS).map(|_| every_step(second.step())));
    assert_eq!(losses, straight_losses);
    assert_eq!(weights(&resumed), weights(&whole));
    assert_eq!(
        second.records().iter().map(|r| r.losses.clone()).collect::<Vec<_>>(),
        straight.records().iter().map(|r| r.losses.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn misuse_of_a_stack_is_a_clear_error() {
    assert!(matches!(
        Gadget::stacked(small(GadgetKind::Gadget2, 4, 3), Device::Cpu, &[]),
        Err(GadgetError::InvalidConfig(_))
    ));

    let stack =
        Gadget::stacked(small(GadgetKind::Gadget2, 4, 3), Device::Cpu, &[1, 2]).expect("stack");
    let p = Categorical::from_probs(&[0.1, 0.2, 0.3, 0.4]).expect("p");
    assert!(matches!(stack.coupling(&p, &p, 0, 0), Err(GadgetError::InvalidConfig(_))));
    let dir = tempfile::tempdir().expect("temporary directory");
    assert!(matches!(
        checkpoint::save(&stack, None, &dir.path().join("stack.ckpt")),
        Err(GadgetError::InvalidConfig(_))
    ));
    let ramp = Ramp { outcomes: 4, base_scale: 0.3, noise: 0.5 };
    let cost = CostMatrix::mismatch(4);
    assert!(matches!(
        Trainer::new(&stack, &ramp, &cost, &options(LossKind::Joint, 1, false)),
        Err(GadgetError::InvalidConfig(_))
    ));
    let differing = [
        options(LossKind::Joint, 1, false),
        TrainOptions { inner_samples: 5, ..options(LossKind::Joint, 2, false) },
    ];
    assert!(matches!(
        StackedTrainer::new(&stack, vec![&ramp, &ramp], &cost, None, &differing),
        Err(GadgetError::InvalidConfig(_))
    ));
    let bad_rate = [
        options(LossKind::Joint, 1, false),
        TrainOptions { learning_rate: f64::NAN, ..options(LossKind::Joint, 2, false) },
    ];
    assert!(matches!(
        StackedTrainer::new(&stack, vec![&ramp, &ramp], &cost, None, &bad_rate),
        Err(GadgetError::InvalidConfig(_))
    ));
    let fine = [
        options(LossKind::Joint, 1, false),
        TrainOptions { learning_rate: 1e-3, ..options(LossKind::Joint, 2, false) },
    ];
    assert!(matches!(
        StackedTrainer::new(&stack, vec![&ramp], &cost, None, &fine),
        Err(GadgetError::InvalidConfig(_))
    ));
    assert!(StackedTrainer::new(&stack, vec![&ramp, &ramp], &cost, None, &fine).is_ok());
    let counterfactual =
        [options(LossKind::Counterfactual, 1, false), options(LossKind::Counterfactual, 2, false)];
    let per_run = |observed: &[Option<usize>]| {
        StackedTrainer::per_run(
            &stack,
            vec![&ramp, &ramp],
            &[&cost, &cost],
            observed,
            &counterfactual,
        )
    };
    // Every run has an observation or none has; each inside the outcomes.
    assert!(matches!(per_run(&[Some(1), None]), Err(GadgetError::InvalidConfig(_))));
    assert!(matches!(per_run(&[Some(1), Some(4)]), Err(GadgetError::OutcomeMismatch { .. })));
    assert!(matches!(per_run(&[Some(1)]), Err(GadgetError::InvalidConfig(_))));
    assert!(per_run(&[Some(1), Some(3)]).is_ok());
}

/// A trained run's named weights and its loss at every step.
type TrainedRun = (Vec<(String, Vec<f32>)>, Vec<f64>);

/// Trains four runs of the sepsis study's kind (each its own seed, pairs, cost and observation;
/// Gadget 2's prior learned) in stacks of `sizes`, and returns each run's weights and losses.
fn trained_in_stacks(
    config: &GadgetConfig,
    observed: Option<usize>,
    sizes: &[usize],
) -> Vec<TrainedRun> {
    let loss = if observed.is_some() { LossKind::Counterfactual } else { LossKind::Joint };
    let ramps: Vec<Ramp> = [0.0, 0.5, 2.0, 1.0]
        .iter()
        .map(|&noise| Ramp { outcomes: 4, base_scale: 0.3, noise })
        .collect();
    let seeds = [3_u64, 11, 12, 13];
    let costs: Vec<CostMatrix> = costs(true)
        .into_iter()
        .chain([CostMatrix::squared_reward(&[1.0, 0.0, -2.0, 0.5]).expect("cost")])
        .collect();
    let observations: Vec<Option<usize>> = (0..4).map(|r| observed.map(|x| (x + r) % 4)).collect();
    let mut out = Vec::new();
    let mut start = 0;
    for &size in sizes {
        let range = start..start + size;
        start += size;
        let stack =
            Gadget::stacked(config.clone(), Device::Cpu, &seeds[range.clone()]).expect("stack");
        let dists: Vec<&dyn PairDistribution> =
            ramps[range.clone()].iter().map(|r| r as &dyn PairDistribution).collect();
        let cost_refs: Vec<&CostMatrix> = costs[range.clone()].iter().collect();
        let all: Vec<TrainOptions> =
            seeds[range.clone()].iter().map(|&s| options(loss, s, false)).collect();
        let mut trainer =
            StackedTrainer::per_run(&stack, dists, &cost_refs, &observations[range], &all)
                .expect("stack run");
        trainer.set_readback_every(1);
        let losses: Vec<Vec<f64>> = (0..STEPS).map(|_| every_step(trainer.step())).collect();
        drop(trainer);
        for (r, gadget) in stack.unstack().expect("unstack").iter().enumerate() {
            out.push((weights(gadget), losses.iter().map(|l| l[r]).collect()));
        }
    }
    out
}

/// Each run keeps its own pairs, noise, cost and observation, and every operation of a step is row
/// by row or, in the network, matrix by matrix of a batched product: so a run trained in a stack of
/// 4 ends where it ends in a stack of 2, to rounding (the batched products may take other kernels
/// for other batch counts and alignments; on the CPU Gadget 1's runs come out bit for bit the same),
/// by the criterion of `stacked_equals_alone`: 0.1% of how far training moved the weights.
#[test]
fn a_runs_result_does_not_depend_on_how_the_runs_are_chunked_into_stacks() {
    for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
        let config = GadgetConfig {
            separate_networks: kind == GadgetKind::Gadget1,
            learned_prior: kind == GadgetKind::Gadget2,
            ..small(kind, 4, 3)
        };
        let initial = trained_in_stacks(&config, None, &[]);
        assert!(initial.is_empty());
        for observed in [None, Some(1)] {
            let whole = trained_in_stacks(&config, observed, &[4]);
            let chunked = trained_in_stacks(&config, observed, &[2, 2]);
            let seeds = [3_u64, 11, 12, 13];
            for (run, (a, b)) in whole.iter().zip(&chunked).enumerate() {
                let start =
                    weights(&Gadget::new(config.clone(), Device::Cpu, seeds[run]).expect("gadget"));
                let moved = largest_gap(&a.0, &start);
                let gap = largest_gap(&a.0, &b.0);
                assert!(
                    gap < 1e-3 * moved,
                    "{kind:?} observed {observed:?}: run {run} off by {gap} when chunked, training moved it by {moved}"
                );
                for (x, y) in a.1.iter().zip(&b.1) {
                    assert!(
                        (x - y).abs() < 1e-5 * x.abs().max(1.0),
                        "{kind:?} run {run}: losses {x} {y}"
                    );
                }
                // Far from the other runs, so that a mix-up of runs would be seen.
                let other = largest_gap(&a.0, &chunked[(run + 1) % 4].0);
                assert!(other > 100.0 * gap.max(1e-6), "{kind:?} run {run}: {other}");
            }
        }
    }
}

/// The largest absolute difference between two sets of named weights.
fn largest_gap(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|((_, x), (_, y))| x.iter().zip(y).map(|(u, v)| f64::from((u - v).abs())))
        .fold(0.0, f64::max)
}
