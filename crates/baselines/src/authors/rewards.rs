//! The fixed pair and the random rewards of Table 1 columns 3-4 (paper Section 7.2, second part;
//! gadgets-part2.md section 1): the paper's "fixed inc/dec" pair is, in the authors' code,
//! p_logits = (K, ..., 1) / 4 and q_logits = (0, ..., K-1) / 4; per trial t a monotone reward
//! h = cumsum(U[0,1]^K) and then a non-monotone one h = sin(30 N(0,1)^K), both from one stream.

use gumbel_core::rng::stream;
use gumbel_core::Categorical;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::numpy_legacy::RandomState;
use crate::error::Result;

/// Where the rewards of a trial come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardStream {
    /// The authors' draws: numpy's legacy `RandomState(t)` for trial t (number-for-number comparable).
    NumpyLegacy,
    /// This workspace's generator: `rng::stream(seed, t)` for trial t.
    Seeded(u64),
}

/// The two rewards of one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRewards {
    /// h = cumsum(u), u ~ U[0, 1)^K: increasing in the outcome index.
    pub monotone: Vec<f64>,
    /// h = sin(30 z), z ~ N(0, 1)^K.
    pub non_monotone: Vec<f64>,
}

/// The rewards of trial `trial` for `k` outcomes: the uniforms first, then the normals.
pub fn trial_rewards(source: RewardStream, trial: u32, k: usize) -> TrialRewards {
    let (u, z) = match source {
        RewardStream::NumpyLegacy => {
            let mut rs = RandomState::new(trial);
            let u = rs.rand(k);
            (u, rs.normal(0.0, 1.0, k))
        }
        RewardStream::Seeded(seed) => {
            let mut rng = stream(seed, u64::from(trial));
            let u: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
            (u, (0..k).map(|_| StandardNormal.sample(&mut rng)).collect())
        }
    };
    let monotone = u
        .iter()
        .scan(0.0, |sum, v| {
            *sum += v;
            Some(*sum)
        })
        .collect();
    TrialRewards { monotone, non_monotone: z.iter().map(|v| (30.0 * v).sin()).collect() }
}

/// The fixed pair of columns 3-4: p from logits (K, K-1, ..., 1) / 4 (decreasing probabilities) and
/// q from (0, 1, ..., K-1) / 4 (increasing; q is p reversed).
pub fn fixed_inc_dec_pair(k: usize) -> Result<(Categorical, Categorical)> {
    let p_logits: Vec<f64> = (0..k).map(|i| (k - i) as f64 / 4.0).collect();
    let q_logits: Vec<f64> = (0..k).map(|i| i as f64 / 4.0).collect();
    Ok((Categorical::from_logits(&p_logits)?, Categorical::from_logits(&q_logits)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_zero_matches_the_authors_rewards() {
        let r = trial_rewards(RewardStream::NumpyLegacy, 0, 10);
        // gadgets-part2.md: trial 0 monotone h = [0.5488, 1.264, 1.8668, ..., 6.1577]; numpy prints
        // the last as 6.157662833145425 and sin(30 z) as below.
        assert!((r.monotone[9] - 6.157662833145425).abs() < 1e-14);
        assert!((r.monotone[2] - 1.8667662463713883).abs() < 1e-14);
        assert!((r.non_monotone[0] - -0.9244972135372894).abs() < 1e-12);
        assert!((r.non_monotone[9] - -0.4707414259176863).abs() < 1e-12);
        let (p, q) = fixed_inc_dec_pair(10).unwrap();
        assert!((p.prob(0) - 0.24098).abs() < 1e-5 && (p.prob(9) - 0.02540).abs() < 1e-5);
        assert!((q.prob(9) - p.prob(0)).abs() < 1e-15);
        let seeded = trial_rewards(RewardStream::Seeded(3), 0, 10);
        assert_eq!(seeded, trial_rewards(RewardStream::Seeded(3), 0, 10));
        assert!(seeded.monotone.windows(2).all(|w| w[0] <= w[1]));
    }
}
