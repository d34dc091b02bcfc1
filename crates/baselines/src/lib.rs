//! Non-learned couplings of two categoricals p and q, exact wherever a closed form exists: the
//! baselines the gadgets paper (shared/papers/001, Table 1 and Section 7.1) compares against.
//!
//! - [`independent`]: pi = p q^T.
//! - [`inverse_cdf`]: (F_p^-1(u), F_q^-1(u)) with one uniform u, in any [`OutcomeOrder`]: exact joint,
//!   mechanism, exact counterfactual and a rejection-free counterfactual sampler.
//! - [`maximal`]: P(x = y) = sum min(p, q): exact joint and sampler.
//! - [`lp`] and [`network_simplex`]: the optimal coupling for any cost matrix (the transportation
//!   simplex, or good_lp + microlp).
//! - [`order`]: outcome orders for the inverse-CDF coupling.
//! - [`authors`]: the authors' own streams, so that Table 1 is computed on their rewards: numpy's
//!   legacy MT19937, the rewards and fixed pair of Table 1 columns 3-4, and their "permuted" order
//!   (JAX's threefry numbers from `gumbel_core::jax_random`).
//!
//! Every coupling is a [`gumbel_core::Coupling`], so P(x != y), E[C] and Var[h(x) - h(y)] come exact
//! from its methods.

pub mod authors;
pub mod cdf;
pub mod error;
pub mod independent;
pub mod inverse_cdf;
pub mod lp;
pub mod maximal;
pub mod network_simplex;
pub mod order;
pub mod sampling;

pub use error::{BaselineError, Result};
pub use independent::independent_coupling;
pub use inverse_cdf::{inverse_cdf_coupling, InverseCdf};
pub use lp::{lp_optimal_coupling, lp_optimal_coupling_with, LpSolver};
pub use maximal::{maximal_coupling, Maximal};
pub use order::OutcomeOrder;
