//! `gumbel_gadgets._native`: the Python bindings of the workspace, built with maturin into the
//! package `gumbel_gadgets` (crates/python/python/gumbel_gadgets re-exports it with stubs).
//!
//! The Rust code stays in the workspace crates; this crate converts numpy arrays and dicts in and
//! results out. The `methods` crate maps a method name to its mechanism, as for the CLI; [`convert`]
//! reads arguments; [`coupling`], [`counterfactual`], [`gadget`] and [`sepsis`] hold the functions
//! and result classes; [`errors`] maps every error to its Python exception. Long computations run
//! with the GIL released.

mod convert;
mod counterfactual;
mod coupling;
mod errors;
mod evaluate;
mod gadget;
mod sepsis;

use pyo3::prelude::*;

use crate::convert::ArrayArg;
use crate::coupling::Request;
use crate::errors::Error;
use crate::gadget::PyGadget;
use methods::Method;

/// The request of a method name and its options.
fn request<'a>(
    method: &str,
    order: Option<Vec<usize>>,
    permutation_seed: u64,
    gadget: Option<&'a PyGadget>,
    samples: Option<u64>,
    seed: u64,
) -> Result<Request<'a>, Error> {
    let method = Method::parse(method)?;
    Ok(Request {
        method,
        order,
        permutation_seed,
        gadget: gadget.map(PyGadget::inner),
        samples,
        seed,
    })
}

/// The joint pi(x, y) of a coupling of p (x's distribution) and q (y's), with P(x != y), the expected
/// cost E[C] = sum_ij pi(i, j) C_ij and, for a reward h (C_ij = (h_i - h_j)^2), Var[h(x) - h(y)].
///
/// gumbel-max: the Gumbel-max SCM, x = argmax(log p + g), y = argmax(log q + g) with one shared
/// g ~ Gumbel(0, 1)^K, its joint computed exactly in closed form; independent: p q^T; inverse-cdf:
/// (F_p^-1(u), F_q^-1(u)) with one uniform u (outcome `order`); permuted-inverse-cdf: after the
/// authors' permutation (`permutation_seed`); maximal: P(x = y) = sum_k min(p_k, q_k); lp-optimal:
/// the least E[C] by linear programming; gadget-1 / gadget-2: a trained `Gadget` (`gadget=`).
///
/// p, q: probabilities [K] (logits with logits=True; -inf marks an impossible outcome) or batches
/// [N, K] (returns Couplings). samples: estimate from this many shared-noise draws from `seed`
/// instead (pair i of a batch: seed + i). Returns a Coupling whose to_dict() equals the JSON of
/// `gumbel-gadgets couple`.
#[pyfunction(name = "couple")]
#[pyo3(signature = (
    p, q, method="gumbel-max", *, cost=None, reward=None, logits=false, samples=None, seed=0,
    order=None, permutation_seed=1, gadget=None
))]
#[allow(clippy::too_many_arguments)]
fn couple_py(
    py: Python<'_>,
    p: ArrayArg<'_>,
    q: ArrayArg<'_>,
    method: &str,
    cost: Option<ArrayArg<'_>>,
    reward: Option<ArrayArg<'_>>,
    logits: bool,
    samples: Option<u64>,
    seed: u64,
    order: Option<Vec<usize>>,
    permutation_seed: u64,
    gadget: Option<PyRef<'_, PyGadget>>,
) -> PyResult<Py<PyAny>> {
    let request = request(method, order, permutation_seed, gadget.as_deref(), samples, seed)?;
    coupling::couple(py, request, &p, &q, cost.as_ref(), reward.as_ref(), logits)
}

/// P(y | x = observed) under the counterfactual q: the mechanism's noise is drawn from its posterior
/// given x = observed under p, then y is computed from q with that noise (Gumbel-max: the top-down
/// Gumbel posterior, Oberst & Sontag 2019). Mechanisms only: gumbel-max, inverse-cdf,
/// permuted-inverse-cdf (exact), gadget-2 (exact), gadget-1 (a histogram of samples).
///
/// observed: an int, or for a batch [N, K] one int or N ints (returns Counterfactuals). samples: also
/// draw this many counterfactuals from `seed` and report their histogram as `sampled`. Returns a
/// Counterfactual whose to_dict() equals the JSON of `gumbel-gadgets counterfactual`.
#[pyfunction(name = "counterfactual")]
#[pyo3(signature = (
    p, q, observed, method="gumbel-max", *, logits=false, samples=None, seed=0, order=None,
    permutation_seed=1, gadget=None
))]
#[allow(clippy::too_many_arguments)]
fn counterfactual_py(
    py: Python<'_>,
    p: ArrayArg<'_>,
    q: ArrayArg<'_>,
    observed: &Bound<'_, PyAny>,
    method: &str,
    logits: bool,
    samples: Option<u64>,
    seed: u64,
    order: Option<Vec<usize>>,
    permutation_seed: u64,
    gadget: Option<PyRef<'_, PyGadget>>,
) -> PyResult<Py<PyAny>> {
    let request = request(method, order, permutation_seed, gadget.as_deref(), samples, seed)?;
    counterfactual::counterfactual(py, request, &p, &q, observed, logits)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GumbelGadgetsError", m.py().get_type::<errors::GumbelGadgetsError>())?;
    m.add("METHODS", methods::NAMES.to_vec())?;
    m.add_function(wrap_pyfunction!(couple_py, m)?)?;
    m.add_function(wrap_pyfunction!(counterfactual_py, m)?)?;
    m.add_class::<coupling::Coupling>()?;
    m.add_class::<coupling::Couplings>()?;
    m.add_class::<counterfactual::Counterfactual>()?;
    m.add_class::<counterfactual::Counterfactuals>()?;
    m.add_class::<PyGadget>()?;
    m.add_function(wrap_pyfunction!(evaluate::evaluate_py, m)?)?;
    m.add_class::<evaluate::Evaluation>()?;
    m.add_function(wrap_pyfunction!(sepsis::kernel, m)?)?;
    m.add_function(wrap_pyfunction!(sepsis::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(sepsis::pairs, m)?)?;
    Ok(())
}
