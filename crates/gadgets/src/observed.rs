//! Training the counterfactual loss given one fixed observed outcome: the sepsis study's s'_obs
//! (the paper's Section 7.3; gadgets-part2.md section 2, item 9).
//!
//! [`crate::train::Trainer`]'s counterfactual loss draws x_obs ~ p afresh for every sample; the
//! authors' Section 7.3 code instead conditions every sample on the one observed next state. Here
//! x_obs is that fixed outcome, and each step minimises the relaxed counterfactual cost
//! E sum_y soft_q(y | x_obs) C(x_obs, y) over B pairs and N_in posterior-noise samples per pair
//! (Gadget 2: the posterior mixture over z of Gumbel-softmax samples; Gadget 1: Gumbel-softmax over
//! the transposed top-down noise).

use gumbel_core::pairs::{LogitPair, PairDistribution};
use gumbel_core::rng::{stream, SeededRng};
use gumbel_core::{Categorical, CostMatrix};
use tch::{nn, nn::OptimizerConfig, Kind, Tensor};

use crate::batch::PairBatch;
use crate::error::{GadgetError, Result};
use crate::gadget::Gadget;
use crate::train::{gradient_sum, LossKind, TrainOptions};

/// One Adam step at a time on the counterfactual loss given a fixed observation.
pub struct ObservedTrainer<'a> {
    gadget: &'a Gadget,
    pairs: &'a dyn PairDistribution,
    observed: usize,
    cost_row: Tensor,
    options: TrainOptions,
    optimiser: nn::Optimizer,
    rng: SeededRng,
    step: usize,
}

impl<'a> ObservedTrainer<'a> {
    /// A run of `gadget` on pairs from `pairs`, every sample conditioned on x = `observed`, with cost
    /// row C(observed, .). `options.loss` must be [`LossKind::Counterfactual`].
    pub fn new(gadget: &'a Gadget, pairs: &'a dyn PairDistribution, cost: &CostMatrix, observed: usize, options: &TrainOptions) -> Result<Self> {
        options.validate()?;
        if options.loss != LossKind::Counterfactual {
            return Err(GadgetError::InvalidConfig("training given an observation needs the counterfactual loss".into()));
        }
        let k = gadget.outcomes();
        for (what, found) in [("pair distribution", pairs.outcomes()), ("cost matrix", cost.len())] {
            if found != k {
                return Err(GadgetError::OutcomeMismatch { what, expected: k, found });
            }
        }
        if observed >= k {
            return Err(GadgetError::OutcomeMismatch { what: "observed outcome (index + 1)", expected: k, found: observed + 1 });
        }
        let row: Vec<f32> = cost.matrix().row(observed).iter().map(|&c| c as f32).collect();
        tch::manual_seed(options.seed as i64);
        Ok(Self {
            gadget,
            pairs,
            observed,
            cost_row: Tensor::from_slice(&row).to_device(gadget.device()),
            options: options.clone(),
            optimiser: nn::Adam::default().build(gadget.var_store(), options.learning_rate)?,
            rng: stream(options.seed, 1),
            step: 0,
        })
    }

    /// One Adam step on a fresh batch; returns its loss. Errors when a drawn p gives the observation
    /// probability zero, or when the loss or a gradient stops being finite.
    pub fn step(&mut self) -> Result<f64> {
        self.step += 1;
        let step = self.step;
        let drawn: Vec<LogitPair> = (0..self.options.batch).map(|_| self.pairs.sample(&mut self.rng)).collect();
        for pair in &drawn {
            Categorical::from_logits(&pair.p)?.check_observation(self.observed)?;
        }
        let batch = PairBatch::from_pairs(&drawn, self.gadget.outcomes(), Kind::Float, self.gadget.device())?;
        let shape = [drawn.len() as i64, self.options.inner_samples as i64];
        let x_obs = Tensor::full(shape, self.observed as i64, (Kind::Int64, self.gadget.device()));
        let soft_q = self.gadget.counterfactual_batch(&batch, &x_obs, &mut self.rng, true);
        let loss = (soft_q * &self.cost_row).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float);
        let value = f64::try_from(&loss)?;
        if !value.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "loss", value });
        }
        self.optimiser.zero_grad();
        loss.backward();
        let gradient = gradient_sum(self.gadget)?;
        if !gradient.is_finite() {
            return Err(GadgetError::NonFinite { step, what: "gradient", value: gradient });
        }
        self.optimiser.step();
        Ok(value)
    }
}
