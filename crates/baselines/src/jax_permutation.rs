//! The authors' fixed outcome permutation, `argsort(jax.random.uniform(jax.random.PRNGKey(seed), [k]))`
//! (coupling_util.permuted_inverse_cdf_coupling, official-gadgets.md section 1), reproduced bit for bit
//! so that the permuted CDF^-1 rows of Table 1 are comparable number for number.
//!
//! JAX's default PRNG (non-partitionable mode, as in the authors' jax 0.2.21 and up to 0.4.x):
//! PRNGKey(seed) = (seed >> 32, seed & 0xffffffff); the k random words are Threefry-2x32 (20 rounds,
//! Salmon et al. 2011) of the counters 0..k (padded with one zero when k is odd) split into two halves;
//! a float32 uniform is the word's top 23 bits as a mantissa of [1, 2), minus 1. Checked against
//! jax 0.4.30 in the tests below.

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

/// `jax.random.uniform(PRNGKey(seed), shape=[k])` (float32 in [0, 1)), widened to f64.
pub fn jax_uniform(k: usize, seed: u32) -> Vec<f64> {
    let key = [0, seed];
    let half = k.div_ceil(2);
    let counter = |i: usize| if i < k { i as u32 } else { 0 };
    let mut words = vec![0u32; 2 * half];
    for i in 0..half {
        let [a, b] = threefry2x32(key, [counter(i), counter(i + half)]);
        words[i] = a;
        words[i + half] = b;
    }
    words.truncate(k);
    words.into_iter().map(|w| f64::from(f32::from_bits((w >> 9) | 0x3F80_0000) - 1.0)).collect()
}

/// The stable argsort of [`jax_uniform`]: the authors' permutation for `k` outcomes.
pub fn jax_uniform_argsort(k: usize, seed: u32) -> Vec<usize> {
    let u = jax_uniform(k, seed);
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
        let u = jax_uniform(7, 1);
        let expected = [
            0.20243525505065918,
            0.9623256921768188,
            0.060886263847351074,
            0.9847663640975952,
            0.8375757932662964,
            0.0591200590133667,
            0.022907614707946777,
        ];
        assert_eq!(u, expected);
        assert_eq!(jax_uniform(3, 1), [0.5685524940490723, 0.2586038112640381, 0.8893296718597412]);
        assert_eq!(jax_uniform_argsort(10, 1), [2, 5, 1, 8, 4, 3, 9, 0, 6, 7]);
        assert_eq!(jax_uniform_argsort(10, 0), [3, 6, 7, 4, 0, 2, 5, 1, 9, 8]);
        assert_eq!(jax_uniform_argsort(10, 2), [0, 3, 5, 4, 9, 6, 2, 7, 1, 8]);
        assert_eq!(jax_uniform_argsort(5, 3), [0, 1, 4, 3, 2]);
        assert_eq!(jax_uniform_argsort(12, 42), [4, 1, 8, 5, 11, 10, 2, 9, 7, 0, 6, 3]);
    }
}
