//! One interface for every coupling method: [`Mechanism`], implemented by Gumbel-max here, by the
//! baselines (independent, inverse-CDF in any order, maximal, LP-optimal) in the baselines crate and
//! by the trained gadgets in the gadgets crate.
//!
//! A mechanism answers two questions about a pair (p, q) of distributions over K outcomes:
//!
//! - the joint pi(x, y) of (x, y) = (outcome under p, outcome under q) with shared noise: a
//!   [`Coupling`] whose marginals are p and q;
//! - the counterfactual P(y | x = x_obs) = pi(x_obs, y) / p(x_obs): what q would have produced given
//!   that p produced x_obs.
//!
//! Each answer is exact where the method has a closed form ([`Computation::Exact`]) or estimated
//! from a number of samples drawn from a seed ([`Computation::Sampled`]); an [`Answer`] says which and
//! gives the standard error of every entry. The batched forms ([`Mechanism::joints`],
//! [`Mechanism::counterfactuals`]) answer many pairs at once, pair `i` with the seed
//! [`Computation::for_pair`]`(i)`, so that the numbers depend on the seed only, not on the thread
//! count nor on how the pairs are split.

use ndarray::Array2;
use rayon::prelude::*;

use crate::categorical::Categorical;
use crate::coupling::Coupling;
use crate::error::{CoreError, Result};
use crate::mechanism::GumbelMax;
use crate::{exact, montecarlo};

/// How an answer is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computation {
    /// From the method's closed form.
    Exact,
    /// From `samples` Monte Carlo draws seeded by `seed`.
    Sampled {
        /// The number of draws (positive).
        samples: u64,
        /// The seed of the draws.
        seed: u64,
    },
}

impl Computation {
    /// The computation of pair `index` of a batch: the same for an exact one, seed `seed + index` for
    /// a sampled one (streams of different seeds are independent, [`crate::rng`]).
    pub fn for_pair(self, index: usize) -> Self {
        match self {
            Computation::Exact => Computation::Exact,
            Computation::Sampled { samples, seed } => {
                Computation::Sampled { samples, seed: seed.wrapping_add(index as u64) }
            }
        }
    }

    /// The answer `how` asks for: `exact()`, or `sampled(samples, seed)` (zero samples is an error).
    pub fn answer<T>(
        self,
        exact: impl FnOnce() -> Result<T>,
        sampled: impl FnOnce(u64, u64) -> Result<T>,
    ) -> Result<Answer<T>> {
        match (self, self.samples()?) {
            (Computation::Sampled { seed, .. }, Some(samples)) => {
                Ok(Answer { value: sampled(samples, seed)?, samples: Some(samples) })
            }
            _ => Ok(Answer::exact(exact()?)),
        }
    }

    /// The number of samples of a sampled computation; an error for zero.
    pub fn samples(self) -> Result<Option<u64>> {
        match self {
            Computation::Exact => Ok(None),
            Computation::Sampled { samples: 0, .. } => {
                Err(CoreError::ZeroCount { what: "number of samples" })
            }
            Computation::Sampled { samples, .. } => Ok(Some(samples)),
        }
    }
}

/// An answer of a mechanism: a joint ([`Coupling`]) or a counterfactual distribution (`Vec<f64>`),
/// with the number of samples it was estimated from (`None`: exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The joint or the distribution.
    pub value: T,
    /// The number of samples of an estimate; `None` for an exact answer.
    pub samples: Option<u64>,
}

/// A joint of (x, y).
pub type Joint = Answer<Coupling>;
/// A counterfactual distribution P(y | x = x_obs).
pub type Conditional = Answer<Vec<f64>>;

impl<T> Answer<T> {
    /// An exact answer.
    pub fn exact(value: T) -> Self {
        Self { value, samples: None }
    }

    /// Whether the answer is exact.
    pub fn is_exact(&self) -> bool {
        self.samples.is_none()
    }
}

/// The standard error sqrt(f (1 - f) / n) of a frequency `f` out of `samples` draws; zero when exact.
pub fn frequency_standard_error(f: f64, samples: Option<u64>) -> f64 {
    samples.map_or(0.0, |n| (f * (1.0 - f) / n as f64).sqrt())
}

impl Joint {
    /// The standard error of every entry (zeros for an exact joint).
    pub fn standard_errors(&self) -> Array2<f64> {
        self.value.joint().mapv(|f| frequency_standard_error(f, self.samples))
    }
}

impl Conditional {
    /// The standard error of every entry (zeros for an exact distribution).
    pub fn standard_errors(&self) -> Vec<f64> {
        self.value.iter().map(|&f| frequency_standard_error(f, self.samples)).collect()
    }
}

/// One counterfactual query: p, q and the outcome observed under p.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The distribution that produced the observation.
    pub p: Categorical,
    /// The distribution of the counterfactual.
    pub q: Categorical,
    /// The outcome observed under p.
    pub observed: usize,
}

/// A coupling method: for any pair (p, q) a joint with marginals p and q and the counterfactual
/// distributions it implies (module docs). Implementations validate their input (lengths,
/// observations) and return errors, never NaN.
pub trait Mechanism: Send {
    /// The method's name (`gumbel-max`, `inverse-cdf`, ...).
    fn name(&self) -> String;

    /// Whether [`Computation::Exact`] is available; otherwise every answer is sampled.
    fn has_closed_form(&self) -> bool {
        true
    }

    /// Whether the method is a structural mechanism, x and y functions of one shared noise with
    /// its posterior given x_obs (Gumbel-max, inverse-CDF, the gadgets), rather than a coupling
    /// only. A coupling's counterfactual is its conditional pi(x_obs, .) / p(x_obs), which many
    /// mechanisms share.
    fn is_structural(&self) -> bool {
        true
    }

    /// The joint of (x, y) for (p, q).
    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint>;

    /// P(y | x = `observed`) for (p, q).
    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional>;

    /// The mechanism as one that threads can share, for the parallel batches; `None` (the default)
    /// keeps them sequential (a gadget's libtorch tensors are not `Sync`).
    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        None
    }

    /// The joints of many pairs, pair i computed by `how.for_pair(i)`; in order, on rayon's pool
    /// when [`Mechanism::as_sync`] allows: the same numbers either way.
    fn joints(&self, pairs: &[(Categorical, Categorical)], how: Computation) -> Result<Vec<Joint>> {
        match self.as_sync() {
            Some(shared) => pairs
                .par_iter()
                .enumerate()
                .map(|(i, (p, q))| shared.joint(p, q, how.for_pair(i)))
                .collect(),
            None => pairs
                .iter()
                .enumerate()
                .map(|(i, (p, q))| self.joint(p, q, how.for_pair(i)))
                .collect(),
        }
    }

    /// The counterfactuals of many queries, query i computed by `how.for_pair(i)`; in order, in
    /// parallel as [`Mechanism::joints`].
    fn counterfactuals(&self, queries: &[Query], how: Computation) -> Result<Vec<Conditional>> {
        match self.as_sync() {
            Some(shared) => queries
                .par_iter()
                .enumerate()
                .map(|(i, x)| shared.counterfactual(&x.p, &x.q, x.observed, how.for_pair(i)))
                .collect(),
            None => queries
                .iter()
                .enumerate()
                .map(|(i, x)| self.counterfactual(&x.p, &x.q, x.observed, how.for_pair(i)))
                .collect(),
        }
    }
}

/// The counterfactual of a coupling: its conditional pi(x_obs, .) / p(x_obs), exact from an exact
/// joint, or drawn from ([`exact_or_drawn`]). Errors for an impossible or out-of-range observation,
/// or one whose row of the joint has rounded to zero.
pub fn conditional_of(
    joint: &Coupling,
    p: &Categorical,
    observed: usize,
    how: Computation,
) -> Result<Conditional> {
    if joint.len() != p.len() {
        return Err(CoreError::LengthMismatch {
            what: "joint",
            expected: p.len(),
            found: joint.len(),
        });
    }
    p.check_observation(observed)?;
    let row: Vec<f64> = joint.joint().row(observed).to_vec();
    let mass: f64 = row.iter().sum();
    if mass.is_nan() || mass <= 0.0 {
        return Err(CoreError::Underflow { observed });
    }
    exact_or_drawn(row.iter().map(|v| v / mass).collect(), how)
}

/// An exact counterfactual `distribution` as the answer to `how`: itself, or the histogram of
/// `samples` draws from it (for a coupling, whose sampler draws y from this conditional given x).
pub fn exact_or_drawn(distribution: Vec<f64>, how: Computation) -> Result<Conditional> {
    let k = distribution.len();
    let drawn = |samples: u64, seed: u64| {
        let conditional = Categorical::from_probs(&distribution)?;
        let counts = montecarlo::count(samples, seed, k, |rng| conditional.sample(rng));
        Ok(counts.into_iter().map(|c| c as f64 / samples as f64).collect())
    };
    how.answer(|| Ok(distribution.clone()), drawn)
}

/// The Gumbel-max SCM as a [`Mechanism`]: the closed-form joint and counterfactuals of
/// [`crate::exact`], or the sampler of [`GumbelMax`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GumbelMaxMethod;

impl Mechanism for GumbelMaxMethod {
    fn name(&self) -> String {
        "gumbel-max".to_owned()
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> Result<Joint> {
        how.answer(
            || exact::gumbel_max_coupling(p, q),
            |samples, seed| GumbelMax::new(p.clone(), q.clone())?.estimate_coupling(samples, seed),
        )
    }

    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> Result<Conditional> {
        how.answer(
            || exact::counterfactual_distribution(p, q, observed),
            |samples, seed| {
                GumbelMax::new(p.clone(), q.clone())?
                    .counterfactual_histogram(observed, samples, seed)
            },
        )
    }

    fn as_sync(&self) -> Option<&(dyn Mechanism + Sync)> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_match_single_answers_whatever_the_thread_count() {
        let pairs: Vec<(Categorical, Categorical)> = (0..6)
            .map(|i| {
                let s = f64::from(i);
                (
                    Categorical::from_logits(&[0.1 * s, -0.5, 0.3, 1.0 - s]).unwrap(),
                    Categorical::from_logits(&[0.2, 0.4 * s, -1.0, 0.5]).unwrap(),
                )
            })
            .collect();
        let how = Computation::Sampled { samples: 5_000, seed: 9 };
        let batch = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| GumbelMaxMethod.joints(&pairs, how).unwrap())
        };
        let one = batch(1);
        assert_eq!(one, batch(3));
        for (i, (p, q)) in pairs.iter().enumerate() {
            assert_eq!(one[i], GumbelMaxMethod.joint(p, q, how.for_pair(i)).unwrap());
        }
        assert!(GumbelMaxMethod
            .joint(&pairs[0].0, &pairs[0].1, Computation::Sampled { samples: 0, seed: 0 })
            .is_err());
    }
}
