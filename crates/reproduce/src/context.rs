//! What every part is given: the output folder, the mode, the seed, provenance, and a cache of
//! finished units of work. Options of one part are the part's own (e.g. `parts::Table1`), not here.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::provenance::Provenance;
use crate::store;

/// Quick (minutes on 2 cores) or the papers' full protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Reduced sizes, clearly labelled.
    Quick,
    /// The papers' protocols.
    Full,
}

impl Mode {
    /// "quick" or "full".
    pub fn label(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }
}

/// The shared state of one `reproduce` run.
pub struct Context {
    /// The results folder.
    pub out: PathBuf,
    /// Quick or full.
    pub mode: Mode,
    /// The master seed.
    pub seed: u64,
    /// Where and from what this run was made.
    pub provenance: Provenance,
    /// Whether runs that differ only in seed, pairs and learning rate are trained together as stacks
    /// (`reproduce --stack`; [`crate::training::train_stacks`]).
    pub stack: bool,
    /// Whether training steps on CUDA, stacked or alone, are replayed as CUDA graphs
    /// (`reproduce --graphs`; [`crate::training`]).
    pub graphs: bool,
}

impl Context {
    /// Creates the results folder and gathers provenance.
    pub fn new(out: PathBuf, mode: Mode, seed: u64) -> Result<Self> {
        std::fs::create_dir_all(out.join("cache"))
            .with_context(|| format!("creating {}", out.display()))?;
        Ok(Self { out, mode, seed, provenance: Provenance::gather(), stack: false, graphs: false })
    }

    /// The result of a unit of work named `key` within `part` (and mode): read from
    /// `results/cache/<mode>/<part>/<key>.json` if a finished run left it there, else computed and
    /// stored there at once, so an interruption loses at most the unit in progress.
    pub fn cached<T, F>(&self, part: &str, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Result<T>,
    {
        if let Some(value) = self.read_cached(part, key) {
            return Ok(value);
        }
        let path = self.cache_entry(part, key);
        if path.exists() {
            eprintln!("reproduce: ignoring unreadable cache entry {}", path.display());
        }
        let value = compute()?;
        store::write_atomic(&path, serde_json::to_string_pretty(&value)?.as_bytes())?;
        Ok(value)
    }

    /// The result of the unit `key` of `part` if a finished run left a readable one in the cache,
    /// computing nothing (for work that needs the results of an earlier stage).
    pub fn read_cached<T: DeserializeOwned>(&self, part: &str, key: &str) -> Option<T> {
        let text = std::fs::read_to_string(self.cache_entry(part, key)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether a finished run left the unit `key` of `part` in the cache (for counting the work left;
    /// an unreadable entry counts as there and is recomputed by [`Context::cached`]).
    pub fn is_cached(&self, part: &str, key: &str) -> bool {
        self.cache_entry(part, key).exists()
    }

    /// `results/cache/<mode>/<part>/<key>.json`.
    fn cache_entry(&self, part: &str, key: &str) -> PathBuf {
        self.cache_dir(part).join(format!("{key}.json"))
    }

    /// The cache folder of a part in the current mode.
    pub fn cache_dir(&self, part: &str) -> PathBuf {
        self.out.join("cache").join(self.mode.label()).join(part)
    }

    /// A path inside the results folder.
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.out.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_units_are_computed_once_and_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("reproduce-cache-{}", std::process::id()));
        let ctx = Context::new(dir.clone(), Mode::Quick, 0).unwrap();
        assert!(!ctx.is_cached("part", "unit"));
        let first: f64 = ctx.cached("part", "unit", || Ok(1.5)).unwrap();
        assert!(ctx.is_cached("part", "unit"));
        // A second run (a fresh context on the same folder) must not recompute.
        let again = Context::new(dir.clone(), Mode::Quick, 0).unwrap();
        let second: f64 = again.cached("part", "unit", || anyhow::bail!("recomputed")).unwrap();
        assert_eq!((first, second), (1.5, 1.5));
        // Full mode keeps its own cache.
        let full = Context::new(dir.clone(), Mode::Full, 0).unwrap();
        assert!(full.cached::<f64, _>("part", "unit", || anyhow::bail!("recomputed")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
