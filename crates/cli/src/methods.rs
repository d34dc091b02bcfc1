//! The coupling methods the CLI offers, and how each computes a joint and a counterfactual.

use anyhow::Result;
use clap::ValueEnum;
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::{Categorical, Coupling};

/// A coupling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// The Gumbel-max SCM (exact closed form; Monte Carlo with --samples).
    GumbelMax,
}

impl Method {
    /// The name on the command line (`gumbel-max`, ...).
    pub fn name(self) -> String {
        self.to_possible_value().map_or_else(|| format!("{self:?}"), |v| v.get_name().to_owned())
    }
}

/// Monte Carlo settings: `samples` draws from `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Number of draws.
    pub samples: u64,
    /// The seed of every draw.
    pub seed: u64,
}

/// A joint and whether it is exact (false: estimated from samples).
pub struct Joint {
    /// The coupling.
    pub coupling: Coupling,
    /// Exact (closed form) or estimated.
    pub exact: bool,
}

/// The joint of `method` for (p, q): exact, or estimated from `sampling` when given.
pub fn joint(method: Method, p: &Categorical, q: &Categorical, sampling: Option<Sampling>) -> Result<Joint> {
    match method {
        Method::GumbelMax => {
            let mechanism = GumbelMax::new(p.clone(), q.clone())?;
            Ok(match sampling {
                None => Joint { coupling: mechanism.exact_coupling()?, exact: true },
                Some(s) => Joint { coupling: mechanism.estimate_coupling(s.samples, s.seed)?, exact: false },
            })
        }
    }
}

/// The exact P(y | x = observed) of `method`, and a sampled histogram when `sampling` is given.
pub fn counterfactual(
    method: Method,
    p: &Categorical,
    q: &Categorical,
    observed: usize,
    sampling: Option<Sampling>,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    match method {
        Method::GumbelMax => {
            let mechanism = GumbelMax::new(p.clone(), q.clone())?;
            let exact = mechanism.exact_counterfactual(observed)?;
            let sampled = sampling
                .map(|s| mechanism.counterfactual_histogram(observed, s.samples, s.seed))
                .transpose()?;
            Ok((exact, sampled))
        }
    }
}

/// `--samples` and `--seed` as a [`Sampling`]; zero samples is an error.
pub fn sampling(samples: Option<u64>, seed: u64) -> Result<Option<Sampling>> {
    match samples {
        Some(0) => anyhow::bail!("--samples must be positive"),
        Some(samples) => Ok(Some(Sampling { samples, seed })),
        None => Ok(None),
    }
}
