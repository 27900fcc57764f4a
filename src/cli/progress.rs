//! Progress of a replay: a bar on a terminal (lines/s, MB/s, ETA when the
//! input size is known), a plain line every few seconds otherwise, nothing
//! with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routecast_accesslog::reader::ByteCounter;

use super::source::SourceInfo;

/// How often progress is looked at, in lines (cheap: a division per call).
const EVERY: u64 = 65_536;
/// Plain progress lines when stderr is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// Reports how far a replay has come.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    counters: Vec<ByteCounter>,
    started: Instant,
    last_plain: std::cell::Cell<Instant>,
    /// The line count of the last call.
    last_lines: std::cell::Cell<u64>,
}

impl Progress {
    /// Starts reporting on `sources` (total size known when every file's is).
    pub fn start(sources: &[impl SourceInfo], quiet: bool) -> Progress {
        let counters: Vec<ByteCounter> = sources.iter().map(|s| s.counter()).collect();
        let total: Option<u64> = sources.iter().map(|s| s.size()).sum();
        let now = Instant::now();
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t).with_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template(
                        "{spinner} {bytes} read {binary_bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            bar
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            counters,
            started: now,
            last_plain: std::cell::Cell::new(now),
            last_lines: std::cell::Cell::new(0),
        }
    }

    fn read(&self) -> u64 {
        self.counters.iter().map(ByteCounter::get).sum()
    }

    /// Called with the running line count, by one line or by many; acts
    /// when it crosses a multiple of [`EVERY`].
    #[inline]
    pub fn tick(&self, lines: u64) {
        if !crossed(self.last_lines.replace(lines), lines) {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        if let Some(bar) = &self.bar {
            bar.set_position(self.read());
            bar.set_message(format!("{lines} lines, {:.0} lines/s", lines as f64 / secs));
        } else if self.plain && self.last_plain.get().elapsed() >= PLAIN_INTERVAL {
            self.last_plain.set(Instant::now());
            eprintln!(
                "routecast simulate: {lines} lines, {:.0} lines/s, {:.1} MB/s",
                lines as f64 / secs,
                self.read() as f64 / secs / 1e6
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
