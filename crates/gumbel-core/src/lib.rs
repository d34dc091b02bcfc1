//! Gumbel-max structural causal models (Oberst & Sontag 2019) and the exact quantities the gadgets
//! paper (shared/papers/001) only estimates.
//!
//! - [`Categorical`]: a validated distribution, held as log-probabilities (`-inf` = impossible).
//! - [`gumbel`]: Gumbel sampling, truncated Gumbels and the top-down posterior of the noise.
//! - [`mechanism`]: the Gumbel-max mechanism: shared-noise pairs, Monte Carlo couplings, counterfactuals.
//! - [`exact`]: the closed-form joint of a Gumbel-max coupling and the exact counterfactual P(y | x).
//! - [`Coupling`] and [`CostMatrix`]: a K x K joint with its summaries (P(x != y), E[C], Var[h1(x) - h2(y)]).
//! - [`pairs`]: the distributions of logit pairs the paper trains and evaluates on.
//! - [`jax_random`]: JAX's threefry PRNG bit for bit.
//! - [`authors`]: the gadgets authors' own Table 1 pairs and estimates, drawn as their code draws them.
//! - [`hash`]: FNV-1a, the 64-bit hash of names and checksums.
//! - [`rng`]: seeding; every random result derives from an explicit `u64`.
//!
//! Invariant: this crate knows nothing of tch, LP solvers or I/O.

pub mod authors;
pub mod categorical;
pub mod cost;
pub mod coupling;
pub mod error;
pub mod exact;
pub mod gumbel;
pub mod hash;
pub mod jax_random;
pub mod logspace;
pub mod mechanism;
pub mod montecarlo;
pub mod pairs;
pub mod rng;

pub use categorical::Categorical;
pub use cost::CostMatrix;
pub use coupling::Coupling;
pub use error::{CoreError, Result};
