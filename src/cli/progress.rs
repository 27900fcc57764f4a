//! Progress of a replay: a bar on a terminal (lines/s, MB/s, ETA when the
//! input size is known), a plain line every few seconds otherwise, nothing
//! with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routecast_replay::Progress;

/// How often progress is looked at, in lines.
const EVERY: u64 = 65_536;
/// Plain progress lines when stderr is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// Shows how far a replay has come.
pub struct ProgressDisplay {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    last_plain: Instant,
    /// The line count of the last update.
    last_lines: u64,
}

impl ProgressDisplay {
    /// Starts showing progress through `total` bytes (when known).
    pub fn start(total: Option<u64>, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let now = Instant::now();
        Self {
            bar: (!quiet && terminal).then(|| bar(total)),
            plain: !quiet && !terminal,
            started: now,
            last_plain: now,
            last_lines: 0,
        }
    }

    /// Takes the replay's progress (by block of lines); acts when the line
    /// count crosses a multiple of [`EVERY`].
    pub fn update(&mut self, p: Progress) {
        let before = std::mem::replace(&mut self.last_lines, p.lines);
        if !crossed(before, p.lines) {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = p.lines as f64 / secs;
        if let Some(bar) = &self.bar {
            bar.set_position(p.bytes_read);
            bar.set_message(format!("{} lines, {rate:.0} lines/s", p.lines));
        } else if self.plain && self.last_plain.elapsed() >= PLAIN_INTERVAL {
            self.last_plain = Instant::now();
            let mb_s = p.bytes_read as f64 / secs / 1e6;
            eprintln!(
                "routecast simulate: {} lines, {rate:.0} lines/s, {mb_s:.1} MB/s",
                p.lines
            );
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A bar through `total` bytes, or a spinner.
fn bar(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read {binary_bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar
}

/// Whether going from `before` to `now` lines crosses a multiple of [`EVERY`].
fn crossed(before: u64, now: u64) -> bool {
    now / EVERY > before / EVERY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fire_when_a_multiple_is_crossed_by_one_line_or_by_a_block() {
        assert!(crossed(EVERY - 1, EVERY), "one line onto a multiple");
        assert!(!crossed(EVERY, EVERY + 1), "not again just after it");
        assert!(crossed(EVERY - 10, EVERY + 4000), "a block over a multiple");
        assert!(crossed(10, 3 * EVERY + 7), "several at once: once");
        assert!(!crossed(EVERY + 1, 2 * EVERY - 1), "within an interval");
        assert!(!crossed(0, 0));
    }
}
