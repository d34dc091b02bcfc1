//! `evaluate`: every method's mean E[C], Var[h(x) - h(y)] and P(x != y) over many pairs (a numpy
//! array [N, 2, K] or [N, 3, K], or a pair file), computed by the `methods` crate as for
//! `gumbel-gadgets evaluate`, and its result class `Evaluation`.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use gadgets::checkpoint::load;
use gadgets::task::Split;
use gadgets::{DeviceChoice, Gadget};
use methods::evaluate::{self, Candidate, Cost, Settings, Summary, DEFAULT_METHODS};
use methods::pair_file::{PairArray, PairReader, PairSource};
use methods::{Method, Spelling};
use numpy::{AllowTypeChange, PyArrayLikeDyn};
use pyo3::prelude::*;

use crate::convert::{self, ArrayArg};
use crate::errors::{Error, Result};
use crate::gadget::PyGadget;

/// Samples per pair of a method without a closed form, as the CLI's `--samples` default.
const DEFAULT_SAMPLES: u64 = 10_000;
/// The held-out fraction of `rows="held-out"`, as the CLI's `--held-out` default.
const DEFAULT_HELD_OUT: f64 = 0.2;

/// The scores of every method over a set of pairs, as `gumbel-gadgets evaluate` reports them.
#[pyclass(frozen, module = "gumbel_gadgets")]
pub struct Evaluation {
    summary: Summary,
}

#[pymethods]
impl Evaluation {
    /// The rows evaluated.
    #[getter]
    fn pairs(&self) -> usize {
        self.summary.pairs
    }

    /// Which rows: `all`, or `held-out F (split seed S)`.
    #[getter]
    fn rows(&self) -> &str {
        &self.summary.rows
    }

    /// The method names, in the order of `to_dict()["methods"]`.
    #[getter]
    fn methods(&self) -> Vec<String> {
        self.summary.methods.keys().cloned().collect()
    }

    /// The result as the JSON object `gumbel-gadgets evaluate` prints for the same pairs and options.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(&self.summary).map_err(Error::from)?;
        convert::json_to_python(py, &value)
    }

    fn __repr__(&self) -> String {
        format!(
            "Evaluation(pairs={}, rows='{}', methods={:?})",
            self.summary.pairs,
            self.summary.rows,
            self.methods()
        )
    }
}

/// The pairs: an array, or the path of a pair file.
enum Pairs {
    Array(PairArray),
    File(PairReader),
}

impl Pairs {
    fn source(&mut self) -> &mut dyn PairSource {
        match self {
            Pairs::Array(a) => a,
            Pairs::File(f) => f,
        }
    }
}

/// Reads `pairs`: a path (str or os.PathLike) opens the file, anything else is an array.
fn read_pairs(pairs: &Bound<'_, PyAny>, logits: Option<bool>) -> Result<Pairs> {
    if let Ok(path) = pairs.extract::<PathBuf>() {
        // An .npy file holds logits unless logits=False says otherwise, as in the CLI.
        return Ok(Pairs::File(PairReader::open(&path, logits == Some(false))?));
    }
    let array: PyArrayLikeDyn<'_, f64, AllowTypeChange> = pairs.extract().map_err(|_| {
        Error::value("pairs must be an array [N, 2, K] or [N, 3, K], or the path of a pair file")
    })?;
    let view = array.as_array();
    let values: Vec<f64> = view.iter().copied().collect();
    // An array holds probabilities unless logits=True, as in couple.
    Ok(Pairs::Array(PairArray::new(values, view.shape(), logits != Some(true))?))
}

/// A gadget argument: a `Gadget`'s (locked while the evaluation runs), or one loaded from a path.
enum Slot<'a> {
    Shared(&'a Mutex<Gadget>),
    Owned(Gadget),
}

/// A gadget held for the evaluation.
enum Held<'a> {
    Locked(MutexGuard<'a, Gadget>),
    Owned(&'a Gadget),
}

impl Held<'_> {
    fn gadget(&self) -> &Gadget {
        match self {
            Held::Locked(guard) => guard,
            Held::Owned(gadget) => gadget,
        }
    }
}

/// Every method's mean expected cost E[C], variance Var[h(x) - h(y)] and P(x != y) over many pairs,
/// each with its standard error over the pairs, and, for rows of a pair file with `observed`, the
/// mean counterfactual variance Var[h(y) | x_obs]; what `gumbel-gadgets evaluate` computes.
///
/// pairs: an array [N, 2, K] (p and q of each pair; probabilities, logits with logits=True) or
/// [N, 3, K] (the third row is the pair's own reward h), or the path of a pair file (JSON lines, or
/// .npy holding logits unless logits=False). cost / reward: one K x K cost or reward vector h for
/// every pair (C_ij = (h_i - h_j)^2); without either, each row's reward column. methods: names of
/// methods without a gadget (default: the six); gadgets: trained `Gadget`s or checkpoint paths,
/// each scored beside them as `gadget-k (label)`. rows: "all" or "held-out" (the rows the split by
/// `split_seed` holds out, a fraction `held_out`, default 0.2). samples (default 10,000) and seed:
/// the draws per pair of a method without a closed form. Returns an Evaluation whose to_dict()
/// equals the JSON of `gumbel-gadgets evaluate` for the same input.
#[pyfunction(name = "evaluate")]
#[pyo3(signature = (
    pairs, *, cost=None, reward=None, methods=None, gadgets=Vec::new(), logits=None, rows="all",
    held_out=None, split_seed=0, samples=None, seed=0
))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_py(
    py: Python<'_>,
    pairs: &Bound<'_, PyAny>,
    cost: Option<ArrayArg<'_>>,
    reward: Option<ArrayArg<'_>>,
    methods: Option<Vec<String>>,
    gadgets: Vec<Bound<'_, PyAny>>,
    logits: Option<bool>,
    rows: &str,
    held_out: Option<f64>,
    split_seed: u64,
    samples: Option<u64>,
    seed: u64,
) -> PyResult<Evaluation> {
    let held_out = match rows {
        "all" => None,
        "held-out" => Some(held_out.unwrap_or(DEFAULT_HELD_OUT)),
        other => {
            return Err(
                Error::value(format!("rows must be 'all' or 'held-out', not '{other}'")).into()
            )
        }
    };
    let samples = samples.unwrap_or(DEFAULT_SAMPLES);
    evaluate::check(held_out, samples, Spelling::Keywords).map_err(Error::from)?;
    let (shared, h) = convert::cost(cost.as_ref(), reward.as_ref())?;
    let cost = match &shared {
        Some(cost) => Cost::Shared { cost, reward: h.as_deref() },
        None => Cost::RewardColumn,
    };
    let methods = methods
        .unwrap_or_else(|| DEFAULT_METHODS.iter().map(|m| m.name().to_owned()).collect())
        .iter()
        .map(|name| Method::parse(name))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    let mut objects = Vec::new();
    let mut slots = Vec::new();
    for (i, object) in gadgets.iter().enumerate() {
        if let Ok(gadget) = object.extract::<PyRef<'_, PyGadget>>() {
            objects.push((i, gadget));
        } else if let Ok(path) = object.extract::<PathBuf>() {
            let device = "cpu".parse::<DeviceChoice>().map_err(Error::from)?;
            let loaded = py.detach(|| -> Result<_> { Ok(load(&path, device.resolve()?)?) })?.gadget;
            let label = path
                .file_name()
                .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
            slots.push((i, Slot::Owned(loaded), label));
        } else {
            return Err(Error::value(format!(
                "gadgets[{i}] is neither a Gadget nor the path of a checkpoint"
            ))
            .into());
        }
    }
    for (n, (i, gadget)) in objects.iter().enumerate() {
        if objects[..n].iter().any(|(_, g)| std::ptr::eq(g.inner(), gadget.inner())) {
            return Err(Error::value(format!("gadgets[{i}] is given twice")).into());
        }
        slots.push((*i, Slot::Shared(gadget.inner()), format!("gadgets[{i}]")));
    }
    slots.sort_by_key(|(i, ..)| *i);
    let mut pairs = read_pairs(pairs, logits)?;
    let settings = Settings {
        cost,
        split: held_out.map(|held_out| Split { held_out, seed: split_seed }),
        samples,
        seed,
        spelling: Spelling::Keywords,
    };
    let summary = py.detach(|| -> Result<Summary> {
        // Moved in: a gadget is Send, not Sync.
        let slots = slots;
        let mut guards = Vec::new();
        for (_, slot, label) in &slots {
            let gadget = match slot {
                Slot::Shared(mutex) => Held::Locked(mutex.lock().map_err(|_| {
                    Error::Other("the gadget is unusable: a computation with it failed".into())
                })?),
                Slot::Owned(gadget) => Held::Owned(gadget),
            };
            guards.push((gadget, label));
        }
        let mut candidates = methods
            .iter()
            .map(|&m| Candidate::method(m, shared.as_ref(), Spelling::Keywords))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        candidates
            .extend(guards.iter().map(|(held, label)| Candidate::gadget(held.gadget(), label)));
        Ok(evaluate::evaluate(pairs.source(), &candidates, &settings)?)
    })?;
    Ok(Evaluation { summary })
}
