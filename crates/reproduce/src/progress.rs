//! Progress bars with an ETA on stderr for the long parts (training steps, evaluations). They are
//! drawn only when stderr is a terminal; otherwise a part logs one line per finished unit instead,
//! ending in the work done so far and the time left at the average rate since the bar began.

use std::io::IsTerminal;

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` units of work (e.g. the training steps of every run a part still has to do).
pub struct Progress {
    bar: ProgressBar,
    terminal: bool,
    unit: String,
}

impl Progress {
    /// A bar labelled `label` over `total` units named `unit` ("steps", "pairs").
    pub fn new(label: &str, total: u64, unit: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!("{label} {{bar:30}} {{human_pos}}/{{human_len}} {unit}, {{per_sec}}, eta {{eta}} {{msg}}");
        bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        if !terminal && total > 0 {
            eprintln!("reproduce:   {label}: {total} {unit} to do");
        }
        Self { bar, terminal, unit: unit.to_owned() }
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
            eprintln!("reproduce:   {message}{}", self.done_so_far());
        }
    }

    /// " [done/total unit, eta ...]" once some work is done, else nothing.
    fn done_so_far(&self) -> String {
        let (done, total) = (self.bar.position(), self.bar.length().unwrap_or(0));
        if done == 0 || total == 0 {
            return String::new();
        }
        let left = self.bar.elapsed().mul_f64(total.saturating_sub(done) as f64 / done as f64);
        format!(" [{done}/{total} {}, eta {}]", self.unit, HumanDuration(left))
    }

    /// Units done so far.
    #[cfg(test)]
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_end_in_the_work_done_once_some_is() {
        let progress = Progress::new("test", 10, "steps");
        assert_eq!(progress.done_so_far(), "");
        progress.inc(5);
        assert!(progress.done_so_far().starts_with(" [5/10 steps, eta "), "{}", progress.done_so_far());
    }
}
