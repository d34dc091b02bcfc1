//! The study of issue 6: several random SCMs at the reference setting (N = 10, edge probability 0.1,
//! shift 10), the VAE beside the EM reference and the public code's numbers, and a sweep over shift
//! sizes that shows where the latent collapses (the seed's Section 4.3).

use std::time::Instant;

use gumbel_core::rng::stream;
use serde::{Deserialize, Serialize};

use crate::em::{EmConfig, LinearGaussianMixture};
use crate::error::{ensure, Result};
use crate::evaluate::{evaluate, Evaluation};
use crate::scm::{Scm, ScmConfig};
use crate::vae::{RegimeVae, VaeConfig};

/// Settings of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Random SCMs at the main setting.
    pub scms: usize,
    /// The SCM family of the main setting (its `shift` is the main shift).
    pub scm: ScmConfig,
    /// Training samples per SCM.
    pub train: usize,
    /// Held-out samples per SCM.
    pub test: usize,
    /// VAE settings (its seed is replaced per SCM).
    pub vae: VaeConfig,
    /// EM settings (its seed is replaced per SCM).
    pub em: EmConfig,
    /// Shift sizes of the sweep.
    pub sweep_shifts: Vec<f64>,
    /// Random SCMs per sweep point.
    pub sweep_scms: usize,
    /// Master seed.
    pub seed: u64,
}

impl StudyConfig {
    /// The protocol: 10 SCMs, 10,000 training and 2,000 held-out samples, 300 + 1500 VAE steps,
    /// a sweep of 5 more shifts x 3 SCMs
    /// (shift 10 is the main setting).
    pub fn full() -> Self {
        Self {
            scms: 10,
            scm: ScmConfig::default(),
            train: 10_000,
            test: 2_000,
            vae: VaeConfig {
                steps: 1500,
                beta_warmup_steps: 300,
                beta_ramp_steps: 600,
                ..VaeConfig::default()
            },
            em: EmConfig::default(),
            sweep_shifts: vec![0.5, 1.0, 2.0, 3.0, 5.0],
            sweep_scms: 3,
            seed: 0,
        }
    }

    /// A quick configuration (clearly reduced): 2 SCMs, 3,000 training samples, 600 + 200 VAE steps,
    /// a sweep of 2 shifts x 1 SCM.
    pub fn quick() -> Self {
        Self {
            scms: 2,
            train: 3_000,
            test: 1_000,
            vae: VaeConfig {
                steps: 600,
                kmeans_init_steps: 200,
                beta_warmup_steps: 100,
                beta_ramp_steps: 200,
                ..VaeConfig::default()
            },
            em: EmConfig { restarts: 2, max_iter: 100, ..EmConfig::default() },
            sweep_shifts: vec![1.0, 3.0],
            sweep_scms: 1,
            ..Self::full()
        }
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

/// The result of both methods on one SCM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScmRecord {
    /// Seed the SCM and its data were drawn from.
    pub seed: u64,
    /// Intervention shift.
    pub shift: f64,
    /// Edges of the DAG.
    pub edges: usize,
    /// The VAE's held-out scores.
    pub vae: Evaluation,
    /// VAE fitting time (s).
    pub vae_seconds: f64,
    /// The EM reference's held-out scores.
    pub em: Evaluation,
    /// EM fitting time (s).
    pub em_seconds: f64,
}

/// Draws an SCM and its data from `seed`, fits both methods, and scores them on held-out data.
pub fn run_scm(config: &StudyConfig, shift: f64, seed: u64) -> Result<ScmRecord> {
    let scm_config = ScmConfig { shift, ..config.scm };
    let scm = Scm::random(&scm_config, &mut stream(seed, 0))?;
    let train = scm.sample(config.train, &mut stream(seed, 1))?;
    let test = scm.sample(config.test, &mut stream(seed, 2))?;

    let start = Instant::now();
    let vae = RegimeVae::fit(
        scm.dag(),
        &train.x,
        &VaeConfig { seed: stream_seed(seed, 3), ..config.vae },
    )?;
    let vae_seconds = start.elapsed().as_secs_f64();
    let vae_eval = evaluate(&vae, &scm, &test, stream_seed(seed, 4))?;

    let start = Instant::now();
    let em = LinearGaussianMixture::fit(
        scm.dag(),
        &train.x,
        scm.regimes(),
        &EmConfig { seed: stream_seed(seed, 5), ..config.em },
    )?;
    let em_seconds = start.elapsed().as_secs_f64();
    let em_eval = evaluate(&em, &scm, &test, stream_seed(seed, 4))?;

    Ok(ScmRecord {
        seed,
        shift,
        edges: scm.dag().edges(),
        vae: vae_eval,
        vae_seconds,
        em: em_eval,
        em_seconds,
    })
}

fn stream_seed(seed: u64, index: u64) -> u64 {
    use rand::Rng;
    stream(seed, index).random()
}

/// One point of the shift sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Intervention shift.
    pub shift: f64,
    /// VAE summary.
    pub vae: MethodSummary,
    /// EM summary.
    pub em: MethodSummary,
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
    /// The VAE at the main setting.
    pub vae: MethodSummary,
    /// The EM reference at the main setting.
    pub em: MethodSummary,
    /// The public code's numbers for comparison.
    pub public_code: PublicNumbers,
    /// Per-SCM records at the main setting.
    pub per_scm: Vec<ScmRecord>,
    /// The shift sweep.
    pub sweep: Vec<SweepPoint>,
}

/// Summaries of both methods over records.
fn summarise(records: &[ScmRecord]) -> (MethodSummary, MethodSummary) {
    let vae: Vec<_> = records.iter().map(|r| (r.vae.clone(), r.vae_seconds)).collect();
    let em: Vec<_> = records.iter().map(|r| (r.em.clone(), r.em_seconds)).collect();
    (MethodSummary::of(&vae), MethodSummary::of(&em))
}

/// Runs the study; `progress` is told each finished SCM.
pub fn run_study(
    config: &StudyConfig,
    mut progress: impl FnMut(&ScmRecord),
) -> Result<StudyResult> {
    run_study_with(config, |shift, seed| {
        let record = run_scm(config, shift, seed)?;
        progress(&record);
        Ok(record)
    })
}

/// Runs the study with `record(shift, seed)` producing each SCM's record (e.g. [`run_scm`] behind a cache).
pub fn run_study_with<E>(
    config: &StudyConfig,
    mut record: impl FnMut(f64, u64) -> std::result::Result<ScmRecord, E>,
) -> std::result::Result<StudyResult, E>
where
    E: From<crate::error::RegimeVaeError>,
{
    ensure(config.scms >= 1, || "the study needs at least one SCM".into())?;
    let per_scm = (0..config.scms)
        .map(|k| record(config.scm.shift, stream_seed(config.seed, k as u64)))
        .collect::<std::result::Result<Vec<_>, E>>()?;
    let (vae, em) = summarise(&per_scm);
    let mut sweep = Vec::with_capacity(config.sweep_shifts.len());
    for (p, &shift) in config.sweep_shifts.iter().enumerate() {
        let records = (0..config.sweep_scms)
            .map(|k| record(shift, stream_seed(config.seed, 1000 + (p * 100 + k) as u64)))
            .collect::<std::result::Result<Vec<_>, E>>()?;
        if !records.is_empty() {
            let (vae, em) = summarise(&records);
            sweep.push(SweepPoint { shift, vae, em });
        }
    }
    Ok(StudyResult {
        config: config.clone(),
        vae,
        em,
        public_code: PublicNumbers::default(),
        per_scm,
        sweep,
    })
}
