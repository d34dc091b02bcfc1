//! The coupling methods by name: [`mechanism`] maps a [`Method`] and its [`Options`] (the
//! inverse-CDF outcome order or the authors' permutation seed, the cost of lp-optimal, a loaded
//! gadget) to its [`Mechanism`]. The CLI (`--method`) and the Python package (`method=`) both go
//! through it, so that a name means the same mechanism in either.
//!
//! [`pair_file`] reads files of (p, q) pairs (JSON lines or `.npy`, streamed, validated row by row)
//! and [`evaluate`] scores methods over them, for `gumbel-gadgets evaluate` and
//! `gumbel_gadgets.evaluate`; [`npy`] reads and writes the `.npy` format.
//!
//! It lives in a crate of its own because it needs both the baselines and the gadgets, which do not
//! know each other, and gumbel-core, which knows neither.
//!
//! # Example
//!
//! (`no_run`: a doctest runs from a temporary directory that the relative libtorch path of the
//! workspace does not reach; the crate's tests run the same calls.)
//!
//! ```no_run
//! use gumbel_core::method::Computation;
//! use gumbel_core::Categorical;
//! use methods::{mechanism, Method, Options, Spelling};
//!
//! let p = Categorical::from_probs(&[0.5, 0.3, 0.2]).unwrap();
//! let q = Categorical::from_probs(&[0.2, 0.3, 0.5]).unwrap();
//! let options = Options::new(Spelling::Keywords);
//! let maximal = mechanism(Method::parse("maximal").unwrap(), &options, None).unwrap();
//! let joint = maximal.joint(&p, &q, Computation::Exact).unwrap();
//! // The maximal coupling: P(x = y) = sum_k min(p_k, q_k) = 0.2 + 0.3 + 0.2.
//! assert!((joint.value.p_x_ne_y() - 0.3).abs() < 1e-12);
//! ```

pub mod evaluate;
pub mod npy;
pub mod pair_file;

use std::ops::Deref;
use std::path::PathBuf;

use baselines::{
    BaselineError, Independent, InverseCdfMethod, LpOptimal, MaximalMethod, Order, OutcomeOrder,
};
use gadgets::{Gadget, GadgetError, GadgetKind};
use gumbel_core::method::{Computation, GumbelMaxMethod, Mechanism};
use gumbel_core::{CoreError, CostMatrix};

use crate::npy::HeaderProblem;
use crate::pair_file::RowProblem;

/// Samples of an estimate when none are asked for and the method has no closed form (Gadget 1).
pub const DEFAULT_SAMPLES: u64 = 100_000;

/// The names of the methods, in the order of [`Method`].
pub const NAMES: [&str; 8] = [
    "gumbel-max",
    "independent",
    "inverse-cdf",
    "permuted-inverse-cdf",
    "maximal",
    "lp-optimal",
    "gadget-1",
    "gadget-2",
];

/// A coupling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Method {
    /// The Gumbel-max SCM (exact closed form; Monte Carlo with samples).
    GumbelMax,
    /// x and y drawn independently: the joint p q^T.
    Independent,
    /// (F_p^-1(u), F_q^-1(u)) with one uniform u, in index order or the given order.
    InverseCdf,
    /// Inverse-CDF after the authors' fixed random permutation of the outcomes (its seed).
    PermutedInverseCdf,
    /// The maximal coupling: P(x = y) = sum min(p, q).
    Maximal,
    /// The coupling of least expected cost (needs a cost or reward), by linear programming.
    LpOptimal,
    /// A trained Gadget 1 (always estimated by Monte Carlo).
    #[cfg_attr(feature = "clap", value(name = "gadget-1"))]
    Gadget1,
    /// A trained Gadget 2 (exact; Monte Carlo with samples).
    #[cfg_attr(feature = "clap", value(name = "gadget-2"))]
    Gadget2,
}

/// Every method, in the order of [`NAMES`].
const ALL: [Method; 8] = [
    Method::GumbelMax,
    Method::Independent,
    Method::InverseCdf,
    Method::PermutedInverseCdf,
    Method::Maximal,
    Method::LpOptimal,
    Method::Gadget1,
    Method::Gadget2,
];

impl Method {
    /// The method called `name` (`gumbel-max`, ...).
    pub fn parse(name: &str) -> Result<Self> {
        NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| ALL[i])
            .ok_or_else(|| MethodError::Unknown { name: name.to_owned() })
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The method that evaluates a gadget of `kind`: the inverse of [`Method::gadget_kind`].
    pub fn of_gadget(kind: GadgetKind) -> Self {
        match kind {
            GadgetKind::Gadget1 => Method::Gadget1,
            GadgetKind::Gadget2 => Method::Gadget2,
        }
    }

    /// The gadget kind of a gadget method.
    pub fn gadget_kind(self) -> Option<GadgetKind> {
        match self {
            Method::Gadget1 => Some(GadgetKind::Gadget1),
            Method::Gadget2 => Some(GadgetKind::Gadget2),
            _ => None,
        }
    }
}

/// How the caller spells its options in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// Command-line flags: `--order`, `--cost`.
    Flags,
    /// Keyword arguments: `order`, `cost`.
    Keywords,
}

impl Spelling {
    /// What comes before an option's name.
    fn prefix(self) -> &'static str {
        match self {
            Spelling::Flags => "--",
            Spelling::Keywords => "",
        }
    }

    /// The option `name` (spelled with dashes) as the caller writes it: `--held-out`, `held_out`.
    fn option(self, name: &str) -> String {
        match self {
            Spelling::Flags => format!("--{name}"),
            Spelling::Keywords => name.replace('-', "_"),
        }
    }
}

/// An error in choosing a method or its options.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    /// No method has this name.
    #[error("invalid value '{name}' for method; possible values: {}", NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// An outcome order for a method that has none.
    #[error("{prefix}order is for inverse-cdf only, not {method}")]
    OrderNotRead {
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
        /// The method.
        method: &'static str,
    },
    /// A gadget for a method that reads none.
    #[error("gadget is for gadget-1 and gadget-2 only, not {method}")]
    GadgetNotRead {
        /// The method.
        method: &'static str,
    },
    /// A gadget method without its gadget.
    #[error("method {method} needs a gadget")]
    MissingGadget {
        /// The method.
        method: &'static str,
    },
    /// A gadget of the other kind.
    #[error("the gadget is a {found}, not a {wanted}")]
    WrongGadget {
        /// The kind of the gadget given.
        found: &'static str,
        /// The kind the method needs.
        wanted: &'static str,
    },
    /// lp-optimal without a cost.
    #[error("lp-optimal needs a cost: give {prefix}cost or {prefix}reward")]
    MissingCost {
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
    },
    /// Zero samples.
    #[error("{prefix}samples must be positive")]
    ZeroSamples {
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
    },
    /// A counterfactual of a coupling that is no mechanism.
    #[error(
        "counterfactual is defined for mechanisms (gumbel-max, inverse-cdf, permuted-inverse-cdf, \
         gadget-1, gadget-2), not for the coupling {method}"
    )]
    NotStructural {
        /// The method.
        method: &'static str,
    },
    /// An invalid outcome order.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// An invalid training configuration (a pair file's split).
    #[error(transparent)]
    Gadget(#[from] GadgetError),
    /// A pair file that cannot be opened.
    #[error("{path}: cannot open: {error}")]
    OpenPairs {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A pair file's `.npy` header (or an array's shape) that is not a pair array's.
    #[error("{path}: header: {problem}")]
    PairHeader {
        /// The file, or `pairs`.
        path: String,
        /// What is wrong.
        problem: HeaderProblem,
    },
    /// A row of a pair file that cannot be read or is no valid pair.
    #[error("{path}: row {row} {problem}")]
    Row {
        /// The file, or `pairs`.
        path: String,
        /// The 1-based row.
        row: usize,
        /// What is wrong.
        problem: RowProblem,
    },
    /// An array whose number of values does not match its shape.
    #[error("array of {values} values does not have shape {shape:?}")]
    ArrayShape {
        /// The values given.
        values: usize,
        /// The shape.
        shape: Vec<usize>,
    },
    /// A file that cannot be created or written.
    #[error("cannot {action} {}: {error}", path.display())]
    File {
        /// `create` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A pair file whose split leaves no training rows.
    #[error("{path}: no training rows (every row is held out, or the file is empty): {error}")]
    NoTrainingRows {
        /// The file.
        path: String,
        /// gumbel-core's refusal of an empty list.
        error: CoreError,
    },
    /// A held-out fraction outside (0, 1).
    #[error("{option} must lie in (0, 1), not {value}")]
    HeldOut {
        /// The option as the caller spells it.
        option: String,
        /// The fraction given.
        value: f64,
    },
    /// A gadget method among the methods of `evaluate` (gadgets are given as gadgets).
    #[error("give gadgets by {prefix}checkpoint, not in {prefix}methods")]
    GadgetInMethods {
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
    },
    /// Pairs of another K than the cost.
    #[error("{path}: the pairs have {pairs} outcomes, the cost {cost}")]
    PairsAndCost {
        /// The file, or `pairs`.
        path: String,
        /// K of the pairs.
        pairs: usize,
        /// K of the cost.
        cost: usize,
    },
    /// Rows with a reward column and a cost or reward given as well.
    #[error("{path}: the rows carry their own reward; give no {prefix}cost or {prefix}reward")]
    RewardColumnAndCost {
        /// The file, or `pairs`.
        path: String,
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
    },
    /// Neither a cost, nor a reward, nor a reward column.
    #[error("evaluate needs {prefix}cost or {prefix}reward")]
    EvaluateNeedsCost {
        /// `--` or nothing ([`Spelling`]).
        prefix: &'static str,
    },
    /// No rows to evaluate (an empty file, or none held out).
    #[error("{path}: no pairs to evaluate")]
    NoPairs {
        /// The file, or `pairs`.
        path: String,
    },
    /// A method that failed on a row of the pairs.
    #[error("{path}: {method}: {error}")]
    Scoring {
        /// The file, or `pairs`.
        path: String,
        /// The method's name.
        method: String,
        /// Why.
        error: CoreError,
    },
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, MethodError>;

/// What some methods read besides (p, q).
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// inverse-cdf: the outcome order on [0, 1), a permutation of 0..K; index order when absent.
    pub order: Option<&'a [usize]>,
    /// permuted-inverse-cdf: the seed of the authors' permutation (the paper's is 1).
    pub permutation_seed: u64,
    /// gadget-1, gadget-2: the trained gadget.
    pub gadget: Option<&'a Gadget>,
    /// How error messages name the options.
    pub spelling: Spelling,
}

impl Options<'_> {
    /// No options: index order, the paper's permutation seed 1, no gadget.
    pub fn new(spelling: Spelling) -> Self {
        Self { order: None, permutation_seed: 1, gadget: None, spelling }
    }

    /// Refuses options that `method` does not read (they would be silently ignored).
    fn check(&self, method: Method) -> Result<()> {
        if self.order.is_some() && method != Method::InverseCdf {
            return Err(MethodError::OrderNotRead {
                prefix: self.spelling.prefix(),
                method: method.name(),
            });
        }
        if self.gadget.is_some() && method.gadget_kind().is_none() {
            return Err(MethodError::GadgetNotRead { method: method.name() });
        }
        Ok(())
    }
}

/// A chosen mechanism: a baseline it owns, or the caller's gadget, which it borrows (a gadget's
/// libtorch tensors are not `Sync`, so a reference to one cannot be a `Send` mechanism).
pub enum Chosen<'a> {
    /// A baseline or Gumbel-max.
    Owned(Box<dyn Mechanism>),
    /// A trained gadget.
    Gadget(&'a Gadget),
}

impl Deref for Chosen<'_> {
    type Target = dyn Mechanism;

    fn deref(&self) -> &Self::Target {
        match self {
            Chosen::Owned(mechanism) => mechanism.as_ref(),
            Chosen::Gadget(gadget) => *gadget,
        }
    }
}

/// The one map from a method to its mechanism: the baselines with their order or `cost` (what
/// lp-optimal minimises), the gadgets as given in `options`.
pub fn mechanism<'a>(
    method: Method,
    options: &Options<'a>,
    cost: Option<&CostMatrix>,
) -> Result<Chosen<'a>> {
    options.check(method)?;
    let Some(kind) = method.gadget_kind() else {
        return baseline(method, options, cost).map(Chosen::Owned);
    };
    let gadget = options.gadget.ok_or(MethodError::MissingGadget { method: method.name() })?;
    let found = gadget.config().kind;
    if found != kind {
        return Err(MethodError::WrongGadget { found: found.name(), wanted: kind.name() });
    }
    Ok(Chosen::Gadget(gadget))
}

/// The mechanism of a method that is not a gadget, owned; an error for a gadget method.
pub fn baseline(
    method: Method,
    options: &Options,
    cost: Option<&CostMatrix>,
) -> Result<Box<dyn Mechanism>> {
    options.check(method)?;
    Ok(match method {
        Method::GumbelMax => Box::new(GumbelMaxMethod),
        Method::Independent => Box::new(Independent),
        Method::InverseCdf | Method::PermutedInverseCdf => {
            let order = match (method, options.order) {
                (Method::PermutedInverseCdf, _) => {
                    Order::Authors { seed: options.permutation_seed }
                }
                (_, Some(ranks)) => Order::Given(OutcomeOrder::new(ranks.to_vec())?),
                (_, None) => Order::Index,
            };
            Box::new(InverseCdfMethod { order })
        }
        Method::Maximal => Box::new(MaximalMethod),
        Method::LpOptimal => {
            let cost =
                cost.ok_or(MethodError::MissingCost { prefix: options.spelling.prefix() })?;
            Box::new(LpOptimal { cost: cost.clone() })
        }
        Method::Gadget1 | Method::Gadget2 => {
            return Err(MethodError::MissingGadget { method: method.name() })
        }
    })
}

/// The mechanism of a counterfactual over `k` outcomes: [`mechanism`], refused for a coupling that
/// is no structural mechanism (lp-optimal is built with the mismatch cost only to be refused; a
/// counterfactual reads no cost).
pub fn counterfactual_mechanism<'a>(
    method: Method,
    options: &Options<'a>,
    k: usize,
) -> Result<Chosen<'a>> {
    let chosen = mechanism(method, options, Some(&CostMatrix::mismatch(k)))?;
    if !chosen.is_structural() {
        return Err(MethodError::NotStructural { method: method.name() });
    }
    Ok(chosen)
}

/// `samples` draws from `seed` as a computation: `None` (exact) without samples, except for a
/// mechanism without a closed form (Gadget 1), which samples [`DEFAULT_SAMPLES`] draws from `seed`;
/// zero samples is an error.
pub fn sampling(
    mechanism: &dyn Mechanism,
    samples: Option<u64>,
    seed: u64,
    spelling: Spelling,
) -> Result<Option<Computation>> {
    Ok(match samples {
        Some(0) => return Err(MethodError::ZeroSamples { prefix: spelling.prefix() }),
        Some(samples) => Some(Computation::Sampled { samples, seed }),
        None if !mechanism.has_closed_form() => {
            Some(Computation::Sampled { samples: DEFAULT_SAMPLES, seed })
        }
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_their_methods() {
        for (i, name) in NAMES.iter().enumerate() {
            let method = Method::parse(name).unwrap();
            assert_eq!(method, ALL[i]);
            assert_eq!(method.name(), *name);
        }
        let error = Method::parse("gumbel").unwrap_err().to_string();
        assert!(
            error.starts_with("invalid value 'gumbel' for method; possible values: gumbel-max,")
        );
    }

    #[test]
    fn of_gadget_inverts_gadget_kind() {
        for kind in [GadgetKind::Gadget1, GadgetKind::Gadget2] {
            assert_eq!(Method::of_gadget(kind).gadget_kind(), Some(kind));
        }
        let gadgets = ALL.iter().filter(|method| method.gadget_kind().is_some()).count();
        assert_eq!(gadgets, 2);
    }

    #[test]
    fn each_baseline_is_the_mechanism_of_its_name() {
        let cost = CostMatrix::mismatch(3);
        for method in &ALL[..6] {
            let chosen = mechanism(*method, &Options::new(Spelling::Flags), Some(&cost)).unwrap();
            assert_eq!(chosen.name(), method.name());
        }
    }

    #[test]
    fn options_a_method_does_not_read_are_refused_in_the_callers_spelling() {
        let order = [1, 0, 2];
        let flags = Options { order: Some(&order), ..Options::new(Spelling::Flags) };
        let error = mechanism(Method::GumbelMax, &flags, None).err().unwrap().to_string();
        assert_eq!(error, "--order is for inverse-cdf only, not gumbel-max");
        let keywords = Options::new(Spelling::Keywords);
        let error = mechanism(Method::LpOptimal, &keywords, None).err().unwrap().to_string();
        assert_eq!(error, "lp-optimal needs a cost: give cost or reward");
        let error = mechanism(Method::Gadget2, &keywords, None).err().unwrap().to_string();
        assert_eq!(error, "method gadget-2 needs a gadget");
        let error = counterfactual_mechanism(Method::Maximal, &keywords, 3).err().unwrap();
        assert!(matches!(error, MethodError::NotStructural { method: "maximal" }));
        let gumbel = GumbelMaxMethod;
        assert!(sampling(&gumbel, Some(0), 0, Spelling::Flags).is_err());
        assert_eq!(sampling(&gumbel, None, 0, Spelling::Flags).unwrap(), None);
    }
}
