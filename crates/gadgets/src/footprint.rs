//! How many runs of one configuration train together in one stack ([`crate::stack`]) on a device:
//! the bytes one run of the stack needs, estimated from the sizes ([`run_bytes`]), the bytes the
//! device can give ([`free_bytes`]), and the stack sizes that follow ([`stack_sizes`]).
//!
//! A run's bytes are its parameters' (the weights, their gradient, Adam's two moments and Adam's two
//! temporaries: 6 f32 values per parameter) plus its activations: the network's rows (p and q of
//! each of its B pairs) through every layer, the per-row latent-by-outcome matrices (Gadget 1's
//! K x K joint, Gadget 2's |Z| x K Sinkhorn sweeps), and the per-sample tensors of its B N_in noise
//! samples (Gadget 1: K^2 cells each; Gadget 2: |Z| + K, or |Z| K with the counterfactual loss), each
//! counted [`CELL_TENSORS`] times for the values the forward pass keeps for the backward pass and the
//! backward pass's own. A stack of R runs needs R times a run's bytes.
//!
//! The free bytes: on the CPU the kernel's `MemAvailable` (`/proc/meminfo`), at most [`CPU_CAP`]; on
//! CUDA what libtorch can allocate there now (probed by allocating, so memory its caching allocator
//! holds counts as free). Stacks use [`USABLE_FRACTION`] of it and are as equal in size as they can
//! be. A run that alone needs more is an error naming both amounts; a stack that fails for memory in
//! spite of the estimate is for the caller to split ([`GadgetError::is_out_of_memory`]).

use tch::{Device, Kind, Tensor};

use crate::config::{GadgetConfig, GadgetKind};
use crate::error::{GadgetError, Result};
use crate::train::{LossKind, TrainOptions};

/// Live f32 tensors of a sample's noise-cell size per step (forward values kept for the backward
/// pass, the backward pass's gradients, temporaries).
pub const CELL_TENSORS: u64 = 16;

/// The CPU memory a stack may plan for, at most (a stack gains nothing on a CPU: it is for tests and
/// small runs there).
pub const CPU_CAP: u64 = 16 << 30;

/// The fraction of the free bytes the stacks plan to use (the rest: libtorch's own workspaces,
/// allocator fragmentation, the estimate's error).
pub const USABLE_FRACTION: f64 = 0.8;

/// f32 values kept per parameter: weight, gradient, Adam's two moments and two temporaries.
const VALUES_PER_PARAMETER: u64 = 6;

/// The number of trainable and fixed parameters of one gadget of `config`.
pub fn parameters(config: &GadgetConfig) -> u64 {
    let k = config.outcomes as u64;
    let output = config.latent_rows() as u64 * k;
    let widths: Vec<u64> =
        std::iter::once(k).chain(config.hidden.iter().map(|&h| h as u64)).chain([output]).collect();
    let network: u64 = widths.windows(2).map(|pair| pair[0] * pair[1] + pair[1]).sum();
    match config.kind {
        GadgetKind::Gadget1 if config.separate_networks => 2 * network,
        GadgetKind::Gadget1 => network,
        GadgetKind::Gadget2 => network + config.latent as u64,
    }
}

/// The estimated bytes one run of `config` trained with `options` needs (module doc).
pub fn run_bytes(config: &GadgetConfig, options: &TrainOptions) -> u64 {
    let (k, latent) = (config.outcomes as u64, config.latent as u64);
    let rows = 2 * options.batch as u64;
    let samples = options.batch as u64 * options.inner_samples as u64;
    let output = config.latent_rows() as u64 * k;
    let layers: u64 = config.hidden.iter().map(|&h| h as u64).sum::<u64>() + output;
    // Each layer's output, its activation and its gradient.
    let network = 3 * rows * layers;
    let (matrix_tensors, cells) = match (config.kind, options.loss) {
        (GadgetKind::Gadget1, _) => (8, k * k),
        // Six tensors per Sinkhorn sweep and the correction's.
        (GadgetKind::Gadget2, loss) => {
            let sweeps = 6 * config.sinkhorn_iterations as u64 + 12;
            let cells = if loss == LossKind::Counterfactual { latent * k } else { latent + k };
            (sweeps, cells)
        }
    };
    let matrices = rows * output * matrix_tensors;
    let sample_cells = samples * cells * CELL_TENSORS;
    4 * (VALUES_PER_PARAMETER * parameters(config) + network + matrices + sample_cells)
}

/// The bytes `device` can give a stack now (module doc).
pub fn free_bytes(device: Device) -> Result<u64> {
    match device {
        Device::Cuda(_) => Ok(allocatable(device)),
        _ => Ok(available_ram()?.min(CPU_CAP)),
    }
}

/// The sizes of the stacks `runs` runs of `run_bytes` each are trained in, with `free` bytes:
/// as few stacks as fit in [`USABLE_FRACTION`] of `free`, as equal as can be (the larger first).
/// An error when one run alone needs more.
pub fn stack_sizes(runs: usize, run_bytes: u64, free: u64) -> Result<Vec<usize>> {
    let usable = (free as f64 * USABLE_FRACTION) as u64;
    let per_stack = (usable / run_bytes.max(1)) as usize;
    if per_stack == 0 {
        return Err(GadgetError::Memory { needed: run_bytes, available: usable });
    }
    if runs == 0 {
        return Ok(Vec::new());
    }
    let stacks = runs.div_ceil(per_stack);
    let (base, larger) = (runs / stacks, runs % stacks);
    Ok((0..stacks).map(|s| base + usize::from(s < larger)).collect())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_ram() -> Result<u64> {
    let path = "/proc/meminfo";
    let text = std::fs::read_to_string(path)
        .map_err(|error| GadgetError::Io { path: path.into(), error })?;
    text.lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| GadgetError::InvalidConfig(format!("{path} names no MemAvailable")))
}

/// The largest block libtorch can allocate on `device` now, to within 1/64: doubling from 256 MiB
/// until an allocation fails, then bisecting. The blocks are freed at once (into libtorch's caching
/// allocator, which hands them to the stack).
fn allocatable(device: Device) -> u64 {
    let fits = |bytes: u64| Tensor::f_empty([bytes as i64], (Kind::Uint8, device)).is_ok();
    let mut low = 0_u64;
    let mut high = 256 << 20;
    while fits(high) {
        low = high;
        if high >= 1 << 42 {
            return low;
        }
        high *= 2;
    }
    while high - low > high / 64 {
        let middle = low + (high - low) / 2;
        if fits(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_size(kind: GadgetKind, loss: LossKind) -> (GadgetConfig, TrainOptions) {
        let config = GadgetConfig {
            hidden: vec![1024, 1024],
            separate_networks: kind == GadgetKind::Gadget1,
            learned_prior: kind == GadgetKind::Gadget2,
            ..GadgetConfig::paper(kind, 146)
        };
        let options = TrainOptions {
            loss,
            batch: 1,
            inner_samples: 1024,
            learning_rate: 1e-5,
            steps: 2000,
            seed: 0,
            unnormalised_logits: false,
        };
        (config, options)
    }

    #[test]
    fn parameters_are_counted_layer_by_layer() {
        // 146 -> 1024 -> 1024 -> 146^2, weights and biases, twice (separate p and q networks).
        let network = 146 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 21_316 + 21_316;
        let (one, _) = full_size(GadgetKind::Gadget1, LossKind::Joint);
        assert_eq!(parameters(&one), 2 * network);
        let (two, _) = full_size(GadgetKind::Gadget2, LossKind::Joint);
        let network = 146 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 2920 + 2920;
        assert_eq!(parameters(&two), network + 20);
    }

    #[test]
    fn a_full_size_gadget1_run_needs_gigabytes_and_thirty_do_not_fit_in_one_h100() {
        let (config, options) = full_size(GadgetKind::Gadget1, LossKind::Counterfactual);
        let bytes = run_bytes(&config, &options);
        // 46 M parameters x 6 values x 4 bytes = 1.1 GB, and 1,024 samples of 21,316 cells x 16.
        let floor = 4 * (6 * parameters(&config) + 1024 * 21_316 * CELL_TENSORS);
        assert!(bytes >= floor && bytes < floor + (200 << 20), "{bytes}");
        let h100 = 80 << 30;
        let sizes = stack_sizes(30, bytes, h100).expect("fits");
        assert!(sizes.len() > 1 && sizes.iter().sum::<usize>() == 30, "{sizes:?}");
        assert!(sizes.iter().all(|&s| s as u64 * bytes <= h100), "{sizes:?}");
    }

    #[test]
    fn stacks_are_as_few_and_as_equal_as_the_memory_allows() {
        assert_eq!(stack_sizes(30, 10, 1000).unwrap(), vec![30]);
        // 80 usable bytes hold 8 runs: 30 runs in 4 stacks of 8, 8, 7 and 7.
        assert_eq!(stack_sizes(30, 10, 100).unwrap(), vec![8, 8, 7, 7]);
        assert_eq!(stack_sizes(3, 10, 13).unwrap(), vec![1, 1, 1]);
        assert_eq!(stack_sizes(0, 10, 100).unwrap(), Vec::<usize>::new());
        match stack_sizes(30, 10, 12) {
            Err(GadgetError::Memory { needed: 10, available: 9 }) => {}
            other => panic!("expected a memory error, got {other:?}"),
        }
    }

    #[test]
    fn the_cpu_offers_its_available_memory_up_to_the_cap() {
        let free = free_bytes(Device::Cpu).expect("meminfo");
        assert!(free > 0 && free <= CPU_CAP);
    }
}
