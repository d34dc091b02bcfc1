//! Runs the VAE and the EM reference on a few random SCMs and prints one line per SCM; used to tune the
//! VAE's settings. Arguments are `key=value` pairs (see the match below).

use regime_vae::study::{run_scm, StudyConfig};
use regime_vae::vae::{Estimator, LatentKind, Prior};

fn main() -> anyhow::Result<()> {
    let mut config = StudyConfig::full();
    let mut scms = 3;
    let mut first = 0u64;
    let mut shift = 10.0;
    for arg in std::env::args().skip(1) {
        let (key, value) =
            arg.split_once('=').ok_or_else(|| anyhow::anyhow!("expected key=value, got {arg}"))?;
        match key {
            "scms" => scms = value.parse()?,
            "first" => first = value.parse()?,
            "shift" => shift = value.parse()?,
            "train" => config.train = value.parse()?,
            "steps" => config.vae.steps = value.parse()?,
            "restarts" => config.vae.restarts = value.parse()?,
            "kinit" => config.vae.kmeans_init_steps = value.parse()?,
            "emrestarts" => config.em.restarts = value.parse()?,
            "batch" => config.vae.batch_size = value.parse()?,
            "lr" => config.vae.learning_rate = value.parse()?,
            "warmup" => config.vae.beta_warmup_steps = value.parse()?,
            "ramp" => config.vae.beta_ramp_steps = value.parse()?,
            "tau0" => config.vae.temperature_start = value.parse()?,
            "tau1" => config.vae.temperature_end = value.parse()?,
            "threads" => config.vae.threads = value.parse()?,
            "exact" => {
                config.vae.estimator =
                    if value == "1" { Estimator::Exact } else { Estimator::StraightThrough }
            }
            "boolean" => {
                config.vae.latent =
                    if value == "1" { LatentKind::PerMechanism } else { LatentKind::Categorical }
            }
            "informative" => {
                config.vae.prior = if value == "1" {
                    Prior::Informative { observational: 0.2 }
                } else {
                    Prior::Uniform
                }
            }
            "mlp" => {
                config.scm.family =
                    regime_vae::mechanism::MechanismFamily::Mlp { hidden: value.parse()? }
            }
            "edge" => config.scm.edge_prob = value.parse()?,
            _ => anyhow::bail!("unknown key {key}"),
        }
    }
    for k in 0..scms {
        let r = run_scm(&config, shift, 1000 * (first + k) + 7)?;
        println!(
            "scm {k} edges {} | VAE ari {:.3} nmi {:.3} acc {:.3} obs {} tgt {:.2} used {} mse {:.3}/{:.3} reg {:.2}/{:.2} mech {:.3} {:.1}s | EM ari {:.3} obs {} tgt {:.2} mse {:.3} mech {:.3} {:.1}s",
            r.edges, r.vae.ari, r.vae.nmi, r.vae.accuracy, r.vae.observational_identified, r.vae.targets_correct,
            r.vae.clusters_used, r.vae.recon_mse, r.vae.oracle_recon_mse, r.vae.regime_mse, r.vae.oracle_regime_mse,
            r.vae.mechanism_rmse, r.vae_seconds, r.em.ari, r.em.observational_identified, r.em.targets_correct,
            r.em.recon_mse, r.em.mechanism_rmse, r.em_seconds
        );
    }
    Ok(())
}
