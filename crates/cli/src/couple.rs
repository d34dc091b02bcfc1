//! `gumbel-gadgets couple`: the joint of a coupling with P(x != y), E[C] and Var[h(x) - h(y)].

use anyhow::Result;
use gumbel_core::method::Computation;
use serde_json::{json, Value};

use crate::input;
use crate::methods::MethodArgs;

/// Arguments of `couple`.
#[derive(clap::Args)]
pub struct Args {
    /// The method, its options and its sampling.
    #[command(flatten)]
    method: MethodArgs,
    /// The distributions p and q.
    #[command(flatten)]
    pair: input::PairArgs,
    /// A K x K cost matrix C: adds `expected_cost` = sum joint * C.
    #[arg(long, conflicts_with = "reward")]
    cost: Option<String>,
    /// A reward vector h: adds `expected_cost` with C_ij = (h_i - h_j)^2 and `variance` = Var[h(x) - h(y)].
    #[arg(long)]
    reward: Option<String>,
}

/// Runs `couple`.
pub fn run(args: &Args) -> Result<Value> {
    let (p, q) = args.pair.read()?;
    let reward: Option<Vec<f64>> =
        args.reward.as_deref().map(|t| input::json_arg("--reward", t)).transpose()?;
    let cost = input::cost(args.cost.as_deref(), reward.as_deref())?;
    let loaded = args.method.load()?;
    let mechanism = args.method.mechanism(&loaded, cost.as_ref())?;
    let sampling = args.method.sampling(&*mechanism)?;
    let joint = mechanism.joint(&p, &q, sampling.unwrap_or(Computation::Exact))?;
    let coupling = &joint.value;
    let mut out = json!({
        "method": args.method.method.name(),
        "exact": joint.is_exact(),
        "joint": coupling.to_rows(),
        "p_x_ne_y": coupling.p_x_ne_y(),
    });
    if let Some(cost) = &cost {
        out["expected_cost"] = json!(coupling.expected_cost(cost)?);
    }
    if let Some(h) = &reward {
        out["variance"] = json!(coupling.variance(h, h)?);
    }
    if let Some(Computation::Sampled { samples, seed }) = sampling {
        out["samples"] = json!(samples);
        out["seed"] = json!(seed);
    }
    Ok(out)
}
