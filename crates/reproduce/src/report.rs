//! Markdown for people: one section per part, and results/REPORT.md gathering them.

use anyhow::Result;

use crate::context::Context;
use crate::parts::{Outcome, Part};
use crate::store::write_atomic;

/// A markdown table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(headers.len()));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// The markdown section of one part: its body, its checks, and its provenance.
pub fn part_section(ctx: &Context, part: &Part, outcome: &Outcome, seconds: f64) -> String {
    let mut out = format!("## {}\n\n", part.title);
    if ctx.mode.label() == "quick" {
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
                    c.spread.map_or("–".to_owned(), |s| {
                        crate::stats::spread_units(c.ours - c.paper, s)
                    }),
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
        "\n_{} mode, seed {}, git {}, {} CPUs ({}) on {}, {} libtorch thread(s), training on {}{gpus}, {seconds:.1} s._\n\n",
        ctx.mode.label(),
        ctx.seed,
        p.git_revision,
        p.cpus,
        p.cpu_model,
        p.host,
        p.torch_threads,
        p.training_device,
    ));
    out
}

/// Writes results/REPORT.md from the markdown of every part present in the results folder.
pub fn write(ctx: &Context, parts: &[Part]) -> Result<()> {
    let mut out = String::from(
        "# gumbel-gadgets: reproduction report\n\nEach section below was written by `cargo xtask reproduce`; \
         the JSON beside each section's markdown in this folder holds the same numbers for tools.\n\n",
    );
    for part in parts {
        if let Ok(section) = std::fs::read_to_string(ctx.path(format!("{}.md", part.name))) {
            out.push_str(&section);
        }
    }
    write_atomic(&ctx.path("REPORT.md"), out.as_bytes())
}
