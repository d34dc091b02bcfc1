//! Helpers shared by the gadget tests: small architectures and 5-sigma comparisons.

#![allow(dead_code)]

use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::{Categorical, Coupling};
use tch::Device;

/// A small architecture for fast tests.
pub fn small(kind: GadgetKind, outcomes: usize, latent: usize) -> GadgetConfig {
    GadgetConfig { hidden: vec![32, 32], latent, ..GadgetConfig::paper(kind, outcomes) }
}

/// Every variable of a gadget, flattened, in name order.
pub fn weights(g: &Gadget) -> Vec<(String, Vec<f32>)> {
    let mut vars: Vec<_> = g.var_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .map(|(n, t)| (n, Vec::<f32>::try_from(t.flatten(0, -1)).expect("floats")))
        .collect()
}

/// A fresh gadget on the CPU.
pub fn gadget(config: GadgetConfig, seed: u64) -> Gadget {
    Gadget::new(config, Device::Cpu, seed).expect("valid configuration")
}

/// Devices to run on: the CPU, and CUDA when present.
pub fn devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    devices
}

/// Asserts that an empirical joint of `n` samples matches `exact` cell by cell within 5 binomial
/// standard errors (plus a small floor for cells of probability near zero).
pub fn assert_joint_close(estimate: &Coupling, exact: &Coupling, n: f64, extra_variance: f64) {
    for ((i, j), &e) in exact.joint().indexed_iter() {
        let found = estimate.joint()[[i, j]];
        let sigma = ((1.0 + extra_variance) * e * (1.0 - e) / n).sqrt();
        assert!(
            (found - e).abs() <= 5.0 * sigma + 1.0 / n,
            "cell ({i}, {j}): {found} vs {e} (5 sigma = {})",
            5.0 * sigma
        );
    }
}

/// A distribution from logits.
pub fn dist(logits: &[f64]) -> Categorical {
    Categorical::from_logits(logits).expect("valid logits")
}
