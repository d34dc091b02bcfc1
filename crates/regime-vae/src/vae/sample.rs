//! Ancestral (autoregressive) sampling from the trained decoder (seed 002, Section 3, Figure 4): nodes are
//! drawn in topological order, `x_i = mu_i(Pa(x_i), z) + eps_i`, `eps_i ~ N(0, 1)`, for any code `z`,
//! including combinations never seen in training (several mechanisms intervened at once, for the boolean
//! latent) and interventions the data never held (`do(x_j = v)` or an extra shift of node `j`'s mean).

use gumbel_core::rng::from_seed;
use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};
use crate::vae::config::LatentKind;
use crate::vae::model::RegimeVae;
use crate::vae::net::Decoder;

/// The code fed to the decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Code {
    /// The code of cluster `c` (0 observational, `j + 1` node `j` intervened).
    Cluster(usize),
    /// One state per mechanism (boolean latent only): `true` = intervened.
    Mechanisms(Vec<bool>),
}

/// A change applied to one node on top of the code.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Override {
    /// A hard intervention `do(x_j = v)`.
    Set(f64),
    /// Add this to the node's conditional mean.
    Shift(f64),
}

/// What to sample from: a code and per-node overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    /// The latent code.
    pub code: Code,
    /// Overrides by node.
    pub overrides: Vec<(usize, Override)>,
}

impl Intervention {
    /// The regime of cluster `c`, with no override.
    pub fn cluster(c: usize) -> Self {
        Self { code: Code::Cluster(c), overrides: Vec::new() }
    }

    /// Adds an override of `node`.
    pub fn with(mut self, node: usize, change: Override) -> Self {
        self.overrides.push((node, change));
        self
    }
}

impl RegimeVae {
    /// The decoder's code for `code`, repeated on `rows` rows.
    pub(crate) fn code_array(&self, code: &Code, rows: usize) -> Result<Array2<f64>> {
        let n = self.dag().n();
        let width = Decoder::code_width(self.config().latent, n);
        let mut row = vec![0.0; width];
        match (code, self.config().latent) {
            (Code::Cluster(c), latent) => {
                ensure(*c <= n, || format!("cluster {c} of {}", n + 1))?;
                match latent {
                    LatentKind::Categorical => row[*c] = 1.0,
                    LatentKind::PerMechanism if *c > 0 => row[*c - 1] = 1.0,
                    LatentKind::PerMechanism => {}
                }
            }
            (Code::Mechanisms(states), LatentKind::PerMechanism) => {
                ensure(states.len() == n, || {
                    format!("{} mechanism states for {n} nodes", states.len())
                })?;
                for (slot, &on) in row.iter_mut().zip(states) {
                    *slot = if on { 1.0 } else { 0.0 };
                }
            }
            (Code::Mechanisms(_), LatentKind::Categorical) => {
                return Err(crate::error::RegimeVaeError::InvalidConfig(
                    "per-mechanism codes need the boolean latent".into(),
                ))
            }
        }
        Ok(Array2::from_shape_fn((rows, width), |(_, j)| row[j]))
    }

    /// Checks that every override names a node and a finite value.
    pub(crate) fn check_overrides(&self, overrides: &[(usize, Override)]) -> Result<()> {
        let n = self.dag().n();
        for &(node, change) in overrides {
            let value = match change {
                Override::Set(v) | Override::Shift(v) => v,
            };
            ensure(node < n && value.is_finite(), || {
                format!("override of node {node} by {value}")
            })?;
        }
        Ok(())
    }

    /// Draws `count` samples under `spec` from `seed`.
    pub fn sample(&self, spec: &Intervention, count: usize, seed: u64) -> Result<Array2<f64>> {
        let n = self.dag().n();
        ensure(count >= 1, || "sample at least one row".into())?;
        self.check_overrides(&spec.overrides)?;
        let code = self.code_array(&spec.code, count)?;
        let mut rng = from_seed(seed);
        let mut x = Array2::zeros((count, n));
        for &i in self.dag().order() {
            let mu = self.code_means(&x, &code)?;
            let change = spec.overrides.iter().rev().find(|(node, _)| *node == i).map(|&(_, c)| c);
            for r in 0..count {
                let noise: f64 = StandardNormal.sample(&mut rng);
                x[[r, i]] = match change {
                    Some(Override::Set(v)) => v,
                    Some(Override::Shift(d)) => mu[[r, i]] + d + noise,
                    None => mu[[r, i]] + noise,
                };
            }
        }
        Ok(x)
    }
}
