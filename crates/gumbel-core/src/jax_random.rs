//! JAX's default PRNG (threefry-2x32) re-implemented bit for bit, and the gadgets authors' Table 1
//! evaluation pairs drawn with it.
//!
//! The paper's Table 1 (columns 1-2, Section 7.2) averages each coupling's E[(x - y)^2] over 10,000
//! pairs per evaluation seed 1001..1005, drawn by the authors' `evaluate_joint` with JAX 0.2.21. Those
//! 10,000 pairs are one particular sample: the per-seed numbers the authors printed (for instance
//! 16.5083 for the independent coupling, seed 1001) are reproduced to 1e-4 only on *their* pairs, which
//! [`evaluation_pairs`] regenerates. The bit layout is JAX's original ("non-partitionable") one: the
//! only one in the authors' JAX 0.2.21, the default until JAX 0.5, `jax_threefry_partitionable=False`
//! since. It is pinned by golden values from JAX itself (data/fixtures/jax_random_golden.json and the
//! script beside it).
//!
//! What JAX does, and this module after it:
//! - a key is two `u32` words; `PRNGKey(seed)` is `[seed >> 32, seed & 0xFFFF_FFFF]`;
//! - `threefry_2x32(key, counts)`: the n counts (padded with one 0 when n is odd) are cut into two
//!   halves that enter Threefry-2x32 (20 rounds, Salmon et al. 2011) as the two words of a block; the
//!   output is the first words of every block followed by the second words (the pad dropped);
//! - `random_bits(key, n)` = `threefry_2x32(key, 0..n)`; `split(key, m)` = `random_bits(key, 2m)` read
//!   as m consecutive pairs; `fold_in(key, d)` = the block `[0, d]` encrypted under the key;
//! - `uniform(key, n)`: the top 23 bits of each word as the mantissa of a float32 in [1, 2), minus 1;
//! - `gumbel(key, n)` = `-log(-log(u))` with u uniform on [tiny, 1).

use ndarray::Array2;

use crate::error::{CoreError, Result};
use crate::logspace::argmax;
use crate::pairs::{log_softmax, LogitPair, PairMode, SoftmaxUniform};
use crate::Coupling;

/// Threefry's key-schedule parity constant.
pub const THREEFRY_PARITY: u32 = 0x1BD1_1BDA;
/// The rotation distances of Threefry-2x32, in two alternating groups of four rounds.
pub const THREEFRY_ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];
/// The seed of the permutation in the authors' `permuted_inverse_cdf_coupling`.
const PERMUTATION_SEED: u64 = 1;
/// The seed of the authors' "fixed" pair (`fixed_p_q_seed`).
const FIXED_PAIR_SEED: u64 = 123_456;

/// A JAX PRNG key (the `uint32[2]` of `jax.random.PRNGKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JaxKey(pub [u32; 2]);

impl JaxKey {
    /// `jax.random.PRNGKey(seed)`: the high and the low 32 bits (for seeds below 2^32, the only ones
    /// JAX accepts without `jax_enable_x64`, the first word is 0).
    pub fn from_seed(seed: u64) -> Self {
        Self([(seed >> 32) as u32, seed as u32])
    }

    /// `jax.random.bits(key, (n,))`: n 32-bit words.
    pub fn bits(self, n: usize) -> Result<Vec<u32>> {
        let count = u32::try_from(n).map_err(|_| too_many("a count of random words", n))?;
        let half = count.div_ceil(2);
        let (mut first, mut second) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for lane in 0..half {
            // Counts past n are the single zero pad of an odd n.
            let high = if lane + half < count { lane + half } else { 0 };
            let [a, b] = threefry2x32(self.0, [lane, high]);
            first.push(a);
            second.push(b);
        }
        first.extend(second);
        first.truncate(n);
        Ok(first)
    }

    /// `jax.random.fold_in(key, data)`: a new key made from this one and 32 bits of data, the Threefry
    /// block `[0, data]` encrypted under the key (`threefry_2x32(key, threefry_seed(data))` in JAX).
    pub fn fold_in(self, data: u32) -> Self {
        Self(threefry2x32(self.0, [0, data]))
    }

    /// `jax.random.split(key, num)`: `num` new keys.
    pub fn split(self, num: usize) -> Result<Vec<JaxKey>> {
        let words =
            self.bits(num.checked_mul(2).ok_or_else(|| too_many("a number of keys", num))?)?;
        Ok(words.chunks_exact(2).map(|w| JaxKey([w[0], w[1]])).collect())
    }

    /// `jax.random.uniform(key, (n,))` in float32: multiples of 2^-23 in [0, 1).
    pub fn uniform(self, n: usize) -> Result<Vec<f32>> {
        Ok(self.bits(n)?.into_iter().map(unit_float).collect())
    }

    /// `jax.random.gumbel(key, (n,))`: -log(-log(u)), u uniform on [f32::MIN_POSITIVE, 1). JAX takes
    /// the logarithms in float32; here they are taken in f64 of the same u, which differs by rounding.
    pub fn gumbel(self, n: usize) -> Result<Vec<f64>> {
        Ok(self
            .uniform(n)?
            .into_iter()
            .map(|u| -(-f64::from(u.max(f32::MIN_POSITIVE)).ln()).ln())
            .collect())
    }
}

/// The Threefry-2x32 block function with 20 rounds: the two-word `block` encrypted under `key`.
pub fn threefry2x32(key: [u32; 2], block: [u32; 2]) -> [u32; 2] {
    let schedule = [key[0], key[1], key[0] ^ key[1] ^ THREEFRY_PARITY];
    let [mut x0, mut x1] = [block[0].wrapping_add(schedule[0]), block[1].wrapping_add(schedule[1])];
    for injection in 1..=5u32 {
        for &r in &THREEFRY_ROTATIONS[((injection - 1) % 2) as usize] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r) ^ x0;
        }
        let i = injection as usize;
        x0 = x0.wrapping_add(schedule[i % 3]);
        x1 = x1.wrapping_add(schedule[(i + 1) % 3]).wrapping_add(injection);
    }
    [x0, x1]
}

/// The float32 in [0, 1) that JAX's `uniform` makes of a word: its top 23 bits as the mantissa of a
/// number in [1, 2), minus one.
fn unit_float(word: u32) -> f32 {
    f32::from_bits((word >> 9) | 1.0f32.to_bits()) - 1.0
}

fn too_many(what: &'static str, requested: usize) -> CoreError {
    CoreError::CountTooLarge { what, requested, max: u32::MAX as usize }
}

/// The permutation of the authors' permuted inverse-CDF coupling (`permuted_inverse_cdf_coupling`,
/// `permutation_seed=1`): `argsort(uniform(PRNGKey(1), K))`, a stable sort. For K = 10 it is
/// [2, 5, 1, 8, 4, 3, 9, 0, 6, 7]; the coupling lays out the outcomes perm[0], perm[1], ... along the
/// unit interval, the same order for p and q.
pub fn permuted_icdf_permutation(outcomes: usize) -> Result<Vec<usize>> {
    let u = JaxKey::from_seed(PERMUTATION_SEED).uniform(outcomes)?;
    let mut order: Vec<usize> = (0..outcomes).collect();
    order.sort_by(|&a, &b| u[a].total_cmp(&u[b]));
    Ok(order)
}

/// One logit vector of the authors' `softmax_uniform_logits`: log_softmax(scale U[0,1]^K) with JAX's
/// float32 uniforms. The product and the log-softmax are taken in f64 (for scale 8 the product is the
/// authors' float32 value exactly; their float32 log-softmax differs from this one by under 1e-6).
fn softmax_uniform_logits(key: JaxKey, dist: &SoftmaxUniform) -> Result<Vec<f64>> {
    let raw: Vec<f64> =
        key.uniform(dist.outcomes)?.into_iter().map(|u| dist.scale * f64::from(u)).collect();
    Ok(log_softmax(&raw))
}

/// The authors' `softmax_uniform_logit_pair_distribution_fn` for one key: "independent" draws p and q
/// from the two halves of `split(key)`, "reverse" (our mirrored) draws p from the key itself.
fn pair_from_key(key: JaxKey, dist: &SoftmaxUniform) -> Result<LogitPair> {
    match dist.mode {
        PairMode::Independent => {
            let keys = key.split(2)?;
            Ok(LogitPair {
                p: softmax_uniform_logits(keys[0], dist)?,
                q: softmax_uniform_logits(keys[1], dist)?,
            })
        }
        PairMode::Mirrored => {
            let p = softmax_uniform_logits(key, dist)?;
            let q = p.iter().rev().copied().collect();
            Ok(LogitPair { p, q })
        }
    }
}

/// The per-pair keys of the authors' `evaluate_joint(..., seed, num_pairs)`: pair i gets
/// `split(split(PRNGKey(seed), num_pairs)[i], 2)` = (k1, k2); k1 draws the pair, k2 the samples of a
/// sampled coupling.
fn evaluation_keys(seed: u64, num_pairs: usize) -> Result<Vec<(JaxKey, JaxKey)>> {
    JaxKey::from_seed(seed)
        .split(num_pairs)?
        .into_iter()
        .map(|key| key.split(2).map(|k| (k[0], k[1])))
        .collect()
}

/// The authors' evaluation pairs: the `num_pairs` logit pairs their `evaluate_joint` scores every
/// coupling on for evaluation seed `seed` (Table 1 columns 1-2: `SoftmaxUniform::paper(mode)`, seeds
/// 1001..1005, 10,000 pairs). Pair i depends on `num_pairs` (JAX's split is not prefix-stable).
pub fn evaluation_pairs(
    dist: &SoftmaxUniform,
    seed: u64,
    num_pairs: usize,
) -> Result<Vec<LogitPair>> {
    if dist.outcomes == 0 {
        return Err(CoreError::Empty);
    }
    evaluation_keys(seed, num_pairs)?.into_iter().map(|(k1, _)| pair_from_key(k1, dist)).collect()
}

/// The authors' "fixed" pair (`p_q_mode="fixed"`): drawn as an independent pair from PRNGKey(123456),
/// whatever the mode of `dist`.
pub fn fixed_pair(dist: &SoftmaxUniform) -> Result<LogitPair> {
    if dist.outcomes == 0 {
        return Err(CoreError::Empty);
    }
    pair_from_key(
        JaxKey::from_seed(FIXED_PAIR_SEED),
        &SoftmaxUniform { mode: PairMode::Independent, ..*dist },
    )
}

/// The authors' Gumbel-max baseline as they estimate it per pair (`joint_from_samples` of
/// `gumbel_max_sampler`, no `loop_size`): for each of `split(key, num_samples)` one shared Gumbel
/// vector g, and the pair (argmax(g + p), argmax(g + q)).
pub fn gumbel_max_estimate(pair: &LogitPair, key: JaxKey, num_samples: usize) -> Result<Coupling> {
    let k = pair.p.len();
    if pair.q.len() != k {
        return Err(CoreError::LengthMismatch {
            what: "q logits",
            expected: k,
            found: pair.q.len(),
        });
    }
    let mut counts = Array2::<u64>::zeros((k, k));
    for sample_key in key.split(num_samples)? {
        let g = sample_key.gumbel(k)?;
        let shifted = |l: &[f64]| -> Vec<f64> { l.iter().zip(&g).map(|(a, b)| a + b).collect() };
        counts[[argmax(&shifted(&pair.p)), argmax(&shifted(&pair.q))]] += 1;
    }
    Coupling::from_counts(&counts)
}

/// The sample keys k2 that go with [`evaluation_pairs`] (same `seed` and `num_pairs`), for
/// [`gumbel_max_estimate`].
pub fn evaluation_sample_keys(seed: u64, num_pairs: usize) -> Result<Vec<JaxKey>> {
    Ok(evaluation_keys(seed, num_pairs)?.into_iter().map(|(_, k2)| k2).collect())
}

#[cfg(test)]
mod tests;
