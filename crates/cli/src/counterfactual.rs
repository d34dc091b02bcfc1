//! `gumbel-gadgets counterfactual`: P(y | x = observed) under the counterfactual q.

use anyhow::Result;
use gumbel_core::method::Computation;
use serde_json::{json, Value};

use crate::input;
use crate::methods::MethodArgs;

/// Arguments of `counterfactual`.
#[derive(clap::Args)]
pub struct Args {
    /// The mechanism, its options, and --samples: also draw this many counterfactual samples and
    /// report their histogram as `sampled`.
    #[command(flatten)]
    method: MethodArgs,
    /// The distributions p and q.
    #[command(flatten)]
    pair: input::PairArgs,
    /// The observed outcome x (0-based).
    #[arg(long)]
    observed: usize,
}

/// Runs `counterfactual`: the exact distribution, and the histogram of --samples draws beside it; a
/// method without a closed form (Gadget 1) answers with the histogram alone.
pub fn run(args: &Args) -> Result<Value> {
    let (p, q) = args.pair.read()?;
    let name = args.method.method.name();
    let loaded = args.method.load()?;
    let mechanism = args.method.counterfactual_mechanism(&loaded, p.len())?;
    let sampling = args.method.sampling(&*mechanism)?;
    let ask = |how| mechanism.counterfactual(&p, &q, args.observed, how);
    let (distribution, sampled) = if mechanism.has_closed_form() {
        (ask(Computation::Exact)?, sampling.map(ask).transpose()?)
    } else {
        (ask(sampling.unwrap_or(Computation::Exact))?, None)
    };
    let mut out = json!({
        "method": name,
        "observed": args.observed,
        "exact": distribution.is_exact(),
        "distribution": distribution.value,
    });
    if let Some(sampled) = sampled {
        out["sampled"] = json!(sampled.value);
    }
    if let Some(Computation::Sampled { samples, seed }) = sampling {
        out["samples"] = json!(samples);
        out["seed"] = json!(seed);
    }
    Ok(out)
}
