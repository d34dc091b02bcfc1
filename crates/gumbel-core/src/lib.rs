//! Gumbel-max structural causal models (Oberst & Sontag 2019) and the exact quantities the gadgets
//! paper (shared/papers/001) only estimates.
//!
//! - [`Categorical`]: a validated distribution, held as log-probabilities (`-inf` = impossible).
//! - [`gumbel`]: Gumbel sampling, truncated Gumbels and the top-down posterior of the noise.
//! - [`mechanism`]: the Gumbel-max mechanism: shared-noise pairs, Monte Carlo couplings, counterfactuals.
//! - [`method`]: the [`method::Mechanism`] trait every coupling method implements, exact or sampled.
//! - [`exact`]: the closed-form joint of a Gumbel-max coupling and the exact counterfactual P(y | x).
//! - [`Coupling`] and [`CostMatrix`]: a K x K joint with its summaries (P(x != y), E[C], Var[h1(x) - h2(y)]).
//! - [`pairs`]: the distributions of logit pairs the paper trains and evaluates on.
//! - [`jax_random`]: JAX's threefry PRNG bit for bit.
//! - [`authors`]: the gadgets authors' own Table 1 pairs and estimates, drawn as their code draws them.
//! - [`hash`]: FNV-1a, the 64-bit hash of names and checksums.
//! - [`rng`]: seeding; every random result derives from an explicit `u64`.
//!
//! Invariant: this crate knows nothing of tch, LP solvers or I/O.
//!
//! # Example
//!
//! The exact Gumbel-max coupling of p = (0.7, 0.3) and q = (0.4, 0.6), and a counterfactual:
//!
//! ```
//! use gumbel_core::{exact, Categorical};
//!
//! let p = Categorical::from_probs(&[0.7, 0.3])?;
//! let q = Categorical::from_probs(&[0.4, 0.6])?;
//! let coupling = exact::gumbel_max_coupling(&p, &q)?;
//! // Rows sum to p and columns to q: it is a coupling.
//! coupling.check_marginals(&p, &q, 1e-12)?;
//! // q favours outcome 1 over 0 more than p does, so x = 1 never becomes y = 0
//! // (counterfactual stability), and the joint is [[0.4, 0.3], [0, 0.3]].
//! assert_eq!(coupling.joint()[[1, 0]], 0.0);
//! assert!((coupling.p_x_ne_y() - 0.3).abs() < 1e-12);
//! // x = 0 was seen under p; under q, y would have been 0 with probability 0.4 / 0.7.
//! let given_0 = exact::counterfactual_distribution(&p, &q, 0)?;
//! assert!((given_0[0] - 4.0 / 7.0).abs() < 1e-12);
//! # Ok::<(), gumbel_core::CoreError>(())
//! ```
//!
//! Runnable examples: `cargo run -p gumbel-core --example coupling` (exact and sampled joints) and
//! `--example counterfactual` (exact and sampled P(y | x)).

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
pub mod method;
pub mod montecarlo;
pub mod pairs;
pub mod rng;
pub mod shard;

pub use categorical::Categorical;
pub use cost::CostMatrix;
pub use coupling::Coupling;
pub use error::{CoreError, Result};
