//! Every coupling of one pair side by side, all exact: independent, inverse-CDF (index order and
//! sorted by a reward), maximal, Gumbel-max and the LP optimum for the cost (h(x) - h(y))^2, each
//! with P(x != y) and Var[h(x) - h(y)].
//!
//! Run with `cargo run -p baselines --example compare_couplings`; `cargo test -p baselines --example
//! compare_couplings` runs it and checks the orderings the theory guarantees.

use baselines::{
    independent_coupling, inverse_cdf_coupling, lp_optimal_coupling, maximal_coupling,
    OutcomeOrder, Result,
};
use gumbel_core::{exact, Categorical, CostMatrix, Coupling};

/// The reward h of the cost (h(x) - h(y))^2 (not monotone in the outcome's index).
pub const REWARD: [f64; 4] = [0.0, 3.0, 1.0, 2.0];

/// The couplings of p = (0.4, 0.1, 0.3, 0.2) and q = (0.1, 0.4, 0.2, 0.3), by name.
pub fn couplings() -> Result<Vec<(&'static str, Coupling)>> {
    let p = Categorical::from_probs(&[0.4, 0.1, 0.3, 0.2])?;
    let q = Categorical::from_probs(&[0.1, 0.4, 0.2, 0.3])?;
    let cost = CostMatrix::squared_reward(&REWARD)?;
    Ok(vec![
        ("independent", independent_coupling(&p, &q)?),
        ("inverse-cdf", inverse_cdf_coupling(&p, &q, &OutcomeOrder::identity(4))?),
        (
            "inverse-cdf sorted by h",
            inverse_cdf_coupling(&p, &q, &OutcomeOrder::sorted_by(&REWARD)?)?,
        ),
        ("maximal", maximal_coupling(&p, &q)?),
        ("gumbel-max", exact::gumbel_max_coupling(&p, &q)?),
        ("lp-optimal", lp_optimal_coupling(&p, &q, &cost)?),
    ])
}

fn main() -> Result<()> {
    println!("{:<24} {:>9} {:>16}", "coupling", "P(x != y)", "Var[h(x) - h(y)]");
    for (name, coupling) in couplings()? {
        let variance = coupling.variance(&REWARD, &REWARD)?;
        println!("{name:<24} {:>9.4} {variance:>16.4}", coupling.p_x_ne_y());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maximal_and_the_lp_couplings_are_optimal_for_their_costs() {
        let all = couplings().expect("valid pair");
        let by_name = |name: &str| &all.iter().find(|(n, _)| *n == name).expect(name).1;
        let variance = |c: &Coupling| c.variance(&REWARD, &REWARD).expect("finite reward");
        // The maximal coupling reaches P(x != y) = 1 - sum min(p, q) = 1 - 0.6, the least of all.
        let maximal = by_name("maximal").p_x_ne_y();
        assert!((maximal - 0.4).abs() < 1e-12, "maximal: {maximal}");
        // E[h(x) - h(y)] is fixed by the marginals, so the least E[(h(x) - h(y))^2] is the least
        // variance: the LP optimum, reached by the inverse-CDF coupling in the order of h.
        let lp = variance(by_name("lp-optimal"));
        assert!((lp - variance(by_name("inverse-cdf sorted by h"))).abs() < 1e-9);
        for (name, coupling) in &all {
            assert!(coupling.p_x_ne_y() >= maximal - 1e-12, "{name} beats the maximal coupling");
            assert!(variance(coupling) >= lp - 1e-9, "{name} beats the LP optimum");
        }
    }
}
