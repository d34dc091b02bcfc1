//! Training one gadget for one trial of Figure 2: the joint loss with common random numbers, or the
//! counterfactual loss given the observed next state, on a fixed or perturbed (p, q).

use std::time::Instant;

use anyhow::Result;
use gadgets::train::{LossKind, TrainOptions, Trainer};
use gadgets::{DeviceChoice, Gadget, GadgetConfig, GadgetKind};
use gumbel_core::pairs::PairDistribution;
use gumbel_core::CostMatrix;
use serde::{Deserialize, Serialize};

/// The inner samples per pair in the generalized setting (the paper's N_in).
pub const GENERALIZED_INNER: usize = 16;

/// How one gadget is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Adam steps.
    pub steps: usize,
    /// Noise samples per step: with a fixed pair, one pair and this many inner samples; generalized,
    /// this / 16 perturbed pairs with 16 inner samples each.
    pub samples_per_step: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
}

/// What a training run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Steps taken.
    pub steps: usize,
    /// Mean loss over the first tenth of the steps.
    pub first_loss: f64,
    /// Mean loss over the last tenth.
    pub last_loss: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A trained gadget for one trial.
pub struct Trained {
    /// The gadget.
    pub gadget: Gadget,
    /// Its training run.
    pub summary: TrainSummary,
}

/// Builds `config` with weights from `seed` and trains it on `pairs` and `cost` (given
/// `observed` when set: the counterfactual loss; else the joint loss).
pub fn train_gadget(config: GadgetConfig, schedule: &Schedule, pairs: &dyn PairDistribution, generalized: bool, cost: &CostMatrix, observed: Option<usize>, seed: u64) -> Result<Trained> {
    let gadget = Gadget::new(config, DeviceChoice::Auto.resolve()?, seed)?;
    let (batch, inner_samples) = if generalized {
        ((schedule.samples_per_step / GENERALIZED_INNER).max(1), GENERALIZED_INNER)
    } else {
        (1, schedule.samples_per_step)
    };
    let loss = if observed.is_some() { LossKind::Counterfactual } else { LossKind::Joint };
    let options = TrainOptions { loss, batch, inner_samples, learning_rate: schedule.learning_rate, steps: schedule.steps, seed, progress: false };
    let start = Instant::now();
    let mut trainer = match observed {
        Some(obs) => Trainer::given_observation(&gadget, pairs, cost, obs, &options)?,
        None => Trainer::new(&gadget, pairs, cost, &options)?,
    };
    let losses = (0..schedule.steps).map(|_| trainer.step()).collect::<gadgets::Result<Vec<f64>>>()?;
    drop(trainer);
    let tenth = (losses.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let summary = TrainSummary {
        steps: schedule.steps,
        first_loss: mean(&losses[..tenth.min(losses.len())]),
        last_loss: mean(&losses[losses.len().saturating_sub(tenth)..]),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Trained { gadget, summary })
}

/// The architecture of `kind` for Figure 2: K outcomes, hidden widths `hidden`, |Z| = 20, and for
/// Gadget 1 separate p and q networks (the second repository's PyTorch Gadget 1), for Gadget 2 a learned
/// prior over z initialised uniform (gadgets-part2.md section 2, item 9).
pub fn architecture(kind: GadgetKind, outcomes: usize, hidden: &[usize]) -> GadgetConfig {
    GadgetConfig {
        hidden: hidden.to_vec(),
        separate_networks: kind == GadgetKind::Gadget1,
        learned_prior: kind == GadgetKind::Gadget2,
        ..GadgetConfig::paper(kind, outcomes)
    }
}
