//! The regime VAE on libtorch: settings, networks, training, ancestral sampling and counterfactuals.

pub mod config;
pub mod counterfactual;
pub mod model;
pub mod net;
pub mod sample;
pub mod tensor;

pub use config::{Estimator, LatentKind, Prior, VaeConfig, WarmStart};
pub use model::{ElboTerms, RegimeVae, TrainReport};
pub use sample::{Code, Intervention, Override};
