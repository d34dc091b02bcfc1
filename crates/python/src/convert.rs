//! Python and numpy values in, workspace types out: distributions (one pair [K] or a batch [N, K]),
//! cost matrices, observations, and JSON values handed to Python as dicts.

use gumbel_core::{Categorical, CostMatrix};
use ndarray::{ArrayViewD, Axis};
use numpy::{AllowTypeChange, PyArrayLikeDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

use crate::errors::{Error, Result};

/// An array argument: anything numpy turns into a float64 array (lists, tuples, arrays of any dtype).
pub type ArrayArg<'py> = PyArrayLikeDyn<'py, f64, AllowTypeChange>;

/// One pair, or a batch of N pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// p and q of shape [K].
    Single,
    /// p and q of shape [N, K].
    Batch(usize),
}

/// The pairs (p, q) of a call, validated.
pub struct Pairs {
    /// One pair or N.
    pub shape: Shape,
    /// p of each pair.
    pub p: Vec<Categorical>,
    /// q of each pair.
    pub q: Vec<Categorical>,
}

impl Pairs {
    /// K, the outcomes of every pair.
    pub fn outcomes(&self) -> usize {
        self.p.first().map_or(0, Categorical::len)
    }
}

/// The rows of `array`: one row for a vector, N for an [N, K] matrix.
fn rows(name: &str, array: &PyReadonlyArrayDyn<'_, f64>) -> Result<(Shape, Vec<Vec<f64>>)> {
    let view: ArrayViewD<'_, f64> = array.as_array();
    match view.ndim() {
        1 => Ok((Shape::Single, vec![view.iter().copied().collect()])),
        2 => {
            let rows: Vec<Vec<f64>> =
                view.axis_iter(Axis(0)).map(|row| row.iter().copied().collect()).collect();
            Ok((Shape::Batch(rows.len()), rows))
        }
        d => Err(Error::value(format!(
            "{name} must be one distribution [K] or a batch [N, K], not an array of {d} dimensions"
        ))),
    }
}

/// A distribution from probabilities, or from logits (normalised; `-inf` is an impossible outcome).
fn categorical(values: &[f64], logits: bool) -> Result<Categorical> {
    Ok(if logits { Categorical::from_logits(values)? } else { Categorical::from_probs(values)? })
}

/// Reads and validates the pairs (p, q): both [K] or both [N, K], as probabilities or logits.
pub fn pairs(p: &ArrayArg<'_>, q: &ArrayArg<'_>, logits: bool) -> Result<Pairs> {
    let (p_shape, p_rows) = rows("p", p)?;
    let (q_shape, q_rows) = rows("q", q)?;
    if p_shape != q_shape {
        return Err(Error::value(format!(
            "p and q must have the same shape: both [K] or both [N, K] (p is {:?}, q is {:?})",
            p.as_array().shape(),
            q.as_array().shape()
        )));
    }
    let label = |name: &str, i: usize| match p_shape {
        Shape::Single => name.to_owned(),
        Shape::Batch(_) => format!("{name}[{i}]"),
    };
    let mut pairs = Pairs { shape: p_shape, p: Vec::new(), q: Vec::new() };
    for (i, (p_row, q_row)) in p_rows.iter().zip(&q_rows).enumerate() {
        let p = categorical(p_row, logits).map_err(|e| e.context(&label("p", i)))?;
        let q = categorical(q_row, logits).map_err(|e| e.context(&label("q", i)))?;
        p.check_same_len(&q)?;
        pairs.p.push(p);
        pairs.q.push(q);
    }
    Ok(pairs)
}

/// The cost matrix from `cost` (a K x K array) or `reward` (h, giving C_ij = (h_i - h_j)^2), and the
/// reward vector itself.
pub fn cost(
    cost: Option<&ArrayArg<'_>>,
    reward: Option<&ArrayArg<'_>>,
) -> Result<(Option<CostMatrix>, Option<Vec<f64>>)> {
    match (cost, reward) {
        (Some(c), None) => {
            let view = c.as_array();
            if view.ndim() != 2 {
                return Err(Error::value(format!(
                    "cost must be a K x K matrix, not an array of shape {:?}",
                    view.shape()
                )));
            }
            let rows: Vec<Vec<f64>> =
                view.axis_iter(Axis(0)).map(|row| row.iter().copied().collect()).collect();
            Ok((
                Some(CostMatrix::from_rows(&rows).map_err(|e| Error::from(e).context("cost"))?),
                None,
            ))
        }
        (None, Some(r)) => {
            let view = r.as_array();
            if view.ndim() != 1 {
                return Err(Error::value(format!(
                    "reward must be a vector [K], not an array of shape {:?}",
                    view.shape()
                )));
            }
            let h: Vec<f64> = view.iter().copied().collect();
            let matrix =
                CostMatrix::squared_reward(&h).map_err(|e| Error::from(e).context("reward"))?;
            Ok((Some(matrix), Some(h)))
        }
        (None, None) => Ok((None, None)),
        (Some(_), Some(_)) => Err(Error::value("give at most one of cost and reward")),
    }
}

/// The observed outcome of each of `n` pairs: one int for all, or a sequence of N ints.
pub fn observations(observed: &Bound<'_, PyAny>, shape: Shape) -> Result<Vec<usize>> {
    if let Ok(single) = observed.extract::<usize>() {
        let n = match shape {
            Shape::Single => 1,
            Shape::Batch(n) => n,
        };
        return Ok(vec![single; n]);
    }
    match shape {
        Shape::Single => Err(Error::value("observed must be a non-negative int")),
        Shape::Batch(n) => {
            let many: Vec<usize> = observed.extract().map_err(|_| {
                Error::value("observed must be a non-negative int or a sequence of them")
            })?;
            if many.len() != n {
                return Err(Error::value(format!(
                    "observed: expected length {n}, found {}",
                    many.len()
                )));
            }
            Ok(many)
        }
    }
}

/// A JSON value as the Python object `json.loads` makes of it.
pub fn json_to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(Error::from)?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A Python object (a dict of a configuration) as a JSON value, through `json.dumps`.
pub fn python_to_json(object: &Bound<'_, PyAny>, what: &str) -> Result<serde_json::Value> {
    let text: String = object
        .py()
        .import("json")
        .and_then(|json| json.call_method1("dumps", (object,)))
        .and_then(|text| text.extract())
        .map_err(|e| Error::value(format!("{what} is not JSON-serialisable: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::value(format!("{what}: {e}")))
}
