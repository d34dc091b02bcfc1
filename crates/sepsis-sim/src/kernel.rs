//! The transition kernel P[diabetes][action][s][s'] over the 720 obs states: exact, by enumerating
//! the rules of [`crate::dynamics`], or estimated by Monte Carlo as the authors did (10,000 simulator
//! steps per entry in learn_mdp_parameters.ipynb).
//!
//! Dense layout: row (d, a, s) starts at ((d * 8 + a) * 720 + s) * 720, matching a C-order array of
//! shape (2, 8, 720, 720). [`SparseKernel`] holds the same rows as (s', p) lists (at most a few dozen
//! successors each) for planning and exact evaluation.

use gumbel_core::rng::stream;
use rayon::prelude::*;

use crate::action::{Action, N_ACTIONS};
use crate::dynamics::{outcomes, step, UniformDraw};
use crate::error::{Result, SepsisError};
use crate::mdp::ROW_SUM_TOLERANCE;
use crate::state::{State, N_OBS};

/// Number of rows (diabetes, action, state).
pub const N_ROWS: usize = 2 * N_ACTIONS * N_OBS;

/// The row number of (diabetes, action, state).
pub fn row_index(diabetic: bool, action: Action, state: usize) -> usize {
    (usize::from(diabetic) * N_ACTIONS + action.index()) * N_OBS + state
}

/// The (diabetes, action, state) of a row number below [`N_ROWS`].
fn row_key(row: usize) -> (bool, Action, State) {
    let s = row % N_OBS;
    let a = row / N_OBS % N_ACTIONS;
    (row / (N_OBS * N_ACTIONS) == 1, Action::from_index_unchecked(a), State::from_obs_unchecked(s))
}

/// The Monte Carlo estimate of one row from `draws` simulator steps drawn from
/// `stream(seed, row_index(diabetic, action, state))`: row r of [`Kernel::monte_carlo`].
pub fn monte_carlo_row(
    diabetic: bool,
    action: Action,
    state: State,
    draws: u64,
    seed: u64,
) -> Vec<f64> {
    let mut rng = stream(seed, row_index(diabetic, action, state.obs_index()) as u64);
    let mut counts = vec![0u64; N_OBS];
    for _ in 0..draws {
        counts[step(diabetic, state, action, &mut UniformDraw(&mut rng)).obs_index()] += 1;
    }
    counts.into_iter().map(|c| c as f64 / draws as f64).collect()
}

/// A dense kernel of shape (2, 8, 720, 720), C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    data: Vec<f64>,
}

impl Kernel {
    /// The shape (diabetes, action, state, next state).
    pub const SHAPE: [usize; 4] = [2, N_ACTIONS, N_OBS, N_OBS];

    /// The exact kernel.
    pub fn exact() -> Self {
        SparseKernel::exact().to_dense()
    }

    /// The Monte Carlo estimate from `draws` simulator steps per row; row r draws from
    /// `stream(seed, r)`, so the result depends on the seed only, not on the thread count.
    pub fn monte_carlo(draws: u64, seed: u64) -> Result<Self> {
        if draws == 0 {
            return Err(SepsisError::ZeroCount { what: "Monte Carlo draws per entry" });
        }
        let mut data = vec![0.0; N_ROWS * N_OBS];
        data.par_chunks_mut(N_OBS).enumerate().for_each(|(r, row)| {
            let (diabetic, action, state) = row_key(r);
            row.copy_from_slice(&monte_carlo_row(diabetic, action, state, draws, seed));
        });
        Ok(Self { data })
    }

    /// A kernel from its entries in C order of [`Kernel::SHAPE`] (for instance an .npy file read by
    /// the caller); every row must be a distribution.
    pub fn from_vec(data: Vec<f64>) -> Result<Self> {
        let expected = N_ROWS * N_OBS;
        if data.len() != expected {
            return Err(SepsisError::Parameter {
                what: "kernel length",
                value: data.len() as f64,
                expected: "2 * 8 * 720 * 720",
            });
        }
        for row in data.chunks(N_OBS) {
            let sum: f64 = row.iter().sum();
            if row.iter().any(|p| !(p.is_finite() && *p >= 0.0))
                || (sum - 1.0).abs() > ROW_SUM_TOLERANCE
            {
                return Err(SepsisError::Parameter {
                    what: "kernel row sum",
                    value: sum,
                    expected: "1",
                });
            }
        }
        Ok(Self { data })
    }

    /// The row P(. | s, a) of a patient with or without diabetes (`state` < 720, like a slice index).
    pub fn row(&self, diabetic: bool, action: Action, state: usize) -> &[f64] {
        let start = row_index(diabetic, action, state) * N_OBS;
        &self.data[start..start + N_OBS]
    }

    /// All entries in C order of [`Kernel::SHAPE`].
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The largest absolute difference between two kernels.
    pub fn max_abs_difference(&self, other: &Kernel) -> f64 {
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }

    /// The non-zero entries row by row.
    pub fn to_sparse(&self) -> SparseKernel {
        let mut builder = SparseKernel::builder();
        for row in self.data.chunks(N_OBS) {
            builder
                .push_row(row.iter().enumerate().filter(|(_, p)| **p > 0.0).map(|(j, p)| (j, *p)));
        }
        builder.finish()
    }
}

/// The kernel as sparse rows: row r holds (s', p) for every s' with p > 0, s' increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseKernel {
    offsets: Vec<usize>,
    targets: Vec<u16>,
    probs: Vec<f64>,
}

impl SparseKernel {
    /// The exact kernel, straight from the enumerated outcomes.
    pub fn exact() -> Self {
        let rows: Vec<Vec<(usize, f64)>> = (0..N_ROWS)
            .into_par_iter()
            .map(|r| {
                let (diabetic, action, state) = row_key(r);
                let mut row: Vec<(usize, f64)> = outcomes(diabetic, state, action)
                    .into_iter()
                    .map(|(p, s)| (s.obs_index(), p))
                    .collect();
                row.sort_by_key(|e| e.0);
                row
            })
            .collect();
        let mut builder = Self::builder();
        for row in rows {
            builder.push_row(row);
        }
        builder.finish()
    }

    fn builder() -> SparseBuilder {
        SparseBuilder(Self { offsets: vec![0], targets: Vec::new(), probs: Vec::new() })
    }

    /// The successors and probabilities of (diabetes, action, state) (`state` < 720, like a slice index).
    pub fn row(&self, diabetic: bool, action: Action, state: usize) -> (&[u16], &[f64]) {
        let r = row_index(diabetic, action, state);
        let (a, b) = (self.offsets[r], self.offsets[r + 1]);
        (&self.targets[a..b], &self.probs[a..b])
    }

    /// The number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.probs.len()
    }

    /// The dense kernel.
    pub fn to_dense(&self) -> Kernel {
        let mut data = vec![0.0; N_ROWS * N_OBS];
        for r in 0..N_ROWS {
            for k in self.offsets[r]..self.offsets[r + 1] {
                data[r * N_OBS + usize::from(self.targets[k])] = self.probs[k];
            }
        }
        Kernel { data }
    }
}

/// Appends rows to a [`SparseKernel`].
struct SparseBuilder(SparseKernel);

impl SparseBuilder {
    fn push_row(&mut self, entries: impl IntoIterator<Item = (usize, f64)>) {
        for (j, p) in entries {
            self.0.targets.push(j as u16);
            self.0.probs.push(p);
        }
        self.0.offsets.push(self.0.probs.len());
    }

    fn finish(self) -> SparseKernel {
        self.0
    }
}
