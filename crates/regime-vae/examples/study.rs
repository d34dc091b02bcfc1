//! Runs the study (`quick` or `full`, optionally `main` to skip the sweep, `sweep` for one
//! main SCM, `one` for one SCM per sweep point) and prints it as JSON.

use regime_vae::study::{run_study, StudyConfig};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config =
        if args.iter().any(|a| a == "full") { StudyConfig::full() } else { StudyConfig::quick() };
    if args.iter().any(|a| a == "main") {
        config.sweep_shifts.clear();
    }
    if args.iter().any(|a| a == "sweep") {
        config.scms = 1;
    }
    if args.iter().any(|a| a == "one") {
        config.sweep_scms = 1;
    }
    let result = run_study(&config, |r| {
        eprintln!(
            "shift {} seed {}: VAE ari {:.3} obs {} mse {:.3}/{:.3} ({:.1}s) | EM ari {:.3} obs {} ({:.1}s)",
            r.shift, r.seed, r.vae.ari, r.vae.observational_identified, r.vae.recon_mse, r.vae.oracle_recon_mse,
            r.vae_seconds, r.em.ari, r.em.observational_identified, r.em_seconds
        )
    })?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
