//! `reproduce --check-graphs`: whether replaying a training step as a CUDA graph trains the weights
//! an eager step trains, bit for bit, on this machine, and how much faster it is. Every case is a
//! small stack trained eagerly and with a graph on the same device: Table 1's Gadget 2 (K = 10,
//! |Z| = 20, hidden [1024, 1024], batch 64 x 16, 3 runs at three learning rates), whose rates are
//! the ones reported, then one case per other code path the parts train, at hidden [64]: Gadget 2
//! with a learned prior on the counterfactual loss (Table 1 columns 3-4), Gadget 2 on unnormalised
//! logits (Figure 1a), and Gadget 1 with two networks on the counterfactual loss given a fixed
//! observation, each run with its own cost and observation (Figure 2's trials). The bundle's
//! `full.sh` runs it first and trains without graphs when any case differs.

use std::time::Instant;

use anyhow::Result;
use gadgets::stack::{StackedTrainer, GRAPH_WARM_UP};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{Device, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::{PairDistribution, PairMode, SoftmaxUniform};
use gumbel_core::CostMatrix;
use serde::Serialize;

/// What `--check-graphs` prints.
#[derive(Debug, Serialize)]
pub struct GraphCheck {
    /// Whether every case's weights and losses are the same bits both ways.
    pub equal_bits: bool,
    /// Steps per second of the first case's eager stack, after the first [`GRAPH_WARM_UP`] + 1
    /// steps.
    pub eager_steps_per_second: f64,
    /// Steps per second of the first case replaying the graph, over the same steps (capture
    /// excluded).
    pub graph_steps_per_second: f64,
    /// The device (`cuda:0`).
    pub device: String,
    /// Runs in the first case's stack and steps trained.
    pub runs: usize,
    /// Steps trained each way in the first case.
    pub steps: usize,
    /// Every case, by name, and whether it trained the same bits both ways.
    pub cases: Vec<CaseCheck>,
}

/// One case of [`GraphCheck`].
#[derive(Debug, Serialize)]
pub struct CaseCheck {
    /// What the case trains.
    pub name: &'static str,
    /// Whether its weights and losses are the same bits eagerly and with a graph.
    pub equal_bits: bool,
}

/// Trains every case on `device`, eagerly and with a graph: the first with the Gadget 2 network
/// `hidden` (Table 1's [1024, 1024] for the check itself) for `steps` steps (more than
/// [`GRAPH_WARM_UP`] + 1), the others at hidden [64] for [`GRAPH_WARM_UP`] + 6 steps.
pub fn check(device: Device, hidden: &[usize], steps: usize) -> Result<GraphCheck> {
    let mut cases = Vec::new();
    let mut timed = None;
    for case in cases_of(hidden, steps) {
        let eager = train(device, &case, false)?;
        let replayed = train(device, &case, true)?;
        cases.push(CaseCheck { name: case.name, equal_bits: eager.bits == replayed.bits });
        timed.get_or_insert((eager.steps_per_second, replayed.steps_per_second, case));
    }
    let (eager_steps_per_second, graph_steps_per_second, first) = timed.expect("cases");
    Ok(GraphCheck {
        equal_bits: cases.iter().all(|case| case.equal_bits),
        eager_steps_per_second,
        graph_steps_per_second,
        device: gadgets::device::device_name(device),
        runs: first.options.len(),
        steps: first.steps,
        cases,
    })
}

/// A stack the check trains both ways.
struct Case {
    name: &'static str,
    config: GadgetConfig,
    /// One per run.
    options: Vec<TrainOptions>,
    costs: Vec<CostMatrix>,
    observed: Vec<Option<usize>>,
    steps: usize,
}

/// The runs' learning rates (Table 1's phase-1 sweep spans these).
const RATES: [f64; 3] = [1e-3, 3e-4, 1e-4];

/// The check's cases, the timed one first.
fn cases_of(hidden: &[usize], steps: usize) -> Vec<Case> {
    let options = |loss, steps, unnormalised_logits| -> Vec<TrainOptions> {
        RATES
            .iter()
            .zip(0u64..)
            .map(|(&learning_rate, seed)| TrainOptions {
                loss,
                batch: 64,
                inner_samples: 16,
                learning_rate,
                steps,
                seed,
                unnormalised_logits,
            })
            .collect()
    };
    let squared = || vec![CostMatrix::squared_index(10); RATES.len()];
    let (small, short) = (vec![64], GRAPH_WARM_UP + 6);
    let gadget2 = GadgetConfig::paper(GadgetKind::Gadget2, 10);
    let rewards = |run: usize| (0..10).map(|x| ((x * (run + 2)) % 7) as f64).collect::<Vec<_>>();
    vec![
        Case {
            name: "table1-gadget-2-joint",
            config: GadgetConfig { hidden: hidden.to_vec(), ..gadget2.clone() },
            options: options(LossKind::Joint, steps, false),
            costs: squared(),
            observed: vec![None; RATES.len()],
            steps,
        },
        Case {
            name: "gadget-2-learned-prior-counterfactual",
            config: GadgetConfig { hidden: small.clone(), learned_prior: true, ..gadget2.clone() },
            options: options(LossKind::Counterfactual, short, false),
            costs: squared(),
            observed: vec![None; RATES.len()],
            steps: short,
        },
        Case {
            name: "gadget-2-unnormalised-logits",
            config: GadgetConfig { hidden: small.clone(), ..gadget2 },
            options: options(LossKind::Joint, short, true),
            costs: squared(),
            observed: vec![None; RATES.len()],
            steps: short,
        },
        Case {
            name: "gadget-1-two-networks-observed",
            config: GadgetConfig {
                hidden: small,
                separate_networks: true,
                ..GadgetConfig::paper(GadgetKind::Gadget1, 10)
            },
            options: options(LossKind::Counterfactual, short, false),
            costs: (0..RATES.len())
                .map(|run| CostMatrix::squared_reward(&rewards(run)).expect("finite rewards"))
                .collect(),
            observed: (0..RATES.len()).map(|run| Some(2 + run)).collect(),
            steps: short,
        },
    ]
}

/// A trained stack's weights and losses as bits, and its timed rate.
struct Trained {
    bits: Vec<u8>,
    steps_per_second: f64,
}

fn train(device: Device, case: &Case, graphs: bool) -> Result<Trained> {
    let seeds: Vec<u64> = case.options.iter().map(|options| options.seed).collect();
    let stack = Gadget::stacked(case.config.clone(), device, &seeds)?;
    let pairs = SoftmaxUniform::paper(PairMode::Independent);
    let dists: Vec<&dyn PairDistribution> = seeds.iter().map(|_| &pairs as _).collect();
    let costs: Vec<&CostMatrix> = case.costs.iter().collect();
    let mut trainer =
        StackedTrainer::per_run(&stack, dists, &costs, &case.observed, &case.options)?;
    trainer.set_graphs(graphs)?;
    let steps = case.steps;
    trainer.set_readback_every(steps);
    // The warm-up and, with graphs, the capture, then a readback: the timer starts on an idle device.
    let untimed = (GRAPH_WARM_UP + 1).min(steps);
    while trainer.steps_done() < untimed {
        trainer.step()?;
    }
    trainer.read_back()?;
    let start = Instant::now();
    while trainer.steps_done() < steps {
        trainer.step()?;
    }
    trainer.read_back()?;
    let seconds = start.elapsed().as_secs_f64();
    let mut bits = Vec::new();
    for record in trainer.records() {
        bits.extend(record.losses.iter().flat_map(|loss| loss.to_bits().to_le_bytes()));
    }
    drop(trainer);
    let mut variables: Vec<_> = stack.var_store().variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, tensor) in variables {
        bits.extend(name.bytes());
        let values = Vec::<f32>::try_from(tensor.flatten(0, -1).to_device(Device::Cpu))?;
        bits.extend(values.iter().flat_map(|v| v.to_bits().to_le_bytes()));
    }
    Ok(Trained { bits, steps_per_second: (steps - untimed) as f64 / seconds.max(1e-9) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_needs_a_cuda_device_with_graphs_and_agrees_with_itself_where_there_is_one() {
        if !(tch::Cuda::is_available() && cuda_graph::available(0)) {
            // On the CPU, asking for a graph is the check's one-line error.
            let error = check(Device::Cpu, &[16], 6).expect_err("no graphs on the CPU");
            assert!(error.to_string().starts_with("CUDA graphs unavailable: "), "{error}");
            return;
        }
        let result = check(Device::Cuda(0), &[64], 12).expect("check");
        assert!(result.equal_bits, "{result:?}");
        assert_eq!(result.cases.len(), 4);
        assert!(result.eager_steps_per_second > 0.0 && result.graph_steps_per_second > 0.0);
    }

    /// Every case trains eagerly on the CPU, to the same bits twice (so a GPU machine meets no
    /// case that cannot train, and a difference there is the graph's), and the cases differ.
    #[test]
    fn every_case_trains_eagerly_and_deterministically_on_the_cpu() {
        let mut seen = Vec::new();
        for case in cases_of(&[16], GRAPH_WARM_UP + 2) {
            let once = train(Device::Cpu, &case, false).expect(case.name);
            let twice = train(Device::Cpu, &case, false).expect(case.name);
            assert!(once.bits == twice.bits, "{}", case.name);
            assert!(!seen.contains(&once.bits), "{} trains another case's bits", case.name);
            seen.push(once.bits);
        }
        assert_eq!(seen.len(), 4);
    }
}
