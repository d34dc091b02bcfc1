//! Mechanism families of the synthetic SCM: linear (the seed's Section 4.1, Eq. 3) and small random MLPs
//! (so that the VAE is also tested where no linear model is exact). Each gives the noise-free part
//! `f_i(Pa(x_i))`; the noise and the intervention shift are added by the SCM.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Which family the mechanisms are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MechanismFamily {
    /// `f_i(pa) = sum_j w_ji pa_j`, weights from U(-1, -0.1) U U(0.1, 1).
    Linear,
    /// `f_i(pa) = sum_h v_h tanh(u_h . pa + c_h)`, a one-hidden-layer tanh network of `hidden` units.
    Mlp {
        /// Hidden units per mechanism.
        hidden: usize,
    },
}

impl MechanismFamily {
    /// A short name: `linear` or `mlp<hidden>`.
    pub fn label(&self) -> String {
        match self {
            Self::Linear => "linear".into(),
            Self::Mlp { hidden } => format!("mlp{hidden}"),
        }
    }
}

/// The noise-free part of one node's mechanism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mechanism {
    /// Linear in the parents (one weight per parent, in the DAG's sorted parent order).
    Linear {
        /// Weights of the parents.
        weights: Vec<f64>,
    },
    /// A one-hidden-layer tanh network.
    Mlp {
        /// Input weights, one row of `|Pa|` entries per hidden unit.
        input: Vec<Vec<f64>>,
        /// Hidden biases.
        bias: Vec<f64>,
        /// Output weights.
        output: Vec<f64>,
    },
}

/// A weight from U(-1, -0.1) U U(0.1, 1), each half with probability 1/2 (the seed's Section 4.1).
pub fn bounded_weight<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let magnitude = rng.random_range(0.1..1.0);
    if rng.random::<bool>() {
        magnitude
    } else {
        -magnitude
    }
}

impl Mechanism {
    /// Draws a mechanism of `family` for a node with `n_parents` parents. A root's mechanism is the constant 0.
    pub fn random<R: Rng + ?Sized>(family: MechanismFamily, n_parents: usize, rng: &mut R) -> Self {
        match family {
            MechanismFamily::Linear => {
                Self::Linear { weights: (0..n_parents).map(|_| bounded_weight(rng)).collect() }
            }
            MechanismFamily::Mlp { hidden } => {
                let hidden = if n_parents == 0 { 0 } else { hidden };
                let gain = 2.0 / (n_parents.max(1) as f64).sqrt();
                let input = (0..hidden)
                    .map(|_| {
                        (0..n_parents)
                            .map(|_| {
                                let z: f64 = StandardNormal.sample(rng);
                                gain * z
                            })
                            .collect()
                    })
                    .collect();
                let bias = (0..hidden).map(|_| StandardNormal.sample(rng)).collect();
                let output = (0..hidden).map(|_| 2.0 * bounded_weight(rng)).collect();
                Self::Mlp { input, bias, output }
            }
        }
    }

    /// `f_i(pa)` at the parent values `pa` (sorted parent order).
    pub fn mean(&self, pa: &[f64]) -> f64 {
        match self {
            Self::Linear { weights } => weights.iter().zip(pa).map(|(w, p)| w * p).sum(),
            Self::Mlp { input, bias, output } => input
                .iter()
                .zip(bias)
                .zip(output)
                .map(|((u, c), v)| {
                    v * (u.iter().zip(pa).map(|(a, b)| a * b).sum::<f64>() + c).tanh()
                })
                .sum(),
        }
    }
}
