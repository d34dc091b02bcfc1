//! Progress bars with an ETA on stderr for the long parts (training steps, evaluations). They are
//! drawn only when stderr is a terminal; otherwise a part logs one line per finished unit instead,
//! ending in the work done so far and the time left at the average rate since the bar began, and a
//! "still running" line every [`HEARTBEAT_SECS`] between them, so that a log of a unit that takes an
//! hour (a full-size Gadget 2 run on one core) shows it is moving.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between "still running" log lines when stderr is not a terminal.
pub const HEARTBEAT_SECS: u64 = 600;

/// A bar over `total` units of work (e.g. the training steps of every run a part still has to do).
pub struct Progress {
    bar: ProgressBar,
    terminal: bool,
    label: String,
    unit: String,
    /// Seconds since the bar began at which the last log line was written.
    last_line_secs: AtomicU64,
}

impl Progress {
    /// A bar labelled `label` over `total` units named `unit` ("steps", "pairs").
    pub fn new(label: &str, total: u64, unit: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target =
            if terminal { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!("{label} {{bar:30}} {{human_pos}}/{{human_len}} {unit}, {{per_sec}}, eta {{eta}} {{msg}}");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        if !terminal && total > 0 {
            eprintln!("reproduce:   {label}: {total} {unit} to do");
        }
        Self {
            bar,
            terminal,
            label: label.to_owned(),
            unit: unit.to_owned(),
            last_line_secs: AtomicU64::new(0),
        }
    }

    /// Advances by `n` units (off a terminal, with a "still running" line when one is due).
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if !self.terminal && self.heartbeat_due(self.bar.elapsed().as_secs()) {
            eprintln!("reproduce:   {}: still running{}", self.label, self.done_so_far());
        }
    }

    /// Takes `n` units off the total: work an earlier process did (the steps a resumed run starts
    /// after), which this one neither does nor counts in its rate and ETA.
    pub fn skip(&self, n: u64) {
        self.bar.dec_length(n);
    }

    /// Whether [`HEARTBEAT_SECS`] have passed since the last log line at `now_secs` since the bar began;
    /// if so, `now_secs` becomes the last line's time.
    fn heartbeat_due(&self, now_secs: u64) -> bool {
        let last = self.last_line_secs.load(Ordering::Relaxed);
        now_secs >= last + HEARTBEAT_SECS
            && self
                .last_line_secs
                .compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Shows `message` beside the bar (on a terminal) or logs it as a line (elsewhere).
    pub fn note(&self, message: &str) {
        if self.terminal {
            self.bar.set_message(message.to_owned());
        } else {
            eprintln!("reproduce:   {message}{}", self.done_so_far());
            self.last_line_secs.store(self.bar.elapsed().as_secs(), Ordering::Relaxed);
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
        assert!(
            progress.done_so_far().starts_with(" [5/10 steps, eta "),
            "{}",
            progress.done_so_far()
        );
        progress.skip(2);
        assert!(
            progress.done_so_far().starts_with(" [5/8 steps, eta "),
            "{}",
            progress.done_so_far()
        );
    }

    #[test]
    fn a_heartbeat_is_due_once_per_interval_after_the_last_line() {
        let progress = Progress::new("test", 10, "steps");
        assert!(!progress.heartbeat_due(HEARTBEAT_SECS - 1));
        assert!(progress.heartbeat_due(HEARTBEAT_SECS + 5));
        assert!(!progress.heartbeat_due(2 * HEARTBEAT_SECS));
        assert!(progress.heartbeat_due(2 * HEARTBEAT_SECS + 5));
    }
}
