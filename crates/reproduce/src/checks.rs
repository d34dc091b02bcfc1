//! Checks of reproduced numbers against the paper's, each with its stated tolerance.

use std::fmt;

use serde::Serialize;

/// One reproduced number beside the paper's.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is compared (e.g. "independent / gumbel-max").
    pub name: String,
    /// The paper's value.
    pub paper: f64,
    /// Ours.
    pub ours: f64,
    /// The largest accepted |ours - paper|.
    pub tolerance: f64,
    /// The spread the paper prints beside its value (std over seeds or s.e.), when it prints one.
    pub spread: Option<f64>,
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
