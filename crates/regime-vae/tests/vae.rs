//! Tests of the regime VAE: finite ELBO terms on extreme inputs, clustering of a well-separated problem,
//! ancestral sampling against the regime means, and seed reproducibility.

use std::sync::{Mutex, OnceLock};

use gumbel_core::rng::from_seed;
use ndarray::{Array2, Axis};
use regime_vae::evaluate::{evaluate, Evaluation, RegimeModel};
use regime_vae::scm::{Dataset, Scm, ScmConfig};
use regime_vae::vae::{Estimator, Intervention, LatentKind, Override, Prior, RegimeVae, VaeConfig};
use tch::Tensor;

fn small_scm() -> Scm {
    let config = ScmConfig { nodes: 4, edge_prob: 0.6, shift: 10.0, ..ScmConfig::default() };
    Scm::random(&config, &mut from_seed(31)).expect("valid config")
}

fn quick_config(latent: LatentKind) -> VaeConfig {
    VaeConfig {
        latent,
        estimator: Estimator::Exact,
        steps: 1200,
        beta_warmup_steps: 200,
        beta_ramp_steps: 400,
        seed: 5,
        ..VaeConfig::default()
    }
}

struct Fixture {
    scm: Scm,
    train: Dataset,
    vae: RegimeVae,
    eval: Evaluation,
}

/// One trained model shared by the tests that need it (training is the slow part).
fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let scm = small_scm();
        let train = scm.sample(3000, &mut from_seed(32)).expect("valid");
        let test = scm.sample(1000, &mut from_seed(33)).expect("valid");
        let vae = RegimeVae::fit(scm.dag(), &train.x, &quick_config(LatentKind::Categorical))
            .expect("trains");
        let eval = evaluate(&vae, &scm, &test, 7).expect("evaluates");
        Mutex::new(Fixture { scm, train, vae, eval })
    })
}

#[test]
fn elbo_terms_are_finite_on_extreme_inputs() {
    let scm = small_scm();
    let train = scm.sample(200, &mut from_seed(1)).expect("valid");
    let extreme = Array2::from_shape_fn((6, 4), |(r, i)| match r {
        0 => 1e6,
        1 => -1e6,
        2 => 0.0,
        3 => {
            if i % 2 == 0 {
                1e6
            } else {
                -1e6
            }
        }
        4 => 1e-30,
        _ => train.x[[0, i]],
    });
    let x = Tensor::from_slice(&extreme.iter().map(|&v| v as f32).collect::<Vec<_>>()).view([6, 4]);
    for latent in [LatentKind::Categorical, LatentKind::PerMechanism] {
        for prior in [Prior::Uniform, Prior::Informative { observational: 0.2 }] {
            let config = VaeConfig { latent, prior, kmeans_init_steps: 0, ..VaeConfig::default() };
            let vae = RegimeVae::new(scm.dag(), &train.x, &config, 3).expect("builds");
            for estimator in [Estimator::StraightThrough, Estimator::Exact] {
                for tau in [0.05, 1.0] {
                    let terms = vae.terms(&x, estimator, tau, &mut from_seed(2)).expect("computes");
                    let nll = Vec::<f32>::try_from(&terms.nll).expect("vector");
                    let kl = Vec::<f32>::try_from(&terms.kl).expect("vector");
                    assert!(
                        nll.iter().all(|v| v.is_finite()),
                        "{latent:?} {estimator:?}: nll {nll:?}"
                    );
                    assert!(
                        kl.iter().all(|v| v.is_finite() && *v >= -1e-4),
                        "{latent:?} {estimator:?}: kl {kl:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn non_finite_data_and_bad_configs_are_errors() {
    let scm = small_scm();
    let mut x = scm.sample(50, &mut from_seed(1)).expect("valid").x;
    assert!(RegimeVae::new(
        scm.dag(),
        &x,
        &VaeConfig { temperature_end: 0.0, ..VaeConfig::default() },
        0
    )
    .is_err());
    assert!(RegimeVae::new(scm.dag(), &x.select(Axis(1), &[0, 1, 2]), &VaeConfig::default(), 0)
        .is_err());
    x[[0, 0]] = f64::NAN;
    assert!(RegimeVae::new(scm.dag(), &x, &VaeConfig::default(), 0).is_err());
}

#[test]
fn well_separated_regimes_are_clustered_and_identified() {
    let f = fixture().lock().expect("fixture");
    assert!(f.eval.ari > 0.9, "{:?}", f.eval);
    assert!(f.eval.accuracy > 0.9, "{:?}", f.eval);
    assert!(f.eval.observational_identified, "{:?}", f.eval);
    assert!(f.eval.recon_mse < 1.3 * f.eval.oracle_recon_mse, "{:?}", f.eval);
}

#[test]
fn ancestral_sampling_reproduces_the_regime_means() {
    // For each cluster, the mean of its ancestral samples equals the mean of the training rows the model
    // puts in that cluster (the data its decoder was fit to), within 5 standard errors of the difference
    // of the two sample means. (That these clusters are the true regimes is the test above.)
    let f = fixture().lock().expect("fixture");
    let pred = f.vae.assign(&f.train.x).expect("assigns");
    let count = 4000;
    for cluster in 0..f.scm.regimes() {
        let rows: Vec<usize> = (0..pred.len()).filter(|&r| pred[r] == cluster).collect();
        assert!(rows.len() > 50, "cluster {cluster} holds {} rows", rows.len());
        let data = f.train.x.select(Axis(0), &rows);
        let samples = f
            .vae
            .sample(&Intervention::cluster(cluster), count, 40 + cluster as u64)
            .expect("samples");
        let (dm, sm) =
            (data.mean_axis(Axis(0)).expect("rows"), samples.mean_axis(Axis(0)).expect("rows"));
        let (dv, sv) = (data.var_axis(Axis(0), 1.0), samples.var_axis(Axis(0), 1.0));
        for i in 0..f.scm.nodes() {
            let se = (dv[i] / rows.len() as f64 + sv[i] / count as f64).sqrt();
            assert!(
                (dm[i] - sm[i]).abs() < 5.0 * se,
                "cluster {cluster} node {i}: data {} model {} se {se}",
                dm[i],
                sm[i]
            );
        }
    }
}

#[test]
fn hard_interventions_fix_the_node_and_reach_descendants_only() {
    let f = fixture().lock().expect("fixture");
    let dag = f.vae.dag().clone();
    let target = dag.order()[0];
    let base = f.vae.sample(&Intervention::cluster(0), 500, 9).expect("samples");
    let moved = f
        .vae
        .sample(&Intervention::cluster(0).with(target, Override::Set(25.0)), 500, 9)
        .expect("samples");
    for i in 0..dag.n() {
        if i == target {
            assert!(moved.column(i).iter().all(|&v| v == 25.0));
        } else if !dag.is_descendant(i, target) {
            // Same seed, same noise: nodes not downstream of the target are unchanged.
            for (a, b) in base.column(i).iter().zip(moved.column(i).iter()) {
                assert!((a - b).abs() < 1e-4, "node {i}");
            }
        }
    }
    assert!(f.vae.sample(&Intervention::cluster(99), 5, 0).is_err());
    assert!(f
        .vae
        .sample(&Intervention::cluster(0).with(0, Override::Shift(f64::NAN)), 5, 0)
        .is_err());
}

#[test]
fn same_seed_same_model() {
    let scm = small_scm();
    let train = scm.sample(300, &mut from_seed(3)).expect("valid");
    let config = VaeConfig {
        steps: 30,
        batch_size: 64,
        latent: LatentKind::PerMechanism,
        kmeans_init_steps: 0,
        seed: 11,
        ..VaeConfig::default()
    };
    let a = RegimeVae::fit(scm.dag(), &train.x, &config).expect("trains");
    let b = RegimeVae::fit(scm.dag(), &train.x, &config).expect("trains");
    assert_eq!(a.elbo(&train.x).expect("elbo"), b.elbo(&train.x).expect("elbo"));
    assert_eq!(a.assign(&train.x).expect("assigns"), b.assign(&train.x).expect("assigns"));
}
