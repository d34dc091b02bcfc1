//! `gumbel-gadgets counterfactual`: P(y | x = observed) under the counterfactual q.

use anyhow::Result;
use serde_json::{json, Value};

use crate::gadget::GadgetArgs;
use crate::input;
use crate::methods::{self, Method};

/// Arguments of `counterfactual`.
#[derive(clap::Args)]
pub struct Args {
    /// The mechanism.
    #[arg(long, value_enum, default_value = "gumbel-max")]
    method: Method,
    /// The distributions p and q.
    #[command(flatten)]
    pair: input::PairArgs,
    /// The observed outcome x (0-based).
    #[arg(long)]
    observed: usize,
    /// The outcome order of the inverse-CDF methods.
    #[command(flatten)]
    order: methods::OrderArgs,
    /// Also draw this many counterfactual samples and report their histogram as `sampled`.
    #[arg(long)]
    samples: Option<u64>,
    /// Seed of the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The trained gadget of methods gadget-1 and gadget-2.
    #[command(flatten)]
    gadget: GadgetArgs,
}

/// Runs `counterfactual`.
pub fn run(args: &Args) -> Result<Value> {
    let (p, q) = args.pair.read()?;
    let sampling = methods::effective_sampling(
        args.method,
        methods::sampling(args.samples, args.seed)?,
        args.seed,
    );
    let (distribution, sampled) = methods::counterfactual(
        args.method,
        &args.gadget,
        &p,
        &q,
        args.observed,
        &args.order,
        sampling,
    )?;
    let mut out = json!({
        "method": args.method.name(),
        "observed": args.observed,
        "exact": args.method.exact_counterfactual(),
        "distribution": distribution,
    });
    if let Some(sampled) = sampled {
        out["sampled"] = json!(sampled);
    }
    if let Some(s) = sampling {
        out["samples"] = json!(s.samples);
        out["seed"] = json!(s.seed);
    }
    Ok(out)
}
