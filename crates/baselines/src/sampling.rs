//! Monte Carlo helpers shared by the mechanisms: an estimated joint or histogram from a pair or
//! outcome sampler (parallel, seeded, independent of the thread count), and a sampler for any
//! explicit joint.

use gumbel_core::rng::SeededRng;
use gumbel_core::{montecarlo, CoreError, Coupling};
use ndarray::Array2;

use crate::cdf::Cdf;
use crate::error::Result;

/// The empirical joint of `samples` pairs drawn by `draw` from `seed`; pairs lie in `0..k`.
pub fn estimate_coupling<F>(k: usize, samples: u64, seed: u64, draw: F) -> Result<Coupling>
where
    F: Fn(&mut SeededRng) -> (usize, usize) + Sync,
{
    if samples == 0 {
        return Err(CoreError::ZeroCount { what: "number of samples" }.into());
    }
    let counts = montecarlo::count(samples, seed, k * k, |rng| {
        let (x, y) = draw(rng);
        x * k + y
    });
    let counts = Array2::from_shape_vec((k, k), counts).map_err(|_| CoreError::Empty)?;
    Ok(Coupling::from_counts(&counts)?)
}

/// The empirical distribution of `samples` outcomes in `0..k` drawn by `draw` from `seed`.
pub fn histogram<F>(k: usize, samples: u64, seed: u64, draw: F) -> Result<Vec<f64>>
where
    F: Fn(&mut SeededRng) -> usize + Sync,
{
    if samples == 0 {
        return Err(CoreError::ZeroCount { what: "number of samples" }.into());
    }
    let counts = montecarlo::count(samples, seed, k, draw);
    Ok(counts.into_iter().map(|c| c as f64 / samples as f64).collect())
}

/// Draws pairs (x, y) straight from an explicit joint, by the inverse CDF of its K^2 cells in
/// row-major order (the sampler of the independent and LP-optimal couplings).
#[derive(Debug, Clone)]
pub struct JointSampler {
    k: usize,
    cells: Cdf,
}

impl JointSampler {
    /// The sampler of `coupling`.
    pub fn new(coupling: &Coupling) -> Self {
        let cells: Vec<f64> = coupling.joint().iter().copied().collect();
        Self { k: coupling.len(), cells: Cdf::in_index_order(&cells) }
    }

    /// One pair.
    pub fn sample_pair(&self, rng: &mut SeededRng) -> (usize, usize) {
        let cell = self.cells.sample(rng);
        (cell / self.k, cell % self.k)
    }

    /// The empirical joint of `samples` pairs from `seed`.
    pub fn estimate_coupling(&self, samples: u64, seed: u64) -> Result<Coupling> {
        estimate_coupling(self.k, samples, seed, |rng| self.sample_pair(rng))
    }
}
