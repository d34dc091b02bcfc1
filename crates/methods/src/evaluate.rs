//! Every method's mean expected cost E[C], variance Var[h(x) - h(y)] and P(x != y) over a stream of
//! pairs (all rows, or the held-out ones of a seeded [`Split`]), and, where rows carry `observed`,
//! the mean counterfactual variance Var[h(y) | x_obs]: what `gumbel-gadgets evaluate` prints and
//! `gumbel_gadgets.evaluate` returns, as a [`Summary`] whose JSON is the CLI's.
//!
//! The cost is one K x K matrix for every row (from a cost or a reward vector h, C_ij =
//! (h_i - h_j)^2), or each row's own reward column: then row r's cost is (h^r_i - h^r_j)^2, its
//! variances use h^r, and lp-optimal minimises that row's cost.
//!
//! Each mean comes with its standard error over the rows, sd / sqrt(N) (for a sampled method the
//! spread includes its sampling noise; the pairs of a chunk starting at row i are drawn from seed + i
//! onwards). Rows are read and scored [`CHUNK`] at a time, so memory does not grow with the file.

use std::collections::BTreeMap;
use std::time::Instant;

use baselines::LpOptimal;
use gadgets::task::Split;
use gadgets::Gadget;
use gumbel_core::method::{Computation, Joint, Mechanism, Query};
use gumbel_core::{CostMatrix, Result as CoreResult};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pair_file::{PairRow, PairSource, CHUNK};
use crate::{baseline, Chosen, Method, MethodError, Options, Result, Spelling};

/// The methods evaluated by default: every one that needs no checkpoint.
pub const DEFAULT_METHODS: [Method; 6] = [
    Method::Independent,
    Method::InverseCdf,
    Method::PermutedInverseCdf,
    Method::Maximal,
    Method::LpOptimal,
    Method::GumbelMax,
];

/// A mean over rows and its standard error sd / sqrt(N) (ddof 1; 0 for one row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The mean.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

/// One method's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Whether each row's joint is exact (else estimated from the samples per pair).
    pub exact: bool,
    /// E[C].
    pub expected_cost: Option<Estimate>,
    /// Var[h(x) - h(y)], when there is a reward.
    pub variance: Option<Estimate>,
    /// P(x != y).
    pub p_x_ne_y: Option<Estimate>,
    /// Seconds spent computing this method's joints and counterfactuals.
    pub seconds: f64,
}

/// One method's counterfactual score over the rows with `observed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterfactualSummary {
    /// Var[h(y) | x_obs].
    pub variance: Option<Estimate>,
}

/// What `evaluate` reports: `{"pairs": N, "rows": "...", "methods": {...}, "counterfactual":
/// {...}}`, the last only when some row carries `observed` (and there is a reward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows evaluated.
    pub pairs: usize,
    /// Which rows: `all`, or `held-out F (split seed S)`.
    pub rows: String,
    /// By method name.
    pub methods: BTreeMap<String, MethodSummary>,
    /// By method name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counterfactual: BTreeMap<String, CounterfactualSummary>,
}

/// What is evaluated: a mechanism by name, or lp-optimal with each row's own cost.
pub struct Candidate<'a> {
    name: String,
    scorer: Scorer<'a>,
}

enum Scorer<'a> {
    Mechanism(Chosen<'a>),
    /// lp-optimal for the reward column: one LP per row.
    LpOptimalPerRow,
}

impl<'a> Candidate<'a> {
    /// The method `method` (no gadget), with `cost` for lp-optimal; without a cost, lp-optimal
    /// minimises each row's own cost (the rows must then carry rewards).
    pub fn method(method: Method, cost: Option<&CostMatrix>, spelling: Spelling) -> Result<Self> {
        if method.gadget_kind().is_some() {
            return Err(MethodError::GadgetInMethods { prefix: spelling.prefix() });
        }
        let scorer = match (method, cost) {
            (Method::LpOptimal, None) => Scorer::LpOptimalPerRow,
            _ => Scorer::Mechanism(Chosen::Owned(baseline(method, &Options::new(spelling), cost)?)),
        };
        Ok(Self { name: method.name().to_owned(), scorer })
    }

    /// A trained gadget, named `gadget-k (label)`.
    pub fn gadget(gadget: &'a Gadget, label: &str) -> Self {
        Self {
            name: format!("{} ({label})", Mechanism::name(gadget)),
            scorer: Scorer::Mechanism(Chosen::Gadget(gadget)),
        }
    }

    /// The name in the summary.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn has_closed_form(&self) -> bool {
        match &self.scorer {
            Scorer::Mechanism(m) => m.has_closed_form(),
            Scorer::LpOptimalPerRow => true,
        }
    }

    /// The joints of `rows` (row r's own cost for lp-optimal per row).
    fn joints(&self, rows: &[PairRow], how: Computation) -> CoreResult<Vec<Joint>> {
        match &self.scorer {
            Scorer::Mechanism(m) => {
                let pairs: Vec<_> = rows.iter().map(|r| (r.p.clone(), r.q.clone())).collect();
                m.joints(&pairs, how)
            }
            Scorer::LpOptimalPerRow => rows
                .par_iter()
                .enumerate()
                .map(|(i, r)| row_lp(r)?.joint(&r.p, &r.q, how.for_pair(i)))
                .collect(),
        }
    }

    /// The counterfactual rows of `rows` (each with an observation).
    fn counterfactuals(&self, rows: &[&PairRow], how: Computation) -> CoreResult<Vec<Vec<f64>>> {
        let answers = match &self.scorer {
            Scorer::Mechanism(m) => {
                let queries: Vec<Query> = rows
                    .iter()
                    .filter_map(|r| {
                        r.observed.map(|x| Query { p: r.p.clone(), q: r.q.clone(), observed: x })
                    })
                    .collect();
                m.counterfactuals(&queries, how)?
            }
            Scorer::LpOptimalPerRow => rows
                .par_iter()
                .enumerate()
                .filter_map(|(i, r)| r.observed.map(|x| (i, r, x)))
                .map(|(i, r, x)| row_lp(r)?.counterfactual(&r.p, &r.q, x, how.for_pair(i)))
                .collect::<CoreResult<Vec<_>>>()?,
        };
        Ok(answers.into_iter().map(|a| a.value).collect())
    }
}

/// lp-optimal for row `r`'s own reward.
fn row_lp(r: &PairRow) -> CoreResult<LpOptimal> {
    let h = r.reward.as_deref().unwrap_or_default();
    Ok(LpOptimal { cost: CostMatrix::squared_reward(h)? })
}

/// The cost of every row: one matrix with an optional reward vector, or each row's reward column.
#[derive(Debug, Clone, Copy)]
pub enum Cost<'a> {
    /// One cost matrix, with the reward h it came from (C_ij = (h_i - h_j)^2) if it did.
    Shared {
        /// C.
        cost: &'a CostMatrix,
        /// h, for the variances.
        reward: Option<&'a [f64]>,
    },
    /// Each row's `reward`.
    RewardColumn,
}

/// How to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The cost.
    pub cost: Cost<'a>,
    /// The held-out rows of this split, or every row.
    pub split: Option<Split>,
    /// Samples per pair for a method without a closed form.
    pub samples: u64,
    /// The seed of the samples.
    pub seed: u64,
    /// How errors name the options.
    pub spelling: Spelling,
}

/// Checks the options that need no pairs: a held-out fraction in (0, 1) (for held-out rows) and
/// a positive sample count.
pub fn check(held_out: Option<f64>, samples: u64, spelling: Spelling) -> Result<()> {
    if let Some(fraction) = held_out.filter(|f| !(*f > 0.0 && *f < 1.0)) {
        return Err(MethodError::HeldOut { option: spelling.option("held-out"), value: fraction });
    }
    if samples == 0 {
        return Err(MethodError::ZeroSamples { prefix: spelling.prefix() });
    }
    Ok(())
}

/// Running mean and variance (Welford).
#[derive(Default, Clone)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn estimate(&self) -> Option<Estimate> {
        if self.n == 0 {
            return None;
        }
        let se =
            if self.n > 1 { (self.m2 / (self.n - 1) as f64 / self.n as f64).sqrt() } else { 0.0 };
        Some(Estimate { mean: self.mean, se })
    }
}

/// One candidate's running totals.
#[derive(Default)]
struct Totals {
    cost: Moments,
    variance: Moments,
    mismatch: Moments,
    counterfactual: Moments,
    seconds: f64,
}

/// Scores every candidate on the rows of `source` that `settings` selects.
pub fn evaluate(
    source: &mut dyn PairSource,
    candidates: &[Candidate],
    settings: &Settings,
) -> Result<Summary> {
    let mut totals: Vec<Totals> = candidates.iter().map(|_| Totals::default()).collect();
    let mut pairs = 0usize;
    loop {
        let rows = source.next_rows(CHUNK)?;
        let Some(first) = rows.first() else { break };
        let k = source.outcomes().unwrap_or(0);
        let path = source.name().to_owned();
        match settings.cost {
            Cost::Shared { cost, .. } if cost.len() != k => {
                return Err(MethodError::PairsAndCost { path, pairs: k, cost: cost.len() })
            }
            Cost::Shared { .. } if first.reward.is_some() => {
                return Err(MethodError::RewardColumnAndCost {
                    path,
                    prefix: settings.spelling.prefix(),
                })
            }
            Cost::RewardColumn if first.reward.is_none() => {
                return Err(MethodError::EvaluateNeedsCost { prefix: settings.spelling.prefix() })
            }
            _ => {}
        }
        let rows: Vec<PairRow> = rows
            .into_iter()
            .filter(|r| settings.split.is_none_or(|s| s.holds_out(r.index)))
            .collect();
        pairs += rows.len();
        for (candidate, total) in candidates.iter().zip(&mut totals) {
            score_rows(candidate, total, &rows, settings).map_err(|error| {
                MethodError::Scoring { path: path.clone(), method: candidate.name.clone(), error }
            })?;
        }
    }
    if pairs == 0 {
        return Err(MethodError::NoPairs { path: source.name().to_owned() });
    }
    let rows = match settings.split {
        None => "all".to_owned(),
        Some(split) => format!("held-out {} (split seed {})", split.held_out, split.seed),
    };
    let mut summary =
        Summary { pairs, rows, methods: BTreeMap::new(), counterfactual: BTreeMap::new() };
    for (candidate, total) in candidates.iter().zip(&totals) {
        summary.methods.insert(
            candidate.name.clone(),
            MethodSummary {
                exact: candidate.has_closed_form(),
                expected_cost: total.cost.estimate(),
                variance: total.variance.estimate(),
                p_x_ne_y: total.mismatch.estimate(),
                seconds: total.seconds,
            },
        );
        if total.counterfactual.n > 0 {
            summary.counterfactual.insert(
                candidate.name.clone(),
                CounterfactualSummary { variance: total.counterfactual.estimate() },
            );
        }
    }
    Ok(summary)
}

/// Adds `rows` to `total`.
fn score_rows(
    candidate: &Candidate,
    total: &mut Totals,
    rows: &[PairRow],
    settings: &Settings,
) -> CoreResult<()> {
    let Some(first) = rows.first() else { return Ok(()) };
    let how = if candidate.has_closed_form() {
        Computation::Exact
    } else {
        Computation::Sampled {
            samples: settings.samples,
            seed: settings.seed.wrapping_add(first.index as u64),
        }
    };
    let start = Instant::now();
    let joints = candidate.joints(rows, how)?;
    for (joint, row) in joints.iter().zip(rows) {
        let (h, own);
        let cost = match settings.cost {
            Cost::Shared { cost, reward } => {
                h = reward;
                cost
            }
            Cost::RewardColumn => {
                h = row.reward.as_deref();
                own = CostMatrix::squared_reward(h.unwrap_or_default())?;
                &own
            }
        };
        total.cost.add(joint.value.expected_cost(cost)?);
        total.mismatch.add(joint.value.p_x_ne_y());
        if let Some(h) = h {
            total.variance.add(joint.value.variance(h, h)?);
        }
    }
    let has_reward =
        matches!(settings.cost, Cost::RewardColumn | Cost::Shared { reward: Some(_), .. });
    let observed: Vec<&PairRow> = rows.iter().filter(|r| r.observed.is_some()).collect();
    if has_reward && !observed.is_empty() {
        let answers = candidate.counterfactuals(&observed, how)?;
        for (distribution, row) in answers.iter().zip(&observed) {
            let h = match settings.cost {
                Cost::Shared { reward, .. } => reward.unwrap_or_default(),
                Cost::RewardColumn => row.reward.as_deref().unwrap_or_default(),
            };
            let mean: f64 = distribution.iter().zip(h).map(|(p, v)| p * v).sum();
            let second: f64 = distribution.iter().zip(h).map(|(p, v)| p * v * v).sum();
            total.counterfactual.add((second - mean * mean).max(0.0));
        }
    }
    total.seconds += start.elapsed().as_secs_f64();
    Ok(())
}
