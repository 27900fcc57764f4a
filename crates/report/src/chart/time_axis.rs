//! The time axis of a chart: ticks at round times (minutes, hours or days,
//! chosen by the span so that about eight are drawn), labels that say the
//! date where it changes, and a title that names the time zone (UTC).

use routecast_accesslog::time::iso8601;

/// Tick spacings to choose from, seconds: round minutes, hours and days.
const STEPS: [i64; 17] = [
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 345600, 604800,
    1209600, 2419200,
];

/// At most this many ticks on an axis.
const MAX_TICKS: i64 = 8;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The round spacing for ticks over `[t0, t1]` (Unix seconds): the smallest
/// of [`STEPS`] that gives at most [`MAX_TICKS`] ticks.
pub(crate) fn tick_step(t0: i64, t1: i64) -> i64 {
    let span = t1.saturating_sub(t0).max(1);
    STEPS
        .iter()
        .copied()
        .find(|s| span / s < MAX_TICKS)
        .unwrap_or_else(|| (span / MAX_TICKS).max(1))
}

/// Ticks at multiples of the round step inside `[t0, t1]` (UTC: a day
/// starts at a multiple of 86,400 s).
pub(crate) fn ticks(t0: i64, t1: i64) -> Vec<i64> {
    let step = tick_step(t0, t1);
    let first = t0.div_euclid(step) * step + if t0.rem_euclid(step) == 0 { 0 } else { step };
    (0..)
        .map(|k| first.saturating_add(k * step))
        .take_while(|t| *t <= t1)
        .collect()
}

/// `Nov 25`: the day of `t` (UTC).
fn day(t: i64) -> String {
    let iso = iso8601(t);
    let month = iso
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (month, iso.get(8..10)) {
        (Some(m), Some(d)) => format!("{m} {d}"),
        _ => iso,
    }
}

/// The label of tick `t` with spacing `step`: the day at midnight or when
/// ticks are days apart, else `HH:MM` (UTC).
pub(crate) fn tick_label(t: i64, step: i64) -> String {
    if step >= 86_400 || t.rem_euclid(86_400) == 0 {
        day(t)
    } else {
        iso8601(t)
            .get(11..16)
            .map_or_else(|| iso8601(t), str::to_string)
    }
}

/// The axis title: the time zone and the dates covered, e.g. `Time (UTC),
/// 2026-11-24 to 2026-11-25`.
pub(crate) fn axis_title(t0: i64, t1: i64) -> String {
    let date = |t: i64| {
        let iso = iso8601(t);
        iso.get(..10).map_or_else(|| iso.clone(), str::to_string)
    };
    let (a, b) = (date(t0), date(t1.max(t0)));
    if a == b {
        format!("Time (UTC), {a}")
    } else {
        format!("Time (UTC), {a} to {b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24T21:00:00Z.
    const T: i64 = 1_795_554_000;

    #[test]
    fn an_hour_ticks_every_ten_minutes_on_round_minutes() {
        let got = ticks(T + 125, T + 3600 + 125);
        assert_eq!(tick_step(T, T + 3600), 600);
        assert_eq!(got.first(), Some(&(T + 600)));
        assert!(got.iter().all(|t| t % 600 == 0), "{got:?}");
        assert_eq!(tick_label(T + 600, 600), "21:10");
    }

    #[test]
    fn a_day_ticks_at_round_hours_and_names_midnight_by_its_date() {
        let got = ticks(T, T + 86_400);
        assert_eq!(tick_step(T, T + 86_400), 21_600);
        assert!(got.iter().all(|t| t % 21_600 == 0), "{got:?}");
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(tick_label(T + 3 * 3600, 21_600), "Nov 25");
        assert_eq!(tick_label(T + 9 * 3600, 21_600), "06:00");
    }

    #[test]
    fn weeks_tick_at_days() {
        let step = tick_step(T, T + 7 * 86_400);
        assert_eq!(step, 86_400);
        assert_eq!(tick_label(T + 3 * 3600, step), "Nov 25");
    }

    #[test]
    fn the_title_names_utc_and_the_dates() {
        assert_eq!(axis_title(T, T + 600), "Time (UTC), 2026-11-24");
        assert_eq!(
            axis_title(T, T + 86_400),
            "Time (UTC), 2026-11-24 to 2026-11-25"
        );
    }
}
