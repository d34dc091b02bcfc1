//! The one place where a method name becomes a mechanism: the coupling methods of `couple` and
//! `counterfactual`, each computing a joint and (for mechanisms) a counterfactual distribution with
//! the workspace crates' APIs, as the CLI's `--method` does.
//!
//! Everything else in the module converts arrays and results; swapping this file for a shared
//! mechanism interface changes no other file.

use baselines::sampling::JointSampler;
use baselines::{independent_coupling, lp_optimal_coupling, InverseCdf, Maximal, OutcomeOrder};
use gadgets::{Gadget, GadgetKind};
use gumbel_core::mechanism::GumbelMax;
use gumbel_core::{Categorical, CostMatrix, Coupling};

use crate::errors::{Error, Result};

/// Samples of a Gadget 1 coupling or counterfactual estimate when `samples` is not given (the CLI's).
pub const DEFAULT_SAMPLES: u64 = 100_000;

/// The names of the methods, in the CLI's order.
pub const NAMES: [&str; 8] = [
    "gumbel-max",
    "independent",
    "inverse-cdf",
    "permuted-inverse-cdf",
    "maximal",
    "lp-optimal",
    "gadget-1",
    "gadget-2",
];

/// A coupling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The Gumbel-max SCM (exact closed form; Monte Carlo with samples).
    GumbelMax,
    /// x and y drawn independently: the joint p q^T.
    Independent,
    /// (F_p^-1(u), F_q^-1(u)) with one uniform u, in index order or `order`.
    InverseCdf,
    /// Inverse-CDF after the authors' fixed random permutation of the outcomes.
    PermutedInverseCdf,
    /// The maximal coupling: P(x = y) = sum min(p, q).
    Maximal,
    /// The coupling of least expected cost (needs a cost or reward), by linear programming.
    LpOptimal,
    /// A trained Gadget 1 (always estimated by Monte Carlo).
    Gadget1,
    /// A trained Gadget 2 (exact; Monte Carlo with samples).
    Gadget2,
}

impl Method {
    /// The method called `name` (`gumbel-max`, ...).
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "gumbel-max" => Method::GumbelMax,
            "independent" => Method::Independent,
            "inverse-cdf" => Method::InverseCdf,
            "permuted-inverse-cdf" => Method::PermutedInverseCdf,
            "maximal" => Method::Maximal,
            "lp-optimal" => Method::LpOptimal,
            "gadget-1" => Method::Gadget1,
            "gadget-2" => Method::Gadget2,
            _ => {
                return Err(Error::value(format!(
                    "invalid value '{name}' for method; possible values: {}",
                    NAMES.join(", ")
                )))
            }
        })
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// Whether the method has an exact counterfactual distribution.
    pub fn exact_counterfactual(self) -> bool {
        self != Method::Gadget1
    }

    /// The gadget kind of a gadget method.
    fn gadget_kind(self) -> Option<GadgetKind> {
        match self {
            Method::Gadget1 => Some(GadgetKind::Gadget1),
            Method::Gadget2 => Some(GadgetKind::Gadget2),
            _ => None,
        }
    }

    /// The sampling the method runs with: Gadget 1 has no closed form, so it is always estimated
    /// (`DEFAULT_SAMPLES` draws from `seed` unless `samples` says otherwise); zero samples is an
    /// error.
    pub fn sampling(self, samples: Option<u64>, seed: u64) -> Result<Option<Sampling>> {
        Ok(match (self, samples) {
            (_, Some(0)) => return Err(Error::value("samples must be positive")),
            (_, Some(samples)) => Some(Sampling { samples, seed }),
            (Method::Gadget1, None) => Some(Sampling { samples: DEFAULT_SAMPLES, seed }),
            (_, None) => None,
        })
    }
}

/// Monte Carlo settings: `samples` draws from `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Number of draws.
    pub samples: u64,
    /// The seed of every draw.
    pub seed: u64,
}

/// What some methods read besides (p, q): the inverse-CDF outcome order and the trained gadget.
#[derive(Default)]
pub struct Options<'a> {
    /// inverse-cdf: the outcome order on [0, 1) (a permutation of 0..K); index order when absent.
    pub order: Option<Vec<usize>>,
    /// permuted-inverse-cdf: the seed of the authors' permutation (the paper's is 1).
    pub permutation_seed: u64,
    /// gadget-1, gadget-2: the trained gadget.
    pub gadget: Option<&'a Gadget>,
}

impl Options<'_> {
    /// Refuses options a method does not read (they would be silently ignored).
    fn check(&self, method: Method) -> Result<()> {
        if self.order.is_some() && method != Method::InverseCdf {
            return Err(Error::value(format!(
                "order is for inverse-cdf only, not {}",
                method.name()
            )));
        }
        if self.gadget.is_some() && method.gadget_kind().is_none() {
            return Err(Error::value(format!(
                "gadget is for gadget-1 and gadget-2 only, not {}",
                method.name()
            )));
        }
        Ok(())
    }

    /// The inverse-CDF mechanism of `method` for (p, q).
    fn inverse_cdf(&self, method: Method, p: &Categorical, q: &Categorical) -> Result<InverseCdf> {
        let order = match (method, &self.order) {
            (Method::PermutedInverseCdf, None) => {
                baselines::authors::permutation(p.len(), self.permutation_seed)?
            }
            (_, Some(ranks)) => OutcomeOrder::new(ranks.clone())?,
            (_, None) => OutcomeOrder::identity(p.len()),
        };
        Ok(InverseCdf::new(p, q, &order)?)
    }

    /// The gadget of a gadget method, checked to be of its kind.
    fn gadget(&self, kind: GadgetKind) -> Result<&Gadget> {
        let gadget = self
            .gadget
            .ok_or_else(|| Error::value(format!("method {} needs a gadget", kind.name())))?;
        let found = gadget.config().kind;
        if found != kind {
            return Err(Error::value(format!(
                "the gadget is a {}, not a {}",
                found.name(),
                kind.name()
            )));
        }
        Ok(gadget)
    }
}

/// A joint and whether it is exact (false: estimated from samples).
pub struct Joint {
    /// The coupling.
    pub coupling: Coupling,
    /// Exact (closed form) or estimated.
    pub exact: bool,
}

/// The joint of `method` for (p, q): exact, or estimated from `sampling` when given. `cost` is what
/// lp-optimal minimises.
pub fn joint(
    method: Method,
    options: &Options,
    p: &Categorical,
    q: &Categorical,
    cost: Option<&CostMatrix>,
    sampling: Option<Sampling>,
) -> Result<Joint> {
    options.check(method)?;
    if let Some(kind) = method.gadget_kind() {
        let gadget = options.gadget(kind)?;
        return Ok(match sampling {
            None => {
                let estimate = gadget.coupling(p, q, DEFAULT_SAMPLES, 0)?;
                Joint { coupling: estimate.coupling, exact: estimate.exact }
            }
            Some(s) => {
                let pairs = gadget.sample_pairs(p, q, s.samples as usize, s.seed)?;
                Joint { coupling: Coupling::from_samples(p.len(), pairs)?, exact: false }
            }
        });
    }
    let coupling = match (method, sampling) {
        (Method::GumbelMax, None) => GumbelMax::new(p.clone(), q.clone())?.exact_coupling()?,
        (Method::GumbelMax, Some(s)) => {
            GumbelMax::new(p.clone(), q.clone())?.estimate_coupling(s.samples, s.seed)?
        }
        (Method::InverseCdf | Method::PermutedInverseCdf, None) => {
            options.inverse_cdf(method, p, q)?.coupling()?
        }
        (Method::InverseCdf | Method::PermutedInverseCdf, Some(s)) => {
            options.inverse_cdf(method, p, q)?.estimate_coupling(s.samples, s.seed)?
        }
        (Method::Maximal, None) => Maximal::new(p, q)?.coupling()?,
        (Method::Maximal, Some(s)) => Maximal::new(p, q)?.estimate_coupling(s.samples, s.seed)?,
        (_, sampling) => {
            let exact = if method == Method::Independent {
                independent_coupling(p, q)?
            } else {
                let cost = cost
                    .ok_or_else(|| Error::value("lp-optimal needs a cost: give cost or reward"))?;
                lp_optimal_coupling(p, q, cost)?
            };
            match sampling {
                None => exact,
                Some(s) => JointSampler::new(&exact).estimate_coupling(s.samples, s.seed)?,
            }
        }
    };
    Ok(Joint { coupling, exact: sampling.is_none() })
}

/// P(y | x = observed) of `method` (exact except for Gadget 1, see
/// [`Method::exact_counterfactual`]), and a sampled histogram when `sampling` is given.
pub fn counterfactual(
    method: Method,
    options: &Options,
    p: &Categorical,
    q: &Categorical,
    observed: usize,
    sampling: Option<Sampling>,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    options.check(method)?;
    if let Some(kind) = method.gadget_kind() {
        let gadget = options.gadget(kind)?;
        let s = sampling.unwrap_or(Sampling { samples: DEFAULT_SAMPLES, seed: 0 });
        let estimate = gadget.counterfactual(p, q, observed, s.samples, s.seed)?;
        if !estimate.exact {
            return Ok((estimate.distribution, None));
        }
        let sampled = match sampling {
            None => None,
            Some(s) => {
                let draws =
                    gadget.sample_counterfactuals(p, q, observed, s.samples as usize, s.seed)?;
                let mut histogram = vec![0.0; p.len()];
                draws.iter().for_each(|&y| histogram[y] += 1.0 / draws.len() as f64);
                Some(histogram)
            }
        };
        return Ok((estimate.distribution, sampled));
    }
    match method {
        Method::GumbelMax => {
            let mechanism = GumbelMax::new(p.clone(), q.clone())?;
            let exact = mechanism.exact_counterfactual(observed)?;
            let sampled = sampling
                .map(|s| mechanism.counterfactual_histogram(observed, s.samples, s.seed))
                .transpose()?;
            Ok((exact, sampled))
        }
        Method::InverseCdf | Method::PermutedInverseCdf => {
            let mechanism = options.inverse_cdf(method, p, q)?;
            let exact = mechanism.counterfactual_distribution(observed)?;
            let sampled = sampling
                .map(|s| mechanism.counterfactual_histogram(observed, s.samples, s.seed))
                .transpose()?;
            Ok((exact, sampled))
        }
        _ => Err(Error::value(format!(
            "counterfactual is defined for mechanisms (gumbel-max, inverse-cdf, \
             permuted-inverse-cdf, gadget-1, gadget-2), not for the coupling {}",
            method.name()
        ))),
    }
}
