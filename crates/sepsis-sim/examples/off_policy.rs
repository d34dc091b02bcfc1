//! The off-policy study of Oberst & Sontag (2019) on the sepsis simulator, once, at the paper's
//! sizes (1,000 trajectories): plan the physician on the exact kernel, learn an RL policy from the
//! physician's trajectories, and estimate its value by WIS, by the learned model and by Gumbel-max
//! SCM counterfactuals, beside its exact value. A few seconds.
//!
//! Run with `cargo run -p sepsis-sim --example off_policy`; `cargo test -p sepsis-sim --example
//! off_policy` runs it and checks the estimates against the exact values.

use sepsis_sim::evaluation::{evaluate_exact, ExactOutcomes};
use sepsis_sim::kernel::SparseKernel;
use sepsis_sim::ope::{off_policy_evaluation, OpeConfig, OpeReport};
use sepsis_sim::physician::plan_physician;
use sepsis_sim::Result;

/// The study's seed.
pub const SEED: u64 = 1;

/// The physician's exact outcomes and the study's report.
pub fn study() -> Result<(ExactOutcomes, OpeReport, OpeConfig)> {
    let truth = SparseKernel::exact();
    let physician = plan_physician(&truth)?;
    let config = OpeConfig::paper(SEED);
    let exact = evaluate_exact(&truth, &physician.policy, config.horizon, config.p_diabetes)?;
    let report = off_policy_evaluation(&physician.policy, &truth, &config)?;
    Ok((exact, report, config))
}

fn main() -> Result<()> {
    let (physician, report, config) = study()?;
    println!("physician, exact: E[return] {:.4}", physician.expected_return);
    println!("RL policy, exact: E[return] {:.4}", report.true_rl_exact.expected_return);
    let e = &report.estimates;
    println!("estimates from {} trajectories (bootstrap mean and 95% range):", config.trajectories);
    for (name, estimate) in [
        ("observed (physician)", e.observed),
        ("true RL (simulated)", e.true_rl),
        ("WIS", e.wis),
        ("WIS (soft target)", e.wis_soft),
        ("model-based", e.model_based),
        ("counterfactual", e.counterfactual),
    ] {
        println!(
            "  {name:<21} {:>7.4} ({:.4} - {:.4})",
            estimate.value, estimate.low, estimate.high
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulated_returns_agree_with_the_exact_values_and_the_model_is_optimistic() {
        let (physician, report, config) = study().expect("the study");
        // A return is -1, 0 or +1, so its exact variance is P(death) + P(discharge) - E[return]^2,
        // and a mean of n simulated returns lies within 5 standard errors of E[return].
        let within_5_se = |mean: f64, exact: &ExactOutcomes| {
            let variance = exact.p_death + exact.p_discharge - exact.expected_return.powi(2);
            let se = (variance / config.trajectories as f64).sqrt();
            (mean - exact.expected_return).abs() < 5.0 * se
        };
        let e = &report.estimates;
        assert!(within_5_se(e.observed.value, &physician), "{} vs {physician:?}", e.observed.value);
        assert!(within_5_se(e.true_rl.value, &report.true_rl_exact), "{}", e.true_rl.value);
        for estimate in [e.observed, e.true_rl, e.wis, e.wis_soft, e.model_based, e.counterfactual]
        {
            assert!(estimate.low <= estimate.value && estimate.value <= estimate.high);
        }
        // The paper's finding: the learned model's estimates are far above the RL policy's value.
        assert!(e.counterfactual.value > report.true_rl_exact.expected_return + 0.2);
        assert!(e.model_based.value > report.true_rl_exact.expected_return + 0.2);
    }
}
