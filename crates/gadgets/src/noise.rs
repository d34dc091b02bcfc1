//! Exogenous noise as tensors, drawn from the workspace's seeded generator (so the same seed gives the
//! same noise on every device), and the top-down posterior of Gumbel noise given an argmax
//! (Maddison et al. 2014; Oberst & Sontag 2019; official-gadgets.md section 1).

use gumbel_core::rng::SeededRng;
use rand::RngCore;
use tch::{Device, Kind, Tensor};

/// Uniforms strictly inside (0, 1), of the given shape, f32 on `device` (see [`open_unit`]).
pub fn uniform(rng: &mut SeededRng, shape: &[i64], device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| open_unit(rng.next_u32())).collect();
    Tensor::from_slice(&values).reshape(shape).to_device(device)
}

/// A uniform strictly inside (0, 1) from 32 random bits: the top 23 bits plus one half, over 2^23.
/// Every value is exact in f32 (24 bits would round the largest to 1.0, whose Gumbel is infinite).
pub fn open_unit(bits: u32) -> f32 {
    ((bits >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Standard Gumbels G = -log(-log U) of the given shape.
pub fn gumbel(rng: &mut SeededRng, shape: &[i64], device: Device) -> Tensor {
    gumbel_of(&uniform(rng, shape, device))
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
