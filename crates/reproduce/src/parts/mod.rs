//! The parts of the reproduction, in the order they run and appear in REPORT.md.

mod coupling_pictures;
mod figure1;
mod figure2;
mod regime_vae;
mod sepsis;
mod table1;
mod table1_fixed_pair;
mod table1_protocol;

use anyhow::Result;
use serde_json::Value;

use crate::checks::Check;
use crate::context::Context;

/// One reproducible part (a table or a figure of a paper).
pub struct Part {
    /// Its name on the command line (`--only`) and in results/ file names.
    pub name: &'static str,
    /// Its section title in REPORT.md.
    pub title: &'static str,
    /// One line for `--list`.
    pub about: &'static str,
    /// Computes the part (using `Context::cached` for every unit of work worth resuming).
    pub run: fn(&Context) -> Result<Outcome>,
}

/// What a part produced.
pub struct Outcome {
    /// The JSON object written to results/<name>.json (a `meta` key is added beside its keys).
    pub data: Value,
    /// The configuration it ran with.
    pub config: Value,
    /// Its markdown body for REPORT.md.
    pub markdown: String,
    /// Comparisons with the paper.
    pub checks: Vec<Check>,
}

/// Every part, in order.
pub fn all() -> Vec<Part> {
    vec![figure1::PART, table1::PART, sepsis::PART, regime_vae::PART, figure2::PART]
}
