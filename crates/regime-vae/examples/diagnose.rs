//! Diagnoses one VAE fit on one SCM of the study: the held-out ARI of the encoder and of the learned
//! model's exact posterior, the reconstruction MSE per node under the TRUE regimes (a node far above 1 is a
//! mechanism or a regime the model did not learn), and with `confusion` the table of codes against true
//! regimes. Arguments `key=value`: `k` (SCM index, as in the study), `family=linear|mlp`, `shift`,
//! `train`, `steps`, `init` (warm-start steps), `warm=residuals|kmeans`, `hidden` (decoder width), `lr`.
//!
//! `cargo run -p regime-vae --example diagnose -- k=2 family=mlp shift=10 steps=0 warm=kmeans confusion`

use anyhow::Context;
use gumbel_core::rng::stream;
use rand::Rng;
use regime_vae::evaluate::{evaluate, RegimeModel};
use regime_vae::mechanism::MechanismFamily;
use regime_vae::metrics::{adjusted_rand_index, contingency};
use regime_vae::scm::{Scm, ScmConfig};
use regime_vae::study::{StudyConfig, MLP};
use regime_vae::vae::{RegimeVae, VaeConfig, WarmStart};

fn argmax(row: ndarray::ArrayView1<f64>) -> usize {
    (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let mut vae = VaeConfig::default();
    let (mut k, mut family, mut shift, mut train, mut confusion) = (0, MLP, 10.0, 10_000, false);
    for arg in std::env::args().skip(1) {
        if arg == "confusion" {
            confusion = true;
            continue;
        }
        let (key, v) = arg.split_once('=').context("arguments are key=value")?;
        match key {
            "k" => k = v.parse()?,
            "family" => family = if v == "linear" { MechanismFamily::Linear } else { MLP },
            "shift" => shift = v.parse()?,
            "train" => train = v.parse()?,
            "steps" => vae.steps = v.parse()?,
            "init" => vae.kmeans_init_steps = v.parse()?,
            "warm" => {
                vae.warm_start =
                    if v == "kmeans" { WarmStart::KMeans } else { WarmStart::Residuals }
            }
            "hidden" => vae.decoder_hidden = v.parse()?,
            "lr" => vae.learning_rate = v.parse()?,
            _ => anyhow::bail!("unknown key {key}"),
        }
    }
    tch::set_num_threads(1);
    // The study's SCM k and its data (study::run_job's seeds).
    let study = StudyConfig::full();
    let seed = study.scm_seed(k);
    let scm = Scm::random(&ScmConfig { family, shift, ..study.scm }, &mut stream(seed, 0))?;
    let data = scm.sample(train, &mut stream(seed, 1))?;
    let test = scm.sample(study.test, &mut stream(seed, 2))?;
    let model =
        RegimeVae::fit(scm.dag(), &data.x, &VaeConfig { seed: stream(seed, 3).random(), ..vae })?;
    let eval = evaluate(&model, &scm, &test, 1)?;
    let regimes = scm.regimes();
    let posterior: Vec<usize> =
        model.regime_log_likelihood(&test.x)?.rows().into_iter().map(argmax).collect();
    let ari_posterior =
        adjusted_rand_index(&contingency(&posterior, &test.regime, regimes, regimes)?);
    let means = model.mechanism_means(&test.x)?;
    let (rows, nodes) = test.x.dim();
    let per_node: Vec<f64> = (0..nodes)
        .map(|i| {
            (0..rows).map(|r| (test.x[[r, i]] - means[[test.regime[r], r, i]]).powi(2)).sum::<f64>()
                / rows as f64
        })
        .collect();
    println!(
        "SCM {k}, {} shift {shift}: ARI encoder {:.3}, model posterior {:.3}; observational identified {}; \
         reconstruction MSE {:.3} (oracle {:.3})",
        family.label(),
        eval.ari,
        ari_posterior,
        eval.observational_identified,
        eval.recon_mse,
        eval.oracle_recon_mse
    );
    println!("per-node MSE under the true regimes: {per_node:.2?}");
    if confusion {
        for i in 0..nodes {
            println!("node {i}: parents {:?}", scm.dag().parents(i));
        }
        let codes = model.assign(&test.x)?;
        println!(
            "codes (rows) against true regimes (columns):\n{}",
            contingency(&codes, &test.regime, regimes, regimes)?
        );
    }
    Ok(())
}
