//! Adam (Kingma & Ba 2015) over a gadget's trainable variables. A step leaves the sum of every
//! gradient entry on the device for the training loop's finiteness check, which reads it back with
//! the loss every N steps (`crate::readback`), so a step never waits for the device.
//!
//! The update is PyTorch's and optax's, with beta1 = 0.9, beta2 = 0.999, eps = 1e-8: at step t,
//! m <- beta1 m + (1 - beta1) g, v <- beta2 v + (1 - beta2) g^2,
//! theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
//! A stack of R runs (`crate::stack`) may give each run its own lr ([`Adam::per_run`]): every
//! variable of a stack has the runs along its leading dimension, and run r's slice takes run r's lr.
//! Written with in-place tensor operations because libtorch's C++ `torch::optim::Adam` (what
//! `tch::nn::Adam` wraps) took 6 ms per step for the gadgets' 1.1 M weights on one CPU thread, a
//! fifth of a whole training step; this takes about a tenth of that (docs/gadgets.md).
//!
//! **One buffer for all variables.** tch binds neither libtorch's `_fused_adam_` nor its `_foreach_`
//! kernels, so Adam gathers the variables into one flat buffer instead: at construction each variable
//! becomes a view of an `[R, P]` tensor (P the parameters of one run, R = 1 for a run alone; run r's
//! values in row r, so that a per-run rate is an `[R, 1]` column), the moments are `[R, P]` tensors,
//! and a step takes the gradients of the loss with respect to every variable at once
//! (`Tensor::run_backward`), puts them side by side in one `[R, P]` tensor and updates all weights
//! with the same handful of elementwise operations, whatever the number of variables (about 10 per
//! step instead of about 12 per variable). The elementwise arithmetic per weight is the same as per
//! variable.
//!
//! **A step in two parts.** `Adam::prepare` is the host's part: it counts the update and writes
//! the numbers that change with it (-lr / (1 - beta1^t), one or one per run, and
//! sqrt(1 - beta2^t)) into f32 tensors on the device; `Adam::minimise_prepared` is the device's:
//! backpropagation and the update, reading those tensors, so that it is the same sequence of kernels
//! at every step and can be captured once as a CUDA graph and replayed (`crate::stack`). The tensors
//! hold the f32 roundings that libtorch makes of a scalar operand, so the update's bits are those of
//! scalar operands on the CPU.

use std::collections::HashMap;

use tch::{nn, Kind, Tensor};

use crate::device::upload;
use crate::error::Result;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam's state: the variables it updates (views of one flat buffer) and their moment estimates.
pub struct Adam {
    /// One learning rate for every weight, or (when they differ) one per run of a stack.
    learning_rates: Vec<f64>,
    /// The trainable variables, each a view of `weights` (see [`Adam::bind`]).
    variables: Vec<Tensor>,
    /// Every trainable weight, `[R, P]`.
    weights: Tensor,
    /// Variable i's place in `weights`, shaped as it.
    views: Vec<Tensor>,
    /// The moment estimates, `[R, P]` each.
    first: Tensor,
    second: Tensor,
    /// -lr / (1 - beta1^t) of the prepared update t: f32, 0-dim, or `[R, 1]` when the rates differ.
    step_sizes: Tensor,
    /// sqrt(1 - beta2^t) of the prepared update t: f32, 0-dim.
    correction2_sqrt: Tensor,
    step: i32,
}

impl Adam {
    /// Adam over the trainable variables of `store`, moments zero.
    pub fn new(store: &nn::VarStore, learning_rate: f64) -> Self {
        Self::per_run(store, &[learning_rate])
    }

    /// Adam over the variables of a stack of `learning_rates.len()` runs (each variable's leading
    /// dimension), run r at `learning_rates[r]`. Equal rates are one rate: the update is then exactly
    /// [`Adam::new`]'s. The caller ([`crate::stack::StackedTrainer`]) passes one rate per run, at least one.
    ///
    /// The store's trainable variables become views of Adam's flat buffer (their values unchanged).
    pub(crate) fn per_run(store: &nn::VarStore, learning_rates: &[f64]) -> Self {
        let runs = learning_rates.len().max(1) as i64;
        let variables = store.trainable_variables();
        let per_run: i64 = variables.iter().map(|v| v.numel() as i64 / runs).sum();
        let weights = Tensor::zeros([runs, per_run], (Kind::Float, store.device()));
        let mut offset = 0;
        let mut views = Vec::with_capacity(variables.len());
        for variable in &variables {
            let size = variable.numel() as i64 / runs;
            views.push(weights.narrow(1, offset, size).view(variable.size().as_slice()));
            offset += size;
        }
        let learning_rates = match learning_rates {
            [first, rest @ ..] if rest.iter().all(|r| r == first) => vec![*first],
            _ => learning_rates.to_vec(),
        };
        let sizes_shape: &[i64] = if learning_rates.len() > 1 { &[runs, 1] } else { &[] };
        let mut adam = Self {
            learning_rates,
            variables,
            first: weights.zeros_like(),
            second: weights.zeros_like(),
            step_sizes: Tensor::zeros(sizes_shape, (Kind::Float, store.device())),
            correction2_sqrt: Tensor::zeros([], (Kind::Float, store.device())),
            weights,
            views,
            step: 0,
        };
        adam.bind();
        adam
    }

    /// Makes every variable a view of `weights` again where it is not (at construction, or after
    /// another optimiser over the same variables rebound them to its own buffer), its current
    /// values copied in: the variables' values are the truth, the buffer follows them.
    fn bind(&mut self) {
        tch::no_grad(|| {
            for (variable, view) in self.variables.iter_mut().zip(&mut self.views) {
                if variable.data_ptr() != view.data_ptr() {
                    view.copy_(variable);
                    variable.set_data(view);
                }
            }
        });
    }

    /// One step on `loss` (a scalar tensor with gradient): backpropagates and updates every weight.
    /// Returns the sum of every gradient entry, a scalar tensor on the device, not read back (finite
    /// exactly when every entry is, short of overflow): the training loop checks it with the loss
    /// ([`crate::readback`]). A non-finite gradient is applied as it is: the run is over then.
    pub fn minimise(&mut self, loss: &Tensor) -> Result<Tensor> {
        self.prepare();
        self.minimise_prepared(loss)
    }

    /// The host's part of a step: counts the update and writes its numbers into the device tensors
    /// that `Adam::minimise_prepared` reads (no wait for the device), after binding the variables
    /// to the flat buffer where another optimiser took them.
    pub(crate) fn prepare(&mut self) {
        self.bind();
        self.step += 1;
        let correction1 = 1.0 - BETA1.powi(self.step);
        let correction2_sqrt = (1.0 - BETA2.powi(self.step)).sqrt();
        let step_sizes: Vec<f64> = self.learning_rates.iter().map(|lr| -lr / correction1).collect();
        tch::no_grad(|| {
            let _ = self.correction2_sqrt.fill_(correction2_sqrt);
            match step_sizes.as_slice() {
                [size] => {
                    let _ = self.step_sizes.fill_(*size);
                }
                sizes => {
                    // f32 on the host, as libtorch rounds a scalar.
                    let column: Vec<f32> = sizes.iter().map(|&s| s as f32).collect();
                    let device = self.step_sizes.device();
                    let column = upload(&Tensor::from_slice(&column).view([-1, 1]), device);
                    self.step_sizes.copy_(&column);
                }
            }
        });
    }

    /// The device's part of a step prepared by `Adam::prepare`: backpropagates `loss` and updates
    /// every weight, as [`Adam::minimise`] does; the same kernels at every step.
    pub(crate) fn minimise_prepared(&self, loss: &Tensor) -> Result<Tensor> {
        let gradient = self.gradient(loss)?;
        let sum = gradient.f_sum(Kind::Float)?;
        self.update(&gradient);
        Ok(sum)
    }

    /// The gradient of `loss` with respect to every variable, `[R, P]` as the weights are laid out
    /// (zero for a variable the loss does not use).
    fn gradient(&self, loss: &Tensor) -> Result<Tensor> {
        if self.variables.is_empty() {
            return Ok(self.weights.zeros_like());
        }
        let runs = self.weights.size()[0];
        let grads = Tensor::f_run_backward(&[loss], &self.variables, false, false)?;
        let rows: Vec<Tensor> = grads
            .iter()
            .zip(&self.variables)
            .map(|(g, v)| {
                if g.defined() {
                    g.reshape([runs, -1])
                } else {
                    v.zeros_like().reshape([runs, -1])
                }
            })
            .collect();
        Ok(Tensor::f_cat(&rows, 1)?)
    }

    /// The moment estimates (views: writing into them writes Adam's), named `first/<i>` and
    /// `second/<i>` for the i-th trainable variable, shaped as it: what a training snapshot saves and
    /// restores with [`Adam::updates`] ([`crate::snapshot`]).
    pub(crate) fn moments(&self) -> HashMap<String, Tensor> {
        let runs = self.weights.size()[0];
        let mut named = HashMap::new();
        let mut offset = 0;
        for (i, variable) in self.views.iter().enumerate() {
            let size = variable.numel() as i64 / runs;
            for (which, moment) in [("first", &self.first), ("second", &self.second)] {
                let view = moment.narrow(1, offset, size).view(variable.size().as_slice());
                named.insert(format!("{which}/{i}"), view);
            }
            offset += size;
        }
        named
    }

    /// The number of updates made (the bias corrections depend on it).
    pub(crate) fn updates(&self) -> i32 {
        self.step
    }

    /// Sets the number of updates made (after a snapshot's moments were copied in).
    pub(crate) fn set_updates(&mut self, step: i32) {
        self.step = step;
    }

    /// The Adam update of every weight from its `gradient` (`[R, P]`), with the prepared step's
    /// numbers.
    fn update(&self, gradient: &Tensor) {
        let (mut first, mut second) = (self.first.shallow_clone(), self.second.shallow_clone());
        tch::no_grad(|| {
            let _ = first.lerp_(gradient, 1.0 - BETA1);
            let _ = second.g_mul_scalar_(BETA2).addcmul_(gradient, &(gradient * (1.0 - BETA2)));
            let denominator = (second.sqrt() / &self.correction2_sqrt).g_add_scalar_(EPS);
            let step = &first * &self.step_sizes;
            let _ = self.weights.shallow_clone().addcdiv_(&step, &denominator);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::OptimizerConfig;
    use tch::Device;

    /// A small least-squares problem (without libtorch's global generator, which tests running in
    /// parallel share): the same starting weights in every store it is called for.
    fn problem() -> (nn::VarStore, Tensor, Tensor) {
        let values = |n: usize, phase: f64| -> Vec<f32> {
            (0..n).map(|i| (1.7 * i as f64 + phase).sin() as f32).collect()
        };
        let store = nn::VarStore::new(Device::Cpu);
        let _ = store.root().var_copy("w", &Tensor::from_slice(&values(12, 0.3)).view([3, 4]));
        let _ = store.root().zeros("b", &[3]);
        (
            store,
            Tensor::from_slice(&values(32, 1.1)).view([8, 4]),
            Tensor::from_slice(&values(24, 2.9)).view([8, 3]),
        )
    }

    fn loss(store: &nn::VarStore, x: &Tensor, y: &Tensor) -> Tensor {
        let vars = store.variables();
        (x.linear(&vars["w"], Some(&vars["b"])) - y).square().mean(Kind::Float)
    }

    #[test]
    fn matches_libtorchs_adam_step_for_step() {
        let (ours_store, x, y) = problem();
        let (theirs_store, _, _) = problem();
        let mut ours = Adam::new(&ours_store, 0.05);
        let mut theirs = nn::Adam::default().build(&theirs_store, 0.05).expect("optimiser");
        for _ in 0..20 {
            let _ = ours.minimise(&loss(&ours_store, &x, &y)).expect("finite");
            theirs.backward_step(&loss(&theirs_store, &x, &y));
        }
        let gap = |name: &str| {
            let (a, b) = (&ours_store.variables()[name], &theirs_store.variables()[name]);
            f64::try_from((a - b).abs().max()).expect("scalar")
        };
        // 20 steps of lr 0.05 move the weights by O(1); the two must agree to single-precision rounding.
        assert!(gap("w") < 1e-5 && gap("b") < 1e-5, "w {} b {}", gap("w"), gap("b"));
        let moved = f64::try_from(ours_store.variables()["b"].abs().max()).expect("scalar");
        assert!(moved > 0.1, "the bias should have moved, |b| = {moved}");
    }

    #[test]
    fn per_run_rates_update_each_runs_slice_as_its_own_adam_would() {
        let rates = [0.05, 0.01];
        let (single, x, y) = problem();
        let stacked = nn::VarStore::new(Device::Cpu);
        let _ = stacked.root().var_copy(
            "w",
            &Tensor::stack(&[&single.variables()["w"], &single.variables()["w"]], 0),
        );
        let _ = stacked.root().zeros("b", &[2, 3]);
        let mut together = Adam::per_run(&stacked, &rates);
        let mut alone: Vec<(nn::VarStore, Adam)> = rates
            .iter()
            .map(|&rate| {
                let (store, _, _) = problem();
                let adam = Adam::new(&store, rate);
                (store, adam)
            })
            .collect();
        for _ in 0..20 {
            let vars = stacked.variables();
            let run_loss = |r: i64| {
                (x.linear(&vars["w"].get(r), Some(&vars["b"].get(r))) - &y)
                    .square()
                    .mean(Kind::Float)
            };
            let _ = together.minimise(&(run_loss(0) + run_loss(1))).expect("finite");
            for (store, adam) in &mut alone {
                let _ = adam.minimise(&loss(store, &x, &y)).expect("finite");
            }
        }
        for (r, (store, _)) in alone.iter().enumerate() {
            for name in ["w", "b"] {
                let gap = f64::try_from(
                    (stacked.variables()[name].get(r as i64) - &store.variables()[name])
                        .abs()
                        .max(),
                )
                .expect("scalar");
                assert!(gap < 1e-6, "run {r} {name}: {gap}");
            }
        }
        // The two rates moved the runs apart: a stack that used one rate for both would fail above.
        let apart = f64::try_from(
            (alone[0].0.variables()["b"].shallow_clone() - &alone[1].0.variables()["b"])
                .abs()
                .max(),
        )
        .expect("scalar");
        assert!(apart > 0.05, "the runs' biases differ by only {apart}");
    }

    /// Adam variable by variable, the form the flat buffer replaces: m, v and the weights updated
    /// with the same elementwise operations, one tensor at a time.
    fn per_variable_adam(store: &nn::VarStore, loss: &dyn Fn() -> Tensor, lr: f64, steps: i32) {
        let variables = store.trainable_variables();
        let mut first: Vec<Tensor> = variables.iter().map(Tensor::zeros_like).collect();
        let mut second: Vec<Tensor> = variables.iter().map(Tensor::zeros_like).collect();
        for t in 1..=steps {
            let grads = Tensor::run_backward(&[loss()], &variables, false, false);
            let correction1 = 1.0 - BETA1.powi(t);
            let correction2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
            tch::no_grad(|| {
                for (((v, g), m), s) in
                    variables.iter().zip(&grads).zip(&mut first).zip(&mut second)
                {
                    let _ = m.lerp_(g, 1.0 - BETA1);
                    let _ = s.g_mul_scalar_(BETA2).addcmul_(g, &(g * (1.0 - BETA2)));
                    let denominator = (s.sqrt() / correction2_sqrt).g_add_scalar_(EPS);
                    let _ = v.shallow_clone().addcdiv_(&(&*m * (-lr / correction1)), &denominator);
                }
            });
        }
    }

    #[test]
    fn the_flat_buffer_updates_every_weight_as_a_per_variable_update_does_bit_for_bit() {
        let (flat_store, x, y) = problem();
        let (reference_store, _, _) = problem();
        let mut adam = Adam::new(&flat_store, 0.05);
        for _ in 0..20 {
            let _ = adam.minimise(&loss(&flat_store, &x, &y)).expect("finite");
        }
        per_variable_adam(&reference_store, &|| loss(&reference_store, &x, &y), 0.05, 20);
        for name in ["w", "b"] {
            let bits = |store: &nn::VarStore| {
                Vec::<f32>::try_from(store.variables()[name].flatten(0, -1)).expect("f32")
            };
            assert_eq!(bits(&flat_store), bits(&reference_store), "{name}");
        }
        // A second optimiser over the same store takes the variables over; the first, used again,
        // takes them back with their values, so updates always reach the store.
        let mut other = Adam::new(&flat_store, 0.05);
        let _ = other.minimise(&loss(&flat_store, &x, &y)).expect("finite");
        let before = flat_store.variables()["w"].copy();
        let _ = adam.minimise(&loss(&flat_store, &x, &y)).expect("finite");
        assert!(
            !flat_store.variables()["w"].equal(&before),
            "the first optimiser's update was lost"
        );
    }
}
