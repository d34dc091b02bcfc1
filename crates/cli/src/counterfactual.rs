//! `gumbel-gadgets counterfactual`: P(y | x = observed) under the counterfactual q.

use anyhow::{bail, Result};
use gumbel_core::method::Computation;
use gumbel_core::CostMatrix;
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
    // Counterfactuals do not read a cost; lp-optimal gets the mismatch cost only to be built, and is
    // then refused as a coupling.
    let mechanism = args.method.mechanism(Some(&CostMatrix::mismatch(p.len())))?;
    if !mechanism.is_structural() {
        bail!(
            "counterfactual is defined for mechanisms (gumbel-max, inverse-cdf, permuted-inverse-cdf, \
             gadget-1, gadget-2), not for the coupling {name}"
        );
    }
    let sampling = args.method.sampling(mechanism.as_ref())?;
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
