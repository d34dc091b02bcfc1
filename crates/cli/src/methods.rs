//! The coupling methods the CLI offers, and how each computes a joint and a counterfactual.

use anyhow::{bail, Result};
use baselines::sampling::JointSampler;
use baselines::{independent_coupling, lp_optimal_coupling, InverseCdf, Maximal, OutcomeOrder};
use clap::ValueEnum;
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::{Categorical, CostMatrix, Coupling};

use crate::gadget::{self, GadgetArgs, DEFAULT_SAMPLES};
use crate::input;

/// A coupling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// The Gumbel-max SCM (exact closed form; Monte Carlo with --samples).
    GumbelMax,
    /// x and y drawn independently: the joint p q^T.
    Independent,
    /// (F_p^-1(u), F_q^-1(u)) with one uniform u, in index order or --order.
    InverseCdf,
    /// Inverse-CDF after the authors' fixed random permutation of the outcomes (--permutation-seed).
    PermutedInverseCdf,
    /// The maximal coupling: P(x = y) = sum min(p, q).
    Maximal,
    /// The coupling of least expected cost (needs --cost or --reward), by linear programming.
    LpOptimal,
    /// A trained Gadget 1 (--checkpoint; always estimated by Monte Carlo).
    #[value(name = "gadget-1")]
    Gadget1,
    /// A trained Gadget 2 (--checkpoint; exact, Monte Carlo with --samples).
    #[value(name = "gadget-2")]
    Gadget2,
}

impl Method {
    /// The name on the command line (`gumbel-max`, ...).
    pub fn name(self) -> String {
        self.to_possible_value().map_or_else(|| format!("{self:?}"), |v| v.get_name().to_owned())
    }

    /// Whether the method has an exact counterfactual distribution.
    pub fn exact_counterfactual(self) -> bool {
        self != Method::Gadget1
    }
}

/// The sampling a method runs with: Gadget 1 has no closed form, so it is always estimated
/// (`DEFAULT_SAMPLES` draws from `seed` unless --samples says otherwise).
pub fn effective_sampling(
    method: Method,
    sampling: Option<Sampling>,
    seed: u64,
) -> Option<Sampling> {
    match (method, sampling) {
        (Method::Gadget1, None) => Some(Sampling { samples: DEFAULT_SAMPLES, seed }),
        (_, given) => given,
    }
}

/// The outcome order of the inverse-CDF methods.
#[derive(clap::Args)]
pub struct OrderArgs {
    /// inverse-cdf: the outcome order on [0, 1), a JSON array permuting 0..K (default: index order).
    #[arg(long)]
    order: Option<String>,
    /// permuted-inverse-cdf: the seed of the permutation argsort(jax.random.uniform(PRNGKey(seed), [K]));
    /// the paper's is 1.
    #[arg(long, default_value_t = 1)]
    permutation_seed: u64,
}

impl OrderArgs {
    /// Refuses `--order` for a method that has no outcome order (it would be silently ignored).
    fn check(&self, method: Method) -> Result<()> {
        if self.order.is_some() && method != Method::InverseCdf {
            bail!("--order is for inverse-cdf only, not {}", method.name());
        }
        Ok(())
    }

    /// The order that `method` uses for `k` outcomes.
    fn order(&self, method: Method, k: usize) -> Result<OutcomeOrder> {
        Ok(match (method, &self.order) {
            (Method::PermutedInverseCdf, None) => {
                baselines::authors::permutation(k, self.permutation_seed)?
            }
            (_, Some(text)) => OutcomeOrder::new(input::json_arg("--order", text)?)?,
            (_, None) => OutcomeOrder::identity(k),
        })
    }

    /// The inverse-CDF mechanism of `method` for (p, q).
    fn inverse_cdf(&self, method: Method, p: &Categorical, q: &Categorical) -> Result<InverseCdf> {
        Ok(InverseCdf::new(p, q, &self.order(method, p.len())?)?)
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

/// The joint of `method` for (p, q): exact, or estimated from `sampling` when given. `cost` is what
/// lp-optimal minimises; `order` is read by the inverse-CDF methods; `gadget` by the gadget methods.
pub fn joint(
    method: Method,
    gadget: &GadgetArgs,
    p: &Categorical,
    q: &Categorical,
    cost: Option<&CostMatrix>,
    order: &OrderArgs,
    sampling: Option<Sampling>,
) -> Result<Joint> {
    order.check(method)?;
    match method {
        Method::Gadget1 => gadget::joint(gadgets::GadgetKind::Gadget1, gadget, p, q, sampling),
        Method::Gadget2 => gadget::joint(gadgets::GadgetKind::Gadget2, gadget, p, q, sampling),
        Method::GumbelMax => {
            let m = GumbelMax::new(p.clone(), q.clone())?;
            exact_or_estimated(
                sampling,
                || Ok(m.exact_coupling()?),
                |s| Ok(m.estimate_coupling(s.samples, s.seed)?),
            )
        }
        Method::InverseCdf | Method::PermutedInverseCdf => {
            let m = order.inverse_cdf(method, p, q)?;
            exact_or_estimated(
                sampling,
                || Ok(m.coupling()?),
                |s| Ok(m.estimate_coupling(s.samples, s.seed)?),
            )
        }
        Method::Maximal => {
            let m = Maximal::new(p, q)?;
            exact_or_estimated(
                sampling,
                || Ok(m.coupling()?),
                |s| Ok(m.estimate_coupling(s.samples, s.seed)?),
            )
        }
        Method::Independent | Method::LpOptimal => {
            let coupling = if method == Method::Independent {
                independent_coupling(p, q)?
            } else {
                let Some(cost) = cost else {
                    bail!("lp-optimal needs a cost: give --cost or --reward")
                };
                lp_optimal_coupling(p, q, cost)?
            };
            let sampler = JointSampler::new(&coupling);
            exact_or_estimated(
                sampling,
                || Ok(coupling),
                |s| Ok(sampler.estimate_coupling(s.samples, s.seed)?),
            )
        }
    }
}

/// The exact joint, or the one estimated from `sampling` when given.
fn exact_or_estimated(
    sampling: Option<Sampling>,
    exact: impl FnOnce() -> Result<Coupling>,
    estimate: impl FnOnce(Sampling) -> Result<Coupling>,
) -> Result<Joint> {
    Ok(match sampling {
        None => Joint { coupling: exact()?, exact: true },
        Some(s) => Joint { coupling: estimate(s)?, exact: false },
    })
}

/// P(y | x = observed) of `method` (exact except for Gadget 1, see [`Method::exact_counterfactual`]),
/// and a sampled histogram when `sampling` is given.
pub fn counterfactual(
    method: Method,
    gadget: &GadgetArgs,
    p: &Categorical,
    q: &Categorical,
    observed: usize,
    order: &OrderArgs,
    sampling: Option<Sampling>,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    order.check(method)?;
    match method {
        Method::Gadget1 => gadget::counterfactual(gadgets::GadgetKind::Gadget1, gadget, p, q, observed, sampling),
        Method::Gadget2 => gadget::counterfactual(gadgets::GadgetKind::Gadget2, gadget, p, q, observed, sampling),
        Method::GumbelMax => {
            let mechanism = GumbelMax::new(p.clone(), q.clone())?;
            let exact = mechanism.exact_counterfactual(observed)?;
            let sampled = sampling
                .map(|s| mechanism.counterfactual_histogram(observed, s.samples, s.seed))
                .transpose()?;
            Ok((exact, sampled))
        }
        Method::InverseCdf | Method::PermutedInverseCdf => {
            let mechanism = order.inverse_cdf(method, p, q)?;
            let exact = mechanism.counterfactual_distribution(observed)?;
            let sampled = sampling
                .map(|s| mechanism.counterfactual_histogram(observed, s.samples, s.seed))
                .transpose()?;
            Ok((exact, sampled))
        }
        Method::Independent | Method::Maximal | Method::LpOptimal => bail!(
            "counterfactual is defined for mechanisms (gumbel-max, inverse-cdf, permuted-inverse-cdf, gadget-1, gadget-2), not for the \
             coupling {}",
            method.name()
        ),
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
