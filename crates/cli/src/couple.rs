//! `gumbel-gadgets couple`: the joint of a coupling with P(x != y), E[C] and Var[h(x) - h(y)].

use anyhow::Result;
use serde_json::{json, Value};

use crate::gadget::GadgetArgs;
use crate::input;
use crate::methods::{self, Method};

/// Arguments of `couple`.
#[derive(clap::Args)]
pub struct Args {
    /// The coupling method.
    #[arg(long, value_enum, default_value = "gumbel-max")]
    method: Method,
    /// The distributions p and q.
    #[command(flatten)]
    pair: input::PairArgs,
    /// A K x K cost matrix C: adds `expected_cost` = sum joint * C.
    #[arg(long, conflicts_with = "reward")]
    cost: Option<String>,
    /// A reward vector h: adds `expected_cost` with C_ij = (h_i - h_j)^2 and `variance` = Var[h(x) - h(y)].
    #[arg(long)]
    reward: Option<String>,
    /// The outcome order of the inverse-CDF methods.
    #[command(flatten)]
    order: methods::OrderArgs,
    /// Estimate the joint from this many samples instead of computing it exactly.
    #[arg(long)]
    samples: Option<u64>,
    /// Seed of the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The trained gadget of methods gadget-1 and gadget-2.
    #[command(flatten)]
    gadget: GadgetArgs,
}

/// Runs `couple`.
pub fn run(args: &Args) -> Result<Value> {
    let (p, q) = args.pair.read()?;
    let reward: Option<Vec<f64>> =
        args.reward.as_deref().map(|t| input::json_arg("--reward", t)).transpose()?;
    let cost = input::cost(args.cost.as_deref(), reward.as_deref())?;
    let sampling = methods::effective_sampling(
        args.method,
        methods::sampling(args.samples, args.seed)?,
        args.seed,
    );
    let joint =
        methods::joint(args.method, &args.gadget, &p, &q, cost.as_ref(), &args.order, sampling)?;
    let coupling = &joint.coupling;
    let mut out = json!({
        "method": args.method.name(),
        "exact": joint.exact,
        "joint": coupling.to_rows(),
        "p_x_ne_y": coupling.p_x_ne_y(),
    });
    if let Some(cost) = &cost {
        out["expected_cost"] = json!(coupling.expected_cost(cost)?);
    }
    if let Some(h) = &reward {
        out["variance"] = json!(coupling.variance(h, h)?);
    }
    if let Some(s) = sampling {
        out["samples"] = json!(s.samples);
        out["seed"] = json!(s.seed);
    }
    Ok(out)
}
