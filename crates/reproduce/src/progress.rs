//! Progress bars with an ETA on stderr for the long parts (training steps, evaluations). They are
//! drawn only when stderr is a terminal; otherwise a part logs one line per finished unit instead.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` units of work (e.g. the training steps of every run a part still has to do).
pub struct Progress {
    bar: ProgressBar,
    terminal: bool,
}

impl Progress {
    /// A bar labelled `label` over `total` units named `unit` ("steps", "pairs").
    pub fn new(label: &str, total: u64, unit: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!("{label} {{bar:30}} {{human_pos}}/{{human_len}} {unit}, {{per_sec}}, eta {{eta}} {{msg}}");
        bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        Self { bar, terminal }
    }

    /// Advances by `n` units.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Shows `message` beside the bar (on a terminal) or logs it as a line (elsewhere).
    pub fn note(&self, message: &str) {
        if self.terminal {
            self.bar.set_message(message.to_owned());
        } else {
            eprintln!("reproduce:   {message}");
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
