//! Figure 1 of the gadgets paper (Section 7.1 and the supplement's Figure 5).
//!
//! - Figure 1a (maximality): Gadget 2 with |Z| = 100 trained on the ramp pairs
//!   p = 0.1 (k - 4.5) + rho N(0, 1), q = -0.1 (k - 4.5) + rho N(0, 1) (K = 10), cost 1[x != y], Adam,
//!   batch 64, 16 inner samples; then P(x != y) of its coupling of the noise-free pair, computed exactly
//!   (Gadget 2's coupling is a mixture over z of closed-form Gumbel-max couplings), mean +- std
//!   (ddof 0) over training seeds against rho on a symlog axis, with the exact Gumbel-max and maximal
//!   values of that pair as reference lines. The authors estimate every point from 100,000 samples.
//!   Every run is made twice from the same seed ([`protocol`]): by the authors' procedure (Gadget 2
//!   trained on the raw ramp logits, [`Procedure::Authors`]; checked against their points) and exactly
//!   (normalised logits, [`Procedure::Exact`]); docs/figure1-table1.md says why the two differ.
//! - Figure 5 (b-d): the couplings of the noise-free pair by the maximal coupling, the Gadget 2 learned
//!   at the smallest rho (exact procedure), and Gumbel-max.
//! - Figure 1b: see [`figure1b`].

mod figure1b;
mod protocol;

use anyhow::Result;
use gadgets::{GadgetConfig, GadgetKind, TrainRun};
use gumbel_core::pairs::Ramp;
use gumbel_core::{Categorical, Coupling};
use methods::Method;
use serde::{Deserialize, Serialize};

use self::figure1b::Figure1b;
use self::protocol::{Procedure, Protocol, BASE_SCALE, LATENT, OUTCOMES};
use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::experiments::fixed_pair::{self, Schedule};
use crate::markdown::table;
use crate::part::{names, Part};
use crate::plot::{heatmaps, line_plot, Heatmap, Series};
use crate::progress::Progress;
use crate::sharing::share;
use crate::stats::{mean, spread_units, std_ddof0};
use crate::training::{self, train_stacks, MeasuredStep, Resumable, Throughput};
use crate::units::Unit;

/// The part.
pub struct Figure1;

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
/// The exact coupling of (p, q) by `method`, a method without a gadget or a cost (Gumbel-max,
/// maximal), through its mechanism.
fn exact(method: Method, pair: (&Categorical, &Categorical)) -> Result<Coupling> {
    fixed_pair::coupling(0, method, None, None, pair)
}

/// The authors' reference lines (100,000-sample estimates): Gumbel-max and the maximal coupling.
const AUTHORS_GUMBEL_MAX: f64 = 0.29661;
const AUTHORS_MAXIMAL: f64 = 0.24343;

/// The part's settings (`meta.config`).
#[derive(Debug, Serialize)]
pub struct Config {
    /// Figure 1a's protocol.
    protocol: Protocol,
    /// |Z|.
    latent: usize,
    /// K.
    outcomes: usize,
    /// The ramp's slope.
    base_scale: f64,
    /// The cost, in words.
    cost: &'static str,
    /// How a gadget is scored, in words.
    evaluation: &'static str,
}

/// P(x != y) over training seeds: each seed's, their mean and std (ddof 0).
#[derive(Debug, Serialize, Deserialize)]
pub struct SeedSummary {
    /// By training seed.
    pub per_seed: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their std (ddof 0).
    pub std: f64,
}

impl SeedSummary {
    fn of(per_seed: Vec<f64>) -> Self {
        Self { mean: mean(&per_seed), std: std_ddof0(&per_seed), per_seed }
    }
}

/// One point of Figure 1a: ours by both procedures and the authors' at one rho.
#[derive(Debug, Serialize, Deserialize)]
pub struct Point {
    /// The training noise.
    pub rho: f64,
    /// Trained on unnormalised logits, as the authors did.
    pub authors_procedure: SeedSummary,
    /// Trained on normalised logits.
    pub exact: SeedSummary,
    /// The authors' values at this rho, if they printed them.
    pub authors_per_seed: Option<[f64; 5]>,
}

/// Figure 1a's training throughput.
#[derive(Debug, Serialize, Deserialize)]
pub struct Training1a {
    /// Steps trained.
    pub steps: u64,
    /// Seconds spent in them.
    pub seconds: f64,
    /// Steps per second (None when nothing was trained).
    pub steps_per_second: Option<f64>,
    /// Runs trained in stacks.
    pub stacked_runs: u64,
    /// Training steps of the full protocol.
    pub full_protocol_steps: f64,
}

/// figure1.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct Figure1Result {
    /// Figure 1a, by rho.
    pub points: Vec<Point>,
    /// Exact P(x != y) of the Gumbel-max coupling of the noise-free pair.
    pub gumbel_max_exact: f64,
    /// Exact P(x != y) of the maximal coupling of the noise-free pair.
    pub maximal_exact: f64,
    /// The coupling of the noise-free pair by the first run (exact procedure, smallest rho).
    pub learned_coupling: Option<Vec<Vec<f64>>>,
    /// Figure 1b's variances.
    pub figure_1b: Figure1b,
    /// Figure 1a's training.
    pub training_1a: Training1a,
    /// Figure 1b's training.
    pub training_1b: Throughput,
}

/// The heatmaps of Figure 1b, which need the trained gadgets.
pub struct Details {
    /// The coupling of the noise-free pair by the first run.
    learned: Option<Coupling>,
    /// Figure 1b's panels, row by row.
    figure_1b: Vec<Heatmap>,
}

/// The noise-free pair, normalised.
fn test_pair() -> Result<(Categorical, Categorical)> {
    let pair = Ramp { outcomes: OUTCOMES, base_scale: BASE_SCALE, noise: 0.0 }.noise_free();
    Ok((Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?))
}

/// Figure 1a's runs: every exact run first (so a partial run has that series complete first), then
/// the authors'.
fn runs_1a(ctx: &Context, protocol: &Protocol) -> Vec<(Procedure, f64, u64, TrainRun)> {
    Procedure::ALL
        .into_iter()
        .flat_map(|procedure| {
            protocol
                .noises
                .iter()
                .flat_map(move |&rho| (1..=protocol.seeds).map(move |s| (procedure, rho, s)))
        })
        .map(|(procedure, rho, s)| (procedure, rho, s, protocol.run(ctx.seed, procedure, rho, s)))
        .collect()
}

/// Figure 1a's measured step: Gadget 2 with |Z| = 100 at the paper's size, 37.3 ms on one core
/// (docs/figure1-table1.md, "Measured time").
fn measured_step_1a() -> MeasuredStep {
    MeasuredStep {
        gadget: GadgetConfig {
            latent: LATENT,
            ..GadgetConfig::paper(GadgetKind::Gadget2, OUTCOMES)
        },
        samples: 64 * 16,
        seconds: 0.0373,
    }
}

/// Trains (resumably, shared, stacked when asked) every run of Figure 1a and scores each on the
/// noise-free pair: the points and the first run's coupling.
fn figure_1a(
    ctx: &Context,
    protocol: &Protocol,
    (p, q): (&Categorical, &Categorical),
) -> Result<(Vec<Point>, Option<Coupling>, Throughput)> {
    let runs = runs_1a(ctx, protocol);
    let remaining: u64 = runs
        .iter()
        .map(|(how, rho, s, r)| r.remaining_steps(ctx, &how.label(*rho, *s)))
        .sum::<Result<_>>()?;
    let progress = Progress::new("figure1a", remaining, "steps");
    if ctx.stack {
        let labelled: Vec<(String, &TrainRun)> =
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
    let mut scores: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); protocol.noises.len()];
    let mut learned: Option<Coupling> = None;
    for (procedure, rho, seed, run) in &runs {
        let trained = run.trained(ctx, &procedure.label(*rho, *seed), &progress)?;
        throughput.add(&trained);
        let coupling = fixed_pair::gadget_coupling(ctx.seed, &trained.gadget, p, q)?;
        let index = protocol.noises.iter().position(|r| r == rho).expect("a point per rho");
        match procedure {
            Procedure::Exact => scores[index].0.push(coupling.p_x_ne_y()),
            Procedure::Authors => scores[index].1.push(coupling.p_x_ne_y()),
        }
        if learned.is_none() {
            learned = Some(coupling);
        }
    }
    progress.finish();
    let points = protocol
        .noises
        .iter()
        .zip(scores)
        .map(|(&rho, (exact, unnormalised))| Point {
            rho,
            authors_procedure: SeedSummary::of(unnormalised),
            exact: SeedSummary::of(exact),
            authors_per_seed: AUTHORS_1A.iter().find(|a| a.0 == rho).map(|a| a.1),
        })
        .collect();
    Ok((points, learned, throughput))
}

impl Part for Figure1 {
    type Result = Figure1Result;
    type Details = Details;
    type Config = Config;

    fn name(&self) -> &'static str {
        names::FIGURE1
    }

    fn title(&self) -> &'static str {
        "Figure 1 and supplement Figure 5: maximality and the couplings of each method (Section 7.1)"
    }

    fn about(&self) -> &'static str {
        "Figure 1a (Gadget 2 P(x != y) against the training noise rho), Figure 1b / Fig. 5 coupling heatmaps"
    }

    fn config(&self, ctx: &Context) -> Result<Config> {
        Ok(Config {
            protocol: Protocol::new(ctx.mode),
            latent: LATENT,
            outcomes: OUTCOMES,
            base_scale: BASE_SCALE,
            cost: "1[x != y]",
            evaluation: "exact coupling of the noise-free normalised pair",
        })
    }

    fn units<'a>(&'a self, ctx: &'a Context) -> Result<Option<Vec<Unit<'a>>>> {
        let measured = measured_step_1a();
        let mut units = Vec::new();
        for (procedure, rho, seed, run) in runs_1a(ctx, &Protocol::new(ctx.mode)) {
            let label = procedure.label(rho, seed);
            units.push(training::unit(ctx, 0, names::FIGURE1, label, run, &measured)?);
        }
        for (label, run) in figure1b::runs(ctx)? {
            let measured = fixed_pair::measured_step(run.gadget.kind);
            units.push(training::unit(ctx, 0, names::FIGURE1, label, run, &measured)?);
        }
        Ok(Some(units))
    }

    fn compute(&self, ctx: &Context, config: &Config) -> Result<(Figure1Result, Details)> {
        let (p, q) = test_pair()?;
        let (points, learned, throughput) = figure_1a(ctx, &config.protocol, (&p, &q))?;
        let (figure_1b, panels, throughput_1b) = figure1b::compute(ctx)?;
        let result = Figure1Result {
            points,
            gumbel_max_exact: exact(Method::GumbelMax, (&p, &q))?.p_x_ne_y(),
            maximal_exact: exact(Method::Maximal, (&p, &q))?.p_x_ne_y(),
            learned_coupling: learned.as_ref().map(Coupling::to_rows),
            figure_1b,
            training_1a: Training1a {
                steps: throughput.steps,
                seconds: throughput.seconds,
                steps_per_second: throughput.steps_per_second(),
                stacked_runs: throughput.stacked_runs,
                full_protocol_steps: Protocol::new(Mode::Full).total_steps(),
            },
            training_1b: throughput_1b,
        };
        Ok((result, Details { learned, figure_1b: panels }))
    }

    fn render(
        &self,
        ctx: &Context,
        config: &Config,
        result: &Figure1Result,
        details: Details,
    ) -> Result<String> {
        let protocol = &config.protocol;
        let (gumbel_max, maximal) = (result.gumbel_max_exact, result.maximal_exact);
        let mode = ctx.mode.label();
        let figure_1a = "figure1a.png";
        let summary = |name: &str, of: fn(&Point) -> &SeedSummary| Series {
            name: format!("{name} ({mode} mode)"),
            points: result.points.iter().map(|pt| (pt.rho, of(pt).mean, of(pt).std)).collect(),
        };
        let authors = Series {
            name: "Gadget 2, authors".to_owned(),
            points: AUTHORS_1A.iter().map(|(rho, v)| (*rho, mean(v), std_ddof0(v))).collect(),
        };
        line_plot(
            &ctx.path(figure_1a),
            &format!("Figure 1a: P(x != y) on the noise-free pair ({mode} mode)"),
            ("training noise rho (symlog)", "P(x != y)"),
            &[
                summary("ours, authors' procedure", |pt| &pt.authors_procedure),
                summary("ours, exact marginals", |pt| &pt.exact),
                authors,
            ],
            &[
                (format!("Gumbel-max {gumbel_max:.4}"), gumbel_max),
                (format!("maximal {maximal:.4}"), maximal),
            ],
            true,
        )?;

        let (p, q) = test_pair()?;
        let mut panels = vec![Heatmap {
            title: format!("maximal: P(x != y) {maximal:.4}"),
            matrix: exact(Method::Maximal, (&p, &q))?.to_rows(),
        }];
        if let (Some(c), Some(first)) = (&details.learned, result.points.first()) {
            panels.push(Heatmap {
                title: format!("Gadget 2, rho {}: {:.4}", first.rho, c.p_x_ne_y()),
                matrix: c.to_rows(),
            });
        }
        panels.push(Heatmap {
            title: format!("Gumbel-max: {gumbel_max:.4}"),
            matrix: exact(Method::GumbelMax, (&p, &q))?.to_rows(),
        });
        let figure_5 = "figure5_maximality.png";
        heatmaps(
            &ctx.path(figure_5),
            &format!("Couplings of the noise-free pair ({mode} mode)"),
            &panels,
            3,
        )?;
        let figure_1b = "figure1b.png";
        heatmaps(
            &ctx.path(figure_1b),
            &format!(
                "Figure 1b ({mode} mode): p decreasing / q increasing; top row monotone reward, bottom row non-monotone"
            ),
            &details.figure_1b,
            7,
        )?;

        let rows: Vec<Vec<String>> = result
            .points
            .iter()
            .map(|point| {
                let (m, sd) = (point.authors_procedure.mean, point.authors_procedure.std);
                let (em, esd) = (point.exact.mean, point.exact.std);
                let authors = point.authors_per_seed.map(|a| (mean(&a), std_ddof0(&a)));
                vec![
                    format!("{}", point.rho),
                    format!("{m:.4} ± {sd:.4}"),
                    authors.map_or("–".to_owned(), |(am, asd)| format!("{am:.4} ± {asd:.4}")),
                    authors.map_or("–".to_owned(), |(am, _)| format!("{:+.4}", m - am)),
                    authors.map_or("–".to_owned(), |(am, asd)| spread_units(m - am, asd)),
                    format!("{em:.4} ± {esd:.4}"),
                    authors.map_or("–".to_owned(), |(am, asd)| spread_units(em - am, asd)),
                ]
            })
            .collect();
        let (training, training_1b) = (&result.training_1a, &result.training_1b);
        Ok(format!(
            "Gadget 2 (|Z| = {LATENT}, hidden {hidden:?}) trained on the ramp pairs with noise rho, cost 1[x != y], Adam \
             {lr:e}, {steps} steps, {seeds} seed(s) per rho; P(x != y) of its coupling of the noise-free pair computed exactly, \
             mean ± std (ddof 0) over seeds. Trained by two procedures from the same seeds: the authors' (Gadget 2 given \
             the raw ramp logits, whose logsumexp L is about 2.3 and more with noise: their rejection step then weighs its \
             fallback by e^L and the marginals seen in training are not exact; checked against their numbers), and exact \
             (the logits normalised first, as everywhere else here). Evaluation normalises in both. The authors' values are 100,000-sample estimates (5 seeds, Adam 1e-5, 10,000 \
             steps). Exact references on the noise-free pair: Gumbel-max {gumbel_max:.4}, maximal {maximal:.4} (the authors' \
             Monte Carlo lines: {AUTHORS_GUMBEL_MAX}, {AUTHORS_MAXIMAL}).{quick_note}\n\n{}\n\
             ![Figure 1a]({figure_1a})\n\nSupplement Figure 5 (b-d): the maximal coupling, the Gadget 2 learned at the smallest \
             rho (first seed, exact procedure), and Gumbel-max, rows x ~ p, columns y ~ q:\n\n![Figure 5]({figure_5})\n\n\
             Figure 1b / supplement Figure 5: the coupling of every method of the fixed pair of Table 1 columns 3-4 \
             (p logits (10..1)/4, q logits (0..9)/4) under the authors' reward trial 0, titled with Var[h(x) - h(y)] \
             (exact; Gadget 1 from 100,000 samples). Gadgets trained on that pair and reward as in the authors' second \
             repository ({gadget_schedule}):\n\n{}\n![Figure 1b]({figure_1b})\n\n\
             Training on {} ({} CPUs), as measured when each run was trained: Figure 1a {} steps in {:.0} s ({} steps/s{}), \
             Figure 1b {} steps in {:.0} s.\n",
            table(
                &[
                    "rho",
                    "ours, authors' procedure",
                    "authors",
                    "ours − authors",
                    "in authors' std",
                    "ours, exact marginals",
                    "exact − authors, in authors' std"
                ],
                &rows
            ),
            figure1b::variance_table(&result.figure_1b),
            gadgets::device::device_name(gadgets::DeviceChoice::Auto.resolve()?),
            ctx.provenance.cpus,
            training.steps,
            training.seconds,
            training.steps_per_second.map_or("–".to_owned(), |s| format!("{s:.1}")),
            match training.stacked_runs {
                0 => String::new(),
                n => format!(
                    "; {n} of its runs trained in stacks, each counted with its share of its stack's time"
                ),
            },
            training_1b.steps,
            training_1b.seconds,
            lr = protocol.learning_rate,
            steps = protocol.steps,
            seeds = protocol.seeds,
            hidden = protocol.hidden,
            gadget_schedule = Schedule::new(ctx.mode).describe(),
            quick_note = if ctx.mode == Mode::Quick {
                " **Quick mode**: a smaller network and far fewer steps (at a larger rate) than the paper, so the learned couplings are not \
                 converged and sit between Gumbel-max and maximal; the paper's numbers need `--full`."
            } else {
                ""
            },
        ))
    }

    fn checks(&self, mode: Mode, result: &Figure1Result) -> Vec<Check> {
        let mut checks = vec![
            Check::new(
                "Gumbel-max P(x != y), noise-free pair (exact vs the authors' 100k samples)",
                AUTHORS_GUMBEL_MAX,
                result.gumbel_max_exact,
                monte_carlo_tolerance(AUTHORS_GUMBEL_MAX, 0.0),
            ),
            Check::new(
                "maximal P(x != y), noise-free pair (exact vs the authors' 100k samples)",
                AUTHORS_MAXIMAL,
                result.maximal_exact,
                monte_carlo_tolerance(AUTHORS_MAXIMAL, 0.0),
            ),
        ];
        if mode == Mode::Full {
            for point in &result.points {
                if let Some(a) = point.authors_per_seed {
                    let (am, asd) = (mean(&a), std_ddof0(&a));
                    checks.push(
                        Check::new(
                            format!("Gadget 2 P(x != y), rho = {} (authors' procedure)", point.rho),
                            am,
                            point.authors_procedure.mean,
                            monte_carlo_tolerance(am, asd),
                        )
                        .with_spread(asd),
                    );
                }
            }
        }
        checks
    }
}

/// Three standard deviations of a comparison with a 100,000-sample estimate v whose seeds spread
/// by `seed_std`: 3 sqrt(seed_std^2 + v (1 - v) / 100,000).
fn monte_carlo_tolerance(v: f64, seed_std: f64) -> f64 {
    3.0 * (seed_std * seed_std + v * (1.0 - v) / AUTHORS_SAMPLES).sqrt()
}
