//! The law of (x, y) under each method of Figure 2, exact wherever the method allows.
//!
//! Joint setting: the coupling of (p, q). Counterfactual setting: x is the observed next state and
//! y ~ P(y | x_obs), so the law is delta(x_obs) x P(y | x_obs) and Var[r(x) - r(y)] = Var[r(y) | x_obs],
//! which is what the authors' `compute_variance_treatment_effect` estimates (their x samples all equal
//! s'_obs). The generalized setting evaluates on D perturbed pairs, each sample with its own
//! perturbation, so its law is the mixture (1/D) sum_d law_d; the authors' ddof-0 variance over
//! 2,000 samples estimates the variance of exactly that mixture.

use anyhow::{ensure, Result};
use gadgets::mixture::mixture_samples;
use gadgets::Gadget;
use gumbel_core::method::Computation;
use gumbel_core::pairs::LogitPair;
use gumbel_core::{Categorical, Coupling};
use methods::{Chosen, Method, Options, Spelling};
use ndarray::Array2;
use rayon::prelude::*;

/// A mechanism whose law is computed exactly.
#[derive(Clone, Copy)]
pub enum Exact<'a> {
    /// Gumbel-max: gumbel-core's closed-form joint and counterfactual.
    GumbelMax,
    /// Inverse-CDF in index order: bin overlaps (baselines).
    InverseCdf,
    /// A trained Gadget 2: the mixture over z of Gumbel-max joints / counterfactuals.
    Gadget2(&'a Gadget),
}

impl<'a> Exact<'a> {
    /// Its `Mechanism`, through the `methods` crate's map from a method to its mechanism.
    fn mechanism(self) -> Result<Chosen<'a>> {
        let options = Options::new(Spelling::Keywords);
        Ok(match self {
            Exact::GumbelMax => {
                Chosen::Owned(methods::baseline(Method::GumbelMax, &options, None)?)
            }
            Exact::InverseCdf => {
                Chosen::Owned(methods::baseline(Method::InverseCdf, &options, None)?)
            }
            Exact::Gadget2(g) => {
                methods::mechanism(Method::Gadget2, &Options { gadget: Some(g), ..options }, None)?
            }
        })
    }
}

/// The exact law of one pair: the joint of (p, q), or delta(observed) x P(y | observed) (an error
/// for a mechanism without a closed form).
fn law(mechanism: Exact<'_>, pair: &LogitPair, observed: Option<usize>) -> Result<Array2<f64>> {
    let (p, q) = (Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?);
    let k = p.len();
    let mechanism = mechanism.mechanism()?;
    let Some(obs) = observed else {
        return Ok(mechanism.joint(&p, &q, Computation::Exact)?.value.joint().clone());
    };
    let row = mechanism.counterfactual(&p, &q, obs, Computation::Exact)?.value;
    let mut joint = Array2::zeros((k, k));
    joint.row_mut(obs).iter_mut().zip(row).for_each(|(j, v)| *j = v);
    Ok(joint)
}

/// The exact mixture law (1/D) sum_d law_d over `pairs` (D = 1 for a fixed pair).
pub fn exact_mixture(
    mechanism: Exact<'_>,
    pairs: &[LogitPair],
    observed: Option<usize>,
) -> Result<Coupling> {
    ensure!(!pairs.is_empty(), "no pairs to evaluate");
    let laws: Vec<Array2<f64>> = match mechanism {
        // libtorch tensors are not shared across threads: the gadget's pairs go one by one.
        Exact::Gadget2(_) => {
            pairs.iter().map(|pair| law(mechanism, pair, observed)).collect::<Result<_>>()?
        }
        Exact::GumbelMax => pairs
            .par_iter()
            .map(|pair| law(Exact::GumbelMax, pair, observed))
            .collect::<Result<_>>()?,
        Exact::InverseCdf => pairs
            .par_iter()
            .map(|pair| law(Exact::InverseCdf, pair, observed))
            .collect::<Result<_>>()?,
    };
    average(laws)
}

/// The Monte Carlo mixture law of a gadget without a closed form (Gadget 1): `per_pair` hard samples
/// for each pair, pooled, from `seed`.
pub fn sampled_mixture(
    gadget: &Gadget,
    pairs: &[LogitPair],
    per_pair: usize,
    observed: Option<usize>,
    seed: u64,
) -> Result<Coupling> {
    let samples = mixture_samples(gadget, pairs, per_pair, observed, seed)?;
    Ok(Coupling::from_samples(gadget.outcomes(), samples)?)
}

/// The mean of the laws, renormalised against rounding.
fn average(laws: Vec<Array2<f64>>) -> Result<Coupling> {
    let mut iter = laws.into_iter();
    let mut total = iter.next().ok_or_else(|| anyhow::anyhow!("no laws to average"))?;
    for law in iter {
        total += &law;
    }
    let mass = total.sum();
    Ok(Coupling::new(total / mass)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> LogitPair {
        let ln = |v: &[f64]| v.iter().map(|x: &f64| x.ln()).collect::<Vec<_>>();
        LogitPair { p: ln(&[0.5, 0.3, 0.0, 0.2]), q: ln(&[0.1, 0.2, 0.3, 0.4]) }
    }

    #[test]
    fn counterfactual_laws_put_x_on_the_observation_and_keep_q_on_average() {
        let pair = pair();
        let p = Categorical::from_logits(&pair.p).unwrap();
        for mechanism in [Exact::GumbelMax, Exact::InverseCdf] {
            // Averaging the counterfactual over x_obs ~ p recovers q (the joint's y marginal).
            let mut y = [0.0; 4];
            for (obs, &px) in p.probs().iter().enumerate().filter(|(_, &px)| px > 0.0) {
                let law = exact_mixture(mechanism, std::slice::from_ref(&pair), Some(obs)).unwrap();
                assert!((law.x_marginal()[obs] - 1.0).abs() < 1e-12);
                law.y_marginal().iter().zip(&mut y).for_each(|(v, m)| *m += px * v);
            }
            let q = Categorical::from_logits(&pair.q).unwrap().probs();
            y.iter().zip(&q).for_each(|(a, b)| assert!((a - b).abs() < 1e-12, "{y:?} vs {q:?}"));
        }
    }

    #[test]
    fn a_mixture_is_the_average_of_its_laws() {
        let first = pair();
        let second = LogitPair { p: first.q.clone(), q: first.p.clone() };
        let both = exact_mixture(Exact::GumbelMax, &[first.clone(), second.clone()], None).unwrap();
        let a = exact_mixture(Exact::GumbelMax, &[first], None).unwrap();
        let b = exact_mixture(Exact::GumbelMax, &[second], None).unwrap();
        for ((i, j), &v) in both.joint().indexed_iter() {
            assert!((v - 0.5 * (a.joint()[[i, j]] + b.joint()[[i, j]])).abs() < 1e-12);
        }
    }
}
