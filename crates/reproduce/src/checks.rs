//! Checks of reproduced numbers against the paper's, each with its stated tolerance.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// One reproduced number beside the paper's. Read back from a part's JSON (`reproduce --verify`), a
/// number serde_json wrote as null (a NaN) is NaN again, so the check stays outside.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// What is compared (e.g. "independent / gumbel-max").
    pub name: String,
    /// The paper's value.
    #[serde(deserialize_with = "null_as_nan")]
    pub paper: f64,
    /// Ours.
    #[serde(deserialize_with = "null_as_nan")]
    pub ours: f64,
    /// The largest accepted |ours - paper|.
    #[serde(deserialize_with = "null_as_nan")]
    pub tolerance: f64,
    /// The spread the paper prints beside its value (std over seeds or s.e.), when it prints one.
    pub spread: Option<f64>,
}

/// A number, or NaN where the JSON holds null (serde_json writes a NaN as null).
pub fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

impl Check {
    /// A check named `name`.
    pub fn new(name: impl Into<String>, paper: f64, ours: f64, tolerance: f64) -> Self {
        Self { name: name.into(), paper, ours, tolerance, spread: None }
    }

    /// The same check, with the paper's printed spread (for the difference in its units).
    pub fn with_spread(mut self, spread: f64) -> Self {
        self.spread = Some(spread);
        self
    }

    /// Whether |ours - paper| <= tolerance (false for NaN).
    pub fn passed(&self) -> bool {
        (self.ours - self.paper).abs() <= self.tolerance
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: ours {:.4}, paper {:.4}, tolerance {} ({})",
            self.name,
            self.ours,
            self.paper,
            self.tolerance,
            if self.passed() { "ok" } else { "OUTSIDE" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_passes_only_within_its_tolerance() {
        assert!(Check::new("a", 1.0, 1.04, 0.05).passed());
        assert!(!Check::new("a", 1.0, 1.06, 0.05).passed());
        assert!(!Check::new("a", 1.0, f64::NAN, 0.05).passed());
    }
}
