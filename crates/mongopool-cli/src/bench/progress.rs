//! The live line: ops/s, p50, p99 and errors of the last tick. Drawn only on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::recorder::Point;

/// The progress line of one run.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A line for a run of `length` steps (milliseconds of a timed run, or operations of
    /// a counted one); hidden when `quiet` or when stdout is not a terminal, so that
    /// output piped to a file or another program holds only the report.
    pub fn new(length: u64, quiet: bool) -> Progress {
        let target = if quiet || !std::io::stdout().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stdout()
        };
        let bar = ProgressBar::with_draw_target(Some(length), target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {msg}")
                .expect("a valid template"),
        );
        bar.set_message("warming up");
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar }
    }

    /// Shows the latest point at `position` (of the length given to `new`).
    pub fn update(&self, position: u64, point: &Point) {
        self.bar.set_position(position);
        self.bar.set_message(format!(
            "{:>9.0} ops/s  p50 {:>8}  p99 {:>8}  errors {}",
            point.ops_per_sec,
            micros(point.p50_us),
            micros(point.p99_us),
            point.errors
        ));
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A latency in microseconds, in the unit that reads best.
pub fn micros(us: u64) -> String {
    match us {
        0..=9_999 => format!("{us} us"),
        10_000..=9_999_999 => format!("{:.2} ms", us as f64 / 1000.0),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}
