//! `counterfactual`: P(y | x = observed) under the counterfactual q, for one pair
//! (`Counterfactual`) or a batch (`Counterfactuals`).

use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{self, ArrayArg, Pairs, Shape};
use crate::coupling::{zipped, Request, Sampling};
use crate::errors::Result;
use gumbel_core::method::{Computation, Mechanism, Query};
use methods::Method;

/// One pair's counterfactual distribution.
#[derive(Clone)]
struct Summary {
    observed: usize,
    exact: bool,
    distribution: Vec<f64>,
    sampled: Option<Vec<f64>>,
    sampling: Option<Sampling>,
}

/// P(y | x = observed) of one pair, as `gumbel-gadgets counterfactual` reports it.
#[pyclass(frozen, module = "gumbel_gadgets")]
pub struct Counterfactual {
    method: Method,
    summary: Summary,
}

#[pymethods]
impl Counterfactual {
    /// The method's name.
    #[getter]
    fn method(&self) -> &'static str {
        self.method.name()
    }

    /// The observed outcome x.
    #[getter]
    fn observed(&self) -> usize {
        self.summary.observed
    }

    /// True unless the method has no closed form (gadget-1: a histogram of samples).
    #[getter]
    fn exact(&self) -> bool {
        self.summary.exact
    }

    /// P(y = j | x = observed), float64 [K].
    #[getter]
    fn distribution<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.summary.distribution.clone().into_pyarray(py)
    }

    /// The histogram of `samples` counterfactual draws, float64 [K]; None without samples (and for
    /// gadget-1, whose distribution is that histogram).
    #[getter]
    fn sampled<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.summary.sampled.clone().map(|s| s.into_pyarray(py))
    }

    /// The number of samples drawn (None without).
    #[getter]
    fn samples(&self) -> Option<u64> {
        self.summary.sampling.map(|s| s.samples)
    }

    /// The seed of the samples (None without).
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.summary.sampling.map(|s| s.seed)
    }

    /// The result as the JSON object `gumbel-gadgets counterfactual` prints for the same inputs.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        summary_dict(py, self.method, &self.summary)
    }

    fn __repr__(&self) -> String {
        format!(
            "Counterfactual(method='{}', observed={}, distribution={:?})",
            self.method.name(),
            self.summary.observed,
            self.summary.distribution
        )
    }
}

/// The counterfactual distributions of a batch of N pairs; `counterfactuals[i]` is pair i's
/// [`Counterfactual`].
#[pyclass(frozen, module = "gumbel_gadgets")]
pub struct Counterfactuals {
    method: Method,
    k: usize,
    summaries: Vec<Summary>,
}

#[pymethods]
impl Counterfactuals {
    /// The method's name.
    #[getter]
    fn method(&self) -> &'static str {
        self.method.name()
    }

    /// True unless the method has no closed form (gadget-1).
    #[getter]
    fn exact(&self) -> bool {
        self.summaries.iter().all(|s| s.exact)
    }

    /// The observed outcome of each pair, int64 [N].
    #[getter]
    fn observed<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let observed: Array1<i64> = self.summaries.iter().map(|s| s.observed as i64).collect();
        observed.into_pyarray(py)
    }

    /// P(y | x = observed) of each pair, float64 [N, K].
    #[getter]
    fn distribution<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.stack(|s| Some(&s.distribution)).unwrap_or_default().into_pyarray(py)
    }

    /// The sampled histograms, float64 [N, K]; None without samples.
    #[getter]
    fn sampled<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray2<f64>>> {
        self.stack(|s| s.sampled.as_ref()).map(|a| a.into_pyarray(py))
    }

    /// One dict per pair, each the JSON object of `gumbel-gadgets counterfactual` for that pair
    /// (pair i's samples use seed + i).
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

    fn __getitem__(&self, index: isize) -> PyResult<Counterfactual> {
        let n = self.summaries.len() as isize;
        let i = if index < 0 { index + n } else { index };
        if !(0..n).contains(&i) {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "index {index} is out of range for {n} counterfactuals"
            )));
        }
        Ok(Counterfactual { method: self.method, summary: self.summaries[i as usize].clone() })
    }

    fn __repr__(&self) -> String {
        format!(
            "Counterfactuals(method='{}', N={}, K={})",
            self.method.name(),
            self.summaries.len(),
            self.k
        )
    }
}

impl Counterfactuals {
    /// The rows of every pair as an [N, K] array, or None when a pair has none.
    fn stack(&self, row: impl Fn(&Summary) -> Option<&Vec<f64>>) -> Option<Array2<f64>> {
        let mut out = Array2::zeros((self.summaries.len(), self.k));
        for (mut slot, s) in out.outer_iter_mut().zip(&self.summaries) {
            slot.assign(&ndarray::ArrayView1::from(row(s)?.as_slice()));
        }
        Some(out)
    }
}

/// The CLI's JSON object for one pair, as a dict.
fn summary_dict<'py>(py: Python<'py>, method: Method, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("method", method.name())?;
    dict.set_item("observed", s.observed)?;
    dict.set_item("exact", s.exact)?;
    dict.set_item("distribution", &s.distribution)?;
    if let Some(sampled) = &s.sampled {
        dict.set_item("sampled", sampled)?;
    }
    if let Some(sampling) = s.sampling {
        dict.set_item("samples", sampling.samples)?;
        dict.set_item("seed", sampling.seed)?;
    }
    Ok(dict)
}

/// The counterfactual of every pair by the mechanism's batched counterfactuals: the exact
/// distributions and, with `how`, the sampled histograms beside them (pair i of a batch sampled
/// with seed + i); a mechanism without a closed form (Gadget 1) answers with the histograms alone.
fn summaries(
    mechanism: &dyn Mechanism,
    how: Option<Computation>,
    pairs: &Pairs,
    observed: &[usize],
) -> Result<Vec<Summary>> {
    let queries: Vec<Query> = zipped(pairs)
        .into_iter()
        .zip(observed)
        .map(|((p, q), &observed)| Query { p, q, observed })
        .collect();
    let ask = |how| mechanism.counterfactuals(&queries, how);
    let (distributions, sampled) = if mechanism.has_closed_form() {
        (ask(Computation::Exact)?, how.map(ask).transpose()?)
    } else {
        (ask(how.unwrap_or(Computation::Exact))?, None)
    };
    let mut sampled = sampled.map(Vec::into_iter);
    Ok(distributions
        .into_iter()
        .zip(observed)
        .enumerate()
        .map(|(i, (distribution, &observed))| Summary {
            observed,
            exact: distribution.is_exact(),
            distribution: distribution.value,
            sampled: sampled.as_mut().and_then(Iterator::next).map(|s| s.value),
            sampling: Sampling::of(how, i),
        })
        .collect())
}

/// Computes the counterfactuals of `request` for (p, q) and `observed` with the GIL released: a
/// [`Counterfactual`] for one pair, [`Counterfactuals`] for a batch.
pub fn counterfactual(
    py: Python<'_>,
    request: Request<'_>,
    p: &ArrayArg<'_>,
    q: &ArrayArg<'_>,
    observed: &Bound<'_, PyAny>,
    logits: bool,
) -> PyResult<Py<PyAny>> {
    let pairs = convert::pairs(p, q, logits)?;
    let observed = convert::observations(observed, pairs.shape)?;
    let method = request.method;
    let summaries = py.detach(|| {
        request.with_options(|options| {
            let mechanism = methods::counterfactual_mechanism(method, options, pairs.outcomes())?;
            let how = request.sampling(&*mechanism)?;
            summaries(&*mechanism, how, &pairs, &observed)
        })
    })?;
    Ok(match pairs.shape {
        Shape::Single => {
            let summary = summaries.into_iter().next().ok_or_else(|| {
                crate::errors::Error::Other("no counterfactual was computed".to_owned())
            })?;
            Py::new(py, Counterfactual { method, summary })?.into_any()
        }
        Shape::Batch(_) => {
            let k = pairs.outcomes();
            Py::new(py, Counterfactuals { method, k, summaries })?.into_any()
        }
    })
}
