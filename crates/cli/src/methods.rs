//! The coupling methods the CLI offers, and [`mechanism`], the one place that maps each to its
//! [`Mechanism`].

use anyhow::{bail, Result};
use baselines::{Independent, InverseCdfMethod, LpOptimal, MaximalMethod, Order, OutcomeOrder};
use clap::ValueEnum;
use gadgets::GadgetKind;
use gumbel_core::method::{Computation, GumbelMaxMethod, Mechanism};
use gumbel_core::CostMatrix;

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
    /// Index order for inverse-cdf, the paper's permutation seed 1 for permuted-inverse-cdf.
    pub fn paper() -> Self {
        Self { order: None, permutation_seed: 1 }
    }

    /// Refuses `--order` for a method that has no outcome order (it would be silently ignored).
    fn check(&self, method: Method) -> Result<()> {
        if self.order.is_some() && method != Method::InverseCdf {
            bail!("--order is for inverse-cdf only, not {}", method.name());
        }
        Ok(())
    }

    /// The order that `method` uses.
    fn order(&self, method: Method) -> Result<Order> {
        Ok(match (method, &self.order) {
            (Method::PermutedInverseCdf, None) => Order::Authors { seed: self.permutation_seed },
            (_, Some(text)) => Order::Given(OutcomeOrder::new(input::json_arg("--order", text)?)?),
            (_, None) => Order::Index,
        })
    }
}

/// What a method needs beyond (p, q), shared by `couple` and `counterfactual`: the method, its
/// outcome order, its gadget, and the Monte Carlo settings.
#[derive(clap::Args)]
pub struct MethodArgs {
    /// The coupling method.
    #[arg(long, value_enum, default_value = "gumbel-max")]
    pub method: Method,
    /// The outcome order of the inverse-CDF methods.
    #[command(flatten)]
    order: OrderArgs,
    /// Sample this many draws: an estimated joint (`couple`), or a histogram beside the exact
    /// distribution (`counterfactual`).
    #[arg(long)]
    samples: Option<u64>,
    /// Seed of the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The trained gadget of methods gadget-1 and gadget-2.
    #[command(flatten)]
    gadget: GadgetArgs,
}

impl MethodArgs {
    /// The mechanism of `--method`, with `cost` for lp-optimal.
    pub fn mechanism(&self, cost: Option<&CostMatrix>) -> Result<Box<dyn Mechanism>> {
        mechanism(self.method, &self.order, &self.gadget, cost)
    }

    /// `--samples` and `--seed` as a computation: `None` without --samples, except for a method
    /// without a closed form (Gadget 1), which samples [`DEFAULT_SAMPLES`] draws from --seed.
    pub fn sampling(&self, mechanism: &dyn Mechanism) -> Result<Option<Computation>> {
        Ok(match self.samples {
            Some(0) => bail!("--samples must be positive"),
            Some(samples) => Some(Computation::Sampled { samples, seed: self.seed }),
            None if !mechanism.has_closed_form() => {
                Some(Computation::Sampled { samples: DEFAULT_SAMPLES, seed: self.seed })
            }
            None => None,
        })
    }
}

/// The one place that maps a method to its mechanism: the baselines with their order or `cost`, the
/// gadgets from their checkpoint.
pub fn mechanism(
    method: Method,
    order: &OrderArgs,
    gadget: &GadgetArgs,
    cost: Option<&CostMatrix>,
) -> Result<Box<dyn Mechanism>> {
    order.check(method)?;
    Ok(match method {
        Method::GumbelMax => Box::new(GumbelMaxMethod),
        Method::Independent => Box::new(Independent),
        Method::InverseCdf | Method::PermutedInverseCdf => {
            Box::new(InverseCdfMethod { order: order.order(method)? })
        }
        Method::Maximal => Box::new(MaximalMethod),
        Method::LpOptimal => {
            let Some(cost) = cost else {
                bail!("lp-optimal needs a cost: give --cost or --reward")
            };
            Box::new(LpOptimal { cost: cost.clone() })
        }
        Method::Gadget1 => Box::new(gadget::gadget(GadgetKind::Gadget1, gadget)?),
        Method::Gadget2 => Box::new(gadget::gadget(GadgetKind::Gadget2, gadget)?),
    })
}
