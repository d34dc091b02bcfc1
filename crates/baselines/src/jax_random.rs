//! JAX's default pseudo-random numbers (`jax.random`, threefry, non-partitionable mode as in the
//! authors' jax 0.2.21 and up to 0.4.x), reproduced bit for bit so that the authors' fixed
//! permutation and evaluation pairs can be rebuilt exactly (official-gadgets.md sections 1 and 5).
//!
//! - `PRNGKey(seed)` = (seed >> 32, seed & 0xffffffff).
//! - The n words of a key are Threefry-2x32 (20 rounds, Salmon et al. 2011) of the counters 0..n,
//!   padded with one zero when n is odd, taken as two halves: word i and word i + n/2 come from the
//!   block (i, i + n/2).
//! - `split(key, n)`: key i is words 2i and 2i + 1 of the 2n words.
//! - `uniform(key, [n])` (float32): each word's top 23 bits as the mantissa of a float in [1, 2), minus 1.
//!
//! Checked against jax 0.4.30 in the tests below.

/// The Threefry-2x32 rotation constants, two alternating groups of four rounds.
const ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/// The Threefry-2x32 block function with 20 rounds on one counter pair.
fn threefry2x32(key: [u32; 2], counter: [u32; 2]) -> [u32; 2] {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD1_1BDA];
    let mut x = [counter[0].wrapping_add(ks[0]), counter[1].wrapping_add(ks[1])];
    for injection in 1..=5u32 {
        for &r in &ROTATIONS[((injection - 1) % 2) as usize] {
            x[0] = x[0].wrapping_add(x[1]);
            x[1] = x[1].rotate_left(r) ^ x[0];
        }
        let i = injection as usize;
        x[0] = x[0].wrapping_add(ks[i % 3]);
        x[1] = x[1].wrapping_add(ks[(i + 1) % 3]).wrapping_add(injection);
    }
    x
}

/// A `jax.random.PRNGKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JaxKey([u32; 2]);

impl JaxKey {
    /// `jax.random.PRNGKey(seed)`.
    pub fn new(seed: u64) -> Self {
        Self([(seed >> 32) as u32, seed as u32])
    }

    /// A key from its two words (as jax prints it).
    pub fn from_words(words: [u32; 2]) -> Self {
        Self(words)
    }

    /// The `n` random words of this key (`random_bits` with 32 bits per word).
    fn words(self, n: usize) -> Vec<u32> {
        let half = n.div_ceil(2);
        let counter = |i: usize| if i < n { i as u32 } else { 0 };
        let mut words = vec![0u32; 2 * half];
        for i in 0..half {
            let [a, b] = threefry2x32(self.0, [counter(i), counter(i + half)]);
            words[i] = a;
            words[i + half] = b;
        }
        words.truncate(n);
        words
    }

    /// `jax.random.split(key, n)`.
    pub fn split(self, n: usize) -> Vec<JaxKey> {
        self.words(2 * n).chunks_exact(2).map(|w| JaxKey([w[0], w[1]])).collect()
    }

    /// `jax.random.uniform(key, shape=[n])`: float32 in [0, 1).
    pub fn uniform(self, n: usize) -> Vec<f32> {
        self.words(n).into_iter().map(|w| f32::from_bits((w >> 9) | 0x3F80_0000) - 1.0).collect()
    }
}

/// `argsort(jax.random.uniform(PRNGKey(seed), [k]))` (stable): the authors' permutation of k outcomes.
pub fn uniform_argsort(k: usize, seed: u64) -> Vec<usize> {
    let u = JaxKey::new(seed).uniform(k);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| u[a].total_cmp(&u[b]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_jax_bit_for_bit() {
        // Values printed by jax 0.4.30: jax.random.uniform(jax.random.PRNGKey(seed), shape=[k]).
        let widen = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let expected = [
            0.20243525505065918,
            0.9623256921768188,
            0.060886263847351074,
            0.9847663640975952,
            0.8375757932662964,
            0.0591200590133667,
            0.022907614707946777,
        ];
        assert_eq!(widen(JaxKey::new(1).uniform(7)), expected);
        assert_eq!(widen(JaxKey::new(1).uniform(3)), [0.5685524940490723, 0.2586038112640381, 0.8893296718597412]);
        assert_eq!(uniform_argsort(10, 1), [2, 5, 1, 8, 4, 3, 9, 0, 6, 7]);
        assert_eq!(uniform_argsort(10, 0), [3, 6, 7, 4, 0, 2, 5, 1, 9, 8]);
        assert_eq!(uniform_argsort(10, 2), [0, 3, 5, 4, 9, 6, 2, 7, 1, 8]);
        assert_eq!(uniform_argsort(5, 3), [0, 1, 4, 3, 2]);
        assert_eq!(uniform_argsort(12, 42), [4, 1, 8, 5, 11, 10, 2, 9, 7, 0, 6, 3]);
    }
}
