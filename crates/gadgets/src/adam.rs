//! Adam (Kingma & Ba 2015) over a gadget's trainable variables, with the checks every training step
//! needs: a loss or gradient that is not finite stops the run with the step at which it happened.
//!
//! The update is PyTorch's and optax's, with beta1 = 0.9, beta2 = 0.999, eps = 1e-8: at step t,
//! m <- beta1 m + (1 - beta1) g, v <- beta2 v + (1 - beta2) g^2,
//! theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
//! A stack of R runs (`crate::stack`) may give each run its own lr ([`Adam::per_run`]): every
//! variable of a stack has the runs along its leading dimension, and run r's slice takes run r's lr.
//! Written with in-place tensor operations because libtorch's C++ `torch::optim::Adam` (what
//! `tch::nn::Adam` wraps) took 6 ms per step for the gadgets' 1.1 M weights on one CPU thread, a
//! fifth of a whole training step; this takes about a tenth of that (docs/gadgets.md).

use std::collections::HashMap;

use tch::{nn, Kind, Tensor};

use crate::error::{GadgetError, Result};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam's state: the variables it updates and their first and second moment estimates.
pub struct Adam {
    /// One learning rate for every weight, or (when they differ) one per run of a stack.
    learning_rates: Vec<f64>,
    variables: Vec<Tensor>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
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
    pub(crate) fn per_run(store: &nn::VarStore, learning_rates: &[f64]) -> Self {
        let variables = store.trainable_variables();
        let zeros = |v: &Tensor| v.zeros_like();
        let learning_rates = match learning_rates {
            [first, rest @ ..] if rest.iter().all(|r| r == first) => vec![*first],
            _ => learning_rates.to_vec(),
        };
        Self {
            learning_rates,
            first: variables.iter().map(zeros).collect(),
            second: variables.iter().map(zeros).collect(),
            variables,
            step: 0,
        }
    }

    /// One step on `loss` (a scalar tensor with gradient): checks that it is finite, backpropagates,
    /// checks that every gradient entry is finite, and updates. `step` names the step in errors.
    /// Returns the loss.
    pub fn minimise(&mut self, loss: &Tensor, step: usize) -> Result<f64> {
        let value = f64::try_from(loss)?;
        if !value.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "loss", value });
        }
        self.zero_grad();
        loss.backward();
        let gradient = self.gradient_sum()?;
        if !gradient.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "gradient", value: gradient });
        }
        self.update();
        Ok(value)
    }

    /// Zeroes the gradients left by the previous step.
    fn zero_grad(&mut self) {
        for variable in &self.variables {
            let mut grad = variable.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// The sum of every gradient entry: finite exactly when every entry is.
    fn gradient_sum(&self) -> Result<f64> {
        let sums: Vec<Tensor> = self
            .variables
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .map(|g| g.sum(Kind::Float))
            .collect();
        if sums.is_empty() {
            return Ok(0.0);
        }
        Ok(f64::try_from(Tensor::stack(&sums, 0).sum(Kind::Float))?)
    }

    /// The moment estimates (shallow copies: writing into them writes Adam's), named `first/<i>` and
    /// `second/<i>` for the i-th trainable variable: what a training snapshot saves and restores with
    /// [`Adam::updates`] ([`crate::snapshot`]).
    pub(crate) fn moments(&self) -> HashMap<String, Tensor> {
        let named = |which: &str, moments: &[Tensor]| -> Vec<(String, Tensor)> {
            moments
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("{which}/{i}"), m.shallow_clone()))
                .collect()
        };
        named("first", &self.first).into_iter().chain(named("second", &self.second)).collect()
    }

    /// The number of updates made (the bias corrections depend on it).
    pub(crate) fn updates(&self) -> i32 {
        self.step
    }

    /// Sets the number of updates made (after a snapshot's moments were copied in).
    pub(crate) fn set_updates(&mut self, step: i32) {
        self.step = step;
    }

    /// The Adam update of every variable with a gradient.
    fn update(&mut self) {
        self.step += 1;
        let correction1 = 1.0 - BETA1.powi(self.step);
        let correction2_sqrt = (1.0 - BETA2.powi(self.step)).sqrt();
        // -lr / (1 - beta1^t): one number, or per run an [R] vector (f32, as libtorch rounds a scalar).
        let step_sizes: Vec<f64> = self.learning_rates.iter().map(|lr| -lr / correction1).collect();
        let per_run = (step_sizes.len() > 1).then(|| {
            let sizes =
                Tensor::from_slice(&step_sizes.iter().map(|&s| s as f32).collect::<Vec<_>>());
            self.variables.first().map_or(sizes.shallow_clone(), |v| sizes.to_device(v.device()))
        });
        tch::no_grad(|| {
            for ((variable, first), second) in
                self.variables.iter_mut().zip(&mut self.first).zip(&mut self.second)
            {
                let grad = variable.grad();
                if !grad.defined() {
                    continue;
                }
                let _ = first.lerp_(&grad, 1.0 - BETA1);
                let _ = second.g_mul_scalar_(BETA2).addcmul_(&grad, &(&grad * (1.0 - BETA2)));
                let denominator = (second.sqrt() / correction2_sqrt).g_add_scalar_(EPS);
                let step = match &per_run {
                    None => &*first * step_sizes[0],
                    Some(sizes) => {
                        let mut shape = vec![1_i64; first.dim()];
                        shape[0] = -1;
                        &*first * sizes.view(shape.as_slice())
                    }
                };
                let _ = variable.addcdiv_(&step, &denominator);
            }
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
        for step in 1..=20 {
            ours.minimise(&loss(&ours_store, &x, &y), step).expect("finite");
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
        for step in 1..=20 {
            let vars = stacked.variables();
            let run_loss = |r: i64| {
                (x.linear(&vars["w"].get(r), Some(&vars["b"].get(r))) - &y)
                    .square()
                    .mean(Kind::Float)
            };
            together.minimise(&(run_loss(0) + run_loss(1)), step).expect("finite");
            for (store, adam) in &mut alone {
                adam.minimise(&loss(store, &x, &y), step).expect("finite");
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

    #[test]
    fn a_non_finite_loss_names_its_step() {
        let (store, x, _) = problem();
        let mut adam = Adam::new(&store, 0.01);
        let bad = loss(&store, &x, &Tensor::full([8, 3], f64::NAN, (Kind::Float, Device::Cpu)));
        assert!(matches!(
            adam.minimise(&bad, 7),
            Err(GadgetError::NonFinite { step: 7, what: "loss", .. })
        ));
    }
}
