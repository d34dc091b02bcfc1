//! The regime VAE study (seed 002): random SCMs with N = 10 nodes and edge probability 0.1, linear and
//! tanh-MLP mechanisms at several shift sizes; the per-mechanism VAE beside the EM reference and the
//! public code's reported numbers, an ablation of latent, estimator and initialisation, and a sweep over
//! shift sizes with error bars (the seed's Section 4.3). Quick mode: 2 SCMs per setting at shift 10,
//! 3,000 training samples, no ablation, a 2-shift sweep; full mode: the protocol of
//! [`StudyConfig::full`].
//!
//! Organised as compute (the typed [`RegimeVaeResult`]) -> render ([`render`], [`draw_sweep`]) -> checks
//! ([`checks`]).

use std::path::Path;

use anyhow::Result;
use regime_vae::mechanism::MechanismFamily;
use regime_vae::study::{
    run_job, run_study_with, Job, MeanStd, MethodSummary, Setting, StudyConfig, StudyResult,
};
use regime_vae::vae::LatentKind;
use serde::{Deserialize, Serialize};

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::markdown::table;
use crate::part::{names, Part};
use crate::plot::{line_plot, Series};
use crate::units::Unit;

/// The part.
pub struct RegimeVae;

/// The sweep plot's file name in the results folder.
const PLOT: &str = "regime_vae_sweep.png";

/// regime_vae.json: the study and the name of its plot.
#[derive(Debug, Serialize, Deserialize)]
pub struct RegimeVaeResult {
    /// Every table, the ablation and the sweep.
    pub result: StudyResult,
    /// The sweep plot's file name.
    pub plot: String,
}

impl Part for RegimeVae {
    type Result = RegimeVaeResult;
    type Details = ();
    type Config = StudyConfig;

    fn name(&self) -> &'static str {
        names::REGIME_VAE
    }

    fn title(&self) -> &'static str {
        "Regime VAE: unknown interventional regimes of a known-DAG SCM (seed 002)"
    }

    fn about(&self) -> &'static str {
        "per-mechanism VAE vs EM on linear and MLP SCMs, ablation, shift sweep"
    }

    fn config(&self, ctx: &Context) -> Result<StudyConfig> {
        let mut config = match ctx.mode {
            Mode::Quick => StudyConfig::quick(),
            Mode::Full => StudyConfig::full(),
        };
        config.seed = ctx.seed;
        Ok(config)
    }

    fn compute(&self, ctx: &Context, config: &StudyConfig) -> Result<(RegimeVaeResult, ())> {
        // libtorch's threads are the binary's to set: the VAE's configured count (process-wide).
        tch::set_num_threads(config.vae.threads.clamp(1, i32::MAX as usize) as i32);
        let result = run_study_with(config, |job| {
            ctx.cached(names::REGIME_VAE, &config.job_key(job)?, || Ok(run_job(config, job)?))
        })?;
        Ok((RegimeVaeResult { result, plot: PLOT.to_owned() }, ()))
    }

    fn render(
        &self,
        ctx: &Context,
        _config: &StudyConfig,
        result: &RegimeVaeResult,
        (): (),
    ) -> Result<String> {
        draw_sweep(&ctx.path(&result.plot), &result.result)?;
        Ok(render(&result.result, ctx.mode.label()))
    }

    /// One unit per fit of the study ([`StudyConfig::jobs`]: a VAE beside EM on one SCM, or one
    /// ablation variant's VAE), keyed by [`StudyConfig::job_key`], done when its record is in the
    /// cache; the merging run's [`Part::compute`] assembles the study from these records.
    fn units<'a>(&'a self, ctx: &'a Context) -> Result<Option<Vec<Unit<'a>>>> {
        let config = std::rc::Rc::new(self.config(ctx)?);
        let mut units = Vec::new();
        for job in config.jobs() {
            let key = config.job_key(&job)?;
            let cost = job_seconds(&config, &job)?;
            let (done_key, config) = (key.clone(), config.clone());
            units.push(Unit::new(
                0,
                names::REGIME_VAE,
                key.clone(),
                cost,
                move || Ok(ctx.is_cached(names::REGIME_VAE, &done_key)),
                move |_| {
                    tch::set_num_threads(config.vae.threads.clamp(1, i32::MAX as usize) as i32);
                    ctx.cached(names::REGIME_VAE, &key, || Ok(run_job(&config, &job)?)).map(drop)
                },
            ));
        }
        Ok(Some(units))
    }

    fn checks(&self, _mode: Mode, result: &RegimeVaeResult) -> Vec<Check> {
        checks(&result.result)
    }
}

/// Estimated seconds of one fit on one core: the per-mechanism VAE 8 s and the categorical one 30 s at
/// 10,000 training samples and 1,600 steps, EM 6 s at shift 5 or more and 20 s below (where its
/// restarts run their 100 iterations), scaled by samples, steps and restarts: wall-clock seconds per
/// fit measured on a 2-core AMD EPYC under a load of 8-12 (docs/regime-vae.md), so upper estimates.
fn job_seconds(config: &StudyConfig, job: &Job) -> Result<f64> {
    let vae = config.job_vae(job)?;
    let steps = (vae.steps + 2 * vae.kmeans_init_steps) as f64 / 1_600.0;
    let samples = config.train as f64 / 10_000.0;
    let vae_seconds = match vae.latent {
        LatentKind::PerMechanism => 8.0,
        LatentKind::Categorical => 30.0,
    } * steps;
    let em_seconds = match job.variant {
        None if job.setting.shift >= 5.0 => 6.0,
        None => 20.0,
        Some(_) => 0.0,
    } * config.em.restarts as f64
        / 5.0;
    Ok((vae_seconds + em_seconds) * samples)
}

fn family_name(family: MechanismFamily) -> &'static str {
    match family {
        MechanismFamily::Linear => "linear",
        MechanismFamily::Mlp { .. } => "tanh MLP",
    }
}

fn setting_name(s: &Setting) -> String {
    format!("{}, shift {}", family_name(s.family), s.shift)
}

fn ms(m: &MeanStd) -> String {
    format!("{:.3} ± {:.3}", m.mean, m.std)
}

fn identified(m: &MethodSummary) -> String {
    format!("{} / {}", m.observational_identified, m.scms)
}

/// The markdown body: the main table, the ablation and the sweep.
pub fn render(result: &StudyResult, mode: &str) -> String {
    let c = &result.config;
    let main: Vec<Vec<String>> = result
        .table
        .iter()
        .flat_map(|r| {
            [("VAE", &r.vae), ("EM", &r.em)].map(|(name, m)| {
                vec![
                    setting_name(&r.setting),
                    name.to_owned(),
                    ms(&m.ari),
                    identified(m),
                    ms(&m.targets_correct),
                    format!("{} ({:.3})", ms(&m.recon_mse), m.oracle_recon_mse.mean),
                    ms(&m.mechanism_rmse),
                    format!("{:.1}", m.seconds.mean),
                ]
            })
        })
        .collect();
    let ablation: Vec<Vec<String>> = result
        .ablation
        .iter()
        .map(|a| {
            vec![
                setting_name(&a.setting),
                a.variant.name.clone(),
                ms(&a.vae.ari),
                identified(&a.vae),
                ms(&a.vae.mechanism_rmse),
                format!("{:.1}", a.vae.seconds.mean),
            ]
        })
        .collect();
    let sweep: Vec<Vec<String>> = result
        .sweep
        .iter()
        .map(|r| {
            vec![
                family_name(r.setting.family).to_owned(),
                format!("{}", r.setting.shift),
                ms(&r.vae.ari),
                identified(&r.vae),
                ms(&r.em.ari),
                identified(&r.em),
            ]
        })
        .collect();
    let v = &c.vae;
    let mut out = format!(
        "{} random SCMs per setting (N = {}, edge probability {}), {} training and {} held-out samples \
         each ({mode} mode). VAE: {:?} latent, {:?} estimator, {:?} warm start ({} steps) then {} \
         ELBO steps (batch {}, Adam {}). Mean ± std over SCMs; the reconstruction MSE's oracle in brackets. \
         The public code reports ARI {} on linear SCMs at shift 10.\n\n{}\n",
        c.scms,
        c.scm.nodes,
        c.scm.edge_prob,
        c.train,
        c.test,
        v.latent,
        v.estimator,
        v.warm_start,
        v.kmeans_init_steps,
        v.steps,
        v.batch_size,
        v.learning_rate,
        ms(&result.public_code.ari),
        table(
            &[
                "setting",
                "method",
                "ARI",
                "obs. identified",
                "targets right",
                "recon. MSE",
                "mechanism RMSE",
                "fit s"
            ],
            &main
        ),
    );
    if !ablation.is_empty() {
        out += &format!(
            "\nAblation ({} SCMs per setting):\n\n{}\n",
            c.ablation_scms,
            table(
                &["setting", "VAE variant", "ARI", "obs. identified", "mechanism RMSE", "fit s"],
                &ablation
            )
        );
    }
    if !sweep.is_empty() {
        out += &format!(
            "\nShift sweep ({} SCMs per point):\n\n{}\n\n![shift sweep]({PLOT})\n",
            c.sweep_scms,
            table(
                &[
                    "family",
                    "shift",
                    "VAE ARI",
                    "VAE obs. identified",
                    "EM ARI",
                    "EM obs. identified"
                ],
                &sweep
            )
        );
    }
    out
}

/// The sweep's ARI against the shift, one line per method and family, error bars of one std.
pub fn draw_sweep(path: &Path, result: &StudyResult) -> Result<()> {
    let mut series = Vec::new();
    for &family in &result.config.sweep_families {
        let points = |pick: fn(&regime_vae::study::SettingResult) -> &MethodSummary| {
            result
                .sweep
                .iter()
                .filter(|r| r.setting.family == family)
                .map(|r| (r.setting.shift, pick(r).ari.mean, pick(r).ari.std))
                .collect::<Vec<_>>()
        };
        let name = family_name(family);
        series.push(Series { name: format!("VAE, {name}"), points: points(|r| &r.vae) });
        series.push(Series { name: format!("EM, {name}"), points: points(|r| &r.em) });
    }
    series.retain(|s| !s.points.is_empty());
    if series.is_empty() {
        return Ok(());
    }
    line_plot(
        path,
        "Regime recovery against the intervention shift",
        ("mean shift of each intervention", "ARI on held-out data (mean ± std)"),
        &series,
        &[("public code, linear, shift 10".into(), result.public_code.ari.mean)],
        false,
    )
}

/// The study's targets as checks (one-sided targets are written as a clamped gap that must be 0).
pub fn checks(result: &StudyResult) -> Vec<Check> {
    let mut out = Vec::new();
    for r in &result.table {
        let name = setting_name(&r.setting);
        let (v, e) = (&r.vae, &r.em);
        if r.setting.shift >= 10.0 {
            out.push(Check::new(
                format!("VAE ARI, {name} (target >= 0.95)"),
                1.0,
                v.ari.mean,
                0.05,
            ));
            out.push(Check::new(
                format!("VAE observational regime identified, {name} (target >= n - 1)"),
                v.scms as f64,
                v.observational_identified as f64,
                1.0,
            ));
        }
        match r.setting.family {
            MechanismFamily::Linear => {
                out.push(Check::new(
                    format!("EM ARI minus VAE ARI where positive, {name} (target <= 0.05)"),
                    0.0,
                    (e.ari.mean - v.ari.mean).max(0.0),
                    0.05,
                ));
                out.push(Check::new(
                    format!("VAE mechanism RMSE / EM's, at least 1, {name} (target <= 2)"),
                    1.0,
                    (v.mechanism_rmse.mean / e.mechanism_rmse.mean).max(1.0),
                    1.0,
                ));
            }
            MechanismFamily::Mlp { .. } if r.setting.shift >= 5.0 => {
                out.push(Check::new(
                    format!("VAE ARI minus EM ARI, {name} (target >= 0: within [0, 2])"),
                    1.0,
                    v.ari.mean - e.ari.mean,
                    1.0,
                ));
            }
            MechanismFamily::Mlp { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use regime_vae::study::ScmRecord;

    use super::*;
    use crate::part::AnyPart;

    /// The full plan: one unit per fit, the 120 of the sweep (2 families x 6 shifts x 10 SCMs, the
    /// main table's fits among them) and the ablation's 60 (2 settings x 6 variants besides the
    /// default x 5 SCMs), keys unique and equal to the cache keys the merging run reads.
    #[test]
    fn full_plan_lists_every_fit_once_with_unique_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(dir.path().to_owned(), Mode::Full, 0).unwrap();
        let units = AnyPart::units(&RegimeVae, &ctx).unwrap();
        assert_eq!(units.len(), 120 + 60);
        let keys: HashSet<&str> = units.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys.len(), units.len(), "duplicate keys");
        assert!(units.iter().all(|u| u.stage == 0 && u.part == names::REGIME_VAE));
        // The merging run asks for exactly the plan's records, in plan order.
        let config = RegimeVae.config(&ctx).unwrap();
        let scores = serde_json::json!({
            "ari": 1.0, "nmi": 1.0, "accuracy": 1.0, "observational_identified": true,
            "targets_correct": 1.0, "identification_margin": 1.0, "clusters_used": 11,
            "recon_mse": 1.0, "oracle_recon_mse": 1.0, "regime_mse": 1.0,
            "oracle_regime_mse": 1.0, "mechanism_rmse": 0.0
        });
        let mut asked = Vec::new();
        run_study_with(&config, |job| -> Result<ScmRecord> {
            asked.push(config.job_key(job)?);
            let em = job.variant.is_none().then(|| scores.clone());
            Ok(serde_json::from_value(serde_json::json!({
                "job": job, "edges": 9, "vae": scores, "vae_seconds": 1.0, "em": em,
                "em_seconds": em.as_ref().map(|_| 1.0)
            }))?)
        })
        .unwrap();
        let planned: Vec<String> = units.iter().map(|u| u.key.clone()).collect();
        assert_eq!(asked, planned);
        // Keys depend on the configuration: another master seed, other SCMs and other keys.
        let other = Context::new(dir.path().to_owned(), Mode::Full, 1).unwrap();
        let other_units = AnyPart::units(&RegimeVae, &other).unwrap();
        assert!(other_units.iter().all(|u| !keys.contains(u.key.as_str())));
        let hours = units.iter().map(|u| u.cost).sum::<f64>() / 3600.0;
        assert!(hours > 0.5 && hours < 3.0, "{hours} core-hours");
    }
}
