//! The training run of one gadget for one trial of Figure 2: the joint loss with common random
//! numbers, or the counterfactual loss given the observed next state, on a fixed or perturbed (p, q).
//! Trained and checkpointed by `crate::training`, so an interrupted trial keeps its finished gadgets.

use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions, TrainingRecord};
use gadgets::{GadgetConfig, GadgetKind};
use gumbel_core::pairs::LogitPair;
use serde::{Deserialize, Serialize};

use gadgets::TrainRun;

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

impl TrainSummary {
    /// The summary of a finished run: the mean logged loss over its first and last tenth (the record
    /// logs the mean loss of each hundredth of the steps).
    pub fn of(record: &TrainingRecord) -> Self {
        let losses = &record.losses;
        let tenth = (losses.len() / 10).max(1);
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        Self {
            steps: record.options.steps,
            first_loss: mean(&losses[..tenth.min(losses.len())]),
            last_loss: mean(&losses[losses.len().saturating_sub(tenth)..]),
            seconds: record.seconds,
        }
    }
}

/// The training run of one gadget for one trial: on the fixed pair `pair` (perturbed by N(0, `noise`^2)
/// on every finite logit when generalized) with cost (r_i - r_j)^2, the joint loss with common random
/// numbers, or, given `observed`, the counterfactual loss given that next state. `seed` seeds both
/// the weights and the noise.
pub fn gadget_run(
    config: GadgetConfig,
    schedule: &Schedule,
    pair: &LogitPair,
    noise: f64,
    rewards: &[f64],
    observed: Option<usize>,
    seed: u64,
) -> TrainRun {
    let (batch, inner_samples) = if noise > 0.0 {
        ((schedule.samples_per_step / GENERALIZED_INNER).max(1), GENERALIZED_INNER)
    } else {
        (1, schedule.samples_per_step)
    };
    TrainRun {
        gadget: config,
        pairs: PairSpec::Fixed { p: pair.p.clone(), q: pair.q.clone(), noise },
        cost: CostSpec::SquaredReward { h: rewards.to_vec() },
        training: TrainOptions {
            loss: if observed.is_some() { LossKind::Counterfactual } else { LossKind::Joint },
            batch,
            inner_samples,
            learning_rate: schedule.learning_rate,
            steps: schedule.steps,
            seed,
            unnormalised_logits: false,
        },
        observed,
    }
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
