//! The part type: one table or figure of a paper, as compute -> render -> checks.
//!
//! A part [computes](Part::compute) a typed, serialisable result (written as `results/<name>.json`
//! beside a `meta` object, read back by `--verify`), [renders](Part::render) it as markdown and the
//! plots that markdown shows, and [checks](Part::checks) it against the paper. [`AnyPart`] is the
//! same part with its types erased, for the list the binary runs.

use anyhow::{Context as _, Result};
use gumbel_core::hash::fnv1a;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::checks::Check;
use crate::context::{Context, Mode};
use crate::units::Unit;

/// The parts' names on the command line (`--only`), in results/ file names and cache folders.
pub mod names {
    /// Figure 1 and supplement Figure 5 of the gadgets paper.
    pub const FIGURE1: &str = "figure1";
    /// Table 1 of the gadgets paper.
    pub const TABLE1: &str = "table1";
    /// The sepsis off-policy study.
    pub const SEPSIS: &str = "sepsis";
    /// The regime VAE study.
    pub const REGIME_VAE: &str = "regime_vae";
    /// Figure 2 of the gadgets paper.
    pub const FIGURE2: &str = "figure2";
}

/// One reproducible part (a table or a figure of a paper).
pub trait Part {
    /// Everything it measured: `results/<name>.json` without its `meta` object.
    type Result: Serialize + DeserializeOwned;
    /// What rendering needs beyond the written result (e.g. couplings of trained gadgets for the
    /// plots, training times); `()` when the result is enough.
    type Details;
    /// The settings it runs with (`meta.config`).
    type Config: Serialize;

    /// Its name ([`names`]).
    fn name(&self) -> &'static str;
    /// Its section title in REPORT.md.
    fn title(&self) -> &'static str;
    /// One line for `--list`.
    fn about(&self) -> &'static str;
    /// Its settings in the context's mode and seed.
    fn config(&self, ctx: &Context) -> Result<Self::Config>;
    /// Computes the result (using [`Context::cached`] for every unit of work worth resuming).
    fn compute(
        &self,
        ctx: &Context,
        config: &Self::Config,
    ) -> Result<(Self::Result, Self::Details)>;
    /// Its markdown body for REPORT.md, drawing the plots it shows into the results folder.
    fn render(
        &self,
        ctx: &Context,
        config: &Self::Config,
        result: &Self::Result,
        details: Self::Details,
    ) -> Result<String>;
    /// Its comparisons with the paper, in `mode`.
    fn checks(&self, mode: Mode, result: &Self::Result) -> Vec<Check>;
    /// Its units of work for a plan ([`crate::units`]), listed from its settings alone, each unit's
    /// work the same as [`Part::compute`] does for it; None (the default): the whole computation is
    /// one unit, costing [`Part::estimated_seconds`].
    fn units<'a>(&'a self, _ctx: &'a Context) -> Result<Option<Vec<Unit<'a>>>> {
        Ok(None)
    }
    /// Estimated seconds of the whole computation on one core in `mode`, when it is one unit.
    fn estimated_seconds(&self, _mode: Mode) -> f64 {
        60.0
    }
}

/// What a part produced, ready to be written.
pub struct Outcome {
    /// The result as a JSON object (a `meta` key is added beside its keys).
    pub data: Value,
    /// The configuration it ran with.
    pub config: Value,
    /// Its markdown body for REPORT.md.
    pub markdown: String,
    /// Comparisons with the paper.
    pub checks: Vec<Check>,
}

/// A [`Part`] with its types erased.
pub trait AnyPart {
    /// [`Part::name`].
    fn name(&self) -> &'static str;
    /// [`Part::title`].
    fn title(&self) -> &'static str;
    /// [`Part::about`].
    fn about(&self) -> &'static str;
    /// Computes, renders and checks the part.
    fn run(&self, ctx: &Context) -> Result<Outcome>;
    /// The checks of a result read back from its JSON (`meta` removed), in `mode`.
    fn recheck(&self, mode: Mode, data: Value) -> Result<Vec<Check>>;
    /// Its units of work: [`Part::units`], or the whole computation as one unit, done when the
    /// cache holds its marker (the part's own cache entries hold its results).
    fn units<'a>(&'a self, ctx: &'a Context) -> Result<Vec<Unit<'a>>>;
}

impl<P: Part> AnyPart for P {
    fn name(&self) -> &'static str {
        Part::name(self)
    }

    fn title(&self) -> &'static str {
        Part::title(self)
    }

    fn about(&self) -> &'static str {
        Part::about(self)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome> {
        let config = self.config(ctx)?;
        let (result, details) = self.compute(ctx, &config)?;
        let markdown = self.render(ctx, &config, &result, details)?;
        Ok(Outcome {
            data: serde_json::to_value(&result)?,
            config: serde_json::to_value(&config)?,
            checks: self.checks(ctx.mode, &result),
            markdown,
        })
    }

    fn recheck(&self, mode: Mode, data: Value) -> Result<Vec<Check>> {
        let result: P::Result = serde_json::from_value(data)
            .with_context(|| format!("{}: the result is not this build's", Part::name(self)))?;
        Ok(self.checks(mode, &result))
    }

    fn units<'a>(&'a self, ctx: &'a Context) -> Result<Vec<Unit<'a>>> {
        if let Some(units) = Part::units(self, ctx)? {
            return Ok(units);
        }
        let name = Part::name(self);
        let settings = serde_json::to_string(&(self.config(ctx)?, ctx.seed))?;
        let key = format!("{name}-whole-{:016x}", fnv1a(settings.as_bytes()));
        let done_key = key.clone();
        Ok(vec![Unit::new(
            0,
            name,
            key.clone(),
            self.estimated_seconds(ctx.mode),
            move || Ok(ctx.is_cached(name, &done_key)),
            move |_| {
                ctx.cached(name, &key, || {
                    self.compute(ctx, &self.config(ctx)?)?;
                    Ok(true)
                })
                .map(drop)
            },
        )])
    }
}
