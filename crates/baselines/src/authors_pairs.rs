//! The authors' evaluation pairs of Table 1 columns 1-2, rebuilt from their JAX keys so that every
//! row compares with their per-seed numbers pair for pair (official-gadgets-numbers.md, Section 7.2).
//!
//! `evaluate_joint(seed)` splits `PRNGKey(seed)` into one key per pair, splits that key in two and
//! draws the pair from the first half with the notebook's `logit_pair_distribution_fn`:
//! l = log_softmax(8 U[0,1]^10) with U from `jax.random.uniform`; in independent mode p and q come
//! from the two halves of a further split, in mirrored ("reverse") mode p comes from the key itself
//! and q is p reversed. Evaluation seed s of Table 1 is 1000 + s, s = 1..5. The uniforms are the
//! authors' float32 values; the logits are computed from them in double precision.

use gumbel_core::pairs::{log_softmax, LogitPair, PairMode};

use crate::jax_random::JaxKey;

/// The multiplier of the uniforms (the paper's 8).
const SCALE: f64 = 8.0;

/// `softmax_uniform_logits(key, k)`: log_softmax(8 U^k).
fn softmax_uniform_logits(key: JaxKey, k: usize) -> Vec<f64> {
    let raw: Vec<f64> = key.uniform(k).into_iter().map(|u| SCALE * f64::from(u)).collect();
    log_softmax(&raw)
}

/// The notebook's `logit_pair_distribution_fn(key)` for `k` outcomes.
pub fn authors_pair(key: JaxKey, k: usize, mode: PairMode) -> LogitPair {
    match mode {
        PairMode::Independent => {
            let halves = key.split(2);
            LogitPair { p: softmax_uniform_logits(halves[0], k), q: softmax_uniform_logits(halves[1], k) }
        }
        PairMode::Mirrored => {
            let p = softmax_uniform_logits(key, k);
            let q = p.iter().rev().copied().collect();
            LogitPair { p, q }
        }
    }
}

/// The `n` pairs that `evaluate_joint(seed=seed, num_pairs=n)` scores, in its order.
pub fn authors_evaluation_pairs(seed: u64, n: usize, k: usize, mode: PairMode) -> Vec<LogitPair> {
    JaxKey::new(seed).split(n).into_iter().map(|key| authors_pair(key.split(2)[0], k, mode)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_the_authors_keys_and_logits() {
        // jax 0.4.30: jax.random.split(PRNGKey(1001), 3), the first half of splitting the third, and
        // jax.nn.log_softmax(8 * jax.random.uniform(that key, (10,))).
        let keys = JaxKey::new(1001).split(3);
        assert_eq!(keys[0], JaxKey::from_words([142_332_931, 1_916_513_005]));
        assert_eq!(keys[2], JaxKey::from_words([1_082_480_480, 739_406_855]));
        assert_eq!(keys[2].split(2)[0], JaxKey::from_words([403_187_192, 2_640_667_362]));
        let pairs = authors_evaluation_pairs(1001, 3, 10, PairMode::Mirrored);
        let expected = [-1.0552663803100586, -4.052414894104004, -6.943032264709473, -8.13827133178711];
        for (got, want) in [pairs[2].p[0], pairs[2].p[1], pairs[2].p[2], pairs[2].p[7]].iter().zip(expected) {
            assert!((got - want).abs() < 2e-6, "{got} vs {want} (float32 there)");
        }
        assert_eq!(pairs[2].q[0], pairs[2].p[9]);
    }
}
