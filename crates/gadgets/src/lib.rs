//! Gadget 1 and Gadget 2: learned Gumbel-max causal mechanisms (shared/papers/001, Section 5;
//! supplement Appendices G-I) on libtorch through tch, on the CPU or a CUDA device.
//!
//! - [`GadgetConfig`] / [`Gadget`]: the architecture and a gadget's parameters on a device
//!   ([`DeviceChoice`]: `cpu`, `cuda`, `auto`).
//! - [`gadget1`], [`gadget2`]: the two mechanisms; marginals exact for any logits by construction.
//! - [`coupling`]: the coupling of a pair (Gadget 2 exactly, Gadget 1 by Monte Carlo) and the
//!   counterfactual distribution given an observation.
//! - [`train`]: training on a distribution of logit pairs and a cost, joint or counterfactual loss
//!   (x_obs ~ p, or one fixed observed outcome), with [`adam`]'s optimiser; the
//!   losses and finiteness checks come back from the device every N steps ([`readback`]).
//! - [`stack`]: R runs of one architecture trained together as one stacked network (for a GPU, where
//!   a step's kernel launches, not its arithmetic, set its time); [`footprint`]: how many fit on a
//!   device.
//! - [`checkpoint`]: saving and loading a trained gadget with its configuration and training record,
//!   as a `.safetensors` file that PyTorch reads (`safetensors.rs`); `Trainer::save_snapshot` /
//!   `Trainer::resume`: a run's state part-way, to continue it bit for bit after an interruption
//!   (`framing.rs`'s layout, which checkpoints of the earlier format share).
//!
//! Randomness (weights, noise, pairs) comes from gumbel-core's generators, never libtorch's global
//! one: the same seed gives the same numbers on every device. A training step's noise is JAX's
//! counter-based Threefry keyed by the seed and the step ([`noise::StepNoise`], [`threefry`]), made
//! on the device that trains.
//!
//! # Example
//!
//! Gadget 2's marginals are exact for any weights, so even an untrained gadget's exact coupling
//! has rows summing to p and columns to q. (`no_run`: a doctest runs from a temporary directory,
//! where the workspace's relative rpath does not reach libtorch; `examples/train_gadget2.rs`, whose
//! test `cargo test` runs, makes the same calls and checks the same marginals.)
//!
//! ```no_run
//! use gadgets::{Device, Gadget, GadgetConfig, GadgetKind};
//! use gumbel_core::Categorical;
//!
//! let config = GadgetConfig { hidden: vec![16], latent: 4, ..GadgetConfig::paper(GadgetKind::Gadget2, 3) };
//! let gadget = Gadget::new(config, Device::Cpu, 0)?;
//! let p = Categorical::from_probs(&[0.5, 0.2, 0.3])?;
//! let q = Categorical::from_probs(&[0.1, 0.3, 0.6])?;
//! let estimate = gadget.coupling(&p, &q, 0, 0)?; // exact: no samples needed
//! assert!(estimate.exact);
//! estimate.coupling.check_marginals(&p, &q, 1e-9)?;
//! # Ok::<(), gadgets::GadgetError>(())
//! ```
//!
//! Training one and using it: `cargo run -p gadgets --example train_gadget2`.

pub mod adam;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod coupling;
pub mod device;
pub mod error;
pub mod footprint;
mod framing;
pub mod gadget;
pub mod gadget1;
pub mod gadget2;
pub mod job;
pub mod mixture;
pub mod mlp;
pub mod noise;
pub mod readback;
mod safetensors;
mod snapshot;
pub mod stack;
mod step;
pub mod task;
pub mod threefry;
pub mod train;

pub use config::{GadgetConfig, GadgetKind};
pub use device::DeviceChoice;
pub use error::{GadgetError, Result};
pub use gadget::Gadget;
pub use job::{TrainJob, TrainRun};
pub use tch::Device;
