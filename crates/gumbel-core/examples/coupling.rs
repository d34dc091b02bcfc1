//! The Gumbel-max coupling of two distributions: its exact joint (closed form), the same joint
//! estimated from shared-noise samples, and the summaries a coupling answers exactly.
//!
//! Run with `cargo run -p gumbel-core --example coupling`; `cargo test -p gumbel-core --example
//! coupling` runs it and checks the estimate against the exact joint.

use gumbel_core::mechanism::GumbelMax;
use gumbel_core::{Categorical, CostMatrix, Coupling, Result};

/// The exact and the estimated joint of the Gumbel-max coupling of one pair.
pub struct Joints {
    /// The factual distribution of x.
    pub p: Categorical,
    /// The interventional distribution of y.
    pub q: Categorical,
    /// The closed-form joint.
    pub exact: Coupling,
    /// The joint of `SAMPLES` shared-noise pairs.
    pub estimate: Coupling,
}

/// Shared-noise pairs behind the estimate.
pub const SAMPLES: u64 = 100_000;

/// Both joints of the Gumbel-max coupling of p = (0.5, 0.2, 0.3) and q = (0.1, 0.3, 0.6).
pub fn joints() -> Result<Joints> {
    let p = Categorical::from_probs(&[0.5, 0.2, 0.3])?;
    let q = Categorical::from_probs(&[0.1, 0.3, 0.6])?;
    let mechanism = GumbelMax::new(p.clone(), q.clone())?;
    let exact = mechanism.exact_coupling()?;
    let estimate = mechanism.estimate_coupling(SAMPLES, 7)?;
    Ok(Joints { p, q, exact, estimate })
}

fn main() -> Result<()> {
    let Joints { p, q, exact, estimate } = joints()?;
    println!("p = {:.4?}\nq = {:.4?}", p.probs(), q.probs());
    println!("exact joint (rows x, columns y):");
    for (row, sampled) in exact.to_rows().iter().zip(estimate.to_rows()) {
        println!("  {row:.4?}   sampled {sampled:.4?}");
    }
    let h = [0.0, 1.0, 3.0];
    println!("P(x != y)          = {:.4}", exact.p_x_ne_y());
    println!("E[(x - y)^2]       = {:.4}", exact.expected_cost(&CostMatrix::squared_index(3))?);
    println!("Var[h(x) - h(y)]   = {:.4} for h = {h:?}", exact.variance(&h, &h)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_joint_has_the_marginals_and_the_samples_agree_with_it() {
        let Joints { p, q, exact, estimate } = joints().expect("valid pair");
        exact.check_marginals(&p, &q, 1e-12).expect("rows sum to p, columns to q");
        for ((cell, &pi), &freq) in exact.joint().indexed_iter().zip(estimate.joint().iter()) {
            let sigma = (pi * (1.0 - pi) / SAMPLES as f64).sqrt();
            assert!((freq - pi).abs() <= 5.0 * sigma + 1e-12, "cell {cell:?}: {freq} vs {pi}");
        }
    }
}
