//! Exogenous noise as tensors, drawn from the workspace's seeded generator (so the same seed gives the
//! same noise on every device), and the top-down posterior of Gumbel noise given an argmax
//! (Maddison et al. 2014; Oberst & Sontag 2019; official-gadgets.md section 1).
//!
//! The samplers draw through [`NoiseSource`]: one generator for one gadget, or [`Interleaved`], one
//! generator per run of a stacked gadget (`crate::stack`), whose batch rows interleave the runs.

use gumbel_core::rng::SeededRng;
use rand::RngCore;
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// Where a batch's uniforms come from.
pub trait NoiseSource {
    /// Uniforms strictly inside (0, 1) of the given shape (leading axis: the batch rows), f32 on
    /// `device` (see [`open_unit`]).
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor;
}

impl NoiseSource for SeededRng {
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor {
        Tensor::from_slice(&unit_values(self, shape.iter().product()))
            .reshape(shape)
            .to_device(device)
    }
}

/// The generators of the R runs of a stacked batch, whose row i belongs to run i mod R: run r draws
/// the rows r, R + r, 2R + r, ... in order from its own generator, exactly the values it would draw
/// for its B = rows / R rows alone, so a run's noise does not depend on the stack it is trained in.
/// The runs draw in parallel.
pub struct Interleaved<'a>(pub &'a mut [SeededRng]);

impl NoiseSource for Interleaved<'_> {
    fn uniforms(&mut self, shape: &[i64], device: Device) -> Tensor {
        let runs = self.0.len() as i64;
        assert!(
            runs > 0 && shape.first().is_some_and(|rows| rows % runs == 0),
            "rows {shape:?} of a stack of {runs} runs"
        );
        let per_run: i64 = shape.iter().product::<i64>() / runs;
        let drawn: Vec<Vec<f32>> =
            self.0.par_iter_mut().map(|rng| unit_values(rng, per_run)).collect();
        let rows = Tensor::stack(
            &drawn
                .iter()
                .map(|v| Tensor::from_slice(v).reshape([shape[0] / runs, -1]))
                .collect::<Vec<_>>(),
            1,
        );
        rows.reshape(shape).to_device(device)
    }
}

/// `n` uniforms strictly inside (0, 1) from `rng`.
fn unit_values(rng: &mut SeededRng, n: i64) -> Vec<f32> {
    (0..n).map(|_| open_unit(rng.next_u32())).collect()
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
