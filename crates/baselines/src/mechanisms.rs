//! The baselines as [`Mechanism`]s (gumbel_core::method): independent, inverse-CDF in any outcome
//! order, the authors' permuted inverse-CDF, maximal and LP-optimal for a given cost. All are exact
//! (closed form or LP); sampled answers come from each one's own sampler. The batched forms run
//! the pairs on rayon's pool (`as_sync`).
//!
//! Independent, maximal and LP-optimal are couplings, not structural mechanisms: their
//! counterfactual is the conditional pi(x_obs, .) / p(x_obs) of their joint, which is what their
//! samplers (x first, then y given x) realise.

use gumbel_core::method::{
    conditional_of, exact_or_drawn, Computation, Conditional, Joint, Mechanism,
};
use gumbel_core::{Categorical, CoreError, CostMatrix, Result};

use crate::error::BaselineError;
use crate::improbable::improbable_counterfactual;
use crate::lp::MARGINAL_TOLERANCE;
use crate::sampling::JointSampler;
use crate::{independent_coupling, lp_optimal_coupling, InverseCdf, Maximal, OutcomeOrder};

/// A baselines error as gumbel-core's: input errors as they are, solver failures under the method's name.
fn core(method: &str, error: BaselineError) -> CoreError {
    match error {
        BaselineError::Core(e) => e,
        other => CoreError::MethodFailed { method: method.to_owned(), message: other.to_string() },
    }
}

/// The joint of an explicit coupling, or `samples` pairs drawn from it.
fn joint_of(name: &str, coupling: gumbel_core::Coupling, how: Computation) -> Result<Joint> {
    let sampler = JointSampler::new(&coupling);
    how.answer(
        || Ok(coupling.clone()),
        |samples, seed| sampler.estimate_coupling(samples, seed).map_err(|e| core(name, e)),
    )
}

/// x and y independent: pi = p q^T, P(y | x) = q.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Independent;

impl Mechanism for Independent {
    fn name(&self) -> String {
        "independent".to_owned()
    }

    fn is_structural(&self) -> bool {
        false
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint> {
        let coupling = independent_coupling(p, q).map_err(|e| core("independent", e))?;
        joint_of("independent", coupling, how)
    }

    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional> {
        p.check_same_len(q)?;
        p.check_observation(observed)?;
        exact_or_drawn(q.probs(), how)
    }

    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        Some(self)
    }
}

/// The outcome order of an inverse-CDF mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Index order 0, 1, ..., K - 1.
    Index,
    /// A given permutation (its K fixes the pairs' K).
    Given(OutcomeOrder),
    /// The authors' permutation argsort(jax.random.uniform(PRNGKey(seed), [K])) for each pair's K.
    Authors {
        /// The PRNG key's seed (the paper's is 1).
        seed: u64,
    },
}

/// The inverse-CDF mechanism (x, y) = (F_p^-1(u), F_q^-1(u)) in an outcome order: named
/// `permuted-inverse-cdf` with the authors' order, `inverse-cdf` otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InverseCdfMethod {
    /// The outcome order on [0, 1).
    pub order: Order,
}

impl InverseCdfMethod {
    fn mechanism(&self, p: &Categorical, q: &Categorical) -> Result<InverseCdf> {
        let order = match &self.order {
            Order::Index => OutcomeOrder::identity(p.len()),
            Order::Given(order) => order.clone(),
            Order::Authors { seed } => {
                crate::authors::permutation(p.len(), *seed).map_err(|e| core("order", e))?
            }
        };
        InverseCdf::new(p, q, &order).map_err(|e| core(&self.name(), e))
    }
}

impl Mechanism for InverseCdfMethod {
    fn name(&self) -> String {
        match self.order {
            Order::Authors { .. } => "permuted-inverse-cdf".to_owned(),
            _ => "inverse-cdf".to_owned(),
        }
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint> {
        let (m, name) = (self.mechanism(p, q)?, self.name());
        how.answer(
            || m.coupling().map_err(|e| core(&name, e)),
            |samples, seed| m.estimate_coupling(samples, seed).map_err(|e| core(&name, e)),
        )
    }

    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional> {
        let (m, name) = (self.mechanism(p, q)?, self.name());
        how.answer(
            || m.counterfactual_distribution(observed).map_err(|e| core(&name, e)),
            |samples, seed| {
                m.counterfactual_histogram(observed, samples, seed).map_err(|e| core(&name, e))
            },
        )
    }

    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        Some(self)
    }
}

/// The maximal coupling: P(x = y) = sum min(p, q).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaximalMethod;

impl Mechanism for MaximalMethod {
    fn name(&self) -> String {
        "maximal".to_owned()
    }

    fn is_structural(&self) -> bool {
        false
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint> {
        let m = Maximal::new(p, q).map_err(|e| core("maximal", e))?;
        how.answer(
            || m.coupling().map_err(|e| core("maximal", e)),
            |samples, seed| m.estimate_coupling(samples, seed).map_err(|e| core("maximal", e)),
        )
    }

    /// P(y = x_obs | x_obs) = min(1, q/p at x_obs), computed from the logarithms so that it holds
    /// for an observation of any probability; the rest of the mass follows the residual
    /// q - min(p, q).
    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional> {
        p.check_same_len(q)?;
        p.check_observation(observed)?;
        let (a, b) = (p.log_probs(), q.log_probs());
        let keep = (b[observed] - a[observed]).exp().min(1.0);
        let residual: Vec<f64> =
            p.probs().iter().zip(q.probs()).map(|(pp, qq)| (qq - pp.min(qq)).max(0.0)).collect();
        let mass: f64 = residual.iter().sum();
        let mut exact = vec![0.0; p.len()];
        if mass > 0.0 && keep < 1.0 {
            exact.iter_mut().zip(&residual).for_each(|(e, r)| *e = (1.0 - keep) * r / mass);
        }
        exact[observed] += if mass > 0.0 { keep } else { 1.0 };
        let total: f64 = exact.iter().sum();
        exact.iter_mut().for_each(|e| *e /= total);
        exact_or_drawn(exact, how)
    }

    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        Some(self)
    }
}

/// The coupling of least expected cost under `cost`, by the transportation simplex. The
/// counterfactual row of an observation of probability at most [`MARGINAL_TOLERANCE`] comes from
/// the LP's duals ([`crate::improbable`]) where they determine it.
#[derive(Debug, Clone, PartialEq)]
pub struct LpOptimal {
    /// The K x K cost it minimises.
    pub cost: CostMatrix,
}

impl Mechanism for LpOptimal {
    fn name(&self) -> String {
        "lp-optimal".to_owned()
    }

    fn is_structural(&self) -> bool {
        false
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint> {
        let coupling = lp_optimal_coupling(p, q, &self.cost).map_err(|e| core("lp-optimal", e))?;
        joint_of("lp-optimal", coupling, how)
    }

    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional> {
        p.check_observation(observed)?;
        // Below the solver's marginal tolerance the joint's row is not resolved: the row from the
        // duals (crate::improbable) where the LP without x is nondegenerate.
        if p.probs()[observed] <= MARGINAL_TOLERANCE {
            let row = improbable_counterfactual(p, q, &self.cost, observed)
                .map_err(|e| core("lp-optimal", e))?;
            if let Some(row) = row {
                return exact_or_drawn(row, how);
            }
        }
        let joint = self.joint(p, q, Computation::Exact)?;
        conditional_of(&joint.value, p, observed, how)
    }

    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        Some(self)
    }
}
