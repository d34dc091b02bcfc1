//! Distributions of logit pairs (p, q) that the gadgets are trained and evaluated on
//! (the paper's Sections 7.1 and 7.2; official-gadgets.md section 5).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::logspace::logsumexp;
use crate::rng::{stream, SeededRng};

/// A pair of logit vectors of one length; not necessarily normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitPair {
    /// Logits of p (observational).
    pub p: Vec<f64>,
    /// Logits of q (interventional).
    pub q: Vec<f64>,
}

/// A distribution over logit pairs of a fixed length K.
pub trait PairDistribution: Sync {
    /// K.
    fn outcomes(&self) -> usize;
    /// One pair.
    fn sample(&self, rng: &mut SeededRng) -> LogitPair;
    /// Whether every pair carries its own reward h (a pair file's reward column).
    fn has_rewards(&self) -> bool {
        false
    }
    /// One pair and its reward (None unless [`PairDistribution::has_rewards`]), drawn with the
    /// same randomness as [`PairDistribution::sample`]: the same pair from the same generator.
    fn sample_with_reward(&self, rng: &mut SeededRng) -> (LogitPair, Option<Vec<f64>>) {
        (self.sample(rng), None)
    }
}

/// `n` pairs from `seed`: pair i is drawn from stream i, so any prefix is the same whatever `n`.
pub fn sample_pairs(dist: &dyn PairDistribution, n: usize, seed: u64) -> Vec<LogitPair> {
    (0..n).map(|i| dist.sample(&mut stream(seed, i as u64))).collect()
}

/// The split of a pair file: row `index` (0-based) is held out when the first uniform of stream
/// (`seed`, `index`) lies below `fraction`, so each row's side depends only on its index and the seed,
/// never on the file's length or on the other rows.
pub fn held_out(seed: u64, index: usize, fraction: f64) -> bool {
    stream(seed, index as u64).random::<f64>() < fraction
}

/// The uniform distribution over a finite list of pairs (the training rows of a pair file), each
/// with its own reward when the file has a reward column.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pairs: Vec<LogitPair>,
    rewards: Option<Vec<Vec<f64>>>,
}

impl Rows {
    /// The uniform distribution over `pairs` (all of one K); an error when there are none.
    pub fn new(pairs: Vec<LogitPair>) -> crate::Result<Self> {
        if pairs.is_empty() {
            return Err(crate::CoreError::ZeroCount { what: "number of training rows" });
        }
        Ok(Self { pairs, rewards: None })
    }

    /// As [`Rows::new`], pair i carrying the reward `rewards[i]` (K values); an error when the
    /// counts or a reward's length differ.
    pub fn with_rewards(pairs: Vec<LogitPair>, rewards: Vec<Vec<f64>>) -> crate::Result<Self> {
        let rows = Self::new(pairs)?;
        let mismatch =
            |what, expected, found| crate::CoreError::LengthMismatch { what, expected, found };
        if rewards.len() != rows.pairs.len() {
            return Err(mismatch("rewards", rows.pairs.len(), rewards.len()));
        }
        if let Some(h) = rewards.iter().find(|h| h.len() != rows.outcomes()) {
            return Err(mismatch("reward", rows.outcomes(), h.len()));
        }
        Ok(Self { rewards: Some(rewards), ..rows })
    }
}

impl PairDistribution for Rows {
    fn outcomes(&self) -> usize {
        self.pairs[0].p.len()
    }

    fn sample(&self, rng: &mut SeededRng) -> LogitPair {
        self.sample_with_reward(rng).0
    }

    fn has_rewards(&self) -> bool {
        self.rewards.is_some()
    }

    fn sample_with_reward(&self, rng: &mut SeededRng) -> (LogitPair, Option<Vec<f64>>) {
        let i = rng.random_range(0..self.pairs.len());
        (self.pairs[i].clone(), self.rewards.as_ref().map(|h| h[i].clone()))
    }
}

/// How q relates to p in [`SoftmaxUniform`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairMode {
    /// p and q drawn independently.
    Independent,
    /// q is p reversed (the authors' "reverse" mode).
    Mirrored,
}

/// Section 7.2: l = log_softmax(scale * U[0, 1]^K), scale 8 in the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftmaxUniform {
    /// K (10 in the paper).
    pub outcomes: usize,
    /// The multiplier of the uniforms (8 in the paper).
    pub scale: f64,
    /// Independent or mirrored pairs.
    pub mode: PairMode,
}

impl SoftmaxUniform {
    /// The paper's setting: K = 10, scale 8.
    pub fn paper(mode: PairMode) -> Self {
        Self { outcomes: 10, scale: 8.0, mode }
    }

    fn draw(&self, rng: &mut SeededRng) -> Vec<f64> {
        let raw: Vec<f64> = (0..self.outcomes).map(|_| self.scale * rng.random::<f64>()).collect();
        log_softmax(&raw)
    }
}

impl PairDistribution for SoftmaxUniform {
    fn outcomes(&self) -> usize {
        self.outcomes
    }

    fn sample(&self, rng: &mut SeededRng) -> LogitPair {
        let p = self.draw(rng);
        let q = match self.mode {
            PairMode::Independent => self.draw(rng),
            PairMode::Mirrored => p.iter().rev().copied().collect(),
        };
        LogitPair { p, q }
    }
}

/// Section 7.1: p = base (k - (K-1)/2) + noise N(0, 1), q = -base (k - (K-1)/2) + noise N(0, 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// K (10 in the paper).
    pub outcomes: usize,
    /// The slope (0.1 in the paper).
    pub base_scale: f64,
    /// rho, the scale of the Gaussian perturbation.
    pub noise: f64,
}

impl Ramp {
    /// The noise-free pair the paper evaluates on.
    pub fn noise_free(&self) -> LogitPair {
        let centre = (self.outcomes as f64 - 1.0) / 2.0;
        let p: Vec<f64> =
            (0..self.outcomes).map(|k| self.base_scale * (k as f64 - centre)).collect();
        let q = p.iter().map(|v| -v).collect();
        LogitPair { p, q }
    }
}

impl PairDistribution for Ramp {
    fn outcomes(&self) -> usize {
        self.outcomes
    }

    fn sample(&self, rng: &mut SeededRng) -> LogitPair {
        perturb(&self.noise_free(), self.noise, rng)
    }
}

/// Always the same pair, perturbed by `noise` N(0, 1) per logit (0 for a fixed pair).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedPair {
    /// The pair.
    pub pair: LogitPair,
    /// The scale of the Gaussian perturbation (0: no perturbation).
    pub noise: f64,
}

impl PairDistribution for FixedPair {
    fn outcomes(&self) -> usize {
        self.pair.p.len()
    }

    fn sample(&self, rng: &mut SeededRng) -> LogitPair {
        perturb(&self.pair, self.noise, rng)
    }
}

/// pair + noise N(0, 1) on every finite logit (-inf stays impossible).
fn perturb(pair: &LogitPair, noise: f64, rng: &mut SeededRng) -> LogitPair {
    if noise == 0.0 {
        return pair.clone();
    }
    let mut jitter = |v: &f64| {
        let z: f64 = StandardNormal.sample(rng);
        if v.is_finite() {
            v + noise * z
        } else {
            *v
        }
    };
    let p = pair.p.iter().map(&mut jitter).collect();
    let q = pair.q.iter().map(&mut jitter).collect();
    LogitPair { p, q }
}

/// l - logsumexp(l).
pub fn log_softmax(l: &[f64]) -> Vec<f64> {
    let norm = logsumexp(l);
    l.iter().map(|v| v - norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::from_seed;

    #[test]
    fn softmax_uniform_pairs_are_normalised_and_mirrored() {
        let mut rng = from_seed(0);
        let pair = SoftmaxUniform::paper(PairMode::Mirrored).sample(&mut rng);
        assert!(logsumexp(&pair.p).abs() < 1e-12);
        assert_eq!(pair.q, pair.p.iter().rev().copied().collect::<Vec<_>>());
        // log_softmax(8 U): the largest minus the smallest logit is below 8.
        let spread = pair.p.iter().copied().fold(f64::MIN, f64::max)
            - pair.p.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread < 8.0 && spread > 0.0);
    }

    #[test]
    fn ramp_is_antisymmetric_without_noise_and_sample_pairs_is_prefix_stable() {
        let ramp = Ramp { outcomes: 10, base_scale: 0.1, noise: 0.0 };
        let pair = ramp.noise_free();
        assert!((pair.p[0] + 0.45).abs() < 1e-15 && (pair.q[0] - 0.45).abs() < 1e-15);
        let noisy = Ramp { noise: 1.6, ..ramp };
        assert_eq!(sample_pairs(&noisy, 3, 5)[..2], sample_pairs(&noisy, 2, 5)[..]);
    }

    #[test]
    fn the_split_depends_on_seed_and_index_only_and_rows_are_drawn_uniformly() {
        let split = |seed| (0..4000).filter(|&i| held_out(seed, i, 0.25)).collect::<Vec<_>>();
        assert_eq!(split(9), split(9));
        assert_ne!(split(9), split(10));
        // Binomial(4000, 1/4): mean 1000, sd 27.4; 5 sd.
        assert!((split(9).len() as f64 - 1000.0).abs() < 5.0 * 27.4, "{}", split(9).len());
        assert!(Rows::new(Vec::new()).is_err());
        let pair = |v: f64| LogitPair { p: vec![v, 0.0], q: vec![0.0, v] };
        let rows = Rows::new(vec![pair(1.0), pair(2.0)]).unwrap();
        assert_eq!(rows.outcomes(), 2);
        let mut rng = from_seed(1);
        let ones = (0..4000).filter(|_| rows.sample(&mut rng) == pair(1.0)).count();
        // Binomial(4000, 1/2): sd 31.6; 5 sd.
        assert!((ones as f64 - 2000.0).abs() < 5.0 * 31.6, "{ones}");
    }

    #[test]
    fn rows_with_rewards_draw_each_pair_with_its_own_reward_and_the_same_pairs() {
        let pair = |v: f64| LogitPair { p: vec![v, 0.0], q: vec![0.0, v] };
        let pairs = vec![pair(1.0), pair(2.0), pair(3.0)];
        let reward = |v: f64| vec![v, -v];
        let plain = Rows::new(pairs.clone()).unwrap();
        let rewarded =
            Rows::with_rewards(pairs.clone(), vec![reward(1.0), reward(2.0), reward(3.0)]).unwrap();
        assert!(rewarded.has_rewards() && !plain.has_rewards());
        let (mut a, mut b) = (from_seed(4), from_seed(4));
        for _ in 0..50 {
            let (drawn, h) = rewarded.sample_with_reward(&mut a);
            assert_eq!(drawn, plain.sample(&mut b));
            assert_eq!(h, Some(reward(drawn.p[0])));
        }
        assert!(Rows::with_rewards(pairs.clone(), vec![reward(1.0)]).is_err());
        assert!(Rows::with_rewards(pairs, vec![reward(1.0), reward(2.0), vec![3.0]]).is_err());
    }
}
