//! `reproduce --check-graphs`: whether replaying a stacked training step as a CUDA graph trains the
//! weights an eager step trains, bit for bit, on this machine, and how much faster it is. One small
//! stack of Table 1's Gadget 2 (K = 10, |Z| = 20, hidden [1024, 1024], batch 64 x 16, 3 runs at
//! three learning rates) is trained eagerly and with a graph on the same device; the bundle's
//! `full.sh` runs it first and trains without graphs when the two differ.

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
    /// Whether the stack's weights and losses after every step are the same bits both ways.
    pub equal_bits: bool,
    /// Steps per second of the eager stack, after the first [`GRAPH_WARM_UP`] + 1 steps.
    pub eager_steps_per_second: f64,
    /// Steps per second replaying the graph, over the same steps (capture excluded).
    pub graph_steps_per_second: f64,
    /// The device (`cuda:0`).
    pub device: String,
    /// Runs in the stack and steps trained.
    pub runs: usize,
    /// Steps trained each way.
    pub steps: usize,
}

/// Trains the check's stack for `steps` steps (more than [`GRAPH_WARM_UP`] + 1) on `device`,
/// eagerly and with a graph, with the Gadget 2 network `hidden` (Table 1's [1024, 1024] for the
/// check itself).
pub fn check(device: Device, hidden: &[usize], steps: usize) -> Result<GraphCheck> {
    let eager = train(device, hidden, steps, false)?;
    let replayed = train(device, hidden, steps, true)?;
    Ok(GraphCheck {
        equal_bits: eager.bits == replayed.bits,
        eager_steps_per_second: eager.steps_per_second,
        graph_steps_per_second: replayed.steps_per_second,
        device: gadgets::device::device_name(device),
        runs: RATES.len(),
        steps,
    })
}

/// The runs' learning rates (Table 1's phase-1 sweep spans these).
const RATES: [f64; 3] = [1e-3, 3e-4, 1e-4];

/// A trained stack's weights and losses as bits, and its timed rate.
struct Trained {
    bits: Vec<u8>,
    steps_per_second: f64,
}

fn train(device: Device, hidden: &[usize], steps: usize, graphs: bool) -> Result<Trained> {
    let config =
        GadgetConfig { hidden: hidden.to_vec(), ..GadgetConfig::paper(GadgetKind::Gadget2, 10) };
    let seeds: Vec<u64> = (0..RATES.len() as u64).collect();
    let stack = Gadget::stacked(config, device, &seeds)?;
    let pairs = SoftmaxUniform::paper(PairMode::Independent);
    let options: Vec<TrainOptions> = RATES
        .iter()
        .zip(&seeds)
        .map(|(&learning_rate, &seed)| TrainOptions {
            loss: LossKind::Joint,
            batch: 64,
            inner_samples: 16,
            learning_rate,
            steps,
            seed,
            unnormalised_logits: false,
        })
        .collect();
    let dists: Vec<&dyn PairDistribution> = seeds.iter().map(|_| &pairs as _).collect();
    let cost = CostMatrix::squared_index(10);
    let mut trainer = StackedTrainer::new(&stack, dists, &cost, None, &options)?;
    trainer.set_graphs(graphs)?;
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
        assert!(result.eager_steps_per_second > 0.0 && result.graph_steps_per_second > 0.0);
    }
}
