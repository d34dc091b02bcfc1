//! `couple`: the joint of (x, y) under a coupling of p and q, with P(x != y), E[C] and
//! Var[h(x) - h(y)], for one pair (`Coupling`) or a batch (`Couplings`).

use std::sync::Mutex;

use gadgets::Gadget;
use gumbel_core::method::{Computation, Mechanism};
use gumbel_core::{Categorical, CostMatrix};
use methods::{Method, Options, Spelling};
use ndarray::{Array1, Array2, Array3};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{self, ArrayArg, Pairs, Shape};
use crate::errors::{Error, Result};

/// One pair's joint and summaries.
#[derive(Clone)]
struct Summary {
    exact: bool,
    joint: Array2<f64>,
    p_x_ne_y: f64,
    expected_cost: Option<f64>,
    variance: Option<f64>,
    sampling: Option<Sampling>,
}

/// The joint of (x, y) under a coupling of one pair (p, q), as `gumbel-gadgets couple` reports it.
#[pyclass(frozen, module = "gumbel_gadgets")]
pub struct Coupling {
    method: Method,
    summary: Summary,
}

#[pymethods]
impl Coupling {
    /// The method's name (`gumbel-max`, ...).
    #[getter]
    fn method(&self) -> &'static str {
        self.method.name()
    }

    /// True for a closed-form joint, False for one estimated from samples.
    #[getter]
    fn exact(&self) -> bool {
        self.summary.exact
    }

    /// The joint P(x = i, y = j), float64 [K, K]; its row sums are p and its column sums q.
    #[getter]
    fn joint<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.summary.joint.clone().into_pyarray(py)
    }

    /// P(x != y) = 1 - sum_i joint[i, i].
    #[getter]
    fn p_x_ne_y(&self) -> f64 {
        self.summary.p_x_ne_y
    }

    /// E[C(x, y)] = sum_ij joint[i, j] C[i, j] for the given cost (or C_ij = (h_i - h_j)^2 for the
    /// given reward h); None without either.
    #[getter]
    fn expected_cost(&self) -> Option<f64> {
        self.summary.expected_cost
    }

    /// Var[h(x) - h(y)] for the given reward h; None without one.
    #[getter]
    fn variance(&self) -> Option<f64> {
        self.summary.variance
    }

    /// The number of samples of an estimate (None when exact).
    #[getter]
    fn samples(&self) -> Option<u64> {
        self.summary.sampling.map(|s| s.samples)
    }

    /// The seed of an estimate (None when exact).
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.summary.sampling.map(|s| s.seed)
    }

    /// The result as the JSON object `gumbel-gadgets couple` prints for the same inputs.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        summary_dict(py, self.method, &self.summary)
    }

    fn __repr__(&self) -> String {
        format!(
            "Coupling(method='{}', exact={}, K={}, p_x_ne_y={}, expected_cost={}, variance={})",
            self.method.name(),
            if self.summary.exact { "True" } else { "False" },
            self.summary.joint.nrows(),
            self.summary.p_x_ne_y,
            optional(self.summary.expected_cost),
            optional(self.summary.variance),
        )
    }
}

/// The couplings of a batch of N pairs: arrays with a leading axis N; `couplings[i]` is pair i's
/// [`Coupling`].
#[pyclass(frozen, module = "gumbel_gadgets")]
pub struct Couplings {
    method: Method,
    exact: bool,
    k: usize,
    summaries: Vec<Summary>,
}

#[pymethods]
impl Couplings {
    /// The method's name.
    #[getter]
    fn method(&self) -> &'static str {
        self.method.name()
    }

    /// True for closed-form joints, False for estimates.
    #[getter]
    fn exact(&self) -> bool {
        self.exact
    }

    /// The joints, float64 [N, K, K].
    #[getter]
    fn joint<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray3<f64>> {
        let mut out = Array3::zeros((self.summaries.len(), self.k, self.k));
        for (mut slot, s) in out.outer_iter_mut().zip(&self.summaries) {
            slot.assign(&s.joint);
        }
        out.into_pyarray(py)
    }

    /// P(x != y) of each pair, float64 [N].
    #[getter]
    fn p_x_ne_y<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(|s| Some(s.p_x_ne_y)).unwrap_or_default().into_pyarray(py)
    }

    /// E[C] of each pair, float64 [N]; None without a cost or reward.
    #[getter]
    fn expected_cost<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.column(|s| s.expected_cost).map(|c| c.into_pyarray(py))
    }

    /// Var[h(x) - h(y)] of each pair, float64 [N]; None without a reward.
    #[getter]
    fn variance<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.column(|s| s.variance).map(|c| c.into_pyarray(py))
    }

    /// One dict per pair, each the JSON object of `gumbel-gadgets couple` for that pair (pair i of
    /// an estimate uses seed + i).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let dicts = self
            .summaries
            .iter()
            .map(|s| summary_dict(py, self.method, s))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }

    fn __len__(&self) -> usize {
        self.summaries.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<Coupling> {
        let n = self.summaries.len() as isize;
        let i = if index < 0 { index + n } else { index };
        if !(0..n).contains(&i) {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "index {index} is out of range for {n} couplings"
            )));
        }
        Ok(Coupling { method: self.method, summary: self.summaries[i as usize].clone() })
    }

    fn __repr__(&self) -> String {
        format!(
            "Couplings(method='{}', exact={}, N={}, K={})",
            self.method.name(),
            if self.exact { "True" } else { "False" },
            self.summaries.len(),
            self.k
        )
    }
}

impl Couplings {
    /// One value per pair, or None when the first pair has none.
    fn column(&self, value: impl Fn(&Summary) -> Option<f64>) -> Option<Array1<f64>> {
        self.summaries.iter().map(value).collect::<Option<Vec<f64>>>().map(Array1::from)
    }
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

/// The CLI's JSON object for one pair, as a dict.
fn summary_dict<'py>(py: Python<'py>, method: Method, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("method", method.name())?;
    dict.set_item("exact", s.exact)?;
    let rows: Vec<Vec<f64>> = s.joint.outer_iter().map(|row| row.to_vec()).collect();
    dict.set_item("joint", rows)?;
    dict.set_item("p_x_ne_y", s.p_x_ne_y)?;
    if let Some(c) = s.expected_cost {
        dict.set_item("expected_cost", c)?;
    }
    if let Some(v) = s.variance {
        dict.set_item("variance", v)?;
    }
    if let Some(sampling) = s.sampling {
        dict.set_item("samples", sampling.samples)?;
        dict.set_item("seed", sampling.seed)?;
    }
    Ok(dict)
}

/// Monte Carlo settings of a result: `samples` draws from `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Number of draws.
    pub samples: u64,
    /// The seed of every draw.
    pub seed: u64,
}

impl Sampling {
    /// The settings of pair `index` of a computation (`None` when exact).
    pub fn of(how: Option<Computation>, index: usize) -> Option<Self> {
        match how?.for_pair(index) {
            Computation::Sampled { samples, seed } => Some(Self { samples, seed }),
            Computation::Exact => None,
        }
    }
}

/// The pairs of a batch as the mechanism's batches take them.
pub fn zipped(pairs: &Pairs) -> Vec<(Categorical, Categorical)> {
    pairs.p.iter().cloned().zip(pairs.q.iter().cloned()).collect()
}

/// The summaries of every pair (pair i of a batch estimated with seed + i, by the mechanism's
/// batched joints) and the computation.
fn summaries(
    mechanism: &dyn Mechanism,
    how: Option<Computation>,
    pairs: &Pairs,
    cost: Option<&CostMatrix>,
    reward: Option<&[f64]>,
) -> Result<Vec<Summary>> {
    let joints = mechanism.joints(&zipped(pairs), how.unwrap_or(Computation::Exact))?;
    joints
        .iter()
        .enumerate()
        .map(|(i, joint)| {
            let coupling = &joint.value;
            Ok(Summary {
                exact: joint.is_exact(),
                joint: coupling.joint().clone(),
                p_x_ne_y: coupling.p_x_ne_y(),
                expected_cost: cost.map(|c| coupling.expected_cost(c)).transpose()?,
                variance: reward.map(|h| coupling.variance(h, h)).transpose()?,
                sampling: Sampling::of(how, i),
            })
        })
        .collect()
}

/// What `couple` and `counterfactual` are asked: the method, its options and the sampling keywords.
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// inverse-cdf's outcome order.
    pub order: Option<Vec<usize>>,
    /// permuted-inverse-cdf's permutation seed.
    pub permutation_seed: u64,
    /// The gadget of gadget-1 and gadget-2 (locked while it computes).
    pub gadget: Option<&'a Mutex<Gadget>>,
    /// Estimate from this many samples instead of the exact joint.
    pub samples: Option<u64>,
    /// The seed of the samples.
    pub seed: u64,
}

impl Request<'_> {
    /// Runs `compute` with the request's [`Options`], the gadget locked; meant to run with the GIL
    /// released.
    pub fn with_options<T>(&self, compute: impl FnOnce(&Options) -> Result<T>) -> Result<T> {
        let guard = match self.gadget {
            Some(gadget) => Some(gadget.lock().map_err(|_| {
                Error::Other("the gadget is unusable: a computation with it failed".to_owned())
            })?),
            None => None,
        };
        let options = Options {
            order: self.order.as_deref(),
            permutation_seed: self.permutation_seed,
            gadget: guard.as_deref(),
            spelling: Spelling::Keywords,
        };
        compute(&options)
    }

    /// The request's samples and seed as a computation ([`methods::sampling`]).
    pub fn sampling(&self, mechanism: &dyn Mechanism) -> Result<Option<Computation>> {
        Ok(methods::sampling(mechanism, self.samples, self.seed, Spelling::Keywords)?)
    }
}

/// Computes the couplings of `request` for (p, q) with the GIL released: a [`Coupling`] for one
/// pair, [`Couplings`] for a batch.
pub fn couple(
    py: Python<'_>,
    request: Request<'_>,
    p: &ArrayArg<'_>,
    q: &ArrayArg<'_>,
    cost: Option<&ArrayArg<'_>>,
    reward: Option<&ArrayArg<'_>>,
    logits: bool,
) -> PyResult<Py<PyAny>> {
    let pairs = convert::pairs(p, q, logits)?;
    let (cost, reward) = convert::cost(cost, reward)?;
    let method = request.method;
    let (summaries, sampling) = py.detach(|| {
        request.with_options(|options| {
            let mechanism = methods::mechanism(method, options, cost.as_ref())?;
            let how = request.sampling(&*mechanism)?;
            let summaries = summaries(&*mechanism, how, &pairs, cost.as_ref(), reward.as_deref())?;
            Ok((summaries, how))
        })
    })?;
    let k = pairs.outcomes();
    Ok(match pairs.shape {
        Shape::Single => {
            let summary = summaries
                .into_iter()
                .next()
                .ok_or_else(|| Error::Other("no coupling was computed".to_owned()))?;
            Py::new(py, Coupling { method, summary })?.into_any()
        }
        Shape::Batch(_) => {
            let exact = summaries.iter().all(|s| s.exact) && sampling.is_none();
            Py::new(py, Couplings { method, exact, k, summaries })?.into_any()
        }
    })
}
