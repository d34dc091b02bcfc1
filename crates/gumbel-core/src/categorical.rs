//! A validated categorical distribution over `0..K`, held as normalised log-probabilities.

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::logspace::logsumexp;

/// Tolerance on the sum of probabilities given to [`Categorical::from_probs`].
pub const PROBABILITY_SUM_TOLERANCE: f64 = 1e-6;

/// A categorical distribution with at least one possible outcome.
///
/// Invariants: not empty; every entry finite or `-inf` (an impossible outcome); logsumexp = 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Categorical {
    log_probs: Vec<f64>,
}

impl Categorical {
    /// From unnormalised logits: `log p = l - logsumexp(l)`. Entries may be `-inf`; NaN and `+inf`
    /// are errors, and so is an empty or all-`-inf` vector.
    pub fn from_logits(logits: &[f64]) -> Result<Self> {
        if logits.is_empty() {
            return Err(CoreError::Empty);
        }
        if let Some((index, &value)) =
            logits.iter().enumerate().find(|(_, v)| v.is_nan() || **v == f64::INFINITY)
        {
            return Err(CoreError::InvalidLogit { index, value });
        }
        let norm = logsumexp(logits);
        if norm == f64::NEG_INFINITY {
            return Err(CoreError::AllImpossible);
        }
        Ok(Self { log_probs: logits.iter().map(|&l| l - norm).collect() })
    }

    /// From probabilities: finite, non-negative, summing to 1 within [`PROBABILITY_SUM_TOLERANCE`]
    /// (the small remainder is normalised away). Zeros are impossible outcomes.
    pub fn from_probs(probs: &[f64]) -> Result<Self> {
        if probs.is_empty() {
            return Err(CoreError::Empty);
        }
        if let Some((index, &value)) =
            probs.iter().enumerate().find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(CoreError::InvalidProbability { index, value });
        }
        let sum: f64 = probs.iter().sum();
        if sum == 0.0 {
            return Err(CoreError::AllImpossible);
        }
        if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            return Err(CoreError::NotNormalised { sum, tolerance: PROBABILITY_SUM_TOLERANCE });
        }
        let log_sum = sum.ln();
        Ok(Self { log_probs: probs.iter().map(|&p| p.ln() - log_sum).collect() })
    }

    /// The number of outcomes K.
    pub fn len(&self) -> usize {
        self.log_probs.len()
    }

    /// Always false: a categorical has at least one outcome (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.log_probs.is_empty()
    }

    /// Normalised log-probabilities (`-inf` for impossible outcomes).
    pub fn log_probs(&self) -> &[f64] {
        &self.log_probs
    }

    /// Probabilities.
    pub fn probs(&self) -> Vec<f64> {
        self.log_probs.iter().map(|l| l.exp()).collect()
    }

    /// The probability of outcome `i`.
    pub fn prob(&self, i: usize) -> f64 {
        self.log_probs[i].exp()
    }

    /// Whether outcome `i` has non-zero probability.
    pub fn is_possible(&self, i: usize) -> bool {
        self.log_probs[i] > f64::NEG_INFINITY
    }

    /// Checks that `observed` is a possible outcome: in range and of non-zero probability.
    pub fn check_observation(&self, observed: usize) -> Result<()> {
        if observed >= self.len() {
            return Err(CoreError::ObservationOutOfRange { observed, len: self.len() });
        }
        if !self.is_possible(observed) {
            return Err(CoreError::ImpossibleObservation { observed });
        }
        Ok(())
    }

    /// Checks that `other` has the same number of outcomes.
    pub fn check_same_len(&self, other: &Categorical) -> Result<()> {
        if self.len() != other.len() {
            return Err(CoreError::LengthMismatch {
                what: "q",
                expected: self.len(),
                found: other.len(),
            });
        }
        Ok(())
    }

    /// One draw, by the exponential race argmin_i E_i / p_i (E_i ~ Exp(1)), which is the Gumbel-max
    /// trick with g_i = -log E_i.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let mut best = 0;
        let mut best_time = f64::INFINITY;
        for (i, &l) in self.log_probs.iter().enumerate() {
            let e: f64 = Exp1.sample(rng);
            let time = e * (-l).exp();
            if time < best_time {
                best_time = time;
                best = i;
            }
        }
        best
    }
}

impl TryFrom<Vec<f64>> for Categorical {
    type Error = CoreError;
    fn try_from(log_probs: Vec<f64>) -> Result<Self> {
        Self::from_logits(&log_probs)
    }
}

impl From<Categorical> for Vec<f64> {
    fn from(c: Categorical) -> Self {
        c.log_probs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_are_normalised_and_keep_impossible_outcomes() {
        let c = Categorical::from_logits(&[1.0, f64::NEG_INFINITY, 3.0]).unwrap();
        assert!((logsumexp(c.log_probs()) - 0.0).abs() < 1e-15);
        assert!(!c.is_possible(1));
        assert_eq!(c.prob(1), 0.0);
        let shifted = Categorical::from_logits(&[101.0, f64::NEG_INFINITY, 103.0]).unwrap();
        for (a, b) in c.log_probs().iter().zip(shifted.log_probs()) {
            assert!(a == b || (a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn every_bad_input_has_its_typed_error() {
        assert_eq!(Categorical::from_logits(&[]), Err(CoreError::Empty));
        assert_eq!(Categorical::from_probs(&[]), Err(CoreError::Empty));
        assert!(matches!(
            Categorical::from_logits(&[0.0, f64::NAN]),
            Err(CoreError::InvalidLogit { index: 1, .. })
        ));
        assert!(matches!(
            Categorical::from_logits(&[f64::INFINITY, 0.0]),
            Err(CoreError::InvalidLogit { index: 0, .. })
        ));
        assert_eq!(
            Categorical::from_logits(&[f64::NEG_INFINITY; 2]),
            Err(CoreError::AllImpossible)
        );
        assert!(matches!(
            Categorical::from_probs(&[0.5, -0.1, 0.6]),
            Err(CoreError::InvalidProbability { index: 1, .. })
        ));
        assert!(matches!(
            Categorical::from_probs(&[0.5, f64::NAN]),
            Err(CoreError::InvalidProbability { index: 1, .. })
        ));
        assert!(matches!(
            Categorical::from_probs(&[f64::INFINITY, 0.5]),
            Err(CoreError::InvalidProbability { index: 0, .. })
        ));
        assert_eq!(Categorical::from_probs(&[0.0, 0.0]), Err(CoreError::AllImpossible));
        assert!(matches!(
            Categorical::from_probs(&[0.5, 0.6]),
            Err(CoreError::NotNormalised { .. })
        ));
        let c = Categorical::from_probs(&[0.5, 0.0, 0.5]).unwrap();
        assert_eq!(c.check_observation(1), Err(CoreError::ImpossibleObservation { observed: 1 }));
        assert_eq!(
            c.check_observation(3),
            Err(CoreError::ObservationOutOfRange { observed: 3, len: 3 })
        );
        assert!(c.check_observation(2).is_ok());
    }
}
