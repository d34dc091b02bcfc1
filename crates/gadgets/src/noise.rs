//! Exogenous noise as tensors, drawn from seeded generators (so the same seed gives the same noise on
//! every device), and the top-down posterior of Gumbel noise given an argmax (Maddison et al. 2014;
//! Oberst & Sontag 2019; official-gadgets.md section 1).
//!
//! The samplers draw through [`NoiseSource`]: training draws from [`StepNoise`], a counter-based
//! stream (JAX's Threefry, [`crate::threefry`]) keyed by each run's seed and the training step, which
//! makes its uniforms on the device the gadget trains on; evaluation draws from the workspace's seeded
//! generator ([`SeededRng`]) on the CPU.

use gumbel_core::jax_random::JaxKey;
use gumbel_core::rng::SeededRng;
use rand::RngCore;
use tch::{Device, Kind, Tensor};

use crate::threefry::{key_tensor, key_tensor_uniforms, Generator};

/// The version of the training noise, recorded with every trained run
/// ([`crate::train::TrainingRecord::noise`]) and named by every run key and snapshot: 2 is
/// [`StepNoise`]; 1 (the value of a record that names none) drew the noise from the run's xoshiro
/// generator after each step's pairs. The same seed gives other noise, hence other weights, under
/// each version.
pub const NOISE_VERSION: u32 = 2;

/// Where a batch's uniforms come from.
pub trait NoiseSource {
    /// Uniforms strictly inside (0, 1) of the given shape (leading axis: the batch rows), f32 on
    /// `device` (see [`open_unit`]).
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor;
}

impl NoiseSource for SeededRng {
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor {
        let values: Vec<f32> =
            (0..shape.iter().product()).map(|_| open_unit(self.next_u32())).collect();
        Tensor::from_slice(&values).reshape(shape).to_device(device)
    }
}

/// The noise of one training step of R runs (R = 1 for a run trained alone, R > 1 for a stack,
/// [`crate::stack`]), whose batch rows interleave the runs: row i belongs to run i mod R.
///
/// Draw d of step s (the d-th call of [`NoiseSource::uniforms`], counting from 0) gives run r the n
/// words `jax.random.bits(fold_in(fold_in(PRNGKey(seed_r), s), d), (n,))`, n its share of the
/// shape, made uniforms by [`open_unit`]; its rows r, R + r, 2R + r, ... take them in order. So a
/// run's noise depends on its seed, the step and the draw only, never on the stack it is trained in
/// or on the device; nothing is kept between steps, and a snapshot needs only the step.
pub struct StepNoise {
    /// Per run, PRNGKey(seed) folded with the step.
    keys: Vec<JaxKey>,
    draws: u32,
    generator: Generator,
}

impl StepNoise {
    /// The noise of step `step` of the runs seeded `seeds`, made by `generator`.
    pub fn new(seeds: &[u64], step: u32, generator: Generator) -> Self {
        let keys = seeds.iter().map(|&seed| JaxKey::from_seed(seed).fold_in(step)).collect();
        Self { keys, draws: 0, generator }
    }

    /// The draws made so far.
    pub fn draws(&self) -> u32 {
        self.draws
    }

    /// The keys of draws 0..`draws` of every run, int64 `[draws, R, 2]` on the CPU: what
    /// [`KeyedNoise`] reads, row d giving the values of this noise's draw d.
    pub(crate) fn key_table(&self, draws: u32) -> Tensor {
        let keys: Vec<JaxKey> =
            (0..draws).flat_map(|d| self.keys.iter().map(move |key| key.fold_in(d))).collect();
        key_tensor(&keys).view([i64::from(draws), self.keys.len() as i64, 2])
    }
}

impl NoiseSource for StepNoise {
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor {
        let runs = self.keys.len() as i64;
        let per_run = per_run_words(shape, runs);
        let keys: Vec<JaxKey> = self.keys.iter().map(|key| key.fold_in(self.draws)).collect();
        self.draws += 1;
        interleave(self.generator.uniforms(&keys, per_run, device), shape)
    }
}

/// A training step's noise from its keys on the device: draw d takes the R keys of row d of a table
/// (int64 `[D, R, 2]`, [`StepNoise::key_table`] of the step) and makes the values of
/// [`StepNoise`]'s draw d with the tensor generator. Nothing is copied from the host while the step
/// runs: the table is a static input of a step captured as a CUDA graph (`crate::step`), written
/// before every replay.
pub(crate) struct KeyedNoise<'a> {
    table: &'a Tensor,
    draws: i64,
}

impl<'a> KeyedNoise<'a> {
    /// Draws from `table`'s rows in order.
    pub(crate) fn new(table: &'a Tensor) -> Self {
        Self { table, draws: 0 }
    }
}

impl NoiseSource for KeyedNoise<'_> {
    fn uniforms(&mut self, shape: &[i64], _device: Device) -> Tensor {
        let (table_draws, runs) = (self.table.size()[0], self.table.size()[1]);
        assert!(self.draws < table_draws, "draw {} of a table of {table_draws}", self.draws);
        let per_run = per_run_words(shape, runs);
        let keys = self.table.select(0, self.draws);
        self.draws += 1;
        interleave(key_tensor_uniforms(&keys, per_run), shape)
    }
}

/// The values one run of a stack of `runs` takes of a draw of `shape` (rows interleaving the runs).
fn per_run_words(shape: &[i64], runs: i64) -> usize {
    assert!(
        runs > 0 && shape.first().is_some_and(|rows| rows % runs == 0),
        "rows {shape:?} of a stack of {runs} runs"
    );
    (shape.iter().product::<i64>() / runs) as usize
}

/// Each run's values (`[R, n]`) as a draw of `shape`: row b R + r is run r's row b.
fn interleave(per_run: Tensor, shape: &[i64]) -> Tensor {
    let runs = per_run.size()[0];
    // [R, rows / R, rest] -> [rows / R, R, rest].
    per_run.view([runs, shape[0] / runs, -1]).transpose(0, 1).reshape(shape)
}

/// Uniforms strictly inside (0, 1), of the given shape, f32 on `device` (see [`open_unit`]).
pub fn uniform(noise: &mut dyn NoiseSource, shape: &[i64], device: Device) -> Tensor {
    noise.uniforms(shape, device)
}

/// A uniform strictly inside (0, 1) from 32 random bits: the top 23 bits plus one half, over 2^23.
/// Every value is exact in f32 (24 bits would round the largest to 1.0, whose Gumbel is infinite).
pub fn open_unit(bits: u32) -> f32 {
    ((bits >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Standard Gumbels G = -log(-log U) of the given shape.
pub fn gumbel(noise: &mut dyn NoiseSource, shape: &[i64], device: Device) -> Tensor {
    gumbel_of(&noise.uniforms(shape, device))
}

/// -log(-log u).
pub fn gumbel_of(u: &Tensor) -> Tensor {
    -(-u.log()).log()
}

/// Posterior Gumbel noise given that `observed` is the argmax of `log_p + noise`.
///
/// `log_p`: normalised log-probabilities `[..., K]` (logsumexp 0 along the last axis; `-inf` allowed);
/// `observed`: int64 `[...]` indices of possible outcomes; `u`: uniforms `[..., K]`, the same kind.
/// With M = -log(-log u_obs) (the max is Gumbel(0) because logsumexp(log_p) = 0): the observed entry
/// is M, every other possible entry a Gumbel at log_p_i truncated below M,
/// `log_p_i - log(exp(log_p_i - M) - log u_i)`, and an impossible outcome (log_p_i = -inf) gets an
/// unconstrained Gumbel(0). Returns the unshifted noise (g - log_p), which is what the
/// counterfactual distribution q is shifted by; differentiable in `log_p`.
pub fn top_down(log_p: &Tensor, observed: &Tensor, u: &Tensor) -> Tensor {
    let impossible = log_p.isneginf();
    let safe = log_p.masked_fill(&impossible, 0.0);
    let index = observed.unsqueeze(-1);
    let top = gumbel_of(&u.gather(-1, &index, false));
    let truncated = &safe - ((&safe - &top).exp() - u.log()).log();
    let is_observed = safe.zeros_like().scatter_value(-1, &index, 1.0).to_kind(Kind::Bool);
    let shifted = truncated.where_self(&is_observed.logical_not(), &top.expand_as(&safe));
    (shifted - &safe).where_self(&impossible.logical_not(), &gumbel_of(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(t: &Tensor) -> Vec<u32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32").into_iter().map(f32::to_bits).collect()
    }

    #[test]
    fn keyed_noise_gives_step_noises_values_bit_for_bit() {
        let seeds = [3, 11, 1 << 40];
        let shapes: [&[i64]; 3] = [&[6, 2, 5], &[3, 7], &[9, 1, 2, 2]];
        for generator in [Generator::Scalar, Generator::Tensor] {
            let mut host = StepNoise::new(&seeds, 17, generator);
            let table = StepNoise::new(&seeds, 17, generator).key_table(shapes.len() as u32);
            let mut keyed = KeyedNoise::new(&table);
            for shape in shapes {
                let (want, got) =
                    (host.uniforms(shape, Device::Cpu), keyed.uniforms(shape, Device::Cpu));
                assert_eq!(got.size(), shape);
                assert_eq!(bits(&want), bits(&got), "{generator:?} {shape:?}");
            }
            assert_eq!(host.draws(), 3);
        }
        // Another step's keys give other values: the table is not ignored.
        let other = StepNoise::new(&seeds, 18, Generator::Scalar).key_table(1);
        let mut host = StepNoise::new(&seeds, 17, Generator::Scalar);
        let (want, got) = (
            host.uniforms(shapes[0], Device::Cpu),
            KeyedNoise::new(&other).uniforms(shapes[0], Device::Cpu),
        );
        assert_ne!(bits(&want), bits(&got));
    }

    #[test]
    fn extreme_bits_give_finite_gumbels() {
        for bits in [0, 1 << 9, u32::MAX - (1 << 9), u32::MAX] {
            let u = open_unit(bits);
            assert!(u > 0.0 && u < 1.0, "{bits}: {u}");
            let g = -(-u.ln()).ln();
            assert!(g.is_finite(), "{bits}: gumbel {g}");
        }
    }
}
