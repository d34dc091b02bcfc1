//! A counterfactual under the Gumbel-max SCM: x = 0 was seen under p; what would y have been under
//! the intervention q? Exactly (one row of the closed-form joint over p(x_obs)) and by sampling the
//! noise's top-down posterior.
//!
//! Run with `cargo run -p gumbel-core --example counterfactual`; `cargo test -p gumbel-core --example
//! counterfactual` runs it and checks the histogram against the exact distribution.

use gumbel_core::mechanism::GumbelMax;
use gumbel_core::{Categorical, Result};

/// Posterior draws behind the histogram.
pub const SAMPLES: u64 = 100_000;

/// The observed outcome.
pub const OBSERVED: usize = 0;

/// P(y | x = OBSERVED), exact and as a histogram of `SAMPLES` posterior draws.
pub fn counterfactual() -> Result<(Vec<f64>, Vec<f64>)> {
    let p = Categorical::from_probs(&[0.5, 0.2, 0.3])?;
    let q = Categorical::from_probs(&[0.1, 0.3, 0.6])?;
    let mechanism = GumbelMax::new(p, q)?;
    let exact = mechanism.exact_counterfactual(OBSERVED)?;
    let sampled = mechanism.counterfactual_histogram(OBSERVED, SAMPLES, 11)?;
    Ok((exact, sampled))
}

fn main() -> Result<()> {
    let (exact, sampled) = counterfactual()?;
    println!("P(y | x = {OBSERVED}) exact:   {exact:.4?}");
    println!("P(y | x = {OBSERVED}) sampled: {sampled:.4?} ({SAMPLES} posterior draws)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_agrees_with_the_exact_counterfactual() {
        let (exact, sampled) = counterfactual().expect("valid pair");
        assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for (y, (&e, &s)) in exact.iter().zip(&sampled).enumerate() {
            let sigma = (e * (1.0 - e) / SAMPLES as f64).sqrt();
            assert!((s - e).abs() <= 5.0 * sigma + 1e-12, "y = {y}: {s} vs {e}");
        }
    }
}
