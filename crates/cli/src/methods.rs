//! `--method` and its options, shared by `couple` and `counterfactual`: the gadget loaded from
//! `--checkpoint`, then the `methods` crate's map from a method to its [`Mechanism`].

use anyhow::Result;
use gadgets::Gadget;
use gumbel_core::method::{Computation, Mechanism};
use gumbel_core::CostMatrix;
pub use methods::Method;
use methods::{Chosen, Options, Spelling};

use crate::gadget::{self, GadgetArgs};
use crate::input;

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
    /// `--order` read as a permutation, and the permutation seed, as options with `gadget`.
    fn options<'a>(
        &self,
        order: &'a Option<Vec<usize>>,
        gadget: Option<&'a Gadget>,
    ) -> Options<'a> {
        Options {
            order: order.as_deref(),
            permutation_seed: self.permutation_seed,
            gadget,
            spelling: Spelling::Flags,
        }
    }

    /// `--order` as a permutation.
    fn order(&self) -> Result<Option<Vec<usize>>> {
        self.order.as_deref().map(|text| input::json_arg("--order", text)).transpose()
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

/// What a method reads, loaded from the arguments: the outcome order and the gadget.
pub struct Loaded {
    order: Option<Vec<usize>>,
    gadget: Option<Gadget>,
}

impl MethodArgs {
    /// Reads `--order` and loads `--checkpoint` (for a gadget method only).
    pub fn load(&self) -> Result<Loaded> {
        let gadget = match self.method {
            Method::Gadget1 => Some(gadget::gadget(gadgets::GadgetKind::Gadget1, &self.gadget)?),
            Method::Gadget2 => Some(gadget::gadget(gadgets::GadgetKind::Gadget2, &self.gadget)?),
            _ => None,
        };
        Ok(Loaded { order: self.order.order()?, gadget })
    }

    /// The mechanism of `--method`, with `cost` for lp-optimal.
    pub fn mechanism<'a>(
        &self,
        loaded: &'a Loaded,
        cost: Option<&CostMatrix>,
    ) -> Result<Chosen<'a>> {
        let options = self.order.options(&loaded.order, loaded.gadget.as_ref());
        Ok(methods::mechanism(self.method, &options, cost)?)
    }

    /// The mechanism of `--method` for a counterfactual over `k` outcomes (mechanisms only).
    pub fn counterfactual_mechanism<'a>(&self, loaded: &'a Loaded, k: usize) -> Result<Chosen<'a>> {
        let options = self.order.options(&loaded.order, loaded.gadget.as_ref());
        Ok(methods::counterfactual_mechanism(self.method, &options, k)?)
    }

    /// `--samples` and `--seed` as a computation ([`methods::sampling`]).
    pub fn sampling(&self, mechanism: &dyn Mechanism) -> Result<Option<Computation>> {
        Ok(methods::sampling(mechanism, self.samples, self.seed, Spelling::Flags)?)
    }
}
