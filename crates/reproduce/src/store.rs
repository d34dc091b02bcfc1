//! Writing results: atomic files, and each part's JSON and markdown with its provenance.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

use crate::context::Context;
use crate::parts::{Outcome, Part};

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader (or an interrupted
/// run) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = private_temporary(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

/// Writes `results/<part>.json` (the part's data object plus a `meta` object: provenance, mode,
/// seed, configuration, seconds, checks) and `results/<part>.md`.
pub fn write_part(ctx: &Context, part: &Part, outcome: &Outcome, seconds: f64) -> Result<()> {
    let mut data = outcome.data.clone();
    let Value::Object(map) = &mut data else {
        bail!("part {} returned data that is not a JSON object", part.name)
    };
    map.insert(
        "meta".to_owned(),
        json!({
            "part": part.name,
            "mode": ctx.mode,
            "seed": ctx.seed,
            "config": outcome.config,
            "seconds": seconds,
            "provenance": ctx.provenance,
            "checks": outcome.checks,
        }),
    );
    write_atomic(
        &ctx.path(format!("{}.json", part.name)),
        serde_json::to_string_pretty(&data)?.as_bytes(),
    )?;
    let markdown = crate::report::part_section(ctx, part, outcome, seconds);
    write_atomic(&ctx.path(format!("{}.md", part.name)), markdown.as_bytes())
}

/// `<path>.<pid>.tmp`: a temporary name no other process uses, so that runs side by side on one
/// results folder (e.g. one `--only` part per core) never write into each other's half-written file;
/// the last rename wins, and the contents are the same.
pub fn private_temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    PathBuf::from(name)
}
