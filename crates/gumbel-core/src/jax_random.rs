//! JAX's default PRNG (threefry-2x32) re-implemented bit for bit; [`crate::authors`] draws the gadgets
//! authors' own Table 1 pairs with it.
//!
//! The bit layout is JAX's original ("non-partitionable") one: the
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

use crate::error::{CoreError, Result};

/// Threefry's key-schedule parity constant.
pub const THREEFRY_PARITY: u32 = 0x1BD1_1BDA;
/// The rotation distances of Threefry-2x32, in two alternating groups of four rounds.
pub const THREEFRY_ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

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

#[cfg(test)]
mod tests;
