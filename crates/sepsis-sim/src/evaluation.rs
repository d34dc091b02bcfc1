//! Exact finite-horizon evaluation of a policy in the simulator: the distribution over (diabetes,
//! state) is pushed forward through the exact kernel for `horizon` steps, mass entering a death or
//! discharge state is absorbed, and what is left at the horizon is "none". No sampling.
//!
//! The return is undiscounted (the paper's DISCOUNT = 1), so E[return] = P(discharge) - P(death).

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::error::{Result, SepsisError};
use crate::initial::InitialDistribution;
use crate::kernel::SparseKernel;
use crate::policy::Policy;
use crate::state::{full_index, outcome_table, Outcome, State, N_FULL, N_OBS};

/// The exact outcome distribution of a policy over a finite horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExactOutcomes {
    /// E[return] = P(discharge) - P(death).
    pub expected_return: f64,
    /// P(death within the horizon).
    pub p_death: f64,
    /// P(neither death nor discharge within the horizon).
    pub p_none: f64,
    /// P(discharge within the horizon).
    pub p_discharge: f64,
}

/// Evaluates `policy` exactly in the simulator with kernel `kernel` from the initial distribution
/// of prior P(diabetic) = `p_diabetes`, over `horizon` steps.
pub fn evaluate_exact(
    kernel: &SparseKernel,
    policy: &Policy,
    horizon: usize,
    p_diabetes: f64,
) -> Result<ExactOutcomes> {
    if horizon == 0 {
        return Err(SepsisError::ZeroCount { what: "horizon" });
    }
    let outcomes = outcome_table();
    let mut mass = InitialDistribution::new(p_diabetes)?.full_vector();
    let (mut p_death, mut p_discharge) = (0.0, 0.0);
    let mut next = vec![0.0; N_FULL];
    for _ in 0..horizon {
        next.iter_mut().for_each(|v| *v = 0.0);
        for (f, &m) in mass.iter().enumerate().filter(|(_, m)| **m > 0.0) {
            let (diabetic, obs) = (f >= N_OBS, f % N_OBS);
            let pi = policy.probs(diabetic, &State::from_obs_unchecked(obs));
            for a in Action::all().filter(|a| pi[a.index()] > 0.0) {
                let (targets, probs) = kernel.row(diabetic, a, obs);
                for (&t, &p) in targets.iter().zip(probs) {
                    let flow = m * pi[a.index()] * p;
                    match outcomes[usize::from(t)] {
                        Outcome::Death => p_death += flow,
                        Outcome::Discharge => p_discharge += flow,
                        Outcome::Continue => next[full_index(diabetic, usize::from(t))] += flow,
                    }
                }
            }
        }
        std::mem::swap(&mut mass, &mut next);
    }
    let p_none: f64 = mass.iter().sum();
    Ok(ExactOutcomes { expected_return: p_discharge - p_death, p_death, p_none, p_discharge })
}
