//! Gadget 1 and Gadget 2: learned Gumbel-max causal mechanisms (shared/papers/001, Section 5;
//! supplement Appendices G-I) on libtorch through tch, on the CPU or a CUDA device.
//!
//! - [`GadgetConfig`] / [`Gadget`]: the architecture and a gadget's parameters on a device
//!   ([`DeviceChoice`]: `cpu`, `cuda`, `auto`).
//! - [`gadget1`], [`gadget2`]: the two mechanisms; marginals exact for any logits by construction.
//! - [`coupling`]: the coupling of a pair (Gadget 2 exactly, Gadget 1 by Monte Carlo) and the
//!   counterfactual distribution given an observation.
//! - [`train`]: training on a distribution of logit pairs and a cost, joint or counterfactual loss
//!   (x_obs ~ p, or one fixed observed outcome), with [`adam`]'s optimiser and its finiteness checks.
//! - [`stack`]: R runs of one architecture trained together as one stacked network (for a GPU, where
//!   a step's kernel launches, not its arithmetic, set its time).
//! - [`checkpoint`]: saving and loading a trained gadget with its configuration and metadata;
//!   `Trainer::save_snapshot` / `Trainer::resume`: a run's state part-way, to continue it bit for bit
//!   after an interruption (both files share one layout, `framing.rs`).
//!
//! Randomness (weights, noise, pairs) comes from gumbel-core's seeded generator, never libtorch's
//! global one: the same seed gives the same numbers on every device.

pub mod adam;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod coupling;
pub mod device;
pub mod error;
mod framing;
pub mod gadget;
pub mod gadget1;
pub mod gadget2;
pub mod job;
pub mod mixture;
pub mod mlp;
pub mod noise;
mod snapshot;
pub mod stack;
pub mod task;
pub mod train;

pub use config::{GadgetConfig, GadgetKind};
pub use device::DeviceChoice;
pub use error::{GadgetError, Result};
pub use gadget::Gadget;
pub use job::{TrainJob, TrainRun};
pub use tch::Device;
