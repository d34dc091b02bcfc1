//! Figure 2 of the gadgets paper (Section 7.3): the variance of counterfactual treatment effects
//! Var[r(x) - r(y)] on the sepsis simulator, for Gumbel-max, inverse-CDF, Gadget 1 and Gadget 2, in
//! four settings (joint or counterfactual, fixed or generalized (p, q)); protocol in
//! shared/reference/gadgets-part2.md section 2.
//!
//! Pairs: `sepsis_sim::pairs::select_pairs` (20,000 physician trajectories, the projected 146-state
//! MDP, its RL policy). Per pair, several reward draws (`rewards`); each (pair, reward) is one trial,
//! with both gadgets trained afresh (`training`) and every method evaluated exactly where it allows
//! (`laws`): the variance is computed from the law of (x, y), not from samples, except for Gadget 1
//! (Monte Carlo with a stated number of samples).

mod laws;
mod rewards;
mod training;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use gadgets::noise::NOISE_VERSION;
use gadgets::{footprint, DeviceChoice, GadgetKind, TrainRun};
use gumbel_core::hash::fnv1a;
use gumbel_core::pairs::{sample_pairs, FixedPair, LogitPair};
use gumbel_core::rng::splitmix64;
use sepsis_sim::kernel::SparseKernel;
use sepsis_sim::pairs::{select_pairs, PairConfig};
use sepsis_sim::physician::plan_physician;
use sepsis_sim::state::N_PROJ_ABS;
use serde::{Deserialize, Serialize};

use self::laws::{exact_mixture, sampled_mixture, Exact};
use self::rewards::RewardModel;
use self::training::{architecture, gadget_run, Schedule, TrainSummary};
use crate::checks::{null_as_nan, Check};
use crate::context::{Context, Mode};
use crate::markdown::table;
use crate::part::{names, Part};
use crate::plot::{bar_chart, BarGroup};
use crate::progress::Progress;
use crate::sharing::{share, Plan};
use crate::training::{train_fitting_stacks, MeasuredStep, Resumable};
use crate::units::Unit;

/// The part.
pub struct Figure2;

/// The methods, in the order of the bars.
const METHODS: [&str; 4] = ["gumbel-max", "inverse-cdf", "gadget-1", "gadget-2"];

/// One of the four settings.
#[derive(Debug, Clone, Copy)]
struct Setting {
    /// Its key in figure2.json.
    name: &'static str,
    /// Its label in the figure and table.
    label: &'static str,
    /// Counterfactual (x = s'_obs, noise from the posterior) rather than joint (common random numbers).
    counterfactual: bool,
    /// (p, q) logits perturbed by N(0, 1) in training and evaluation.
    generalized: bool,
}

const SETTINGS: [Setting; 4] = [
    Setting {
        name: "joint-fixed",
        label: "joint, fixed",
        counterfactual: false,
        generalized: false,
    },
    Setting {
        name: "joint-generalized",
        label: "joint, generalized",
        counterfactual: false,
        generalized: true,
    },
    Setting {
        name: "counterfactual-fixed",
        label: "CF, fixed",
        counterfactual: true,
        generalized: false,
    },
    Setting {
        name: "counterfactual-generalized",
        label: "CF, generalized",
        counterfactual: true,
        generalized: true,
    },
];

/// The authors' population references for the fixed setting on their 6 pairs (exact couplings
/// averaged over the reward distribution; gadgets-part2.md section 2): (setting, method, value).
const AUTHORS_POPULATION: [(&str, &str, f64); 4] = [
    ("joint-fixed", "gumbel-max", 1.943),
    ("joint-fixed", "inverse-cdf", 1.348),
    ("counterfactual-fixed", "gumbel-max", 0.779),
    ("counterfactual-fixed", "inverse-cdf", 0.602),
];

/// Everything that determines the study's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// (p, q) pairs used (the paper: 6).
    pairs: usize,
    /// Reward draws per pair (the paper: 5).
    rewards_per_pair: usize,
    /// Hidden widths of both gadgets' networks (the paper: [1024, 1024]).
    hidden: Vec<usize>,
    /// Gadget 1's training.
    gadget1: Schedule,
    /// Gadget 2's training.
    gadget2: Schedule,
    /// Std of the Gaussian perturbation of the logits in the generalized settings (the paper: 1).
    noise_scale: f64,
    /// D, perturbed pairs over which the generalized settings are evaluated.
    perturbation_draws: usize,
    /// Gadget 1's Monte Carlo samples per trial (spread evenly over the D pairs when generalized).
    gadget1_samples: usize,
    /// The glucose level of every projected state's reward (the authors' table: 4).
    glucose: u8,
    /// The seed of the pair selection (20,000 trajectories, MDP, RL policy).
    pair_seed: u64,
}

impl Config {
    fn new(mode: Mode, seed: u64) -> Self {
        let pair_seed = splitmix64(seed ^ 0xf162_0000);
        match mode {
            Mode::Quick => Self {
                pairs: 2,
                rewards_per_pair: 1,
                hidden: vec![64, 64],
                gadget1: Schedule { steps: 300, samples_per_step: 64, learning_rate: 1e-3 },
                gadget2: Schedule { steps: 300, samples_per_step: 64, learning_rate: 1e-3 },
                noise_scale: 1.0,
                perturbation_draws: 20,
                gadget1_samples: 1_000,
                glucose: 4,
                pair_seed,
            },
            Mode::Full => Self {
                pairs: 6,
                rewards_per_pair: 5,
                hidden: vec![1024, 1024],
                gadget1: Schedule { steps: 2_000, samples_per_step: 1_024, learning_rate: 1e-5 },
                gadget2: Schedule { steps: 2_000, samples_per_step: 1_024, learning_rate: 1e-5 },
                noise_scale: 1.0,
                perturbation_draws: 2_000,
                gadget1_samples: 20_000,
                glucose: 4,
                pair_seed,
            },
        }
    }

    /// A short fingerprint of the configuration, the master seed and the gadgets' noise version
    /// (trials of gadgets trained with other noise are other trials), part of every cache key.
    fn fingerprint(&self, seed: u64) -> Result<String> {
        let text = format!("{}noise{NOISE_VERSION}", serde_json::to_string(self)?);
        let hash = gumbel_core::hash::fnv1a(text.as_bytes());
        Ok(format!("{:016x}", splitmix64(hash ^ seed)))
    }
}

/// A selected pair, as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyPair {
    p: Vec<f64>,
    q: Vec<f64>,
    observed_next: usize,
    state: usize,
    observed_action: usize,
    rl_action: usize,
}

impl StudyPair {
    /// log p and log q (-inf for impossible next states).
    fn logits(&self) -> LogitPair {
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect();
        LogitPair { p: ln(&self.p), q: ln(&self.q) }
    }
}

/// One trial's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trial {
    pair: usize,
    reward: usize,
    /// Var[r(x) - r(y)] per method.
    variances: BTreeMap<String, f64>,
    /// The training runs of the two gadgets.
    training: BTreeMap<String, TrainSummary>,
    /// Seconds spent evaluating (all four methods).
    evaluation_seconds: f64,
}

/// The cache key of the pair selection of `config`.
fn pairs_key(config: &Config) -> String {
    format!("pairs-{}", config.pair_seed)
}

/// The selected pairs and the number of distinct candidates: `select_pairs` on 20,000 physician
/// trajectories of the projected MDP, a deterministic function of `config.pair_seed`.
fn select(config: &Config) -> Result<(Vec<StudyPair>, usize)> {
    let physician = plan_physician(&SparseKernel::exact())?;
    let selection = select_pairs(&physician.policy, &PairConfig::paper(config.pair_seed))?;
    let pairs = selection
        .pairs
        .iter()
        .map(|s| StudyPair {
            p: s.p.clone(),
            q: s.q.clone(),
            observed_next: s.observed_next,
            state: s.state,
            observed_action: s.observed_action,
            rl_action: s.rl_action,
        })
        .collect();
    Ok((pairs, selection.candidates))
}

/// Every trial on `pairs`: reward draws outermost and settings innermost, so that a long run stopped
/// part-way has trials of every setting and pair.
fn trial_specs<'a>(
    ctx: &Context,
    config: &Config,
    pairs: &'a [StudyPair],
) -> Result<Vec<TrialSpec<'a>>> {
    let model = RewardModel::new(config.glucose)?;
    let reward_seed = splitmix64(ctx.seed ^ 0xf162_1111);
    let mut trials = Vec::new();
    for reward_index in 0..config.rewards_per_pair {
        for (pair_index, pair) in pairs.iter().take(config.pairs).enumerate() {
            let unit = (pair_index * 1000 + reward_index) as u64;
            let rewards = model.draw(&mut gumbel_core::rng::stream(reward_seed, unit))?;
            let seed = splitmix64(reward_seed ^ splitmix64(unit + 1));
            for setting in SETTINGS {
                trials.push(TrialSpec {
                    setting,
                    pair_index,
                    reward_index,
                    pair,
                    rewards: rewards.clone(),
                    seed,
                });
            }
        }
    }
    Ok(trials)
}

/// Selects the pairs, runs (or reads back) every trial and computes the population references.
fn compute(ctx: &Context, config: &Config) -> Result<(Figure2Result, usize)> {
    let fingerprint = config.fingerprint(ctx.seed)?;
    let (pairs, candidates): (Vec<StudyPair>, usize) =
        ctx.cached(names::FIGURE2, &pairs_key(config), || select(config))?;
    let model = RewardModel::new(config.glucose)?;
    let trials = trial_specs(ctx, config, &pairs)?;
    // The progress bar counts the training steps of the trials not yet cached.
    let plans =
        trials.iter().map(|t| t.plan(ctx, config, &fingerprint)).collect::<Result<Vec<_>>>()?;
    let progress =
        Progress::new("figure2", plans.iter().filter(|p| !p.done).map(|p| p.steps).sum(), "steps");
    let cached_trial = |spec: &TrialSpec| {
        ctx.cached(names::FIGURE2, &spec.key(&fingerprint), || {
            progress.note(&format!(
                "{} pair {} reward {}",
                spec.setting.name, spec.pair_index, spec.reward_index
            ));
            run_trial(ctx, &progress, config, spec)
        })
    };
    // The units of work: chunks of one setting's trials, or each trial alone; then the assembly.
    let chunks = chunks(ctx, config, &trials)?;
    share(
        ctx,
        &progress,
        &chunks,
        |chunk| chunk.plan(ctx, config, &fingerprint),
        |chunk| chunk.work(ctx, config, &progress, &cached_trial),
    )?;
    let mut results: BTreeMap<String, Vec<Trial>> = BTreeMap::new();
    for spec in &trials {
        results.entry(spec.setting.name.to_owned()).or_default().push(cached_trial(spec)?);
    }
    progress.finish();
    for trials in results.values_mut() {
        trials.sort_by_key(|t| (t.pair, t.reward));
    }
    let pairs: Vec<StudyPair> = pairs.into_iter().take(config.pairs).collect();
    let population = population_references(&model, &pairs)?;
    Ok((summarise(pairs, results, population), candidates))
}

/// A unit of Figure 2's work: trials of one setting whose gadgets train together, a stack per
/// gadget, then are evaluated one by one; or one trial, trained alone and evaluated.
struct Chunk<'a> {
    trials: Vec<&'a TrialSpec<'a>>,
}

/// The units of work of `trials`: with `--stack`, each setting's trials in chunks that fit the
/// training device ([`gadgets::footprint`]: as few and as equal as the free memory allows for the
/// larger of the two gadgets' runs), the settings interleaved chunk by chunk; else each trial alone.
fn chunks<'a>(
    ctx: &Context,
    config: &Config,
    trials: &'a [TrialSpec<'a>],
) -> Result<Vec<Chunk<'a>>> {
    if !ctx.stack {
        return Ok(trials.iter().map(|t| Chunk { trials: vec![t] }).collect());
    }
    let free = footprint::free_bytes(DeviceChoice::Auto.resolve()?)?;
    let mut by_setting = Vec::new();
    for setting in SETTINGS {
        let of_setting: Vec<&TrialSpec> =
            trials.iter().filter(|t| t.setting.name == setting.name).collect();
        let Some(first) = of_setting.first() else {
            continue;
        };
        let bytes = first
            .gadget_runs(config)
            .iter()
            .map(|(_, _, run)| footprint::run_bytes(&run.gadget, &run.training))
            .max()
            .unwrap_or(0);
        let mut rest = of_setting.as_slice();
        let mut setting_chunks = Vec::new();
        for size in footprint::stack_sizes(rest.len(), bytes, free)? {
            let (chunk, after) = rest.split_at(size);
            setting_chunks.push(Chunk { trials: chunk.to_vec() });
            rest = after;
        }
        by_setting.push(setting_chunks.into_iter());
    }
    let mut out = Vec::new();
    while by_setting.iter().any(|c| c.len() > 0) {
        out.extend(by_setting.iter_mut().filter_map(Iterator::next));
    }
    Ok(out)
}

impl Chunk<'_> {
    /// As a unit of shared work: done when all its trials are cached; a trial alone is locked as
    /// a trial, a chunk by its trials' keys.
    fn plan(&self, ctx: &Context, config: &Config, fingerprint: &str) -> Result<Plan> {
        let plans = self
            .trials
            .iter()
            .map(|t| t.plan(ctx, config, fingerprint))
            .collect::<Result<Vec<_>>>()?;
        let lock = match plans.as_slice() {
            [one] => one.lock.clone(),
            _ => {
                let keys: Vec<String> = self.trials.iter().map(|t| t.key(fingerprint)).collect();
                format!("figure2-stack-{:016x}", fnv1a(keys.join("\n").as_bytes()))
            }
        };
        Ok(Plan {
            done: plans.iter().all(|p| p.done),
            steps: plans.iter().filter(|p| !p.done).map(|p| p.steps).sum(),
            lock,
        })
    }

    /// Trains the chunk's gadgets not yet trained, each gadget's runs as stacks
    /// ([`train_fitting_stacks`]; a trial alone trains in `cached_trial`), then evaluates each trial.
    fn work(
        &self,
        ctx: &Context,
        config: &Config,
        progress: &Progress,
        cached_trial: &dyn Fn(&TrialSpec) -> Result<Trial>,
    ) -> Result<()> {
        if self.trials.len() > 1 {
            let device = DeviceChoice::Auto.resolve()?;
            let runs: Vec<[(GadgetKind, String, TrainRun); 2]> =
                self.trials.iter().map(|t| t.gadget_runs(config)).collect();
            for gadget in 0..2 {
                let members: Vec<(&str, &TrainRun)> =
                    runs.iter().map(|r| (r[gadget].1.as_str(), &r[gadget].2)).collect();
                train_fitting_stacks(ctx, &members, device, progress)?;
            }
        }
        for trial in &self.trials {
            cached_trial(trial)?;
        }
        Ok(())
    }
}

/// One trial: a setting, a pair and a reward draw.
struct TrialSpec<'a> {
    setting: Setting,
    pair_index: usize,
    reward_index: usize,
    pair: &'a StudyPair,
    /// r, the reward of each of the K states.
    rewards: Vec<f64>,
    /// The seed of its gadgets' weights and noise and of its evaluation.
    seed: u64,
}

impl TrialSpec<'_> {
    /// Its cache key, under the configuration's fingerprint.
    fn key(&self, fingerprint: &str) -> String {
        format!(
            "{}-pair{}-reward{}-{fingerprint}",
            self.setting.name, self.pair_index, self.reward_index
        )
    }

    /// As a unit of shared work: locked and done by its cache entry; its steps are those of its
    /// gadgets not yet trained.
    fn plan(&self, ctx: &Context, config: &Config, fingerprint: &str) -> Result<Plan> {
        let key = self.key(fingerprint);
        let mut steps = 0;
        for (_, label, run) in self.gadget_runs(config) {
            steps += run.remaining_steps(ctx, &label)?;
        }
        Ok(Plan {
            done: ctx.is_cached(names::FIGURE2, &key),
            steps,
            lock: format!("figure2-{key}"),
        })
    }

    /// The perturbation scale of (p, q): N(0, scale^2) when generalized, else none.
    fn noise(&self, config: &Config) -> f64 {
        if self.setting.generalized {
            config.noise_scale
        } else {
            0.0
        }
    }

    /// s'_obs in the counterfactual settings.
    fn observed(&self) -> Option<usize> {
        self.setting.counterfactual.then_some(self.pair.observed_next)
    }

    /// The training runs of both gadgets, with their checkpoint labels.
    fn gadget_runs(&self, config: &Config) -> [(GadgetKind, String, TrainRun); 2] {
        let logits = self.pair.logits();
        [(GadgetKind::Gadget1, &config.gadget1, 10), (GadgetKind::Gadget2, &config.gadget2, 11)]
            .map(|(kind, schedule, stream)| {
                let label = format!(
                    "{}-figure2-{}-pair{}-reward{}",
                    kind.name(),
                    self.setting.name,
                    self.pair_index,
                    self.reward_index
                );
                let architecture = architecture(kind, logits.p.len(), &config.hidden);
                let run = gadget_run(
                    architecture,
                    schedule,
                    &logits,
                    self.noise(config),
                    &self.rewards,
                    self.observed(),
                    splitmix64(self.seed ^ stream),
                );
                (kind, label, run)
            })
    }
}

/// A measured training step of `kind` at Figure 2's full sizes, on a fixed or a `generalized` pair:
/// the criterion benchmark `cargo bench -p bench --bench gadgets -- k146` (K = 146, hidden [1024,
/// 1024], 1,024 noise samples a step (1 pair x 1,024 fixed, 64 pairs x 16 generalized), the
/// counterfactual loss, 1 libtorch thread, idle 2-core AMD EPYC; docs/figure2.md, "Cost of the full
/// study"): Gadget 1 (separate networks) 1.09 s fixed and 1.23 s generalized, Gadget 2 (|Z| = 20)
/// 97 ms and 193 ms.
fn measured_step(kind: GadgetKind, generalized: bool) -> MeasuredStep {
    let seconds = match (kind, generalized) {
        (GadgetKind::Gadget1, false) => 1.09,
        (GadgetKind::Gadget1, true) => 1.23,
        (GadgetKind::Gadget2, false) => 0.097,
        (GadgetKind::Gadget2, true) => 0.193,
    };
    MeasuredStep { gadget: architecture(kind, N_PROJ_ABS, &[1024, 1024]), samples: 1024, seconds }
}

/// Trains (or reads back) both gadgets of a trial and evaluates all four methods.
fn run_trial(
    ctx: &Context,
    progress: &Progress,
    config: &Config,
    spec: &TrialSpec,
) -> Result<Trial> {
    let mut training = BTreeMap::new();
    let mut gadgets = Vec::new();
    for (kind, label, run) in spec.gadget_runs(config) {
        let trained = run.trained(ctx, &label, progress)?;
        training.insert(kind.name().to_owned(), TrainSummary::of(&trained.record));
        gadgets.push(trained.gadget);
    }
    let start = Instant::now();
    // The evaluation pairs: the pair itself, or D perturbations shared by every method.
    let logits = spec.pair.logits();
    let evaluation = if spec.setting.generalized {
        sample_pairs(
            &FixedPair { pair: logits, noise: spec.noise(config) },
            config.perturbation_draws,
            splitmix64(spec.seed ^ 20),
        )
    } else {
        vec![logits]
    };
    let per_pair = (config.gadget1_samples / evaluation.len()).max(1);
    let observed = spec.observed();
    let couplings = [
        exact_mixture(Exact::GumbelMax, &evaluation, observed)?,
        exact_mixture(Exact::InverseCdf, &evaluation, observed)?,
        sampled_mixture(&gadgets[0], &evaluation, per_pair, observed, splitmix64(spec.seed ^ 30))?,
        exact_mixture(Exact::Gadget2(&gadgets[1]), &evaluation, observed)?,
    ];
    let variances = METHODS
        .iter()
        .zip(&couplings)
        .map(|(m, c)| Ok(((*m).to_owned(), c.variance(&spec.rewards, &spec.rewards)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(Trial {
        pair: spec.pair_index,
        reward: spec.reward_index,
        variances,
        training,
        evaluation_seconds: start.elapsed().as_secs_f64(),
    })
}

/// E_r Var[r(x) - r(y)] of the exact Gumbel-max and inverse-CDF laws of each fixed pair, averaged over
/// pairs: the population references the authors quote, computed on our pairs.
fn population_references(
    model: &RewardModel,
    pairs: &[StudyPair],
) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (setting, counterfactual) in [("joint-fixed", false), ("counterfactual-fixed", true)] {
        for (method, mechanism) in
            [("gumbel-max", Exact::GumbelMax), ("inverse-cdf", Exact::InverseCdf)]
        {
            let mut total = 0.0;
            for pair in pairs {
                let law = exact_mixture(
                    mechanism,
                    &[pair.logits()],
                    counterfactual.then_some(pair.observed_next),
                )?;
                total += model.expected_variance(&law)?;
            }
            out.insert(format!("{setting}/{method}"), total / pairs.len() as f64);
        }
    }
    Ok(out)
}

/// Mean and standard error (ddof 1) of a sample.
fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// One method in one setting: Var[r(x) - r(y)] over trials.
#[derive(Debug, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Mean over trials.
    pub mean: f64,
    /// Standard error (ddof 1) over trials; NaN (null) for fewer than two.
    #[serde(deserialize_with = "null_as_nan")]
    pub se: f64,
    /// By trial.
    pub trials: Vec<f64>,
}

/// One of the authors' population references.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthorsReference {
    /// The setting.
    pub setting: String,
    /// The method.
    pub method: String,
    /// Their value.
    pub value: f64,
}

/// figure2.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct Figure2Result {
    /// By setting name, then by method.
    #[serde(flatten)]
    pub settings: BTreeMap<String, BTreeMap<String, MethodSummary>>,
    /// Our population references, by "setting/method".
    pub population: BTreeMap<String, f64>,
    /// The authors' population references.
    pub authors_population: Vec<AuthorsReference>,
    /// The pairs used.
    pub pairs: Vec<StudyPair>,
    /// Every trial, by setting.
    pub trials: BTreeMap<String, Vec<Trial>>,
}

/// figure2.json from the trials.
fn summarise(
    pairs: Vec<StudyPair>,
    trials: BTreeMap<String, Vec<Trial>>,
    population: BTreeMap<String, f64>,
) -> Figure2Result {
    let settings = SETTINGS
        .iter()
        .map(|setting| {
            let of_setting = trials.get(setting.name).map_or(&[][..], Vec::as_slice);
            let methods = METHODS
                .iter()
                .map(|method| {
                    let values: Vec<f64> = of_setting
                        .iter()
                        .map(|t| t.variances.get(*method).copied().unwrap_or(f64::NAN))
                        .collect();
                    let (mean, se) = mean_se(&values);
                    ((*method).to_owned(), MethodSummary { mean, se, trials: values })
                })
                .collect();
            (setting.name.to_owned(), methods)
        })
        .collect();
    let authors_population = AUTHORS_POPULATION
        .iter()
        .map(|(setting, method, value)| AuthorsReference {
            setting: (*setting).to_owned(),
            method: (*method).to_owned(),
            value: *value,
        })
        .collect();
    Figure2Result { settings, population, authors_population, pairs, trials }
}

/// The bar chart and the markdown section; `candidates`: the distinct pairs the selection found.
fn render(
    ctx: &Context,
    config: &Config,
    result: &Figure2Result,
    candidates: usize,
) -> Result<String> {
    let mut groups = Vec::new();
    let mut rows = Vec::new();
    for setting in SETTINGS {
        let mut bars = Vec::new();
        let mut row = vec![setting.label.to_owned()];
        for method in METHODS {
            let summary = &result.settings[setting.name][method];
            let (mean, se) = (summary.mean, summary.se);
            bars.push((method.to_owned(), mean, if se.is_finite() { se } else { 0.0 }));
            row.push(format!("{mean:.3} ± {se:.3}"));
        }
        groups.push(BarGroup { name: setting.label.to_owned(), bars });
        rows.push(row);
    }
    let figure = "figure2.png";
    bar_chart(
        &ctx.path(figure),
        &format!(
            "Var[r(x) - r(y)], mean ± s.e. over {} trials",
            config.pairs * config.rewards_per_pair
        ),
        "variance of the treatment effect",
        &groups,
    )?;
    let population_rows: Vec<Vec<String>> = AUTHORS_POPULATION
        .iter()
        .map(|(setting, method, authors)| {
            let key = format!("{setting}/{method}");
            let ours = result.population.get(&key).copied().unwrap_or(f64::NAN);
            let trials = result.settings[*setting][*method].mean;
            vec![
                format!("{setting} / {method}"),
                format!("{ours:.3}"),
                format!("{trials:.3}"),
                format!("{authors:.3}"),
            ]
        })
        .collect();
    let timing = timing_summary(&result.trials);
    let pair_rows: Vec<Vec<String>> = result
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let support = |v: &[f64]| v.iter().filter(|&&x| x > 0.0).count();
            vec![
                i.to_string(),
                p.state.to_string(),
                p.observed_action.to_string(),
                p.rl_action.to_string(),
                p.observed_next.to_string(),
                support(&p.p).to_string(),
                support(&p.q).to_string(),
            ]
        })
        .collect();
    let trials = config.pairs * config.rewards_per_pair;
    Ok(format!(
        "Var[r(x) - r(y)] per trial ({} pairs x {} reward draws = {trials} trials; gadgets retrained per trial), \
         mean ± s.e. over trials. Gumbel-max, inverse-CDF (index order) and Gadget 2 are exact (Gadget 2 through its \
         mixture over z); Gadget 1 is a Monte Carlo estimate from {} samples per trial. The generalized settings average \
         over D = {} perturbed pairs (N(0, {}) on every finite log-probability of p and q), the same D for every method. \
         Gadgets: hidden {:?}, |Z| = 20 with a learned prior (Gadget 2), separate p / q networks (Gadget 1); Gadget 1 \
         {} steps and Gadget 2 {} steps of {} / {} noise samples, Adam {} / {}.\n\n{}\n![Figure 2]({figure})\n\n\
         Population references, fixed setting (exact couplings, E over the reward distribution in closed form, averaged \
         over our pairs), beside the mean of our trials and the authors' references on their pairs (pairs differ):\n\n{}\n\
         Pairs ({} distinct candidates after the filters; pair seed {}):\n\n{}\n{timing}\n",
        config.pairs,
        config.rewards_per_pair,
        config.gadget1_samples,
        config.perturbation_draws,
        config.noise_scale,
        config.hidden,
        config.gadget1.steps,
        config.gadget2.steps,
        config.gadget1.samples_per_step,
        config.gadget2.samples_per_step,
        config.gadget1.learning_rate,
        config.gadget2.learning_rate,
        table(&["setting", "Gumbel-max", "inverse-CDF", "Gadget 1", "Gadget 2"], &rows),
        table(&["reference", "ours (population)", "ours (trial mean)", "authors (population)"], &population_rows),
        candidates,
        config.pair_seed,
        table(&["pair", "state s", "a_obs", "a_RL", "s'_obs", "support p", "support q"], &pair_rows),
    ))
}

impl Part for Figure2 {
    type Result = Figure2Result;
    /// The number of distinct candidate pairs the selection found.
    type Details = usize;
    type Config = Config;

    fn name(&self) -> &'static str {
        names::FIGURE2
    }

    fn title(&self) -> &'static str {
        "Figure 2: counterfactual treatment effects on the sepsis simulator (Section 7.3)"
    }

    fn about(&self) -> &'static str {
        "Var[r(x) - r(y)] of Gumbel-max, inverse-CDF and both gadgets in four settings, exact where possible"
    }

    fn config(&self, ctx: &Context) -> Result<Config> {
        Ok(Config::new(ctx.mode, ctx.seed))
    }

    fn compute(&self, ctx: &Context, config: &Config) -> Result<(Figure2Result, usize)> {
        compute(ctx, config)
    }

    fn render(
        &self,
        ctx: &Context,
        config: &Config,
        result: &Figure2Result,
        candidates: usize,
    ) -> Result<String> {
        render(ctx, config, result, candidates)
    }

    /// Every trial's two gadget training runs, as stage-0 units keyed by their checkpoints
    /// ([`crate::training::unit`]); the trials' evaluations (seconds each) stay in the merging run. The
    /// pairs are read from the cache where a run left them, else selected here without writing
    /// anything (a pure function of the seed), so that no two shards write the same file.
    fn units<'a>(&'a self, ctx: &'a Context) -> Result<Option<Vec<Unit<'a>>>> {
        let config = self.config(ctx)?;
        let (pairs, _): (Vec<StudyPair>, usize) =
            match ctx.read_cached(names::FIGURE2, &pairs_key(&config)) {
                Some(selection) => selection,
                None => select(&config)?,
            };
        let mut units = Vec::new();
        for trial in trial_specs(ctx, &config, &pairs)? {
            let measured = |kind| measured_step(kind, trial.setting.generalized);
            for (kind, label, run) in trial.gadget_runs(&config) {
                units.push(crate::training::unit(
                    ctx,
                    0,
                    names::FIGURE2,
                    label,
                    run,
                    &measured(kind),
                )?);
            }
        }
        Ok(Some(units))
    }

    fn checks(&self, _mode: Mode, _result: &Figure2Result) -> Vec<Check> {
        Vec::new()
    }
}

/// Where the time went: mean training seconds per gadget and evaluation seconds per trial.
fn timing_summary(results: &BTreeMap<String, Vec<Trial>>) -> String {
    let all: Vec<&Trial> = results.values().flatten().collect();
    if all.is_empty() {
        return String::new();
    }
    let n = all.len() as f64;
    let mean_of = |f: &dyn Fn(&Trial) -> f64| all.iter().map(|t| f(t)).sum::<f64>() / n;
    let train =
        |name: &'static str| move |t: &Trial| t.training.get(name).map_or(0.0, |s| s.seconds);
    let per_step = |name: &'static str| {
        move |t: &Trial| t.training.get(name).map_or(0.0, |s| s.seconds / s.steps.max(1) as f64)
    };
    format!(
        "Time per trial (mean over {} trials, all settings): Gadget 1 training {:.1} s ({:.1} ms/step), Gadget 2 training \
         {:.1} s ({:.1} ms/step), evaluation of all four methods {:.1} s.\n",
        all.len(),
        mean_of(&train("gadget-1")),
        1e3 * mean_of(&per_step("gadget-1")),
        mean_of(&train("gadget-2")),
        1e3 * mean_of(&per_step("gadget-2")),
        mean_of(&|t: &Trial| t.evaluation_seconds),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::part::AnyPart;

    /// The full plan: two units per trial (4 settings x 6 pairs x 5 rewards), keys unique, costing
    /// the docs' 87 core-hours (docs/figure2.md: Gadget 1 77 h, Gadget 2 10 h).
    #[test]
    fn full_plan_lists_both_gadgets_of_every_trial_at_the_documented_cost() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(dir.path().to_owned(), Mode::Full, 0).unwrap();
        let units = AnyPart::units(&Figure2, &ctx).unwrap();
        let config = Config::new(Mode::Full, 0);
        let trials = SETTINGS.len() * config.pairs * config.rewards_per_pair;
        assert_eq!(units.len(), 2 * trials);
        let keys: HashSet<&str> = units.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys.len(), units.len(), "duplicate keys");
        assert!(units.iter().all(|u| u.stage == 0 && u.part == names::FIGURE2));
        let hours = units.iter().map(|u| u.cost).sum::<f64>() / 3600.0;
        assert!((hours - 87.0).abs() < 1.0, "{hours} core-hours, the docs say 87");
        // Listing the plan wrote no file (no pairs cache entry, no checkpoint).
        assert_eq!(files_under(dir.path()), 0);
    }

    /// The number of files under `dir`, at any depth.
    fn files_under(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    files_under(&path)
                } else {
                    1
                }
            })
            .sum()
    }
}
