//! Runs the study and prints it as JSON. Arguments: `quick` or `full`, then optional `key=value`
//! overrides: `parts=table,ablation,sweep` (which sections run), `scms=K` (SCMs per table setting),
//! `settings=linear:5,mlp:10` (the table's settings), `ablation_settings=linear:5`, `ablation_scms=K`,
//! `variants=1,2` (indices into the ablation's variants, in the order given), `sweep_scms=K`,
//! `sweep_shifts=0.5,1`, `sweep_families=linear,mlp`, `steps=S`, `train=T`, and `cache=DIR`: each job's
//! record is kept in `DIR/<key>.json` (`StudyConfig::job_key`, reproduce's cache names) and read back on a rerun, so a long study can run in pieces.

use anyhow::Context;
use regime_vae::mechanism::MechanismFamily;
use std::path::PathBuf;

use regime_vae::study::{run_job, run_study_with, ScmRecord, Setting, StudyConfig, MLP};

fn family(name: &str) -> anyhow::Result<MechanismFamily> {
    match name {
        "linear" => Ok(MechanismFamily::Linear),
        "mlp" => Ok(MLP),
        _ => anyhow::bail!("unknown family {name}"),
    }
}

/// `linear:5,mlp:10` as settings.
fn settings(value: &str) -> anyhow::Result<Vec<Setting>> {
    value
        .split(',')
        .map(|s| {
            let (f, shift) = s.split_once(':').unwrap_or((s, "10"));
            Ok(Setting { family: family(f)?, shift: shift.parse()? })
        })
        .collect()
}

fn list<T: std::str::FromStr>(value: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(value.split(',').map(str::parse).collect::<Result<Vec<T>, _>>()?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config =
        if args.iter().any(|a| a == "full") { StudyConfig::full() } else { StudyConfig::quick() };
    let mut cache: Option<PathBuf> = None;
    for arg in args.iter().filter(|a| a.contains('=')) {
        let (key, value) = arg.split_once('=').unwrap_or_default();
        match key {
            "parts" => {
                let parts: Vec<&str> = value.split(',').collect();
                if !parts.contains(&"table") {
                    config.settings.clear();
                }
                if !parts.contains(&"ablation") {
                    config.ablation_settings.clear();
                }
                if !parts.contains(&"sweep") {
                    config.sweep_shifts.clear();
                }
            }
            "scms" => config.scms = value.parse()?,
            "settings" => config.settings = settings(value)?,
            "ablation_settings" => config.ablation_settings = settings(value)?,
            "sweep_scms" => config.sweep_scms = value.parse()?,
            "sweep_shifts" => config.sweep_shifts = list(value)?,
            "sweep_families" => {
                config.sweep_families =
                    value.split(',').map(family).collect::<anyhow::Result<_>>()?
            }
            "ablation_scms" => config.ablation_scms = value.parse()?,
            "variants" => {
                let all = std::mem::take(&mut config.variants);
                for v in list::<usize>(value)? {
                    config.variants.push(all.get(v).cloned().context("no such variant")?);
                }
            }
            "steps" => config.vae.steps = value.parse()?,
            "train" => config.train = value.parse()?,
            "cache" => cache = Some(PathBuf::from(value)),
            _ => anyhow::bail!("unknown key {key}"),
        }
    }
    // libtorch's intra-op threads: the VAE's configured count, as in the reproduce part.
    tch::set_num_threads(config.vae.threads.clamp(1, i32::MAX as usize) as i32);
    let progress = |r: &ScmRecord| {
        let em = r.em.as_ref().map_or(String::new(), |e| {
            format!(
                " | EM ari {:.3} obs {} mech {:.3} ({:.1}s)",
                e.ari,
                e.observational_identified,
                e.mechanism_rmse,
                r.em_seconds.unwrap_or(0.0)
            )
        });
        eprintln!(
            "{}: VAE ari {:.3} obs {} mse {:.3}/{:.3} mech {:.3} ({:.1}s){em}",
            r.job.key(),
            r.vae.ari,
            r.vae.observational_identified,
            r.vae.recon_mse,
            r.vae.oracle_recon_mse,
            r.vae.mechanism_rmse,
            r.vae_seconds
        )
    };
    let result = run_study_with(&config, |job| -> anyhow::Result<ScmRecord> {
        let key = config.job_key(job)?;
        let path = cache.as_ref().map(|dir| dir.join(format!("{key}.json")));
        if let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            return Ok(serde_json::from_str(&text)?);
        }
        let record = run_job(&config, job)?;
        progress(&record);
        if let Some(p) = path {
            std::fs::create_dir_all(p.parent().unwrap_or(&p))?;
            std::fs::write(&p, serde_json::to_string(&record)?)?;
        }
        Ok(record)
    })?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
