//! Adam's update on the CPU as one pass in Rust over the flat buffers: for each weight, the moments,
//! the denominator and the weight are computed in registers and each array is read and written once,
//! where the tensor form ([`super::Adam`] on other devices) makes about ten passes over memory with a
//! temporary buffer between them. The pass runs in the widest vector instructions the processor has
//! (chosen at run time by `pulp`), over chunks on rayon's threads when libtorch uses more than one.
//!
//! **The same bits as the tensor form.** Each weight gets exactly the floating-point operations of
//! libtorch's CPU kernels for the tensor form's operations, in their order, each rounded to f32 once:
//!
//! - `m.lerp_(g, 1 - beta1)`: m + w (g - m) as one fused multiply-add, fma(w, g - m, m) (ATen's
//!   `lerp` for a weight below 1/2);
//! - `v.mul_(beta2).addcmul_(g, g * (1 - beta2))`: v beta2 and g (1 - beta2) each rounded, then
//!   fma(g, g (1 - beta2), v beta2) (libtorch's `addcmul` kernel is compiled with its multiplication
//!   and addition contracted into one fused multiply-add);
//! - `(v.sqrt() / sqrt(1 - beta2^t)).add_(eps)`: three roundings (sqrt is correctly rounded);
//! - `w.addcdiv_(m * (-lr / (1 - beta1^t)), denominator)`: the product rounded, then divided, then
//!   added.
//!
//! The scalars are rounded to f32 first, as libtorch rounds a double scalar for an f32 tensor.
//! Rust never contracts a multiplication and an addition into a fused one, so every other operation
//! rounds where the tensor form's does. One difference remains: `sqrt` is correctly rounded here
//! (IEEE), while libtorch's CPU `sqrt` (MKL's vector library) is not for every input (about one
//! value in six is 1 ulp away on an AMD EPYC, and MKL picks its code by processor), so the weights
//! agree with the tensor form's to rounding, and are the same on every processor. `adam::tests`
//! checks the weights bit for bit against the tensor form with a correctly rounded square root over
//! 50 steps of both gadgets and of a stack with a rate per run.
//!
//! The weights stay in a libtorch tensor (the gadget reads them there): a step returns the updated
//! values as a new tensor, which the caller copies into the weights, and copies the weights out only
//! when something wrote into them since (libtorch's version counters say so); the gradients are
//! copied out of autograd's tensors. (Without `unsafe`, which the workspace forbids, Rust cannot
//! write into a tensor's memory: these copies are about as costly as the pass itself.) The moments
//! live here ([`HostMoments`]) and are lent to the tensors that [`super::Adam::moments`] returns.

use std::cell::Cell;

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;
use tch::Tensor;

use super::{corrections, BETA1, BETA2, EPS};
use crate::error::Result;

/// Weights per task when the pass runs on several threads (a fixed size, so the gradient sum's
/// rounding does not depend on the number of threads).
const CHUNK: usize = 1 << 15;

/// Partial sums kept side by side for the gradient sum (so that its additions vectorise).
const LANES: usize = 16;

/// Adam's moments and the buffers of one step on the CPU, `[R, P]` row by row, and where the moments'
/// current values are.
pub(super) struct HostMoments {
    first: Vec<f32>,
    second: Vec<f32>,
    /// The step's gradient, laid out as the weights.
    gradient: Vec<f32>,
    /// The weights, copied out of their tensor for the step.
    weights: Vec<f32>,
    /// Whether the moment tensors hold the current values (they were lent out by
    /// [`super::Adam::moments`], which may have written into them); otherwise these vectors do.
    lent: Cell<bool>,
    /// The version counters (libtorch's count of in-place writes) of the weights tensor and of each
    /// variable when the last step's weights were put in place: while they are unchanged, `weights`
    /// holds the weights' values and the next step need not copy them out.
    bound: Vec<i64>,
}

/// What a step reads: the moment tensors (read when they were lent out), the weights `[R, P]`, the
/// gradients `grads` of `variables` (each `[R, ...]`, at its offset in a row, in order), the step
/// count t (from 1) and the learning rates (one, or one per run).
pub(super) struct Inputs<'a> {
    pub(super) first: &'a Tensor,
    pub(super) second: &'a Tensor,
    pub(super) weights: &'a Tensor,
    pub(super) grads: &'a [Tensor],
    pub(super) variables: &'a [Tensor],
    pub(super) step: i32,
    pub(super) learning_rates: &'a [f64],
    /// The version counters of the weights tensor and of each variable ([`HostMoments::bound`]).
    pub(super) versions: Vec<i64>,
}

/// The step's scalars, rounded to f32 as libtorch rounds them.
#[derive(Clone, Copy)]
struct Scalars {
    /// 1 - beta1, the weight of `lerp_`.
    lerp: f32,
    beta2: f32,
    /// 1 - beta2.
    complement2: f32,
    /// sqrt(1 - beta2^t).
    correction2_sqrt: f32,
    eps: f32,
}

impl HostMoments {
    /// Zero moments for `len` weights.
    pub(super) fn zeros(len: usize) -> Self {
        Self {
            first: vec![0.0; len],
            second: vec![0.0; len],
            gradient: vec![0.0; len],
            weights: vec![0.0; len],
            lent: Cell::new(false),
            bound: Vec::new(),
        }
    }

    /// Writes the moments into `first` and `second` (`[R, P]` tensors), which hold them until the next
    /// step reads them back.
    pub(super) fn lend(&self, first: &Tensor, second: &Tensor) -> Result<()> {
        if !self.lent.get() {
            let shape = first.size();
            for (tensor, values) in [(first, &self.first), (second, &self.second)] {
                tensor
                    .shallow_clone()
                    .f_copy_(&Tensor::f_from_slice(values)?.f_view(shape.as_slice())?)?;
            }
            self.lent.set(true);
        }
        Ok(())
    }

    /// One Adam step: returns the updated weights (a new `[R, P]` tensor, for the caller to copy
    /// into the weights) and the sum of every gradient entry.
    pub(super) fn step(&mut self, inputs: Inputs<'_>) -> Result<(Tensor, f32)> {
        let Inputs { first, second, weights, grads, variables, step, learning_rates, versions } =
            inputs;
        let len = self.weights.len();
        if self.lent.get() {
            first.f_copy_data(&mut self.first, len)?;
            second.f_copy_data(&mut self.second, len)?;
            self.lent.set(false);
        }
        let runs = weights.size()[0] as usize;
        let per_run = (len / runs.max(1)).max(1);
        self.gather(grads, variables, runs, per_run)?;
        if versions != self.bound {
            weights.f_copy_data(&mut self.weights, len)?;
        }
        let (correction1, correction2_sqrt) = corrections(step);
        let scalars = Scalars {
            lerp: (1.0 - BETA1) as f32,
            beta2: BETA2 as f32,
            complement2: (1.0 - BETA2) as f32,
            correction2_sqrt: correction2_sqrt as f32,
            eps: EPS as f32,
        };
        let threaded = tch::get_num_threads() > 1;
        let mut sum = 0.0;
        let rows = self
            .weights
            .chunks_mut(per_run)
            .zip(self.gradient.chunks(per_run))
            .zip(self.first.chunks_mut(per_run))
            .zip(self.second.chunks_mut(per_run));
        for (r, (((w, g), m), v)) in rows.enumerate() {
            // -lr / (1 - beta1^t), rounded to f32 as libtorch rounds the scalar.
            let rate = learning_rates[r.min(learning_rates.len().saturating_sub(1))];
            sum += update_row(w, g, m, v, scalars, (-rate / correction1) as f32, threaded);
        }
        let updated = Tensor::f_from_slice(&self.weights)?.f_view(weights.size().as_slice())?;
        Ok((updated, sum))
    }

    /// Records the version counters of the weights tensor and of each variable once the last step's
    /// weights are in place: no later write into them is missed by the next step.
    pub(super) fn bound(&mut self, versions: Vec<i64>) {
        self.bound = versions;
    }

    /// Copies each variable's gradient (zero where it has none) to its place in every row.
    fn gather(
        &mut self,
        grads: &[Tensor],
        variables: &[Tensor],
        runs: usize,
        per_run: usize,
    ) -> Result<()> {
        let mut offset = 0;
        for (grad, variable) in grads.iter().zip(variables) {
            let size = variable.numel() / runs.max(1);
            for r in 0..runs {
                let place = &mut self.gradient[r * per_run + offset..][..size];
                if grad.defined() {
                    let row = if runs == 1 { grad.shallow_clone() } else { grad.f_get(r as i64)? };
                    row.f_copy_data(place, size)?;
                } else {
                    place.fill(0.0);
                }
            }
            offset += size;
        }
        Ok(())
    }
}

/// Updates one run's weights, on rayon's threads in chunks of [`CHUNK`] when `threaded`; returns the
/// sum of the gradient entries.
fn update_row(
    weights: &mut [f32],
    gradient: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    scalars: Scalars,
    step_size: f32,
    threaded: bool,
) -> f32 {
    let arch = Arch::new();
    let pass = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        arch.dispatch(Pass { weights: w, gradient: g, first: m, second: v, scalars, step_size })
    };
    if threaded {
        let sums: Vec<f32> = weights
            .par_chunks_mut(CHUNK)
            .zip(gradient.par_chunks(CHUNK))
            .zip(first.par_chunks_mut(CHUNK))
            .zip(second.par_chunks_mut(CHUNK))
            .map(|(((w, g), m), v)| pass(w, g, m, v))
            .collect();
        sums.into_iter().sum()
    } else {
        weights
            .chunks_mut(CHUNK)
            .zip(gradient.chunks(CHUNK))
            .zip(first.chunks_mut(CHUNK))
            .zip(second.chunks_mut(CHUNK))
            .map(|(((w, g), m), v)| pass(w, g, m, v))
            .sum()
    }
}

/// The update of a chunk of weights, in the vector instructions `pulp` picks.
struct Pass<'a> {
    weights: &'a mut [f32],
    gradient: &'a [f32],
    first: &'a mut [f32],
    second: &'a mut [f32],
    scalars: Scalars,
    step_size: f32,
}

impl WithSimd for Pass<'_> {
    type Output = f32;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> f32 {
        let Self { weights, gradient, first, second, scalars, step_size } = self;
        let mut lanes = [0.0_f32; LANES];
        let whole = weights.len() / LANES * LANES;
        let (w_body, w_tail) = weights.split_at_mut(whole);
        let (g_body, g_tail) = gradient.split_at(whole);
        let (m_body, m_tail) = first.split_at_mut(whole);
        let (v_body, v_tail) = second.split_at_mut(whole);
        let body = w_body
            .chunks_exact_mut(LANES)
            .zip(g_body.chunks_exact(LANES))
            .zip(m_body.chunks_exact_mut(LANES))
            .zip(v_body.chunks_exact_mut(LANES));
        for (((w, g), m), v) in body {
            for j in 0..LANES {
                update(&mut w[j], g[j], &mut m[j], &mut v[j], scalars, step_size);
                lanes[j] += g[j];
            }
        }
        let mut sum: f32 = lanes.iter().sum();
        for (((w, &g), m), v) in w_tail.iter_mut().zip(g_tail).zip(m_tail).zip(v_tail) {
            update(w, g, m, v, scalars, step_size);
            sum += g;
        }
        sum
    }
}

/// Adam's update of one weight `w` with gradient `g` and moments `m`, `v`, rounded as libtorch's
/// CPU kernels round (module docs).
#[inline(always)]
fn update(w: &mut f32, g: f32, m: &mut f32, v: &mut f32, s: Scalars, step_size: f32) {
    *m = s.lerp.mul_add(g - *m, *m);
    *v = g.mul_add(g * s.complement2, *v * s.beta2);
    let denominator = v.sqrt() / s.correction2_sqrt + s.eps;
    *w += (*m * step_size) / denominator;
}
