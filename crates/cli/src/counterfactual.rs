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
    /// Probabilities of x, the factual distribution.
    #[arg(long)]
    p: Option<String>,
    /// Logits of x (normalised for you; "-inf" marks an impossible outcome).
    #[arg(long)]
    p_logits: Option<String>,
    /// Probabilities of y, the counterfactual distribution.
    #[arg(long)]
    q: Option<String>,
    /// Logits of y (normalised for you; "-inf" marks an impossible outcome).
    #[arg(long)]
    q_logits: Option<String>,
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
    let p = input::categorical("p", args.p.as_deref(), args.p_logits.as_deref())?;
    let q = input::categorical("q", args.q.as_deref(), args.q_logits.as_deref())?;
    p.check_same_len(&q)?;
    let sampling = methods::effective_sampling(args.method, methods::sampling(args.samples, args.seed)?, args.seed);
    let (distribution, sampled) = methods::counterfactual(args.method, &args.gadget, &p, &q, args.observed, &args.order, sampling)?;
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
