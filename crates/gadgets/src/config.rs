//! The architecture of a gadget: which gadget, its sizes, Sinkhorn iterations, temperature, prior.

use serde::{Deserialize, Serialize};

use crate::error::{GadgetError, Result};

/// Which of the paper's two gadgets (Section 5.1, Section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GadgetKind {
    /// Gadget 1: Gumbel-max over a learned K x K joint pi(x, z | p), transposed noise for q.
    #[serde(rename = "gadget-1")]
    Gadget1,
    /// Gadget 2: a latent z ~ pi(z) shared by p and q, then Gumbel-max on pi(x | z, p).
    #[serde(rename = "gadget-2")]
    Gadget2,
}

impl GadgetKind {
    /// `gadget-1` or `gadget-2`, the names used by the CLI and the checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            GadgetKind::Gadget1 => "gadget-1",
            GadgetKind::Gadget2 => "gadget-2",
        }
    }
}

/// The architecture of a gadget. Defaults are the paper's (Appendix I; official-gadgets.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GadgetConfig {
    /// Gadget 1 or Gadget 2.
    pub kind: GadgetKind,
    /// K, the number of outcomes of p and q.
    pub outcomes: usize,
    /// Widths of the hidden layers of the MLP (each dense, then sigmoid); `[1024, 1024]` in the paper.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// |Z| of Gadget 2 (20 in Section 7.2 and the sepsis study, 100 in Section 7.1). Gadget 1's latent
    /// has K values and ignores this.
    #[serde(default = "default_latent")]
    pub latent: usize,
    /// T, the number of Sinkhorn iterations of Gadget 2 (10 in the authors' code).
    #[serde(default = "default_sinkhorn")]
    pub sinkhorn_iterations: usize,
    /// tau, the Gumbel-softmax temperature of the relaxed samples used in training (1 in the paper).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Gadget 2: learn the prior pi(z) (initialised uniform) instead of fixing it uniform.
    #[serde(default)]
    pub learned_prior: bool,
    /// Gadget 1: separate networks for the p side and the q side (the paper's Appendix I and the
    /// PyTorch code of the second repository) instead of one shared network (the authors' JAX code).
    #[serde(default)]
    pub separate_networks: bool,
}

fn default_hidden() -> Vec<usize> {
    vec![1024, 1024]
}
fn default_latent() -> usize {
    20
}
fn default_sinkhorn() -> usize {
    10
}
fn default_temperature() -> f64 {
    1.0
}

impl GadgetConfig {
    /// The paper's architecture for `kind` with K outcomes (|Z| = 20, T = 10, tau = 1, fixed prior).
    pub fn paper(kind: GadgetKind, outcomes: usize) -> Self {
        Self {
            kind,
            outcomes,
            hidden: default_hidden(),
            latent: default_latent(),
            sinkhorn_iterations: default_sinkhorn(),
            temperature: default_temperature(),
            learned_prior: false,
            separate_networks: false,
        }
    }

    /// Checks every size and the temperature.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(GadgetError::InvalidConfig(msg));
        if self.outcomes < 2 {
            return bad(format!("outcomes must be at least 2, got {}", self.outcomes));
        }
        if self.hidden.contains(&0) {
            return bad("hidden layer widths must be positive".into());
        }
        if self.kind == GadgetKind::Gadget2 && self.latent == 0 {
            return bad("latent (|Z|) must be at least 1".into());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(format!(
                "temperature must be positive and finite, got {}",
                self.temperature
            ));
        }
        Ok(())
    }

    /// Rows of the latent-by-outcome matrix the network outputs: |Z| for Gadget 2, K for Gadget 1.
    pub fn latent_rows(&self) -> usize {
        match self.kind {
            GadgetKind::Gadget1 => self.outcomes,
            GadgetKind::Gadget2 => self.latent,
        }
    }
}
