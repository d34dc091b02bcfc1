//! Non-learned couplings of two categoricals p and q, exact wherever a closed form exists: the
//! baselines the gadgets paper (shared/papers/001, Table 1 and Section 7.1) compares against.
//!
//! - [`independent`]: pi = p q^T.
//! - [`inverse_cdf`]: (F_p^-1(u), F_q^-1(u)) with one uniform u, in any [`OutcomeOrder`]: exact joint,
//!   mechanism, exact counterfactual and a rejection-free counterfactual sampler.
//! - [`maximal`]: P(x = y) = sum min(p, q): exact joint and sampler.
//! - [`lp`] and [`network_simplex`]: the optimal coupling for any cost matrix (the transportation
//!   simplex, or good_lp + microlp); [`improbable`]: its counterfactual row for an observation too
//!   improbable for the LP's own row, from the duals.
//! - [`mechanisms`]: each of them as a `gumbel_core::method::Mechanism`.
//! - [`order`]: outcome orders for the inverse-CDF coupling.
//! - [`authors`]: the authors' own streams, so that Table 1 is computed on their rewards: numpy's
//!   legacy MT19937, the rewards and fixed pair of Table 1 columns 3-4, and their "permuted" order
//!   (JAX's threefry numbers from `gumbel_core::jax_random`).
//!
//! Every coupling is a [`gumbel_core::Coupling`], so P(x != y), E[C] and Var[h(x) - h(y)] come exact
//! from its methods.
//!
//! # Example
//!
//! The maximal coupling reaches P(x != y) = 1 - sum_i min(p_i, q_i), below Gumbel-max's:
//!
//! ```
//! use baselines::maximal_coupling;
//! use gumbel_core::{exact, Categorical};
//!
//! let p = Categorical::from_probs(&[0.5, 0.3, 0.2])?;
//! let q = Categorical::from_probs(&[0.2, 0.3, 0.5])?;
//! let maximal = maximal_coupling(&p, &q)?;
//! maximal.check_marginals(&p, &q, 1e-12)?;
//! assert!((maximal.p_x_ne_y() - (1.0 - 0.2 - 0.3 - 0.2)).abs() < 1e-12);
//! let gumbel_max = exact::gumbel_max_coupling(&p, &q)?;
//! assert!(gumbel_max.p_x_ne_y() > maximal.p_x_ne_y());
//! # Ok::<(), baselines::BaselineError>(())
//! ```
//!
//! A runnable comparison of every coupling: `cargo run -p baselines --example compare_couplings`.

pub mod authors;
pub mod cdf;
pub mod error;
pub mod improbable;
pub mod independent;
pub mod inverse_cdf;
pub mod lp;
pub mod maximal;
pub mod mechanisms;
pub mod network_simplex;
pub mod order;
pub mod sampling;

pub use error::{BaselineError, Result};
pub use independent::independent_coupling;
pub use inverse_cdf::{inverse_cdf_coupling, InverseCdf};
pub use lp::{lp_optimal_coupling, lp_optimal_coupling_with, LpSolver};
pub use maximal::{maximal_coupling, Maximal};
pub use mechanisms::{Independent, InverseCdfMethod, LpOptimal, MaximalMethod, Order};
pub use order::OutcomeOrder;
