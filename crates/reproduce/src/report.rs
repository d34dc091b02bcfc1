//! A part's files, `results/<part>.json` (for tools) and `results/<part>.md` (for people), and
//! `results/REPORT.md` gathering the markdown of every part present.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::markdown::table;
use crate::part::{AnyPart, Outcome};
use crate::provenance::Provenance;
use crate::stats::spread_units;
use crate::store::write_atomic;

/// The `meta` object of a part's JSON: what it is, how and where it was made, and its checks.
#[derive(Debug, Serialize, Deserialize)]
pub struct Meta<P = Provenance> {
    /// The part's name.
    pub part: String,
    /// Quick or full.
    pub mode: Mode,
    /// The master seed.
    pub seed: u64,
    /// Its configuration.
    pub config: Value,
    /// Whether training replayed CUDA graphs (`--graphs`; false in files that predate it).
    #[serde(default)]
    pub graphs: bool,
    /// Seconds the part took.
    pub seconds: f64,
    /// Where and from what it was made.
    pub provenance: P,
    /// Its comparisons with the paper.
    pub checks: Vec<Check>,
}

/// Writes `results/<part>.json` (the part's result plus a `meta` object: provenance, mode, seed,
/// configuration, seconds, checks) and `results/<part>.md`.
pub fn write_part(
    ctx: &Context,
    part: &dyn AnyPart,
    outcome: &Outcome,
    seconds: f64,
) -> Result<()> {
    let mut data = outcome.data.clone();
    let Value::Object(map) = &mut data else {
        bail!("part {} returned data that is not a JSON object", part.name())
    };
    let meta = Meta {
        part: part.name().to_owned(),
        mode: ctx.mode,
        seed: ctx.seed,
        config: outcome.config.clone(),
        graphs: ctx.graphs,
        seconds,
        provenance: &ctx.provenance,
        checks: outcome.checks.clone(),
    };
    map.insert("meta".to_owned(), serde_json::to_value(meta)?);
    write_atomic(
        &ctx.path(format!("{}.json", part.name())),
        serde_json::to_string_pretty(&data)?.as_bytes(),
    )?;
    let markdown = part_section(ctx, part, outcome, seconds);
    write_atomic(&ctx.path(format!("{}.md", part.name())), markdown.as_bytes())
}

/// The markdown section of one part: its body, its checks, and its provenance.
fn part_section(ctx: &Context, part: &dyn AnyPart, outcome: &Outcome, seconds: f64) -> String {
    let mut out = format!("## {}\n\n", part.title());
    if ctx.mode == Mode::Quick {
        out.push_str("> **Quick mode**: reduced sizes for a few minutes on 2 cores; run `cargo xtask reproduce --full` for the paper's protocol.\n\n");
    }
    out.push_str(&outcome.markdown);
    if !outcome.checks.is_empty() {
        let rows: Vec<Vec<String>> = outcome
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    format!("{:.4}", c.paper),
                    format!("{:.4}", c.ours),
                    c.spread.map_or("–".to_owned(), |s| spread_units(c.ours - c.paper, s)),
                    format!("{:.4}", c.tolerance),
                    if c.passed() { "ok".to_owned() } else { "**outside**".to_owned() },
                ]
            })
            .collect();
        out.push_str("\nChecks against the paper (`cargo xtask reproduce --check` fails on any outside):\n\n");
        out.push_str(&table(
            &[
                "quantity",
                "paper",
                "ours",
                "ours − paper in the paper's spread",
                "tolerance",
                "status",
            ],
            &rows,
        ));
    }
    let p = &ctx.provenance;
    let gpus = if p.gpus.is_empty() { String::new() } else { format!(" ({})", p.gpus.join(", ")) };
    out.push_str(&format!(
        "\n_{} mode, seed {}, git {}, {} CPUs ({}) on {}, {} libtorch thread(s), training on {}{gpus}{}, {seconds:.1} s._\n\n",
        ctx.mode.label(),
        ctx.seed,
        p.git_revision,
        p.cpus,
        p.cpu_model,
        p.host,
        p.torch_threads,
        p.training_device,
        if ctx.graphs { " replaying CUDA graphs" } else { "" },
    ));
    out
}

/// Writes results/REPORT.md from the markdown of every part present in the results folder.
pub fn write(ctx: &Context, parts: &[Box<dyn AnyPart>]) -> Result<()> {
    let mut out = String::from(
        "# gumbel-gadgets: reproduction report\n\nEach section below was written by `cargo xtask reproduce`; \
         the JSON beside each section's markdown in this folder holds the same numbers for tools.\n\n",
    );
    for part in parts {
        if let Ok(section) = std::fs::read_to_string(ctx.path(format!("{}.md", part.name()))) {
            out.push_str(&section);
        }
    }
    write_atomic(&ctx.path("REPORT.md"), out.as_bytes())
}
