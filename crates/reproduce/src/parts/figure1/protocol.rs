//! Figure 1a's protocol: the ramp pairs, the noise scales, seeds and steps, and the two procedures by
//! which every run is trained.

use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{GadgetConfig, GadgetKind};
use gumbel_core::rng::splitmix64;
use serde::Serialize;

use super::AUTHORS_1A;
use crate::context::Mode;
use gadgets::TrainRun;

/// K.
pub const OUTCOMES: usize = 10;
/// The ramp's slope.
pub const BASE_SCALE: f64 = 0.1;
/// |Z| of Section 7.1.
pub const LATENT: usize = 100;

/// The sizes of Figure 1a's protocol.
#[derive(Debug, Clone, Serialize)]
pub struct Protocol {
    /// The training noise scales rho.
    pub noises: Vec<f64>,
    /// Training seeds 1..=seeds (the authors' train_seed).
    pub seeds: u64,
    /// Adam steps per run.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// The widths of the hidden layers (the paper's [1024, 1024]; smaller in quick mode).
    pub hidden: Vec<usize>,
}

impl Protocol {
    /// The paper's protocol, or the quick one (fewer noise scales, seeds and steps, a larger rate).
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Full => Self {
                noises: AUTHORS_1A.iter().map(|a| a.0).collect(),
                seeds: 5,
                steps: 10_000,
                learning_rate: 1e-5,
                hidden: vec![1024, 1024],
            },
            Mode::Quick => Self {
                noises: vec![0.0, 1.6, 102.4],
                seeds: 2,
                steps: 100,
                learning_rate: 1e-3,
                hidden: vec![128, 128],
            },
        }
    }

    /// The run of noise `rho` and training seed `seed` (1-based) by `procedure`, its seed derived from
    /// the master seed (the same for both procedures, so that they differ in nothing else).
    pub fn run(&self, master: u64, procedure: Procedure, rho: f64, seed: u64) -> TrainRun {
        TrainRun {
            gadget: GadgetConfig {
                latent: LATENT,
                hidden: self.hidden.clone(),
                ..GadgetConfig::paper(GadgetKind::Gadget2, OUTCOMES)
            },
            pairs: PairSpec::Ramp { outcomes: OUTCOMES, base_scale: BASE_SCALE, noise: rho },
            cost: CostSpec::Mismatch,
            training: TrainOptions {
                loss: LossKind::Joint,
                batch: 64,
                inner_samples: 16,
                learning_rate: self.learning_rate,
                steps: self.steps,
                seed: splitmix64(master ^ splitmix64(0x0f16_1a00 + seed)),
                unnormalised_logits: procedure == Procedure::Authors,
            },
            observed: None,
        }
    }

    /// Training steps of the whole protocol (both procedures).
    pub fn total_steps(&self) -> f64 {
        (Procedure::ALL.len() * self.noises.len()) as f64 * self.seeds as f64 * self.steps as f64
    }
}

/// How Gadget 2 sees the training pairs' logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedure {
    /// Normalised first: the marginals are exact in training as in evaluation.
    Exact,
    /// As drawn, unnormalised, as the authors' code trained it (`TrainOptions::unnormalised_logits`):
    /// their Figure 1a's procedure, checked against their numbers.
    Authors,
}

impl Procedure {
    /// Both, the exact one first.
    pub const ALL: [Procedure; 2] = [Procedure::Exact, Procedure::Authors];

    /// The checkpoint label of a run.
    pub fn label(self, rho: f64, seed: u64) -> String {
        match self {
            Procedure::Exact => format!("gadget-2-figure1a-rho{rho}-seed{seed}"),
            Procedure::Authors => format!("gadget-2-figure1a-unnormalised-rho{rho}-seed{seed}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::Resumable;

    #[test]
    fn full_runs_have_pinned_checkpoint_names_of_the_current_noise() {
        // A full Figure 1a run is hours of training: a change of its checkpoint name must be a
        // decision, not an accident. The name hashes the gadgets' noise version, so the checkpoints
        // of runs trained with version-1 noise (`...-b9020757111a9de9`) are not found.
        let full = Protocol::new(Mode::Full);
        let key = |procedure: Procedure| {
            full.run(0, procedure, 1.6, 1).key(&procedure.label(1.6, 1)).unwrap()
        };
        assert_eq!(key(Procedure::Exact), "gadget-2-figure1a-rho1.6-seed1-06b8715d64ee926f");
        assert!(key(Procedure::Authors).starts_with("gadget-2-figure1a-unnormalised-rho1.6-seed1-"));
        // Same seed, so the procedures differ only in the logits' normalisation.
        let (exact, authors) =
            (full.run(0, Procedure::Exact, 1.6, 1), full.run(0, Procedure::Authors, 1.6, 1));
        assert_eq!(exact.training.seed, authors.training.seed);
        assert!(!exact.training.unnormalised_logits && authors.training.unnormalised_logits);
    }
}
