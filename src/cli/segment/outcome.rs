//! What the inputs went through, told as it happens, and the exit status
//! it makes: an input given up exits 69 (EX_UNAVAILABLE), a rendition that
//! wrote no segment 65 (EX_DATAERR), each with a line saying why.

use std::sync::Mutex;
use std::time::Duration;

use routecast_hls::channel::input::InputNotice;
use routecast_hls::channel::RenditionSummary;

use crate::cli::Failure;

/// What made the run fail, gathered from the channel's events.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Why each input given up was given up.
    gave_up: Mutex<Vec<String>>,
    /// Why each rendition that wrote no segment wrote none.
    empty: Mutex<Vec<String>>,
}

impl Outcome {
    /// Prints what `input` went through (failures always, connections
    /// unless `quiet`) and remembers an input given up.
    pub(super) fn input(&self, input: &str, notice: &InputNotice, quiet: bool) {
        match notice {
            InputNotice::Failed {
                url,
                error,
                retry_in,
                ..
            } => eprintln!(
                "routecast segment: input {input}: GET {url}: {error}; retrying in {} s",
                seconds(*retry_in)
            ),
            InputNotice::Connected { url, retries, down } if !quiet => {
                eprintln!(
                    "routecast segment: input {input}: connected to {url}{}",
                    outage(*retries, *down)
                );
            }
            InputNotice::GaveUp { url, after, error } => {
                let why = format!(
                    "{input}: source unreachable: no data from {url} for {} s (--give-up-after); last: {error}",
                    seconds(*after)
                );
                eprintln!("routecast segment: input {why}; giving up");
                lock(&self.gave_up).push(why);
            }
            _ => {}
        }
    }

    /// Remembers a rendition that wrote no segment.
    pub(super) fn finished(&self, r: &RenditionSummary) {
        if r.segments == 0 {
            let d = &r.stats.demux;
            lock(&self.empty).push(format!(
                "{}: no segment written: the input had no usable stream ({} packets read, {} of them broken, {} bytes skipped for sync)",
                r.input, d.packets, d.bad_packets, r.skipped_for_sync
            ));
        }
    }

    /// The run's failure, if an input was given up or a rendition wrote
    /// nothing.
    pub(super) fn failure(&self) -> Result<(), Failure> {
        if let Some(why) = lock(&self.gave_up).first() {
            return Err(Failure::Unavailable(why.clone()));
        }
        if let Some(why) = lock(&self.empty).first() {
            return Err(Failure::Data(why.clone()));
        }
        Ok(())
    }
}

fn lock(m: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// " (after N retries, down S s)", or nothing for a first connection.
fn outage(retries: u64, down: Duration) -> String {
    match retries {
        0 => String::new(),
        1 => format!(" (after 1 retry, down {} s)", seconds(down)),
        n => format!(" (after {n} retries, down {} s)", seconds(down)),
    }
}

/// Seconds with one decimal, two when the second is not 0 (0.25, 2.0).
fn seconds(d: Duration) -> String {
    let two = format!("{:.2}", d.as_secs_f64());
    match two.strip_suffix('0') {
        Some(one) => one.to_owned(),
        None => two,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_with_one_decimal_or_two() {
        let s = |ms| seconds(Duration::from_millis(ms));
        assert_eq!(
            [s(250), s(500), s(2_000), s(12_345), s(0)],
            ["0.25", "0.5", "2.0", "12.35", "0.0"]
        );
    }

    #[test]
    fn an_outage_is_told_with_its_retries_and_length() {
        assert_eq!(outage(0, Duration::ZERO), "");
        assert_eq!(
            outage(1, Duration::from_millis(300)),
            " (after 1 retry, down 0.3 s)"
        );
        assert_eq!(
            outage(4, Duration::from_millis(12_300)),
            " (after 4 retries, down 12.3 s)"
        );
    }
}
