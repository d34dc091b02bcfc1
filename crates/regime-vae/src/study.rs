//! The regime-VAE study: random SCMs (N = 10, edge probability 0.1) of two mechanism families (linear, as
//! the seed's Section 4.1, and random tanh MLPs, where the linear EM reference is misspecified) at several
//! shift sizes; the VAE beside the EM reference and the public code's numbers; an ablation of the VAE's
//! latent, estimator and initialisation; and a sweep over shift sizes that shows where the latent
//! collapses (the seed's Section 4.3).
//!
//! SCM `k` of every setting is drawn from the same seed, so settings differ only in family and shift, and
//! a fit needed by several tables (the main table, the sweep, the ablation's default row) runs once.

use std::collections::HashMap;
use std::time::Instant;

use gumbel_core::hash::fnv1a;
use gumbel_core::rng::stream;
use serde::{Deserialize, Serialize};

use crate::em::{EmConfig, LinearGaussianMixture};
use crate::error::{ensure, RegimeVaeError, Result};
use crate::evaluate::{evaluate, Evaluation};
use crate::mechanism::MechanismFamily;
use crate::scm::{Scm, ScmConfig};
use crate::vae::{Estimator, LatentKind, RegimeVae, VaeConfig, WarmStart};

/// One setting of the data: a mechanism family and a shift size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// Mechanism family.
    pub family: MechanismFamily,
    /// Size of each intervention's mean shift.
    pub shift: f64,
}

/// A VAE configuration compared in the ablation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// What it is.
    pub name: String,
    /// Its latent.
    pub latent: LatentKind,
    /// Its estimator.
    pub estimator: Estimator,
    /// Its warm start (`None`: the random initialisation).
    pub warm_start: Option<WarmStart>,
}

impl Variant {
    fn new(latent: LatentKind, estimator: Estimator, warm_start: Option<WarmStart>) -> Self {
        let name = format!(
            "{}, {}, {}",
            match latent {
                LatentKind::PerMechanism => "per-mechanism",
                LatentKind::Categorical => "categorical",
            },
            match estimator {
                Estimator::Exact => "exact",
                Estimator::StraightThrough => "straight-through",
            },
            match warm_start {
                Some(WarmStart::Residuals) => "residual k-means warm start",
                Some(WarmStart::KMeans) => "k-means warm start",
                None => "random start",
            }
        );
        Self { name, latent, estimator, warm_start }
    }

    /// The VAE settings of this variant on top of `base`.
    pub fn apply(&self, base: &VaeConfig) -> VaeConfig {
        VaeConfig {
            latent: self.latent,
            estimator: self.estimator,
            kmeans_init_steps: if self.warm_start.is_some() {
                base.kmeans_init_steps.max(1)
            } else {
                0
            },
            warm_start: self.warm_start.unwrap_or(base.warm_start),
            ..*base
        }
    }

    /// The default and the variants the ablation compares it with.
    pub fn ablation() -> Vec<Self> {
        use Estimator::{Exact, StraightThrough};
        use LatentKind::{Categorical, PerMechanism};
        use WarmStart::{KMeans, Residuals};
        vec![
            Self::new(PerMechanism, Exact, Some(Residuals)),
            Self::new(PerMechanism, Exact, Some(KMeans)),
            Self::new(PerMechanism, Exact, None),
            Self::new(PerMechanism, StraightThrough, Some(Residuals)),
            Self::new(PerMechanism, StraightThrough, None),
            Self::new(Categorical, Exact, Some(Residuals)),
            Self::new(Categorical, StraightThrough, Some(Residuals)),
        ]
    }
}

/// The tanh-MLP family of the study (hidden units per mechanism).
pub const MLP: MechanismFamily = MechanismFamily::Mlp { hidden: 8 };

/// Settings of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The SCM family's shared settings (nodes, edge probability, regime frequencies); family and shift
    /// come from each [`Setting`].
    pub scm: ScmConfig,
    /// Training samples per SCM.
    pub train: usize,
    /// Held-out samples per SCM.
    pub test: usize,
    /// VAE settings (its seed is replaced per SCM).
    pub vae: VaeConfig,
    /// EM settings (its seed is replaced per SCM).
    pub em: EmConfig,
    /// The settings of the main table.
    pub settings: Vec<Setting>,
    /// Random SCMs per setting of the main table.
    pub scms: usize,
    /// VAE variants of the ablation (the first is `vae` itself).
    pub variants: Vec<Variant>,
    /// The settings of the ablation.
    pub ablation_settings: Vec<Setting>,
    /// Random SCMs per ablation setting.
    pub ablation_scms: usize,
    /// Families of the shift sweep.
    pub sweep_families: Vec<MechanismFamily>,
    /// Shift sizes of the sweep.
    pub sweep_shifts: Vec<f64>,
    /// Random SCMs per sweep point.
    pub sweep_scms: usize,
    /// Master seed.
    pub seed: u64,
}

fn settings(families: &[(MechanismFamily, &[f64])]) -> Vec<Setting> {
    families
        .iter()
        .flat_map(|&(family, shifts)| shifts.iter().map(move |&shift| Setting { family, shift }))
        .collect()
}

impl StudyConfig {
    /// The full protocol: 10 SCMs per setting, 10,000 training and 2,000 held-out samples; linear SCMs
    /// at shifts 3, 5 and 10 and MLP SCMs at shifts 5 and 10; the ablation at linear shifts 5 and 10 on
    /// 5 SCMs; the sweep over shifts 0.5-10 with 10 SCMs per point for both families.
    pub fn full() -> Self {
        let shifts = [0.5, 1.0, 2.0, 3.0, 5.0, 10.0];
        Self {
            scm: ScmConfig::default(),
            train: 10_000,
            test: 2_000,
            vae: VaeConfig::default(),
            em: EmConfig::default(),
            settings: settings(&[
                (MechanismFamily::Linear, &[3.0, 5.0, 10.0]),
                (MLP, &[5.0, 10.0]),
            ]),
            scms: 10,
            variants: Variant::ablation(),
            ablation_settings: settings(&[(MechanismFamily::Linear, &[5.0, 10.0])]),
            ablation_scms: 5,
            sweep_families: vec![MechanismFamily::Linear, MLP],
            sweep_shifts: shifts.to_vec(),
            sweep_scms: 10,
            seed: 0,
        }
    }

    /// A quick configuration (clearly reduced): 2 SCMs per setting (linear and MLP at shift 10), 3,000
    /// training samples, short training, no ablation, a 2-shift sweep of 1 SCM per family.
    pub fn quick() -> Self {
        Self {
            train: 3_000,
            test: 1_000,
            vae: VaeConfig { steps: 400, kmeans_init_steps: 150, ..VaeConfig::default() },
            em: EmConfig { restarts: 2, max_iter: 50, ..EmConfig::default() },
            settings: settings(&[(MechanismFamily::Linear, &[10.0]), (MLP, &[10.0])]),
            scms: 2,
            variants: Vec::new(),
            ablation_settings: Vec::new(),
            ablation_scms: 0,
            sweep_shifts: vec![2.0, 10.0],
            sweep_scms: 1,
            ..Self::full()
        }
    }

    /// The seed of SCM `k` (the same in every setting).
    pub fn scm_seed(&self, k: usize) -> u64 {
        stream_seed(self.seed, k as u64)
    }

    /// The VAE configuration `job` trains (before its per-SCM seed).
    pub fn job_vae(&self, job: &Job) -> Result<VaeConfig> {
        Ok(match job.variant {
            None => self.vae,
            Some(v) => self
                .variants
                .get(v)
                .ok_or_else(|| RegimeVaeError::InvalidConfig(format!("no variant {v}")))?
                .apply(&self.vae),
        })
    }

    /// The name of `job`'s record in a cache: [`Job::key`] and a hash of every setting the record
    /// depends on (the SCMs' shared settings, the sample sizes, the VAE configuration it trains and,
    /// for a default job, EM's), so that a record is reused only under the configuration that made it.
    pub fn job_key(&self, job: &Job) -> Result<String> {
        let em = job.variant.is_none().then_some(self.em);
        let settings = (self.scm, self.train, self.test, self.job_vae(job)?, em);
        let bytes = serde_json::to_vec(&settings)
            .map_err(|e| RegimeVaeError::InvalidConfig(format!("job settings: {e}")))?;
        Ok(format!("{}-{:016x}", job.key(), fnv1a(&bytes)))
    }
}

/// Mean and sample standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
}

impl MeanStd {
    /// Of `values` (NaN mean when empty).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self { mean, std: var.sqrt() }
    }
}

/// One method's scores summarised over SCMs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Adjusted Rand index.
    pub ari: MeanStd,
    /// Normalised mutual information.
    pub nmi: MeanStd,
    /// Hungarian-matched accuracy.
    pub accuracy: MeanStd,
    /// SCMs on which the observational regime was identified.
    pub observational_identified: usize,
    /// SCMs.
    pub scms: usize,
    /// Fraction of interventional regimes given the right target.
    pub targets_correct: MeanStd,
    /// Clusters holding held-out samples.
    pub clusters_used: MeanStd,
    /// Reconstruction MSE with observed parents.
    pub recon_mse: MeanStd,
    /// Its oracle (true mechanisms and regimes).
    pub oracle_recon_mse: MeanStd,
    /// Regime-only reconstruction MSE (the public code's measure).
    pub regime_mse: MeanStd,
    /// Its oracle, `tr((I - W^T)^-1 (I - W^T)^-T) / N` in expectation.
    pub oracle_regime_mse: MeanStd,
    /// RMS error of the learned conditional means per regime.
    pub mechanism_rmse: MeanStd,
    /// Fitting time in seconds.
    pub seconds: MeanStd,
}

impl MethodSummary {
    /// Summarises evaluations with their fitting times.
    pub fn of(evals: &[(Evaluation, f64)]) -> Self {
        let pick = |f: fn(&Evaluation) -> f64| {
            MeanStd::of(&evals.iter().map(|(e, _)| f(e)).collect::<Vec<_>>())
        };
        Self {
            ari: pick(|e| e.ari),
            nmi: pick(|e| e.nmi),
            accuracy: pick(|e| e.accuracy),
            observational_identified: evals
                .iter()
                .filter(|(e, _)| e.observational_identified)
                .count(),
            scms: evals.len(),
            targets_correct: pick(|e| e.targets_correct),
            clusters_used: pick(|e| e.clusters_used as f64),
            recon_mse: pick(|e| e.recon_mse),
            oracle_recon_mse: pick(|e| e.oracle_recon_mse),
            regime_mse: pick(|e| e.regime_mse),
            oracle_regime_mse: pick(|e| e.oracle_regime_mse),
            mechanism_rmse: pick(|e| e.mechanism_rmse),
            seconds: MeanStd::of(&evals.iter().map(|(_, s)| *s).collect::<Vec<_>>()),
        }
    }
}

/// One VAE fit (and optionally the EM reference) on one SCM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Family and shift.
    pub setting: Setting,
    /// Seed the SCM and its data are drawn from.
    pub seed: u64,
    /// Index into [`StudyConfig::variants`]; `None` is the default VAE beside the EM reference.
    pub variant: Option<usize>,
}

impl Job {
    /// A key naming the job (for caches).
    pub fn key(&self) -> String {
        let variant = self.variant.map_or("default".into(), |v| format!("variant{v}"));
        format!(
            "{}-shift{}-seed{}-{variant}",
            self.setting.family.label(),
            self.setting.shift,
            self.seed
        )
    }
}

/// The result of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScmRecord {
    /// What ran.
    pub job: Job,
    /// Edges of the DAG.
    pub edges: usize,
    /// The VAE's held-out scores.
    pub vae: Evaluation,
    /// VAE fitting time (s).
    pub vae_seconds: f64,
    /// The EM reference's held-out scores (default jobs only).
    pub em: Option<Evaluation>,
    /// EM fitting time (s).
    pub em_seconds: Option<f64>,
}

/// Draws the job's SCM and data, fits the VAE (and EM for a default job) and scores them on held-out data.
pub fn run_job(config: &StudyConfig, job: &Job) -> Result<ScmRecord> {
    let scm_config =
        ScmConfig { family: job.setting.family, shift: job.setting.shift, ..config.scm };
    let seed = job.seed;
    let scm = Scm::random(&scm_config, &mut stream(seed, 0))?;
    let train = scm.sample(config.train, &mut stream(seed, 1))?;
    let test = scm.sample(config.test, &mut stream(seed, 2))?;

    let vae_config = config.job_vae(job)?;
    let start = Instant::now();
    let vae = RegimeVae::fit(
        scm.dag(),
        &train.x,
        &VaeConfig { seed: stream_seed(seed, 3), ..vae_config },
    )?;
    let vae_seconds = start.elapsed().as_secs_f64();
    let vae_eval = evaluate(&vae, &scm, &test, stream_seed(seed, 4))?;

    let (em, em_seconds) = if job.variant.is_none() {
        let start = Instant::now();
        let em = LinearGaussianMixture::fit(
            scm.dag(),
            &train.x,
            scm.regimes(),
            &EmConfig { seed: stream_seed(seed, 5), ..config.em },
        )?;
        let seconds = start.elapsed().as_secs_f64();
        (Some(evaluate(&em, &scm, &test, stream_seed(seed, 4))?), Some(seconds))
    } else {
        (None, None)
    };
    Ok(ScmRecord {
        job: *job,
        edges: scm.dag().edges(),
        vae: vae_eval,
        vae_seconds,
        em,
        em_seconds,
    })
}

fn stream_seed(seed: u64, index: u64) -> u64 {
    use rand::Rng;
    stream(seed, index).random()
}

/// Both methods at one setting, summarised over SCMs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingResult {
    /// Family and shift.
    pub setting: Setting,
    /// The default VAE.
    pub vae: MethodSummary,
    /// The EM reference.
    pub em: MethodSummary,
    /// Per-SCM records.
    pub per_scm: Vec<ScmRecord>,
}

/// One variant at one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationRow {
    /// The variant.
    pub variant: Variant,
    /// Family and shift.
    pub setting: Setting,
    /// Its scores over SCMs.
    pub vae: MethodSummary,
}

/// The public code's reported numbers (shared/reference/regime-vae.md, Section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicNumbers {
    /// ARI (10 runs; two more went NaN).
    pub ari: MeanStd,
    /// Regime-only reconstruction MSE.
    pub regime_mse: MeanStd,
    /// Its oracle, about 1.2.
    pub oracle_regime_mse: f64,
}

impl Default for PublicNumbers {
    fn default() -> Self {
        Self {
            ari: MeanStd { mean: 0.495, std: 0.185 },
            regime_mse: MeanStd { mean: 3.92, std: 1.54 },
            oracle_regime_mse: 1.2,
        }
    }
}

/// Everything a study produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyResult {
    /// The settings.
    pub config: StudyConfig,
    /// The main table, one entry per setting.
    pub table: Vec<SettingResult>,
    /// The ablation.
    pub ablation: Vec<AblationRow>,
    /// The shift sweep, one entry per family and shift.
    pub sweep: Vec<SettingResult>,
    /// The public code's numbers for comparison.
    pub public_code: PublicNumbers,
}

/// Runs the study; `progress` is told each finished job.
pub fn run_study(
    config: &StudyConfig,
    mut progress: impl FnMut(&ScmRecord),
) -> Result<StudyResult> {
    run_study_with(config, |job| {
        let record = run_job(config, job)?;
        progress(&record);
        Ok(record)
    })
}

impl StudyConfig {
    /// `job`, or the default job when its variant trains the default VAE (the same fit).
    fn canonical(&self, job: Job) -> Job {
        let is_default = job
            .variant
            .and_then(|v| self.variants.get(v))
            .is_some_and(|v| v.apply(&self.vae) == self.vae);
        if is_default {
            Job { variant: None, ..job }
        } else {
            job
        }
    }

    /// The jobs of the main table, the sweep and the ablation, in that order, each section's as
    /// asked for (a job two sections need appears in both).
    fn section_jobs(&self) -> (Vec<Job>, Vec<Job>, Vec<Job>) {
        let setting_jobs = |setting: Setting, scms: usize| {
            (0..scms).map(move |k| Job { setting, seed: self.scm_seed(k), variant: None })
        };
        let table = self.settings.iter().flat_map(|&s| setting_jobs(s, self.scms)).collect();
        let sweep = self
            .sweep_families
            .iter()
            .flat_map(|&family| {
                self.sweep_shifts.iter().map(move |&shift| Setting { family, shift })
            })
            .flat_map(|s| setting_jobs(s, self.sweep_scms))
            .collect();
        let ablation = self
            .ablation_settings
            .iter()
            .flat_map(|&setting| {
                (0..self.variants.len()).flat_map(move |v| {
                    (0..self.ablation_scms).map(move |k| Job {
                        setting,
                        seed: self.scm_seed(k),
                        variant: Some(v),
                    })
                })
            })
            .map(|job| self.canonical(job))
            .collect();
        (table, sweep, ablation)
    }

    /// Every distinct fit of the study, once each, in the order [`run_study_with`] asks for them: the
    /// units of work a study splits into.
    pub fn jobs(&self) -> Vec<Job> {
        let (table, sweep, ablation) = self.section_jobs();
        let mut seen = std::collections::HashSet::new();
        table.into_iter().chain(sweep).chain(ablation).filter(|j| seen.insert(j.key())).collect()
    }
}

/// Runs the study with `record(job)` producing each job's record (e.g. [`run_job`] behind a cache);
/// each job of [`StudyConfig::jobs`] is asked for once, in that order, and the sections are assembled
/// from the records.
pub fn run_study_with<E>(
    config: &StudyConfig,
    mut record: impl FnMut(&Job) -> std::result::Result<ScmRecord, E>,
) -> std::result::Result<StudyResult, E>
where
    E: From<RegimeVaeError>,
{
    ensure(config.scms >= 1, || "the study needs at least one SCM per setting".into())?;
    let mut done: HashMap<String, ScmRecord> = HashMap::new();
    for job in config.jobs() {
        done.insert(job.key(), record(&job)?);
    }
    let records = |jobs: &[Job]| -> Result<Vec<ScmRecord>> {
        jobs.iter()
            .map(|j| {
                done.get(&j.key()).cloned().ok_or_else(|| {
                    RegimeVaeError::InvalidConfig(format!("internal: no record of {}", j.key()))
                })
            })
            .collect()
    };
    let setting_results = |jobs: &[Job], scms: usize| -> Result<Vec<SettingResult>> {
        jobs.chunks(scms.max(1))
            .map(|chunk| {
                let per_scm = records(chunk)?;
                let (vae, em) = summarise(&per_scm);
                Ok(SettingResult { setting: chunk[0].setting, vae, em, per_scm })
            })
            .collect()
    };
    let (table_jobs, sweep_jobs, ablation_jobs) = config.section_jobs();
    let table = setting_results(&table_jobs, config.scms)?;
    let sweep = setting_results(&sweep_jobs, config.sweep_scms)?;
    let mut ablation = Vec::new();
    for (row, chunk) in ablation_jobs.chunks(config.ablation_scms.max(1)).enumerate() {
        let variant = config.variants[row % config.variants.len()].clone();
        ablation.push(AblationRow {
            variant,
            setting: chunk[0].setting,
            vae: summarise(&records(chunk)?).0,
        });
    }
    Ok(StudyResult {
        config: config.clone(),
        table,
        ablation,
        sweep,
        public_code: PublicNumbers::default(),
    })
}

/// Summaries of the VAE and of EM (empty when no record has EM) over records.
fn summarise(records: &[ScmRecord]) -> (MethodSummary, MethodSummary) {
    let vae: Vec<_> = records.iter().map(|r| (r.vae.clone(), r.vae_seconds)).collect();
    let em: Vec<_> = records.iter().filter_map(|r| Some((r.em.clone()?, r.em_seconds?))).collect();
    (MethodSummary::of(&vae), MethodSummary::of(&em))
}
