//! What a gadget is trained on, as written in a training configuration file: the distribution of
//! logit pairs (the paper's Sections 7.1-7.3) and the cost matrix.

use std::path::PathBuf;

use gumbel_core::pairs::{
    held_out, FixedPair, LogitPair, PairDistribution, PairMode, Ramp, SoftmaxUniform,
};
use gumbel_core::rng::from_seed;
use gumbel_core::CostMatrix;
use serde::{Deserialize, Serialize};

use crate::error::{GadgetError, Result};

/// A distribution of logit pairs, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PairSpec {
    /// Section 7.1: p = base (k - (K-1)/2) + rho N(0, 1), q = -base (k - (K-1)/2) + rho N(0, 1).
    Ramp {
        /// K (10 in the paper).
        outcomes: usize,
        /// The slope (0.1 in the paper).
        #[serde(default = "default_base_scale")]
        base_scale: f64,
        /// rho, the noise scale (0, 0.1, 0.4, ... 102.4 in Figure 1a).
        noise: f64,
    },
    /// Section 7.2: l = log_softmax(scale U[0, 1]^K) for p, and q independent or p reversed.
    SoftmaxUniform {
        /// K (10 in the paper).
        outcomes: usize,
        /// The multiplier of the uniforms (8 in the paper).
        #[serde(default = "default_scale")]
        scale: f64,
        /// `independent` or `mirrored`.
        mode: Mode,
    },
    /// Section 7.2's "fixed" mode: one pair drawn from the independent softmax-uniform distribution
    /// with `pair_seed`, then always that pair.
    SoftmaxUniformFixed {
        /// K (10 in the paper).
        outcomes: usize,
        /// The multiplier of the uniforms (8 in the paper).
        #[serde(default = "default_scale")]
        scale: f64,
        /// The seed the pair is drawn from.
        pair_seed: u64,
    },
    /// A fixed pair of logits (not necessarily normalised; -inf allowed), plus N(0, noise^2) on every
    /// finite logit (0: always the same pair; the sepsis study's "generalized" setting uses 1).
    Fixed {
        /// Logits of p (`"-inf"` or `null` for an impossible outcome, since JSON has no infinities).
        #[serde(with = "logits")]
        p: Vec<f64>,
        /// Logits of q.
        #[serde(with = "logits")]
        q: Vec<f64>,
        /// The scale of the Gaussian perturbation.
        #[serde(default)]
        noise: f64,
    },
    /// The training rows of a pair file (JSON lines or `.npy`, the format `gumbel-gadgets evaluate`
    /// reads), each drawn with equal probability; the rows that `split` holds out are never drawn.
    File {
        /// The pair file.
        path: PathBuf,
        /// Which rows are held out.
        split: Split,
        /// An `.npy` file holds probabilities rather than logits.
        #[serde(default)]
        probabilities: bool,
    },
}

/// A seeded split of a pair file's rows: row i is held out when
/// [`gumbel_core::pairs::held_out`]`(seed, i, held_out)`, as in `gumbel-gadgets evaluate --rows
/// held-out --held-out F --split-seed S`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The held-out fraction, in (0, 1).
    pub held_out: f64,
    /// The seed of the split.
    pub seed: u64,
}

impl Split {
    /// Checks that the fraction lies in (0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.held_out > 0.0 && self.held_out < 1.0 {
            Ok(())
        } else {
            Err(GadgetError::InvalidConfig(format!(
                "pairs: split.held_out must lie in (0, 1), got {}",
                self.held_out
            )))
        }
    }

    /// Whether row `index` (0-based) is held out.
    pub fn holds_out(&self, index: usize) -> bool {
        held_out(self.seed, index, self.held_out)
    }
}

/// How q relates to p in [`PairSpec::SoftmaxUniform`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// p and q drawn independently.
    Independent,
    /// q is p reversed.
    Mirrored,
}

fn default_base_scale() -> f64 {
    0.1
}
fn default_scale() -> f64 {
    8.0
}

impl PairSpec {
    /// K, when the configuration states it (a pair file's K is known once it is read).
    pub fn outcomes(&self) -> Option<usize> {
        match self {
            PairSpec::Ramp { outcomes, .. }
            | PairSpec::SoftmaxUniform { outcomes, .. }
            | PairSpec::SoftmaxUniformFixed { outcomes, .. } => Some(*outcomes),
            PairSpec::Fixed { p, .. } => Some(p.len()),
            PairSpec::File { .. } => None,
        }
    }

    /// The distribution, after checking sizes and scales. A pair file is not read here: its reader
    /// lives in the `gumbel-gadgets` command line, whose `train` reads it, keeps the training rows
    /// and hands them to [`crate::TrainJob::run_with`].
    pub fn build(&self) -> Result<Box<dyn PairDistribution>> {
        let bad = |msg: String| Err(GadgetError::InvalidConfig(msg));
        if let Some(k) = self.outcomes().filter(|&k| k < 2) {
            return bad(format!("pairs: at least 2 outcomes are needed, got {k}"));
        }
        Ok(match self {
            PairSpec::Ramp { outcomes, base_scale, noise } => {
                if !(noise.is_finite() && *noise >= 0.0 && base_scale.is_finite()) {
                    return bad(format!("ramp: noise {noise} and base_scale {base_scale} must be finite, noise >= 0"));
                }
                Box::new(Ramp { outcomes: *outcomes, base_scale: *base_scale, noise: *noise })
            }
            PairSpec::SoftmaxUniform { outcomes, scale, mode } => {
                let mode = match mode {
                    Mode::Independent => PairMode::Independent,
                    Mode::Mirrored => PairMode::Mirrored,
                };
                Box::new(SoftmaxUniform { outcomes: *outcomes, scale: finite_scale(*scale)?, mode })
            }
            PairSpec::SoftmaxUniformFixed { outcomes, scale, pair_seed } => {
                let source = SoftmaxUniform {
                    outcomes: *outcomes,
                    scale: finite_scale(*scale)?,
                    mode: PairMode::Independent,
                };
                Box::new(FixedPair { pair: source.sample(&mut from_seed(*pair_seed)), noise: 0.0 })
            }
            PairSpec::Fixed { p, q, noise } => {
                if p.len() != q.len() {
                    return bad(format!("fixed pair: p has {} logits, q {}", p.len(), q.len()));
                }
                gumbel_core::Categorical::from_logits(p)?;
                gumbel_core::Categorical::from_logits(q)?;
                if !(noise.is_finite() && *noise >= 0.0) {
                    return bad(format!("fixed pair: noise must be finite and >= 0, got {noise}"));
                }
                Box::new(FixedPair {
                    pair: LogitPair { p: p.clone(), q: q.clone() },
                    noise: *noise,
                })
            }
            PairSpec::File { .. } => {
                return bad("pairs of type file are read by `gumbel-gadgets train`".into())
            }
        })
    }
}

fn finite_scale(scale: f64) -> Result<f64> {
    if scale.is_finite() {
        Ok(scale)
    } else {
        Err(GadgetError::InvalidConfig(format!(
            "softmax-uniform: scale must be finite, got {scale}"
        )))
    }
}

/// A cost matrix C(x, y), tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CostSpec {
    /// 1 - I: the expected cost is P(x != y) (Section 7.1).
    Mismatch,
    /// (i - j)^2 on outcome indices (Section 7.2, Table 1 columns 1-2).
    SquaredIndex,
    /// (h_i - h_j)^2 for a reward vector h (Table 1 columns 3-4, the sepsis study).
    SquaredReward {
        /// The reward of each outcome.
        h: Vec<f64>,
    },
    /// An explicit K x K matrix, rows x, columns y.
    Matrix {
        /// The rows.
        rows: Vec<Vec<f64>>,
    },
    /// (h_i - h_j)^2 with each pair's own reward h: the reward column of a pair file
    /// ([`PairSpec::File`]), the cost `gumbel-gadgets evaluate` uses for such a file.
    PairReward,
}

/// What a training run's loss weighs: one K x K cost for every pair, or each drawn pair's own
/// reward h as the cost (h_i - h_j)^2 ([`CostSpec::PairReward`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TrainCost {
    /// One matrix.
    Matrix(CostMatrix),
    /// Each pair's reward ([`gumbel_core::pairs::PairDistribution::sample_with_reward`]).
    PairReward,
}

impl From<&CostMatrix> for TrainCost {
    fn from(cost: &CostMatrix) -> Self {
        TrainCost::Matrix(cost.clone())
    }
}

impl CostSpec {
    /// The cost a training run weighs: [`TrainCost::PairReward`] for `pair-reward`, else the
    /// matrix of [`CostSpec::build`].
    pub fn training(&self, outcomes: usize) -> Result<TrainCost> {
        match self {
            CostSpec::PairReward => Ok(TrainCost::PairReward),
            matrix => Ok(TrainCost::Matrix(matrix.build(outcomes)?)),
        }
    }

    /// The K x K matrix, checked against K; an error for `pair-reward`, which has one per pair.
    pub fn build(&self, outcomes: usize) -> Result<CostMatrix> {
        let cost = match self {
            CostSpec::Mismatch => CostMatrix::mismatch(outcomes),
            CostSpec::SquaredIndex => CostMatrix::squared_index(outcomes),
            CostSpec::SquaredReward { h } => CostMatrix::squared_reward(h)?,
            CostSpec::Matrix { rows } => CostMatrix::from_rows(rows)?,
            CostSpec::PairReward => {
                return Err(GadgetError::InvalidConfig(
                    "cost pair-reward has no single matrix: each pair's reward gives its own"
                        .into(),
                ))
            }
        };
        if cost.len() != outcomes {
            return Err(GadgetError::OutcomeMismatch {
                what: "cost matrix",
                expected: outcomes,
                found: cost.len(),
            });
        }
        Ok(cost)
    }
}

/// Logit vectors in JSON: numbers, with `"-inf"` (or `null`) for an impossible outcome.
mod logits {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let encoded: Vec<Value> = values
            .iter()
            .map(|&v| if v == f64::NEG_INFINITY { Value::from("-inf") } else { Value::from(v) })
            .collect();
        encoded.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Value>::deserialize(deserializer)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Number(n) => {
                    n.as_f64().ok_or_else(|| D::Error::custom(format!("logit {i} is not a number")))
                }
                Value::Null => Ok(f64::NEG_INFINITY),
                Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
                other => {
                    Err(D::Error::custom(format!("logit {i} is {other}; use a number or \"-inf\"")))
                }
            })
            .collect()
    }
}
