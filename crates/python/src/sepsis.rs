//! `gumbel_gadgets.sepsis`: the sepsis simulator's kernel, off-policy evaluation study and the
//! Section 7.3 pairs (crates/sepsis-sim), with the arguments and JSON of `gumbel-gadgets sepsis`.

use ndarray::Array4;
use numpy::{IntoPyArray, PyArray4};
use pyo3::prelude::*;
use sepsis_sim::kernel::Kernel;
use sepsis_sim::ope::{off_policy_study, OpeConfig};
use sepsis_sim::pairs::{select_pairs, PairConfig};
use sepsis_sim::physician::{plan_physician, PlanningKernel};
use serde_json::json;

use crate::convert::json_to_python;
use crate::errors::{Error, Result};

/// Where the physician plans: the exact kernel, or a Monte Carlo one with `draws` per row.
fn planning(draws: Option<u64>, seed: u64) -> PlanningKernel {
    match draws {
        Some(draws) => PlanningKernel::MonteCarlo { draws, seed },
        None => PlanningKernel::Exact,
    }
}

/// The transition kernel P(s' | diabetes, action, s), float64 (2, 8, 720, 720): exact, or estimated
/// from `monte_carlo` simulator steps per row with `seed`.
#[pyfunction]
#[pyo3(name = "sepsis_kernel", signature = (*, monte_carlo=None, seed=0))]
pub fn kernel(
    py: Python<'_>,
    monte_carlo: Option<u64>,
    seed: u64,
) -> PyResult<Bound<'_, PyArray4<f64>>> {
    let values = py.detach(|| -> Result<Vec<f64>> {
        let kernel = match monte_carlo {
            Some(draws) => Kernel::monte_carlo(draws, seed)?,
            None => Kernel::exact(),
        };
        Ok(kernel.as_slice().to_vec())
    })?;
    let array = Array4::from_shape_vec(Kernel::SHAPE, values)
        .map_err(|e| Error::Other(format!("the kernel does not have its shape: {e}")))?;
    Ok(array.into_pyarray(py))
}

/// The physician's exact outcomes and the off-policy estimates of the RL policy: the JSON of
/// `gumbel-gadgets sepsis evaluate` as a dict.
#[pyfunction]
#[pyo3(
    name = "sepsis_evaluate",
    signature = (*, trajectories=1000, seed=0, cf_samples=5, bootstrap=100, plan_monte_carlo=None, plan_seed=0)
)]
pub fn evaluate(
    py: Python<'_>,
    trajectories: usize,
    seed: u64,
    cf_samples: usize,
    bootstrap: usize,
    plan_monte_carlo: Option<u64>,
    plan_seed: u64,
) -> PyResult<Bound<'_, PyAny>> {
    let value = py.detach(|| -> Result<serde_json::Value> {
        let config = OpeConfig { trajectories, cf_samples, bootstrap, ..OpeConfig::paper(seed) };
        let study = off_policy_study(planning(plan_monte_carlo, plan_seed), &config)?;
        Ok(serde_json::to_value(study)?)
    })?;
    json_to_python(py, &value)
}

/// The Section 7.3 (p, q, s'_obs) pairs of the gadgets paper: the JSON of `gumbel-gadgets sepsis
/// pairs` as a dict.
#[pyfunction]
#[pyo3(
    name = "sepsis_pairs",
    signature = (*, trajectories=20_000, pairs=6, seed=0, plan_monte_carlo=None, plan_seed=0)
)]
pub fn pairs(
    py: Python<'_>,
    trajectories: usize,
    pairs: usize,
    seed: u64,
    plan_monte_carlo: Option<u64>,
    plan_seed: u64,
) -> PyResult<Bound<'_, PyAny>> {
    let value = py.detach(|| -> Result<serde_json::Value> {
        let physician = plan_physician(&planning(plan_monte_carlo, plan_seed).build()?)?;
        let config = PairConfig { trajectories, pairs, ..PairConfig::paper(seed) };
        let selection = select_pairs(&physician.policy, &config)?;
        Ok(json!({"config": config, "candidates": selection.candidates, "pairs": selection.pairs}))
    })?;
    json_to_python(py, &value)
}
