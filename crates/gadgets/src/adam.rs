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
//! sqrt(1 - beta2^t)) into f32 tensors on the device (on the CPU only the count: see below);
//! `Adam::minimise_prepared` is the device's:
//! backpropagation and the update, reading those tensors, so that it is the same sequence of kernels
//! at every step and can be captured once as a CUDA graph and replayed (`crate::stack`). The tensors
//! hold the f32 roundings that libtorch makes of a scalar operand, so the update's bits are those of
//! scalar operands.
//!
//! On the CPU the device part's update is one pass in Rust over the flat buffers instead ([`fused`]):
//! the tensor form's arithmetic with its fused multiply-adds, and a correctly rounded square root
//! where libtorch's vector one is off by 1 ulp for some inputs, so that CPU weights do not depend
//! on the processor.

mod fused;

use std::cell::RefCell;
use std::collections::HashMap;

use tch::{nn, Device, Kind, Tensor};

use crate::device::upload;
use crate::error::Result;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam's bias corrections of update t: 1 - beta1^t and sqrt(1 - beta2^t).
fn corrections(step: i32) -> (f64, f64) {
    (1.0 - BETA1.powi(step), (1.0 - BETA2.powi(step)).sqrt())
}

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
    /// On the CPU, the moments' values and the buffers of the one-pass update ([`fused`]).
    host: Option<RefCell<fused::HostMoments>>,
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
        let host = (store.device() == Device::Cpu)
            .then(|| RefCell::new(fused::HostMoments::zeros((runs * per_run) as usize)));
        let mut adam = Self {
            learning_rates,
            variables,
            first: weights.zeros_like(),
            second: weights.zeros_like(),
            step_sizes: Tensor::zeros(sizes_shape, (Kind::Float, store.device())),
            correction2_sqrt: Tensor::zeros([], (Kind::Float, store.device())),
            host,
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
    /// On the CPU only the count: the one-pass update ([`fused`]) reads the step and the rates itself.
    pub(crate) fn prepare(&mut self) {
        self.bind();
        self.step += 1;
        if self.host.is_some() {
            return;
        }
        let (correction1, correction2_sqrt) = corrections(self.step);
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
        if let Some(host) = &self.host {
            return self.minimise_on_host(host, loss);
        }
        let gradient = self.gradient(loss)?;
        let sum = gradient.f_sum(Kind::Float)?;
        self.update(&gradient);
        Ok(sum)
    }

    /// [`Adam::minimise`] on the CPU, the step counted: the gradients of `loss` go straight into
    /// the one-pass update ([`fused`]), whose weights are copied into the variables' buffer.
    fn minimise_on_host(
        &self,
        host: &RefCell<fused::HostMoments>,
        loss: &Tensor,
    ) -> Result<Tensor> {
        let grads = if self.variables.is_empty() {
            Vec::new()
        } else {
            Tensor::f_run_backward(&[loss], &self.variables, false, false)?
        };
        let sum = tch::no_grad(|| -> Result<f32> {
            let (updated, sum) = host.borrow_mut().step(fused::Inputs {
                first: &self.first,
                second: &self.second,
                weights: &self.weights,
                grads: &grads,
                variables: &self.variables,
                step: self.step,
                learning_rates: &self.learning_rates,
                versions: self.versions(),
            })?;
            self.weights.shallow_clone().f_copy_(&updated)?;
            Ok(sum)
        })?;
        host.borrow_mut().bound(self.versions());
        Ok(Tensor::from(sum))
    }

    /// The version counters of the weights tensor and of each variable (libtorch counts the in-place
    /// writes into a tensor and its views; a variable bound to a view counts its own).
    fn versions(&self) -> Vec<i64> {
        std::iter::once(&self.weights)
            .chain(&self.variables)
            .map(Tensor::internal_version)
            .collect()
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
    /// restores with [`Adam::updates`] ([`crate::snapshot`]). On the CPU the views hold the moments
    /// until the next step, which reads back what was written into them.
    pub(crate) fn moments(&self) -> HashMap<String, Tensor> {
        if let Some(host) = &self.host {
            host.borrow().lend(&self.first, &self.second).expect("moments of the weights' shape");
        }
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
    /// with the tensor form's elementwise operations, one tensor at a time, run r of a stack (each
    /// variable's leading dimension, as many runs as `rates`) at `rates[r]`, the square root taken
    /// by `sqrt`.
    fn per_variable_adam(
        store: &nn::VarStore,
        loss: &dyn Fn() -> Tensor,
        rates: &[f64],
        steps: i32,
        sqrt: fn(&Tensor) -> Tensor,
    ) {
        let variables = store.trainable_variables();
        let mut first: Vec<Tensor> = variables.iter().map(Tensor::zeros_like).collect();
        let mut second: Vec<Tensor> = variables.iter().map(Tensor::zeros_like).collect();
        for t in 1..=steps {
            let grads = Tensor::run_backward(&[loss()], &variables, false, false);
            let correction1 = 1.0 - BETA1.powi(t);
            let correction2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
            let sizes: Vec<f32> = rates.iter().map(|lr| (-lr / correction1) as f32).collect();
            tch::no_grad(|| {
                for (((v, g), m), s) in
                    variables.iter().zip(&grads).zip(&mut first).zip(&mut second)
                {
                    let g = if g.defined() { g.shallow_clone() } else { v.zeros_like() };
                    let _ = m.lerp_(&g, 1.0 - BETA1);
                    let _ = s.g_mul_scalar_(BETA2).addcmul_(&g, &(&g * (1.0 - BETA2)));
                    let denominator = (sqrt(s) / correction2_sqrt).g_add_scalar_(EPS);
                    let step = match sizes.as_slice() {
                        [size] => &*m * f64::from(*size),
                        sizes => {
                            let mut shape = vec![1_i64; v.dim()];
                            shape[0] = -1;
                            &*m * Tensor::from_slice(sizes).view(shape.as_slice())
                        }
                    };
                    let _ = v.shallow_clone().addcdiv_(&step, &denominator);
                }
            });
        }
    }

    /// The correctly rounded f32 square root (from f64, where the second rounding is harmless), as
    /// Rust's: libtorch's CPU `sqrt` (MKL's vector library) is not correctly rounded for every input.
    fn correctly_rounded_sqrt(x: &Tensor) -> Tensor {
        x.to_kind(Kind::Double).sqrt().to_kind(Kind::Float)
    }

    /// The bits of every trainable variable of `store`, in order.
    fn weight_bits(store: &nn::VarStore) -> Vec<Vec<u32>> {
        store
            .trainable_variables()
            .iter()
            .map(|v| {
                let values = Vec::<f32>::try_from(v.flatten(0, -1)).expect("f32");
                values.into_iter().map(f32::to_bits).collect()
            })
            .collect()
    }

    /// A loss of every variable of `store` whose gradients spread over orders of magnitude and signs:
    /// sum of c * sin(4 v) / 4 with c a fixed pattern from 1e-6 to 1 (variable `skip`, if any, unused).
    fn spread_loss(store: &nn::VarStore, skip: Option<usize>) -> Tensor {
        let mut total = Tensor::zeros([], (Kind::Float, Device::Cpu));
        for (i, v) in store.trainable_variables().iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            let n = v.numel() as i64;
            let index = Tensor::arange(n, (Kind::Float, Device::Cpu)).view(v.size().as_slice());
            let scale = ((&index * 0.37 + i as f64).sin() * 3.0 - 3.0).exp();
            total += ((v * 4.0).sin() * scale).sum(Kind::Float) / 4.0;
        }
        total
    }

    /// The CPU's one-pass update gives every weight the tensor form's bits (with a correctly rounded
    /// square root) over 50 steps: both gadgets' weights (variables of many lengths, so both the
    /// vector body and the tails of the pass), and a stack of three runs at three rates with a
    /// variable the loss does not use.
    #[test]
    fn the_one_pass_cpu_update_gives_the_tensor_forms_bits_over_50_steps() {
        use crate::{Gadget, GadgetConfig, GadgetKind};
        let steps = 50;
        // One libtorch thread (the pass in one piece) and two (in chunks on rayon's threads).
        for (kind, threads) in [(GadgetKind::Gadget1, 1), (GadgetKind::Gadget2, 2)] {
            tch::set_num_threads(threads);
            // Hidden widths of 300: 0.1-0.15 M weights, several chunks of the threaded pass.
            let config = GadgetConfig { hidden: vec![300, 300], ..GadgetConfig::paper(kind, 10) };
            let gadget = |seed| Gadget::new(config.clone(), Device::Cpu, seed);
            let (ours, reference) = (gadget(3).expect("gadget"), gadget(3).expect("gadget"));
            let mut adam = Adam::new(ours.var_store(), 1e-3);
            assert!(adam.host.is_some(), "the CPU takes the one-pass update");
            for _ in 0..steps {
                let _ = adam.minimise(&spread_loss(ours.var_store(), None)).expect("step");
            }
            let store = reference.var_store();
            let loss = || spread_loss(store, None);
            per_variable_adam(store, &loss, &[1e-3], steps, correctly_rounded_sqrt);
            assert!(weight_bits(ours.var_store()) == weight_bits(store), "{kind:?}");
        }
        let rates = [1e-2, 3e-4, 1e-3];
        let stack = || {
            let store = nn::VarStore::new(Device::Cpu);
            let root = store.root();
            for (name, shape) in [("a", vec![3, 37, 29]), ("b", vec![3, 1000]), ("c", vec![3, 5])] {
                let n: i64 = shape.iter().product();
                let values = (Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.71).cos();
                let _ = root.var_copy(name, &values.view(shape.as_slice()));
            }
            store
        };
        let (ours, reference) = (stack(), stack());
        let mut adam = Adam::per_run(&ours, &rates);
        for _ in 0..steps {
            let _ = adam.minimise(&spread_loss(&ours, Some(1))).expect("step");
        }
        per_variable_adam(&reference, &|| spread_loss(&reference, Some(1)), &rates, steps, |x| {
            correctly_rounded_sqrt(x)
        });
        assert!(weight_bits(&ours) == weight_bits(&reference), "the stack");
    }

    /// The tensor form (what other devices run) against the per-variable update, bit for bit, on
    /// the CPU with libtorch's own square root.
    #[test]
    fn the_tensor_form_updates_as_a_per_variable_update_does_bit_for_bit() {
        let (flat_store, x, y) = problem();
        let (reference_store, _, _) = problem();
        let mut adam = Adam::new(&flat_store, 0.05);
        adam.host = None;
        for _ in 0..20 {
            let _ = adam.minimise(&loss(&flat_store, &x, &y)).expect("finite");
        }
        per_variable_adam(&reference_store, &|| loss(&reference_store, &x, &y), &[0.05], 20, |x| {
            x.sqrt()
        });
        assert!(weight_bits(&flat_store) == weight_bits(&reference_store));
    }

    /// A value written into a variable between steps is the value the next step updates, on every
    /// device: with learning rate 0 a step leaves the weights as they are.
    #[test]
    fn a_step_starts_from_values_written_into_the_variables() {
        let (store, x, y) = problem();
        let mut adam = Adam::new(&store, 0.0);
        for _ in 0..2 {
            let _ = adam.minimise(&loss(&store, &x, &y)).expect("finite");
        }
        let written = Tensor::from_slice(&[0.5_f32; 12]).view([3, 4]);
        tch::no_grad(|| store.variables()["w"].shallow_clone().copy_(&written));
        let _ = adam.minimise(&loss(&store, &x, &y)).expect("finite");
        assert!(store.variables()["w"].equal(&written), "the step lost the written values");
    }

    #[test]
    fn the_flat_buffer_updates_every_weight_as_a_per_variable_update_does_bit_for_bit() {
        let (flat_store, x, y) = problem();
        let (reference_store, _, _) = problem();
        let mut adam = Adam::new(&flat_store, 0.05);
        for _ in 0..20 {
            let _ = adam.minimise(&loss(&flat_store, &x, &y)).expect("finite");
        }
        let reference_loss = || loss(&reference_store, &x, &y);
        per_variable_adam(&reference_store, &reference_loss, &[0.05], 20, correctly_rounded_sqrt);
        assert_eq!(weight_bits(&flat_store), weight_bits(&reference_store));
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
