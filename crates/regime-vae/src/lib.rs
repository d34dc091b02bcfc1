//! A discrete-latent VAE that infers unknown interventional regimes of a known-DAG SCM (seed 002,
//! "Autoregressive Variational Auto-Encoder for Causal Modeling"), with an EM reference.
//!
//! - [`scm`], [`dag`], [`mechanism`]: the synthetic data of the seed's Section 4.1.
//! - [`em`]: the closed-form EM reference over per-regime linear-Gaussian mechanisms.
//! - [`identify`]: the rule that names the observational regime (Section 2.1).
//! - [`vae`]: the VAE itself (tch).
//! - [`metrics`], [`assignment`], [`evaluate`]: held-out scores.

pub mod assignment;
pub mod dag;
pub mod em;
pub mod error;
pub mod evaluate;
pub mod identify;
pub mod kmeans;
pub mod linalg;
pub mod mechanism;
pub mod metrics;
pub mod scm;
pub mod study;
pub mod vae;

pub use error::{RegimeVaeError, Result};
