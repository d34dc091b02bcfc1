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

    /// `jax.random.bits(key, (out.len(),))`, each word through a map, written into `out`: the pieces,
    /// of at most `blocks` Threefry blocks (two words) each, fill `out` between them when each is
    /// filled ([`BitsPiece::fill`]), in any order or on several threads at once.
    pub fn bits_pieces<T>(self, out: &mut [T], blocks: usize) -> Result<Vec<BitsPiece<'_, T>>> {
        let n =
            u32::try_from(out.len()).map_err(|_| too_many("a count of random words", out.len()))?;
        let blocks = blocks.max(1);
        let (first, second) = out.split_at_mut(n.div_ceil(2) as usize);
        // `second` is one word shorter than `first` for an odd n, so it may have one chunk fewer.
        let mut seconds = second.chunks_mut(blocks);
        Ok(first
            .chunks_mut(blocks)
            .enumerate()
            .map(|(chunk, first)| BitsPiece {
                key: self,
                n,
                start: (chunk * blocks) as u32,
                first,
                second: seconds.next().unwrap_or_default(),
            })
            .collect())
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
    let [[x0], [x1]] = threefry2x32_lanes(key, [[block[0]], [block[1]]]);
    [x0, x1]
}

/// Threefry-2x32 with 20 rounds of `L` blocks at once under one `key`: lane i encrypts the block
/// `[blocks[0][i], blocks[1][i]]`. Written over fixed-size arrays, with every rotation distance a
/// constant, so that each round's additions, rotations and xors compile to vector instructions across
/// the lanes; [`threefry2x32`] is its one-lane case.
#[inline]
fn threefry2x32_lanes<const L: usize>(key: [u32; 2], blocks: [[u32; L]; 2]) -> [[u32; L]; 2] {
    const R: [[u32; 4]; 2] = THREEFRY_ROTATIONS;
    let schedule = [key[0], key[1], key[0] ^ key[1] ^ THREEFRY_PARITY];
    let inject = |x: &mut [u32; L], word: u32| x.iter_mut().for_each(|v| *v = v.wrapping_add(word));
    let [mut x0, mut x1] = blocks;
    inject(&mut x0, schedule[0]);
    inject(&mut x1, schedule[1]);
    for injection in 1..=5u32 {
        // The four rounds before injection i rotate by group (i - 1) mod 2 of the distances.
        if injection % 2 == 1 {
            mix::<{ R[0][0] }, L>(&mut x0, &mut x1);
            mix::<{ R[0][1] }, L>(&mut x0, &mut x1);
            mix::<{ R[0][2] }, L>(&mut x0, &mut x1);
            mix::<{ R[0][3] }, L>(&mut x0, &mut x1);
        } else {
            mix::<{ R[1][0] }, L>(&mut x0, &mut x1);
            mix::<{ R[1][1] }, L>(&mut x0, &mut x1);
            mix::<{ R[1][2] }, L>(&mut x0, &mut x1);
            mix::<{ R[1][3] }, L>(&mut x0, &mut x1);
        }
        let i = injection as usize;
        inject(&mut x0, schedule[i % 3]);
        inject(&mut x1, schedule[(i + 1) % 3].wrapping_add(injection));
    }
    [x0, x1]
}

/// One round of Threefry-2x32 on every lane: x0 += x1, then x1 = (x1 <<< `ROTATION`) ^ x0.
#[inline(always)]
fn mix<const ROTATION: u32, const L: usize>(x0: &mut [u32; L], x1: &mut [u32; L]) {
    for (a, b) in x0.iter_mut().zip(x1.iter_mut()) {
        *a = a.wrapping_add(*b);
        *b = b.rotate_left(ROTATION) ^ *a;
    }
}

/// Blocks that [`BitsPiece::fill`] encrypts together. With 64 the compiler's loop vectoriser runs each
/// round over the lanes in SSE2 vectors (four lanes each), about four times the speed of one block at a
/// time; 16 lanes are unrolled into scalar code instead (measured with rustc 1.95 at opt-level 3).
pub const LANES: usize = 64;

/// Blocks `start..start + first.len()` of `jax.random.bits(key, (n,))` and the places of their words
/// ([`JaxKey::bits_pieces`]): block b's first word, word b, goes to `first[b - start]`; its second
/// word, word b + ceil(n / 2), to `second[b - start]` where `second` has room (the zero pad of an odd
/// n has none).
pub struct BitsPiece<'a, T> {
    key: JaxKey,
    n: u32,
    start: u32,
    first: &'a mut [T],
    second: &'a mut [T],
}

impl<T> BitsPiece<'_, T> {
    /// Computes the piece's words, [`LANES`] blocks at a time, and writes each through `map` (e.g. to
    /// a uniform) into its place: the words of [`JaxKey::bits`], bit for bit.
    pub fn fill(self, map: impl Fn(u32) -> T) {
        let half = self.n.div_ceil(2);
        let seconds = self.second.len();
        for (group, firsts) in self.first.chunks_mut(LANES).enumerate() {
            let offset = group * LANES;
            // Lanes past the piece encrypt counts whose words are not written.
            let base = self.start.wrapping_add(offset as u32);
            let lows: [u32; LANES] = std::array::from_fn(|i| base.wrapping_add(i as u32));
            // The second word of block b counts b + half, or is the zero pad past n.
            let highs = lows.map(|b| {
                let high = b.wrapping_add(half);
                if high < self.n {
                    high
                } else {
                    0
                }
            });
            let [words0, words1] = threefry2x32_lanes(self.key.0, [lows, highs]);
            for (slot, &word) in firsts.iter_mut().zip(&words0) {
                *slot = map(word);
            }
            let (from, to) = (offset.min(seconds), (offset + LANES).min(seconds));
            for (slot, &word) in self.second[from..to].iter_mut().zip(&words1) {
                *slot = map(word);
            }
        }
    }
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
