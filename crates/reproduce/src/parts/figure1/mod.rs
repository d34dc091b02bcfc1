//! Figure 1 of the gadgets paper (Section 7.1 and the supplement's Figure 5).
//!
//! - Figure 1a (maximality): Gadget 2 with |Z| = 100 trained on the ramp pairs
//!   p = 0.1 (k - 4.5) + rho N(0, 1), q = -0.1 (k - 4.5) + rho N(0, 1) (K = 10), cost 1[x != y], Adam,
//!   batch 64, 16 inner samples; then P(x != y) of its coupling of the noise-free pair, computed exactly
//!   (Gadget 2's coupling is a mixture over z of closed-form Gumbel-max couplings), mean +- std
//!   (ddof 0) over training seeds against rho on a symlog axis, with the exact Gumbel-max and maximal
//!   values of that pair as reference lines. The authors estimate every point from 100,000 samples.
//!   Every run is made twice from the same seed: by the authors' procedure (Gadget 2 trained on the
//!   raw ramp logits, [`Procedure::Authors`]; checked against their points) and exactly (normalised
//!   logits, [`Procedure::Exact`]); docs/figure1-table1.md says why the two differ.
//! - Figure 5 (b-d): the couplings of the noise-free pair by the maximal coupling, the Gadget 2 learned
//!   at the smallest rho (exact procedure), and Gumbel-max.
//! - Figure 1b: see [`super::coupling_pictures`].

use anyhow::Result;
use gadgets::task::{CostSpec, PairSpec};
use gadgets::train::{LossKind, TrainOptions};
use gadgets::{GadgetConfig, GadgetKind};
use gumbel_core::exact::gumbel_max_coupling;
use gumbel_core::pairs::Ramp;
use gumbel_core::rng::splitmix64;
use gumbel_core::{Categorical, Coupling};
use serde_json::{json, Value};

use super::{Outcome, Part};
use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::plot::{heatmaps, line_plot, Heatmap, Series};
use crate::progress::Progress;
use crate::report::table;
use crate::sharing::share;
use crate::stats::{mean, std_ddof0};
use crate::training::{train_stacks, Run, Throughput};

/// The part.
pub const PART: Part = Part {
    name: "figure1",
    title: "Figure 1 and supplement Figure 5: maximality and the couplings of each method (Section 7.1)",
    about: "Figure 1a (Gadget 2 P(x != y) against the training noise rho), Figure 1b / Fig. 5 coupling heatmaps",
    run,
};

/// K.
const OUTCOMES: usize = 10;
/// The ramp's slope.
const BASE_SCALE: f64 = 0.1;
/// |Z| of Section 7.1.
const LATENT: usize = 100;
/// Samples behind each of the authors' estimates of P(x != y).
const AUTHORS_SAMPLES: f64 = 100_000.0;

/// The authors' Figure 1a: (rho, P(x != y) of Gadget 2 for training seeds 1..5), printed by their
/// notebook (official-gadgets-numbers.md, Section 7.1).
const AUTHORS_1A: [(f64, [f64; 5]); 7] = [
    (0.0, [0.2482, 0.2467, 0.2463, 0.2475, 0.2479]),
    (0.1, [0.2631, 0.2629, 0.2653, 0.2659, 0.2669]),
    (0.4, [0.2709, 0.2710, 0.2708, 0.2703, 0.2741]),
    (1.6, [0.2831, 0.2837, 0.2833, 0.2833, 0.2791]),
    (6.4, [0.2982, 0.2988, 0.2985, 0.2999, 0.2982]),
    (25.6, [0.2958, 0.2984, 0.2979, 0.2970, 0.2967]),
    (102.4, [0.3005, 0.3012, 0.2980, 0.2935, 0.2975]),
];
/// The authors' reference lines (100,000-sample estimates): Gumbel-max and the maximal coupling.
const AUTHORS_GUMBEL_MAX: f64 = 0.29661;
const AUTHORS_MAXIMAL: f64 = 0.24343;

/// The sizes of Figure 1a's protocol.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Protocol {
    /// The training noise scales rho.
    pub noises: Vec<f64>,
    /// Training seeds 1..=seeds (the authors' train_seed).
    pub seeds: u64,
    /// Adam steps per run.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// The widths of the hidden layers (the paper's [1024, 1024]; smaller in quick mode).
    pub hidden: Vec<usize>,
}

impl Protocol {
    /// The paper's protocol, or the quick one (fewer noise scales, seeds and steps, a larger rate).
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Full => Self {
                noises: AUTHORS_1A.iter().map(|a| a.0).collect(),
                seeds: 5,
                steps: 10_000,
                learning_rate: 1e-5,
                hidden: vec![1024, 1024],
            },
            Mode::Quick => Self {
                noises: vec![0.0, 1.6, 102.4],
                seeds: 2,
                steps: 100,
                learning_rate: 1e-3,
                hidden: vec![128, 128],
            },
        }
    }

    /// The run of noise `rho` and training seed `seed` (1-based) by `procedure`, its seed derived from
    /// the master seed (the same for both procedures, so that they differ in nothing else).
    pub fn run(&self, master: u64, procedure: Procedure, rho: f64, seed: u64) -> Run {
        Run {
            gadget: GadgetConfig {
                latent: LATENT,
                hidden: self.hidden.clone(),
                ..GadgetConfig::paper(GadgetKind::Gadget2, OUTCOMES)
            },
            pairs: PairSpec::Ramp { outcomes: OUTCOMES, base_scale: BASE_SCALE, noise: rho },
            cost: CostSpec::Mismatch,
            training: TrainOptions {
                loss: LossKind::Joint,
                batch: 64,
                inner_samples: 16,
                learning_rate: self.learning_rate,
                steps: self.steps,
                seed: splitmix64(master ^ splitmix64(0x0f16_1a00 + seed)),
                progress: false,
                unnormalised_logits: procedure == Procedure::Authors,
            },
            observed: None,
        }
    }
}

/// How Gadget 2 sees the training pairs' logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedure {
    /// Normalised first: the marginals are exact in training as in evaluation.
    Exact,
    /// As drawn, unnormalised, as the authors' code trained it (`TrainOptions::unnormalised_logits`):
    /// their Figure 1a's procedure, checked against their numbers.
    Authors,
}

impl Procedure {
    /// Both, the exact one first.
    const ALL: [Procedure; 2] = [Procedure::Exact, Procedure::Authors];

    /// The checkpoint label of a run.
    fn label(self, rho: f64, seed: u64) -> String {
        match self {
            Procedure::Exact => format!("gadget-2-figure1a-rho{rho}-seed{seed}"),
            Procedure::Authors => format!("gadget-2-figure1a-unnormalised-rho{rho}-seed{seed}"),
        }
    }
}

/// The noise-free pair, normalised.
fn test_pair() -> Result<(Categorical, Categorical)> {
    let pair = Ramp { outcomes: OUTCOMES, base_scale: BASE_SCALE, noise: 0.0 }.noise_free();
    Ok((Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?))
}

/// One point of Figure 1a: ours by both procedures and the authors' at one rho.
struct Point {
    rho: f64,
    /// P(x != y) per training seed, trained on normalised logits.
    exact: Vec<f64>,
    /// The same, trained on unnormalised logits as the authors did.
    unnormalised: Vec<f64>,
    authors: Option<[f64; 5]>,
}

fn run(ctx: &Context) -> Result<Outcome> {
    let protocol = Protocol::new(ctx.mode);
    let (p, q) = test_pair()?;
    let gumbel_max = gumbel_max_coupling(&p, &q)?;
    let maximal_coupling = baselines::maximal_coupling(&p, &q)?;
    let maximal = maximal_coupling.p_x_ne_y();

    // Every exact run first (so a partial run has that series complete first), then the authors'.
    let runs: Vec<(Procedure, f64, u64, Run)> = Procedure::ALL
        .into_iter()
        .flat_map(|procedure| {
            protocol
                .noises
                .iter()
                .flat_map(move |&rho| (1..=protocol.seeds).map(move |s| (procedure, rho, s)))
        })
        .map(|(procedure, rho, s)| (procedure, rho, s, protocol.run(ctx.seed, procedure, rho, s)))
        .collect();
    let remaining: u64 = runs
        .iter()
        .map(|(how, rho, s, r)| r.remaining_steps(ctx, &how.label(*rho, *s)))
        .sum::<Result<_>>()?;
    let progress = Progress::new("figure1a", remaining, "steps");
    if ctx.stack {
        let labelled: Vec<(String, &Run)> =
            runs.iter().map(|(how, rho, s, run)| (how.label(*rho, *s), run)).collect();
        train_stacks(ctx, &labelled, &progress)?;
    }
    share(
        ctx,
        &progress,
        &runs,
        |(how, rho, s, run)| run.plan(ctx, &how.label(*rho, *s)),
        |(how, rho, s, run)| run.trained(ctx, &how.label(*rho, *s), &progress).map(drop),
    )?;
    let mut throughput = Throughput::default();
    let mut points: Vec<Point> = protocol
        .noises
        .iter()
        .map(|&rho| Point {
            rho,
            exact: Vec::new(),
            unnormalised: Vec::new(),
            authors: AUTHORS_1A.iter().find(|a| a.0 == rho).map(|a| a.1),
        })
        .collect();
    let mut learned: Option<Coupling> = None;
    for (procedure, rho, seed, run) in &runs {
        let trained = run.trained(ctx, &procedure.label(*rho, *seed), &progress)?;
        throughput.add(&trained);
        let coupling = trained.gadget.coupling(&p, &q, 0, 0)?.coupling;
        let point = points.iter_mut().find(|pt| pt.rho == *rho).expect("a point per rho");
        match procedure {
            Procedure::Exact => point.exact.push(coupling.p_x_ne_y()),
            Procedure::Authors => point.unnormalised.push(coupling.p_x_ne_y()),
        }
        if learned.is_none() {
            learned = Some(coupling);
        }
    }
    progress.finish();

    let figure_1a = "figure1a.png";
    let summary = |name: &str, of: fn(&Point) -> &Vec<f64>| Series {
        name: format!("{name} ({} mode)", ctx.mode.label()),
        points: points.iter().map(|pt| (pt.rho, mean(of(pt)), std_ddof0(of(pt)))).collect(),
    };
    let authors = Series {
        name: "Gadget 2, authors".to_owned(),
        points: AUTHORS_1A.iter().map(|(rho, v)| (*rho, mean(v), std_ddof0(v))).collect(),
    };
    line_plot(
        &ctx.path(figure_1a),
        &format!("Figure 1a: P(x != y) on the noise-free pair ({} mode)", ctx.mode.label()),
        ("training noise rho (symlog)", "P(x != y)"),
        &[
            summary("ours, authors' procedure", |pt| &pt.unnormalised),
            summary("ours, exact marginals", |pt| &pt.exact),
            authors,
        ],
        &[
            (format!("Gumbel-max {:.4}", gumbel_max.p_x_ne_y()), gumbel_max.p_x_ne_y()),
            (format!("maximal {maximal:.4}"), maximal),
        ],
        true,
    )?;

    let mut panels = vec![Heatmap {
        title: format!("maximal: P(x != y) {maximal:.4}"),
        matrix: maximal_coupling.to_rows(),
    }];
    if let (Some(c), Some(first)) = (&learned, points.first()) {
        panels.push(Heatmap {
            title: format!("Gadget 2, rho {}: {:.4}", first.rho, c.p_x_ne_y()),
            matrix: c.to_rows(),
        });
    }
    panels.push(Heatmap {
        title: format!("Gumbel-max: {:.4}", gumbel_max.p_x_ne_y()),
        matrix: gumbel_max.to_rows(),
    });
    let figure_5 = "figure5_maximality.png";
    heatmaps(
        &ctx.path(figure_5),
        &format!("Couplings of the noise-free pair ({} mode)", ctx.mode.label()),
        &panels,
        3,
    )?;

    let figure_1b = "figure1b.png";
    let mut throughput_1b = Throughput::default();
    let variances = super::coupling_pictures::figure_1b(ctx, figure_1b, &mut throughput_1b)?;

    let mut checks = vec![
        Check::new(
            "Gumbel-max P(x != y), noise-free pair (exact vs the authors' 100k samples)",
            AUTHORS_GUMBEL_MAX,
            gumbel_max.p_x_ne_y(),
            monte_carlo_tolerance(AUTHORS_GUMBEL_MAX, 0.0),
        ),
        Check::new(
            "maximal P(x != y), noise-free pair (exact vs the authors' 100k samples)",
            AUTHORS_MAXIMAL,
            maximal,
            monte_carlo_tolerance(AUTHORS_MAXIMAL, 0.0),
        ),
    ];
    let mut rows = Vec::new();
    for point in &points {
        let (m, sd) = (mean(&point.unnormalised), std_ddof0(&point.unnormalised));
        let (em, esd) = (mean(&point.exact), std_ddof0(&point.exact));
        let authors = point.authors.map(|a| (mean(&a), std_ddof0(&a)));
        rows.push(vec![
            format!("{}", point.rho),
            format!("{m:.4} ± {sd:.4}"),
            authors.map_or("–".to_owned(), |(am, asd)| format!("{am:.4} ± {asd:.4}")),
            authors.map_or("–".to_owned(), |(am, _)| format!("{:+.4}", m - am)),
            authors.map_or("–".to_owned(), |(am, asd)| crate::stats::spread_units(m - am, asd)),
            format!("{em:.4} ± {esd:.4}"),
            authors.map_or("–".to_owned(), |(am, asd)| crate::stats::spread_units(em - am, asd)),
        ]);
        if let (Mode::Full, Some((am, asd))) = (ctx.mode, authors) {
            checks.push(
                Check::new(
                    format!("Gadget 2 P(x != y), rho = {} (authors' procedure)", point.rho),
                    am,
                    m,
                    monte_carlo_tolerance(am, asd),
                )
                .with_spread(asd),
            );
        }
    }
    let steps_per_second = throughput.steps_per_second();
    let markdown = format!(
        "Gadget 2 (|Z| = {LATENT}, hidden {hidden:?}) trained on the ramp pairs with noise rho, cost 1[x != y], Adam \
         {lr:e}, {steps} steps, {seeds} seed(s) per rho; P(x != y) of its coupling of the noise-free pair computed exactly, \
         mean ± std (ddof 0) over seeds. Trained by two procedures from the same seeds: the authors' (Gadget 2 given \
         the raw ramp logits, whose logsumexp L is about 2.3 and more with noise: their rejection step then weighs its \
         fallback by e^L and the marginals seen in training are not exact; checked against their numbers), and exact \
         (the logits normalised first, as everywhere else here). Evaluation normalises in both. The authors' values are 100,000-sample estimates (5 seeds, Adam 1e-5, 10,000 \
         steps). Exact references on the noise-free pair: Gumbel-max {gm:.4}, maximal {maximal:.4} (the authors' \
         Monte Carlo lines: {AUTHORS_GUMBEL_MAX}, {AUTHORS_MAXIMAL}).{quick_note}\n\n{}\n\
         ![Figure 1a]({figure_1a})\n\nSupplement Figure 5 (b-d): the maximal coupling, the Gadget 2 learned at the smallest \
         rho (first seed, exact procedure), and Gumbel-max, rows x ~ p, columns y ~ q:\n\n![Figure 5]({figure_5})\n\n\
         Figure 1b / supplement Figure 5: the coupling of every method of the fixed pair of Table 1 columns 3-4 \
         (p logits (10..1)/4, q logits (0..9)/4) under the authors' reward trial 0, titled with Var[h(x) - h(y)] \
         (exact; Gadget 1 from 100,000 samples). Gadgets trained on that pair and reward as in the authors' second \
         repository ({gadget_schedule}):\n\n{}\n![Figure 1b]({figure_1b})\n\n\
         Training on {} ({} CPUs), as measured when each run was trained: Figure 1a {} steps in {:.0} s ({} steps/s{}), \
         Figure 1b {} steps in {:.0} s.\n",
        table(&["rho", "ours, authors' procedure", "authors", "ours − authors", "in authors' std", "ours, exact marginals", "exact − authors, in authors' std"], &rows),
        variances.table,
        gadgets::device::device_name(gadgets::DeviceChoice::Auto.resolve()?),
        ctx.provenance.cpus,
        throughput.steps,
        throughput.seconds,
        steps_per_second.map_or("–".to_owned(), |s| format!("{s:.1}")),
        match throughput.stacked_runs {
            0 => String::new(),
            n => format!("; {n} of its runs trained in stacks, each counted with its share of its stack's time"),
        },
        throughput_1b.steps,
        throughput_1b.seconds,
        lr = protocol.learning_rate,
        steps = protocol.steps,
        seeds = protocol.seeds,
        hidden = protocol.hidden,
        gm = gumbel_max.p_x_ne_y(),
        gadget_schedule = variances.schedule,
        quick_note = if ctx.mode == Mode::Quick {
            " **Quick mode**: a smaller network and far fewer steps (at a larger rate) than the paper, so the learned couplings are not \
             converged and sit between Gumbel-max and maximal; the paper's numbers need `--full`."
        } else {
            ""
        },
    );
    let full = Protocol::new(Mode::Full);
    let full_steps =
        (Procedure::ALL.len() * full.noises.len()) as f64 * full.seeds as f64 * full.steps as f64;
    Ok(Outcome {
        data: json!({
            "points": points.iter().map(|pt| json!({"rho": pt.rho,
                "authors_procedure": {"per_seed": pt.unnormalised, "mean": mean(&pt.unnormalised), "std": std_ddof0(&pt.unnormalised)},
                "exact": {"per_seed": pt.exact, "mean": mean(&pt.exact), "std": std_ddof0(&pt.exact)},
                "authors_per_seed": pt.authors})).collect::<Vec<Value>>(),
            "gumbel_max_exact": gumbel_max.p_x_ne_y(),
            "maximal_exact": maximal,
            "learned_coupling": learned.map(|c| c.to_rows()),
            "figure_1b": variances.data,
            "training_1a": {"steps": throughput.steps, "seconds": throughput.seconds, "steps_per_second": steps_per_second, "stacked_runs": throughput.stacked_runs,
                            "full_protocol_steps": full_steps},
            "training_1b": throughput_1b,
        }),
        config: json!({"protocol": protocol, "latent": LATENT, "outcomes": OUTCOMES, "base_scale": BASE_SCALE,
                       "cost": "1[x != y]", "evaluation": "exact coupling of the noise-free normalised pair"}),
        markdown,
        checks,
    })
}

/// Three standard deviations of a comparison with a 100,000-sample estimate v whose seeds spread
/// by `seed_std`: 3 sqrt(seed_std^2 + v (1 - v) / 100,000).
fn monte_carlo_tolerance(v: f64, seed_std: f64) -> f64 {
    3.0 * (seed_std * seed_std + v * (1.0 - v) / AUTHORS_SAMPLES).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_runs_keep_the_checkpoint_names_of_earlier_builds() {
        // A full Figure 1a run is hours of training: the exact procedure's runs must still find the
        // checkpoints that builds before the authors' procedure existed wrote (seed 0, the default).
        let full = Protocol::new(Mode::Full);
        let key = |procedure: Procedure| {
            full.run(0, procedure, 1.6, 1).key(&procedure.label(1.6, 1)).unwrap()
        };
        assert_eq!(key(Procedure::Exact), "gadget-2-figure1a-rho1.6-seed1-b9020757111a9de9");
        assert!(key(Procedure::Authors).starts_with("gadget-2-figure1a-unnormalised-rho1.6-seed1-"));
        // Same seed, so the procedures differ only in the logits' normalisation.
        let (exact, authors) =
            (full.run(0, Procedure::Exact, 1.6, 1), full.run(0, Procedure::Authors, 1.6, 1));
        assert_eq!(exact.training.seed, authors.training.seed);
        assert!(!exact.training.unnormalised_logits && authors.training.unnormalised_logits);
    }
}
