//! Table 1's gadget rows by the authors' training protocol (Section 7.2; official-gadgets-numbers.md):
//!
//! - Phase 1, the learning-rate sweep: Gadget 1 and Gadget 2 (|Z| = 20, hidden [1024, 1024], tau 1,
//!   fixed uniform prior; Gadget 1 with one shared network, as the authors' JAX code) for every rate in
//!   {1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2} and every mode (independent, mirrored, fixed), 5,000 Adam steps
//!   of batch 64 with 16 inner samples, cost (i - j)^2, one training seed; each scored on the 10,000
//!   evaluation pairs of seed 765987 (fixed mode: its one pair). The rate with the lowest score is chosen
//!   per gadget and mode.
//! - Phase 2: at the chosen rate, 50,000 steps for training seeds 1..5, run s scored on the pairs of
//!   evaluation seed 1000 + s (a fresh test set per seed, as the authors); mean +- std (ddof 0) over seeds.
//!
//! The evaluation pairs are the authors' own (`gumbel_core::authors`). The score of a pair is
//! E[(x - y)^2] under the gadget's coupling: exact for Gadget 2, and for Gadget 1 (no closed form) a
//! Monte Carlo estimate from the authors' number of samples per pair (1,000; fixed mode 100,000).
//! The quick mode skips the sweep and trains briefly on one seed at rate 1e-3; `--no-sweep` skips the
//! sweep in full mode, phase 2 then training at the rates the authors' sweep chose.

use anyhow::Result;
use gadgets::task::{CostSpec, Mode as SpecMode, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{Gadget, GadgetConfig, GadgetKind, TrainRun};
use gumbel_core::authors::{evaluation_pairs, fixed_pair};
use gumbel_core::pairs::{LogitPair, PairMode, SoftmaxUniform};
use gumbel_core::rng::splitmix64;
use gumbel_core::{Categorical, CostMatrix};
use serde::{Deserialize, Serialize};

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::markdown::table;
use crate::part::names;
use crate::progress::Progress;
use crate::sharing::{share, Plan};
use crate::stats::{mean, spread_units, std_ddof0};
use crate::training::{estimated_seconds, train_stacks, MeasuredStep, Resumable, Throughput};
use crate::units::Unit;

/// The cache folder of these runs (table1's).
const PART: &str = names::TABLE1;
/// K.
const OUTCOMES: usize = 10;
/// The learning rates of the authors' sweep.
const RATES: [f64; 6] = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
/// The evaluation seed of the sweep.
const SWEEP_EVALUATION_SEED: u64 = 765_987;
/// Evaluation seeds of phase 2 are 1000 + training seed.
const EVALUATION_SEED_OFFSET: u64 = 1000;

/// Table 1's modes of logit pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairsMode {
    Independent,
    Mirrored,
    Fixed,
}

const MODES: [PairsMode; 3] = [PairsMode::Independent, PairsMode::Mirrored, PairsMode::Fixed];
const KINDS: [GadgetKind; 2] = [GadgetKind::Gadget1, GadgetKind::Gadget2];

impl PairsMode {
    fn name(self) -> &'static str {
        match self {
            PairsMode::Independent => "independent",
            PairsMode::Mirrored => "mirrored",
            PairsMode::Fixed => "fixed",
        }
    }

    fn distribution(self) -> SoftmaxUniform {
        SoftmaxUniform::paper(if self == PairsMode::Mirrored {
            PairMode::Mirrored
        } else {
            PairMode::Independent
        })
    }

    /// The training distribution.
    fn training_pairs(self) -> Result<PairSpec> {
        Ok(match self {
            PairsMode::Independent => PairSpec::SoftmaxUniform {
                outcomes: OUTCOMES,
                scale: 8.0,
                mode: SpecMode::Independent,
            },
            PairsMode::Mirrored => PairSpec::SoftmaxUniform {
                outcomes: OUTCOMES,
                scale: 8.0,
                mode: SpecMode::Mirrored,
            },
            PairsMode::Fixed => {
                let pair = fixed_pair(&self.distribution())?;
                PairSpec::Fixed { p: pair.p, q: pair.q, noise: 0.0 }
            }
        })
    }

    /// The evaluation pairs of `seed`: the authors' `num_pairs` pairs, or the fixed pair.
    fn evaluation_pairs(self, seed: u64, num_pairs: usize) -> Result<Vec<LogitPair>> {
        Ok(match self {
            PairsMode::Fixed => vec![fixed_pair(&self.distribution())?],
            _ => evaluation_pairs(&self.distribution(), seed, num_pairs)?,
        })
    }
}

/// The authors' phase-1 scores per rate of [`RATES`] and phase-2 scores per training seed 1..5.
struct Authors {
    sweep: [f64; 6],
    seeds: [f64; 5],
}

// Printed measurements: 3.1410 (Gadget 2, fixed, seed 4) is a score, not an approximation of pi.
#[allow(clippy::approx_constant)]
fn authors(kind: GadgetKind, mode: PairsMode) -> Authors {
    let (sweep, seeds) = match (kind, mode) {
        (GadgetKind::Gadget2, PairsMode::Independent) => (
            [9.6486, 9.3079, 8.8592, 8.8147, 9.2065, 13.8375],
            [8.7857, 8.7584, 8.7388, 8.7900, 8.7195],
        ),
        (GadgetKind::Gadget1, PairsMode::Independent) => (
            [14.0209, 13.9911, 14.0315, 14.1306, 14.3617, 14.3397],
            [14.0397, 14.0517, 14.0592, 14.0333, 14.0687],
        ),
        (GadgetKind::Gadget2, PairsMode::Mirrored) => (
            [14.2178, 13.8670, 13.6066, 13.5656, 13.7463, 18.9606],
            [13.4887, 13.5027, 13.5999, 13.3833, 13.3682],
        ),
        (GadgetKind::Gadget1, PairsMode::Mirrored) => (
            [18.7739, 17.6351, 18.1914, 18.3887, 19.1777, 19.9766],
            [17.3937, 16.7102, 16.1265, 16.2885, 16.8468],
        ),
        (GadgetKind::Gadget2, PairsMode::Fixed) => (
            [3.1299, 3.1479, 3.1748, 3.1618, 3.6700, 7.3154],
            [3.1461, 3.1316, 3.1257, 3.1410, 3.1528],
        ),
        (GadgetKind::Gadget1, PairsMode::Fixed) => (
            [5.2283, 4.8208, 4.9635, 5.3675, 5.3996, 6.3977],
            [4.8308, 4.8122, 4.7809, 4.2791, 4.7627],
        ),
    };
    Authors { sweep, seeds }
}

impl Authors {
    /// The rate the authors chose (lowest sweep score).
    fn chosen_rate(&self) -> f64 {
        RATES[argmin(&self.sweep)]
    }
}

/// The sizes of the protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Protocol {
    /// Run the phase-1 sweep (quick mode or `--no-sweep`: no; phase 2 takes the authors' rates).
    pub sweep: bool,
    /// Steps of a sweep run.
    pub sweep_steps: usize,
    /// Steps of a phase-2 run.
    pub steps: usize,
    /// Phase-2 training seeds 1..=seeds.
    pub seeds: u64,
    /// Evaluation pairs per seed (independent and mirrored modes).
    pub evaluation_pairs: usize,
    /// Gadget 1's Monte Carlo samples per pair (independent and mirrored).
    pub samples_per_pair: u64,
    /// Gadget 1's Monte Carlo samples of the fixed pair.
    pub fixed_samples: u64,
    /// The widths of the hidden layers (the paper's [1024, 1024]; smaller in quick mode).
    pub hidden: Vec<usize>,
    /// The phase-2 learning rate in quick mode (None: the sweep's or the authors' choice).
    pub quick_rate: Option<f64>,
}

impl Protocol {
    /// The paper's protocol, or a brief quick one.
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Full => Self {
                sweep: true,
                sweep_steps: 5_000,
                steps: 50_000,
                seeds: 5,
                evaluation_pairs: 10_000,
                samples_per_pair: 1_000,
                fixed_samples: 100_000,
                hidden: vec![1024, 1024],
                quick_rate: None,
            },
            Mode::Quick => Self {
                sweep: false,
                sweep_steps: 0,
                steps: 100,
                seeds: 1,
                evaluation_pairs: 500,
                samples_per_pair: 200,
                fixed_samples: 20_000,
                hidden: vec![128, 128],
                quick_rate: Some(1e-3),
            },
        }
    }

    /// Training steps of the whole protocol.
    pub fn total_steps(&self) -> u64 {
        let combos = (MODES.len() * KINDS.len()) as u64;
        let sweep = if self.sweep { RATES.len() as u64 * self.sweep_steps as u64 } else { 0 };
        combos * (sweep + self.seeds * self.steps as u64)
    }

    /// Phase 2's learning rate: quick mode's fixed one, else the rate of our sweep's lowest score, or the
    /// authors' choice when the sweep was not run (`--no-sweep`).
    fn phase2_rate(&self, kind: GadgetKind, mode: PairsMode, sweep: &[Option<Score>]) -> f64 {
        let ours: Vec<f64> = sweep.iter().map(|s| s.map_or(f64::NAN, |s| s.mean)).collect();
        if let Some(rate) = self.quick_rate {
            rate
        } else if ours.iter().all(|v| v.is_finite()) {
            RATES[argmin(&ours)]
        } else {
            authors(kind, mode).chosen_rate()
        }
    }

    fn run(
        &self,
        master: u64,
        kind: GadgetKind,
        mode: PairsMode,
        rate: f64,
        steps: usize,
        seed: u64,
    ) -> Result<TrainRun> {
        Ok(TrainRun {
            gadget: GadgetConfig {
                hidden: self.hidden.clone(),
                ..GadgetConfig::paper(kind, OUTCOMES)
            },
            pairs: mode.training_pairs()?,
            cost: CostSpec::SquaredIndex,
            training: TrainOptions {
                loss: LossKind::Joint,
                batch: 64,
                inner_samples: 16,
                learning_rate: rate,
                steps,
                seed: splitmix64(master ^ splitmix64(0x7ab1_e100 + seed)),
                unnormalised_logits: false,
            },
            observed: None,
        })
    }
}

/// A gadget's score on a set of evaluation pairs: the mean over pairs of E[(x - y)^2], the standard
/// deviation of the per-pair scores and its standard error.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Score {
    /// Mean over pairs.
    pub mean: f64,
    /// Standard deviation over pairs.
    pub between_pairs_std: f64,
    /// Whether every per-pair value is exact (Gadget 2).
    pub exact: bool,
}

fn evaluate(gadget: &Gadget, pairs: &[LogitPair], samples: u64, seed: u64) -> Result<Score> {
    let cost = CostMatrix::squared_index(OUTCOMES);
    let mut scores = Vec::with_capacity(pairs.len());
    let mut exact = true;
    for (index, pair) in pairs.iter().enumerate() {
        let (p, q) = (Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?);
        let estimate = gadget.coupling(&p, &q, samples, splitmix64(seed ^ index as u64))?;
        exact &= estimate.exact;
        scores.push(estimate.coupling.expected_cost(&cost)?);
    }
    Ok(Score { mean: mean(&scores), between_pairs_std: std_ddof0(&scores), exact })
}

/// One gadget and column of the protocol, as written in table1.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    /// The gadget's name.
    pub gadget: String,
    /// The column (mode of pairs).
    pub mode: String,
    /// The phase-2 learning rate.
    pub rate: f64,
    /// The rate the authors' sweep chose.
    pub authors_rate: f64,
    /// Our sweep's score per rate of [`RATES`] (None: not run).
    pub sweep: Vec<Option<Score>>,
    /// The authors' sweep scores.
    pub authors_sweep: [f64; 6],
    /// Phase 2's score per training seed.
    pub per_seed: Vec<Score>,
    /// Mean of the per-seed means.
    pub mean: f64,
    /// Their std (ddof 0).
    pub std: f64,
    /// The authors' phase-2 scores.
    pub authors_per_seed: [f64; 5],
}

/// The protocol's training throughput.
#[derive(Debug, Serialize, Deserialize)]
pub struct Training {
    /// Steps trained.
    pub steps: u64,
    /// Seconds spent in them.
    pub seconds: f64,
    /// Steps per second (None when nothing was trained).
    pub steps_per_second: Option<f64>,
    /// Steps of the full protocol.
    pub full_protocol_steps: f64,
}

/// What the protocol adds to table1.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProtocolRows {
    /// The protocol it ran.
    pub protocol: Protocol,
    /// A row per gadget and column.
    pub rows: Vec<Row>,
    /// Its training.
    pub training: Training,
}

/// The rows in order: every gadget of each column.
fn combos() -> Vec<(GadgetKind, PairsMode)> {
    MODES.iter().flat_map(|&m| KINDS.iter().map(move |&k| (k, m))).collect()
}

/// The checkpoint label of a run.
fn label(kind: GadgetKind, mode: PairsMode, rate: f64, seed: u64) -> String {
    format!("{}-{}-lr{rate:e}-seed{seed}", kind.name(), mode.name())
}

impl Protocol {
    /// Phase 1's units, row by row and rate by rate (none without the sweep).
    fn phase1(&self, master: u64) -> Result<Vec<Scoring>> {
        let mut units = Vec::new();
        for (kind, mode) in combos().into_iter().filter(|_| self.sweep) {
            for rate in RATES {
                units.push(Scoring {
                    name: label(kind, mode, rate, 0),
                    run: self.run(master, kind, mode, rate, self.sweep_steps, 0)?,
                    mode,
                    evaluation_seed: SWEEP_EVALUATION_SEED,
                });
            }
        }
        Ok(units)
    }

    /// Phase 2's units at each row's rate, row by row and seed by seed.
    fn phase2(&self, master: u64, rates: &[f64]) -> Result<Vec<Scoring>> {
        let mut units = Vec::new();
        for ((kind, mode), &rate) in combos().into_iter().zip(rates) {
            for seed in 1..=self.seeds {
                units.push(Scoring {
                    name: label(kind, mode, rate, seed),
                    run: self.run(master, kind, mode, rate, self.steps, seed)?,
                    mode,
                    evaluation_seed: EVALUATION_SEED_OFFSET + seed,
                });
            }
        }
        Ok(units)
    }

    /// Phase 2's rate of each row, from the sweep's scores (one list of [`RATES`] per row).
    fn rates(&self, sweeps: &[Vec<Option<Score>>]) -> Vec<f64> {
        combos()
            .iter()
            .zip(sweeps)
            .map(|(&(kind, mode), sweep)| self.phase2_rate(kind, mode, sweep))
            .collect()
    }

    /// The sweep's scores, row by row: every phase-1 score read from the cache, None while one is
    /// missing (never computed here); without the sweep, no scores.
    fn cached_sweeps(&self, ctx: &Context) -> Result<Option<Vec<Vec<Option<Score>>>>> {
        let mut scores = Vec::new();
        for unit in self.phase1(ctx.seed)? {
            match ctx.read_cached::<Score>(PART, &unit.key(self)?) {
                Some(score) => scores.push(Some(score)),
                None => return Ok(None),
            }
        }
        Ok(Some(self.sweeps(scores)))
    }

    /// Phase-1 scores in unit order as one list per row; without the sweep, Nones.
    fn sweeps(&self, scores: Vec<Option<Score>>) -> Vec<Vec<Option<Score>>> {
        if self.sweep {
            scores.chunks(RATES.len()).map(<[_]>::to_vec).collect()
        } else {
            combos().iter().map(|_| vec![None; RATES.len()]).collect()
        }
    }
}

/// The protocol's units of the plan: phase 1's scorings in stage 0, and phase 2's, which train at the
/// rates the sweep chose, in stage 1 (stage 0 without a sweep, their rates then fixed). A phase-2 unit's
/// key names its row and seed, not its rate, which is known only once phase 1 is done.
pub fn units(ctx: &Context, sweep: bool) -> Result<Vec<Unit<'_>>> {
    let mut protocol = Protocol::new(ctx.mode);
    protocol.sweep &= sweep;
    let mut units = Vec::new();
    for scoring in protocol.phase1(ctx.seed)? {
        let key = scoring.key(&protocol)?;
        let cost = scoring.estimated_seconds();
        let (protocol, done_key) = (protocol.clone(), key.clone());
        units.push(Unit::new(
            0,
            PART,
            key,
            cost,
            move || Ok(ctx.is_cached(PART, &done_key)),
            move |progress| {
                scoring.score(ctx, &protocol, progress, &mut Throughput::default()).map(drop)
            },
        ));
    }
    // Listed at the authors' rates: a unit's cost and name do not depend on its rate.
    let listed: Vec<f64> = combos().iter().map(|&(k, m)| authors(k, m).chosen_rate()).collect();
    let stage = u32::from(protocol.sweep);
    for (index, scoring) in protocol.phase2(ctx.seed, &listed)?.into_iter().enumerate() {
        let (kind, mode) = combos()[index / protocol.seeds as usize];
        let seed = index as u64 % protocol.seeds + 1;
        let key = if protocol.sweep {
            format!("{}-{}-phase2-seed{seed}", kind.name(), mode.name())
        } else {
            scoring.key(&protocol)?
        };
        let cost = scoring.estimated_seconds();
        // The unit as it stands: its scoring at the chosen rate, None while phase 1 is incomplete.
        let (protocol, done_protocol) = (protocol.clone(), protocol.clone());
        let at_rate = move |protocol: &Protocol| -> Result<Option<Scoring>> {
            let Some(sweeps) = protocol.cached_sweeps(ctx)? else { return Ok(None) };
            Ok(protocol.phase2(ctx.seed, &protocol.rates(&sweeps))?.into_iter().nth(index))
        };
        units.push(Unit::new(
            stage,
            PART,
            key,
            cost,
            move || match at_rate(&done_protocol)? {
                Some(scoring) => Ok(ctx.is_cached(PART, &scoring.key(&done_protocol)?)),
                None => Ok(false),
            },
            move |progress| {
                let scoring = at_rate(&protocol)?
                    .ok_or_else(|| anyhow::anyhow!("table1 phase 2 needs phase 1's scores"))?;
                scoring.score(ctx, &protocol, progress, &mut Throughput::default()).map(drop)
            },
        ));
    }
    Ok(units)
}

/// Runs the protocol (resuming from table1's cache), with phase 1 when `sweep` allows it.
pub fn gadget_rows(ctx: &Context, sweep: bool) -> Result<ProtocolRows> {
    let mut protocol = Protocol::new(ctx.mode);
    protocol.sweep &= sweep;
    let mut throughput = Throughput::default();
    let combos = combos();
    let phase1 = protocol.phase1(ctx.seed)?;
    let scores = score_all(ctx, "table1 phase 1", &protocol, &phase1, &mut throughput)?;
    let sweeps = protocol.sweeps(scores.into_iter().map(Some).collect());
    let rates = protocol.rates(&sweeps);
    let units = protocol.phase2(ctx.seed, &rates)?;
    let scores = score_all(ctx, "table1 phase 2", &protocol, &units, &mut throughput)?;
    let rows = combos
        .iter()
        .zip(&rates)
        .zip(sweeps)
        .zip(scores.chunks(protocol.seeds as usize))
        .map(|(((&(kind, mode), &rate), sweep), seeds)| {
            let authors = authors(kind, mode);
            let ours: Vec<f64> = seeds.iter().map(|s| s.mean).collect();
            Row {
                gadget: kind.name().to_owned(),
                mode: mode.name().to_owned(),
                rate,
                authors_rate: authors.chosen_rate(),
                sweep,
                authors_sweep: authors.sweep,
                per_seed: seeds.to_vec(),
                mean: mean(&ours),
                std: std_ddof0(&ours),
                authors_per_seed: authors.seeds,
            }
        })
        .collect();
    Ok(ProtocolRows {
        training: Training {
            steps: throughput.steps,
            seconds: throughput.seconds,
            steps_per_second: throughput.steps_per_second(),
            full_protocol_steps: Protocol::new(Mode::Full).total_steps() as f64,
        },
        protocol,
        rows,
    })
}

/// A training run of the protocol and the evaluation that scores it: one unit of work.
struct Scoring {
    /// The run's checkpoint label.
    name: String,
    run: TrainRun,
    mode: PairsMode,
    /// The seed of the evaluation pairs.
    evaluation_seed: u64,
}

impl Scoring {
    /// The number of evaluation pairs and Gadget 1's Monte Carlo samples per pair.
    fn evaluation_size(&self, protocol: &Protocol) -> (usize, u64) {
        match self.mode {
            PairsMode::Fixed => (1, protocol.fixed_samples),
            _ => (protocol.evaluation_pairs, protocol.samples_per_pair),
        }
    }

    /// Estimated seconds of its training on one core, scaled from the measured steps at the paper's
    /// size (docs/figure1-table1.md, "Measured time": Gadget 1 with one network 13.5 ms, Gadget 2
    /// with |Z| = 20 17.6 ms); its evaluation is not counted.
    fn estimated_seconds(&self) -> f64 {
        let kind = self.run.gadget.kind;
        let seconds = match kind {
            GadgetKind::Gadget1 => 0.0135,
            GadgetKind::Gadget2 => 0.0176,
        };
        let gadget = GadgetConfig::paper(kind, OUTCOMES);
        estimated_seconds(&self.run, &MeasuredStep { gadget, samples: 64 * 16, seconds })
    }

    /// The cache key of its score.
    fn key(&self, protocol: &Protocol) -> Result<String> {
        let (pairs, samples) = self.evaluation_size(protocol);
        Ok(format!(
            "score-{}-eval{}-{pairs}x{samples}",
            self.run.key(&self.name)?,
            self.evaluation_seed
        ))
    }

    /// As a unit of shared work: locked and done by its score's cache entry.
    fn plan(&self, ctx: &Context, protocol: &Protocol) -> Result<Plan> {
        let key = self.key(protocol)?;
        Ok(Plan {
            done: ctx.is_cached(PART, &key),
            steps: self.run.remaining_steps(ctx, &self.name)?,
            lock: key,
        })
    }

    /// The trained run's score on the pairs of its evaluation seed, cached.
    fn score(
        &self,
        ctx: &Context,
        protocol: &Protocol,
        progress: &Progress,
        throughput: &mut Throughput,
    ) -> Result<Score> {
        let (pairs, samples) = self.evaluation_size(protocol);
        let trained = self.run.trained(ctx, &self.name, progress)?;
        throughput.add(&trained);
        ctx.cached(PART, &self.key(protocol)?, || {
            let score = evaluate(
                &trained.gadget,
                &self.mode.evaluation_pairs(self.evaluation_seed, pairs)?,
                samples,
                self.evaluation_seed,
            )?;
            progress.note(&format!(
                "{}: E[(x-y)^2] {:.4} on evaluation seed {}",
                self.name, score.mean, self.evaluation_seed
            ));
            Ok(score)
        })
    }
}

/// The scores of `units` in order, doing (shared with other processes) those not yet cached; with
/// `--stack`, a phase's runs of one gadget (every mode, rate and seed) train first as one stack.
fn score_all(
    ctx: &Context,
    label: &str,
    protocol: &Protocol,
    units: &[Scoring],
    throughput: &mut Throughput,
) -> Result<Vec<Score>> {
    let remaining =
        units.iter().map(|u| u.run.remaining_steps(ctx, &u.name)).sum::<Result<u64>>()?;
    let progress = Progress::new(label, remaining, "steps");
    if ctx.stack {
        let labelled: Vec<(String, &TrainRun)> =
            units.iter().map(|u| (u.name.clone(), &u.run)).collect();
        train_stacks(ctx, &labelled, &progress)?;
    }
    share(
        ctx,
        &progress,
        units,
        |u| u.plan(ctx, protocol),
        |u| u.score(ctx, protocol, &progress, &mut Throughput::default()).map(drop),
    )?;
    let scores = units.iter().map(|u| u.score(ctx, protocol, &progress, throughput)).collect();
    progress.finish();
    scores
}

/// The protocol's rows against the paper's (full mode only).
pub fn checks(mode: Mode, rows: &ProtocolRows) -> Vec<Check> {
    if mode != Mode::Full {
        return Vec::new();
    }
    rows.rows
        .iter()
        .map(|row| {
            let (am, asd) = (mean(&row.authors_per_seed), std_ddof0(&row.authors_per_seed));
            Check::new(
                format!("{} / {} (trained)", row.mode, row.gadget),
                am,
                row.mean,
                0.05 + 3.0 * asd,
            )
            .with_spread(asd)
        })
        .collect()
}

/// The protocol's markdown section.
pub fn render(mode: Mode, rows: &ProtocolRows) -> String {
    let protocol = &rows.protocol;
    let mut sweep_rows = Vec::new();
    let mut table_rows = Vec::new();
    for row in &rows.rows {
        let (m, sd) = (row.mean, row.std);
        let (am, asd) = (mean(&row.authors_per_seed), std_ddof0(&row.authors_per_seed));
        if protocol.sweep {
            let mut cells = vec![row.gadget.clone(), row.mode.clone()];
            cells.extend(row.sweep.iter().zip(row.authors_sweep).map(|(s, a)| {
                format!("{} / {a:.2}", s.map_or("–".to_owned(), |s| format!("{:.2}", s.mean)))
            }));
            cells.push(format!("{:e} / {:e}", row.rate, row.authors_rate));
            sweep_rows.push(cells);
        }
        table_rows.push(vec![
            row.mode.clone(),
            row.gadget.clone(),
            format!("{:e}", row.rate),
            format!("{m:.2} ± {sd:.2}"),
            format!("{am:.2} ± {asd:.2}"),
            format!("{:+.2}", m - am),
            spread_units(m - am, asd),
        ]);
    }
    let training = &rows.training;
    let mut markdown = format!(
        "\n### Gadget rows: the authors' training protocol ({} mode)\n\n\
         Each gadget (hidden {:?}) trained on the column's distribution of pairs with cost (i - j)^2, batch 64, 16 inner samples, \
         {} Adam steps per seed at the chosen rate, training seeds 1..{}; seed s scored on the authors' evaluation \
         pairs of seed 1000 + s ({} pairs; fixed: its one pair). Gadget 2 exact per pair; Gadget 1 {} Monte Carlo \
         samples per pair ({} for the fixed pair). The fixed column was computed by the authors but left out of \
         their table.{}\n\n{}",
        mode.label(),
        protocol.hidden,
        protocol.steps,
        protocol.seeds,
        protocol.evaluation_pairs,
        protocol.samples_per_pair,
        protocol.fixed_samples,
        match (mode, protocol.sweep) {
            (Mode::Quick, _) => {
                " **Quick mode**: no learning-rate sweep, a smaller network (hidden [128, 128]) at rate 1e-3, one \
                 seed, a few steps: the gadgets are barely trained, so their rows are not the paper's values."
            }
            (Mode::Full, false) => {
                " **No sweep** (`--no-sweep`): phase 1 was not run; phase 2 trained at the rates the authors' sweep \
                 chose."
            }
            (Mode::Full, true) => "",
        },
        table(&["column", "gadget", "rate", "ours", "paper", "ours − paper", "in paper's std"], &table_rows),
    );
    if protocol.sweep {
        markdown.push_str(&format!(
            "\nPhase 1, learning-rate sweep ({} steps, training seed 0, evaluation seed {SWEEP_EVALUATION_SEED}): ours / authors' \
             score per rate, and the chosen rate (ours / authors').\n\n{}",
            protocol.sweep_steps,
            table(&["gadget", "column", "1e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2", "chosen"], &sweep_rows)
        ));
    }
    markdown.push_str(&format!(
        "\nTraining: {} steps in {:.0} s ({} steps/s); the full protocol is {:.0} steps{}.\n",
        training.steps,
        training.seconds,
        training.steps_per_second.map_or("–".to_owned(), |s| format!("{s:.1}")),
        training.full_protocol_steps,
        if mode == Mode::Full { String::new() } else { " (quick-mode rates do not extrapolate to the paper's network: see docs/figure1-table1.md)".to_owned() },
    ));
    markdown
}

/// The index of the smallest value (the first on ties; NaN never wins).
fn argmin(values: &[f64]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| {
        if *v < values[best] || values[best].is_nan() {
            i
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authors_chosen_rates_follow_from_their_sweep() {
        let chosen = |k, m| authors(k, m).chosen_rate();
        assert_eq!(chosen(GadgetKind::Gadget2, PairsMode::Independent), 1e-3);
        assert_eq!(chosen(GadgetKind::Gadget2, PairsMode::Mirrored), 1e-3);
        assert_eq!(chosen(GadgetKind::Gadget2, PairsMode::Fixed), 1e-5);
        for mode in MODES {
            assert_eq!(chosen(GadgetKind::Gadget1, mode), 1e-4);
        }
        assert_eq!(argmin(&[f64::NAN, 2.0, 1.0, 1.0]), 2);
    }

    #[test]
    fn phase_2_takes_our_sweeps_choice_or_without_a_sweep_the_authors() {
        let full = Protocol::new(Mode::Full);
        let score = |mean| Some(Score { mean, between_pairs_std: 0.0, exact: true });
        let ours = [score(5.0), score(4.0), score(4.5), score(4.0), score(6.0), score(9.0)];
        assert_eq!(full.phase2_rate(GadgetKind::Gadget2, PairsMode::Fixed, &ours), 1e-4);
        let none = [None; 6];
        assert_eq!(full.phase2_rate(GadgetKind::Gadget2, PairsMode::Fixed, &none), 1e-5);
        assert_eq!(full.phase2_rate(GadgetKind::Gadget2, PairsMode::Independent, &none), 1e-3);
        assert_eq!(
            Protocol::new(Mode::Quick).phase2_rate(GadgetKind::Gadget1, PairsMode::Fixed, &ours),
            1e-3
        );
    }

    #[test]
    fn the_full_protocol_has_the_papers_size() {
        // 36 sweep runs of 5,000 steps and 30 runs of 50,000.
        assert_eq!(Protocol::new(Mode::Full).total_steps(), 36 * 5_000 + 30 * 50_000);
    }
}
