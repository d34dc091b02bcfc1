//! Parallel Monte Carlo that gives the same numbers for the same seed whatever the thread count.
//!
//! Samples are split into fixed chunks of [`CHUNK`]; chunk c draws from `rng::stream(seed, c)`, and
//! the per-chunk counts are summed (integer addition is order-free), so the result depends only on
//! the seed and the sample count.

use rayon::prelude::*;

use crate::rng::{stream, SeededRng};

/// Samples per chunk (one independent random stream each).
pub const CHUNK: u64 = 1 << 15;

/// Counts how often `draw` lands in each of `cells` cells over `samples` draws; `draw` returns a
/// cell index below `cells`.
pub fn count<F>(samples: u64, seed: u64, cells: usize, draw: F) -> Vec<u64>
where
    F: Fn(&mut SeededRng) -> usize + Sync,
{
    let chunks = samples.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = stream(seed, c);
            let n = CHUNK.min(samples - c * CHUNK);
            let mut counts = vec![0u64; cells];
            for _ in 0..n {
                counts[draw(&mut rng)] += 1;
            }
            counts
        })
        .reduce(
            || vec![0u64; cells],
            |mut acc, part| {
                acc.iter_mut().zip(part).for_each(|(a, b)| *a += b);
                acc
            },
        )
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn counts_do_not_depend_on_the_thread_count() {
        let draw = |rng: &mut SeededRng| rng.random_range(0..7usize);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| count(100_001, 9, 7, draw));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| count(100_001, 9, 7, draw));
        assert_eq!(one, three);
        assert_eq!(one.iter().sum::<u64>(), 100_001);
    }
}
