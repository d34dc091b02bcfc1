//! The sepsis management simulator of Oberst & Sontag (2019), its exact MDP, and the Gumbel-max SCM
//! off-policy evaluation it was built for; the gadgets paper (shared/papers/001, Section 7.3) draws
//! its (p, q) pairs from it. Specification: shared/reference/sepsis-simulator.md.
//!
//! - [`state`], [`action`]: the 720 / 1440 / 146 state encodings and the eight actions.
//! - [`dynamics`]: the transition rules, once, as a branching process over uniform draws.
//! - [`initial`]: the exact initial distribution (rejection of absorbing starts included).
//! - [`kernel`]: the exact kernel [2][8][720][720] and its Monte Carlo estimate.
//! - [`mdp`], [`policy_iteration`]: sparse MDPs and pymdptoolbox's policy iteration.
//! - [`policy`], [`physician`]: stochastic policies and the planned epsilon-soft physician.
//! - [`trajectories`]: seeded parallel trajectories under any policy.
//! - [`evaluation`]: exact finite-horizon evaluation (expected return, P(death / none / discharge)).
//! - [`projected`]: the 146-state MDP estimated from trajectories and its RL policy.
//! - [`ope`]: observed, true, WIS, model-based and counterfactual estimates with bootstrap ranges.
//! - [`pairs`]: the Section 7.3 (p, q, s'_obs) pairs for the gadget study.
//!
//! Invariant: this crate does no I/O; the CLI and the reproduce crate write files.
//!
//! # Example
//!
//! An action is a = 4 abx + 2 vent + vaso, and every row of the exact transition kernel is a
//! distribution:
//!
//! ```
//! use sepsis_sim::kernel::SparseKernel;
//! use sepsis_sim::Action;
//!
//! let action = Action::from_bits(true, false, true); // antibiotics and vasopressors
//! assert_eq!(action.index(), 5);
//! let kernel = SparseKernel::exact();
//! let (_successors, probabilities) = kernel.row(false, action, 0);
//! assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! ```
//!
//! The off-policy study, runnable: `cargo run -p sepsis-sim --example off_policy`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod action;
pub mod bootstrap;
pub mod counterfactual;
pub mod dynamics;
pub mod error;
pub mod evaluation;
pub mod initial;
pub mod kernel;
pub mod mdp;
pub mod ope;
pub mod pairs;
pub mod physician;
pub mod policy;
pub mod policy_iteration;
pub mod projected;
pub mod state;
pub mod trajectories;

pub use action::Action;
pub use error::{Result, SepsisError};
pub use state::State;
