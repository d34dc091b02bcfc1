//! `Gadget`: a trained Gadget 1 or Gadget 2 (crates/gadgets): training from the CLI's configuration
//! (a dict), interruptible with Ctrl-C between steps; loading, saving; its coupling,
//! counterfactual and samples.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gadgets::checkpoint::{load, save};
use gadgets::train::{Trainer, TrainingRecord};
use gadgets::{DeviceChoice, TrainJob};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::convert::{self, ArrayArg};
use crate::counterfactual;
use crate::coupling::{self, Request};
use crate::errors::{Error, Result};
use methods::Method;

/// How often a training run with a snapshot path writes its snapshot.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

/// A trained Gadget 1 or Gadget 2 with the record of its training.
#[pyclass(frozen, module = "gumbel_gadgets", name = "Gadget")]
pub struct PyGadget {
    /// Behind a lock: libtorch tensors may move between threads but not be shared, and the GIL is
    /// released while the gadget computes.
    gadget: Mutex<gadgets::Gadget>,
    training: Option<TrainingRecord>,
}

/// Why a training run stopped early.
enum Stop {
    /// An error of the run.
    Failed(Error),
    /// A Python signal handler raised (Ctrl-C: KeyboardInterrupt), after `steps` steps.
    Interrupted { error: PyErr, steps: usize },
}

impl From<gadgets::GadgetError> for Stop {
    fn from(e: gadgets::GadgetError) -> Self {
        Stop::Failed(e.into())
    }
}

/// Trains `job`, resuming from `snapshot` when that file exists and writing it every
/// [`SNAPSHOT_EVERY`] and when interrupted. Python's signal handlers run between steps.
fn train(
    job: &TrainJob,
    snapshot: Option<&Path>,
) -> std::result::Result<(gadgets::Gadget, TrainingRecord), Stop> {
    let run = &job.run;
    // A binary's choice (the library never sets it): the job's thread count, as the CLI does.
    gadgets::device::set_cpu_threads(job.threads()?);
    let gadget = run.initial_gadget(job.device.resolve()?)?;
    let pairs =
        methods::pair_file::pair_distribution(&run.pairs).map_err(|e| Stop::Failed(e.into()))?;
    let cost = run.cost.training(run.gadget.outcomes)?;
    let mut trainer = match run.observed {
        Some(observed) => {
            Trainer::given_observation(&gadget, pairs.as_ref(), cost, observed, &run.training)?
        }
        None => Trainer::new(&gadget, pairs.as_ref(), cost, &run.training)?,
    };
    if let Some(path) = snapshot.filter(|p| p.exists()) {
        trainer.resume(path)?;
    }
    let mut last_snapshot = Instant::now();
    while trainer.steps_done() < run.training.steps {
        trainer.step()?;
        if let Err(error) = Python::attach(|py| py.check_signals()) {
            if let Some(path) = snapshot {
                trainer.save_snapshot(path)?;
            }
            return Err(Stop::Interrupted { error, steps: trainer.steps_done() });
        }
        if let Some(path) = snapshot.filter(|_| last_snapshot.elapsed() >= SNAPSHOT_EVERY) {
            trainer.save_snapshot(path)?;
            last_snapshot = Instant::now();
        }
    }
    let record = trainer.record();
    drop(trainer);
    Ok((gadget, record))
}

#[pymethods]
impl PyGadget {
    /// Trains a gadget from a configuration dict, the JSON of `gumbel-gadgets train --config`
    /// (docs/gadgets.md): `{"gadget": {...}, "pairs": {...}, "cost": {...}, "training": {...},
    /// "device": "cpu"}`. With `snapshot`, the run's state is written there every 5 minutes and
    /// on Ctrl-C (KeyboardInterrupt), and a later call with the same configuration and path
    /// continues from it to the same weights.
    #[staticmethod]
    #[pyo3(signature = (config, *, snapshot=None))]
    fn train(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        snapshot: Option<PathBuf>,
    ) -> PyResult<Self> {
        let value = convert::python_to_json(config, "config")?;
        let job: TrainJob = serde_json::from_value(value)
            .map_err(|e| Error::value(format!("invalid configuration: {e}")))?;
        match py.detach(|| train(&job, snapshot.as_deref())) {
            Ok((gadget, record)) => Ok(Self { gadget: Mutex::new(gadget), training: Some(record) }),
            Err(Stop::Failed(e)) => Err(e.into()),
            Err(Stop::Interrupted { error, steps }) => {
                if error.is_instance_of::<PyKeyboardInterrupt>(py) {
                    let place = snapshot.map_or_else(
                        || "no snapshot path was given".to_owned(),
                        |p| format!("its snapshot is {}", p.display()),
                    );
                    Err(PyKeyboardInterrupt::new_err(format!(
                        "training interrupted after {steps} steps; {place}"
                    )))
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Reads a gadget from a checkpoint written by `save` or `gumbel-gadgets train` (a
    /// `.safetensors` file, or a checkpoint of the earlier format), onto `device` (`cpu`, `cuda` or
    /// `auto`).
    #[staticmethod]
    #[pyo3(signature = (path, *, device="cpu"))]
    fn load(py: Python<'_>, path: PathBuf, device: &str) -> PyResult<Self> {
        let device = device.parse::<DeviceChoice>().map_err(Error::from)?;
        let loaded = py.detach(|| -> Result<_> { Ok(load(&path, device.resolve()?)?) })?;
        Ok(Self { gadget: Mutex::new(loaded.gadget), training: loaded.training })
    }

    /// Writes the gadget and its training record to `path`: a `.safetensors` file (the CLI's
    /// checkpoint format), which `safetensors.torch.load_file` reads.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| -> Result<()> { Ok(save(&*self.lock()?, self.training.as_ref(), &path)?) })?;
        Ok(())
    }

    /// `gadget-1` or `gadget-2`.
    #[getter]
    fn kind(&self) -> PyResult<&'static str> {
        Ok(self.lock()?.config().kind.name())
    }

    /// K, the number of outcomes.
    #[getter]
    fn outcomes(&self) -> PyResult<usize> {
        Ok(self.lock()?.outcomes())
    }

    /// The architecture, as the `gadget` entry of a training configuration.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = serde_json::to_value(self.lock()?.config()).map_err(Error::from)?;
        convert::json_to_python(py, &value)
    }

    /// How it was trained (settings, device, losses, seconds), or None.
    #[getter]
    fn training<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.training
            .as_ref()
            .map(|record| {
                let value = serde_json::to_value(record).map_err(Error::from)?;
                convert::json_to_python(py, &value)
            })
            .transpose()
    }

    /// The coupling of (p, q) under the gadget, as `couple(p, q, method=gadget.kind,
    /// gadget=gadget)`: exact for Gadget 2, estimated from `samples` draws for Gadget 1.
    #[pyo3(signature = (p, q, *, cost=None, reward=None, logits=false, samples=None, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn coupling(
        &self,
        py: Python<'_>,
        p: ArrayArg<'_>,
        q: ArrayArg<'_>,
        cost: Option<ArrayArg<'_>>,
        reward: Option<ArrayArg<'_>>,
        logits: bool,
        samples: Option<u64>,
        seed: u64,
    ) -> PyResult<Py<PyAny>> {
        let request = self.request(samples, seed)?;
        coupling::couple(py, request, &p, &q, cost.as_ref(), reward.as_ref(), logits)
    }

    /// P(y | x = observed) under the gadget, as `counterfactual(p, q, observed,
    /// method=gadget.kind, gadget=gadget)`.
    #[pyo3(signature = (p, q, observed, *, logits=false, samples=None, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn counterfactual(
        &self,
        py: Python<'_>,
        p: ArrayArg<'_>,
        q: ArrayArg<'_>,
        observed: &Bound<'_, PyAny>,
        logits: bool,
        samples: Option<u64>,
        seed: u64,
    ) -> PyResult<Py<PyAny>> {
        let request = self.request(samples, seed)?;
        counterfactual::counterfactual(py, request, &p, &q, observed, logits)
    }

    /// The logits the gadget's Gumbel-max runs on for one distribution p, float64 [rows, K]: Gadget
    /// 1's log pi(x, z | p) (rows z), Gadget 2's log pi(x | z, p) (rows z of |Z|).
    #[pyo3(signature = (p, *, logits=false))]
    fn logits<'py>(
        &self,
        py: Python<'py>,
        p: ArrayArg<'py>,
        logits: bool,
    ) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let pairs = convert::pairs(&p, &p, logits)?;
        let (Some(p), convert::Shape::Single) = (pairs.p.first(), pairs.shape) else {
            return Err(Error::value("logits takes one distribution: p of shape [K]").into());
        };
        let rows = py.detach(|| -> Result<_> { Ok(self.lock()?.logits(p)?) })?;
        Ok(numpy::PyArray2::from_vec2(py, &rows).map_err(|e| Error::Other(e.to_string()))?)
    }

    /// `n` samples of the mechanism for one pair (p, q), from `seed`: the pairs (x, y) as two int64
    /// arrays [n]; with `observed`, the counterfactual outcomes y given x = observed, one int64
    /// array [n].
    #[pyo3(signature = (p, q, n, *, observed=None, logits=false, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        p: ArrayArg<'py>,
        q: ArrayArg<'py>,
        n: usize,
        observed: Option<usize>,
        logits: bool,
        seed: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pairs = convert::pairs(&p, &q, logits)?;
        let (Some(p), Some(q), convert::Shape::Single) =
            (pairs.p.first(), pairs.q.first(), pairs.shape)
        else {
            return Err(Error::value("sample takes one pair: p and q of shape [K]").into());
        };
        match observed {
            None => {
                let drawn =
                    py.detach(|| -> Result<_> { Ok(self.lock()?.sample_pairs(p, q, n, seed)?) })?;
                let (x, y): (Vec<i64>, Vec<i64>) =
                    drawn.into_iter().map(|(x, y)| (x as i64, y as i64)).unzip();
                Ok((x.into_pyarray(py), y.into_pyarray(py)).into_pyobject(py)?.into_any())
            }
            Some(observed) => {
                let drawn = py.detach(|| -> Result<_> {
                    Ok(self.lock()?.sample_counterfactuals(p, q, observed, n, seed)?)
                })?;
                let y: Vec<i64> = drawn.into_iter().map(|y| y as i64).collect();
                let y: Bound<'py, PyArray1<i64>> = y.into_pyarray(py);
                Ok(y.into_any())
            }
        }
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("Gadget(kind='{}', outcomes={})", self.kind()?, self.outcomes()?))
    }
}

impl PyGadget {
    /// The request of this gadget as a method.
    fn request(&self, samples: Option<u64>, seed: u64) -> Result<Request<'_>> {
        let method = Method::parse(self.lock()?.config().kind.name())?;
        Ok(Request {
            method,
            order: None,
            permutation_seed: 1,
            gadget: Some(&self.gadget),
            samples,
            seed,
        })
    }

    /// The gadget inside, behind its lock.
    pub fn inner(&self) -> &Mutex<gadgets::Gadget> {
        &self.gadget
    }

    /// The gadget, locked.
    fn lock(&self) -> Result<MutexGuard<'_, gadgets::Gadget>> {
        self.gadget.lock().map_err(|_| {
            Error::Other("the gadget is unusable: a computation with it failed".into())
        })
    }
}
