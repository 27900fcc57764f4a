//! A Nagios/Icinga plugin's logic for a running redirector (`routecast
//! check`): ask its admin listener for `/status` and `/metrics`
//! ([`ask`]), judge the answers against thresholds ([`judge`],
//! [`Thresholds`]), and say it in one line ([`Verdict`]), following the
//! Monitoring Plugins development guidelines.
//!
//! # Rules (the guidelines' grammar)
//! * **Output**: one line `ROUTECAST STATE: text | perfdata`.
//! * **States and exit codes** ([`ServiceState`]): 0 OK, 1 WARNING,
//!   2 CRITICAL (also: the redirector does not answer, refuses, times out
//!   or answers an error status, [`AskError`]), 3 UNKNOWN (bad arguments,
//!   an answer that cannot be read, [`AnswerError`]). The worst measure
//!   decides.
//! * **Ranges** ([`Range`]): `N` alerts outside 0..N, `N:` below N, `~:N`
//!   above N, `M:N` outside M..N, `@M:N` inside M..N (ends included); the
//!   ends are plain decimals >= 0 (no NaN, infinity, exponent or sign),
//!   start <= end. CRITICAL is judged before WARNING.
//! * **Perfdata** ([`PerfdataItem`]): `label=value[UOM];warn;crit;min;max`
//!   separated by spaces, an absent part empty, numbers in `[-0-9.]`
//!   ([`perfdata_number`]), units among the guidelines' ([`Unit`]). The
//!   check reports `sites_up`, `sites_down`, `decision` (the server's mean
//!   decision time over the last minute, ms; left out without decisions)
//!   and `decisions`.
//!
//! # Example
//! Parse a range, judge a value, write a perfdata item, judge answers:
//! ```
//! use routecast_server::plugin::{
//!     judge, Answers, PerfdataItem, Range, ServiceState, Thresholds, Unit,
//! };
//!
//! let warn_below_6 = Range::parse("6:")?;
//! let crit_below_5 = Range::parse("5:")?;
//! assert!(warn_below_6.alerts(5.0) && !warn_below_6.alerts(7.0));
//! assert!(Range::parse("nan").is_err() && Range::parse("-1").is_err());
//! let state = ServiceState::judge(5.0, Some(warn_below_6), Some(crit_below_5));
//! assert_eq!((state, state.exit_code()), (ServiceState::Warning, 1));
//!
//! let item = PerfdataItem {
//!     label: "sites_up",
//!     value: 7.0,
//!     unit: Unit::None,
//!     warning: Some(warn_below_6),
//!     critical: Some(crit_below_5),
//!     min: Some(0.0),
//!     max: Some(7.0),
//! };
//! assert_eq!(item.to_string(), "sites_up=7;6:;5:;0;7");
//!
//! let answers = Answers {
//!     status: r#"{"sites": [{"site": "ams", "up": true}, {"site": "lon", "up": false}]}"#.into(),
//!     metrics: "routecast_decision_recent_seconds 0.000011\n\
//!               routecast_decision_recent_decisions 40\n".into(),
//! };
//! let thresholds = Thresholds {
//!     critical_down: Some(Range::parse("1")?),
//!     ..Thresholds::default()
//! };
//! let verdict = judge(&answers, &thresholds)?;
//! assert_eq!(verdict.state, ServiceState::Ok);
//! assert_eq!(
//!     verdict.to_string(),
//!     "ROUTECAST OK: 1/2 sites up, sites down: lon, mean decision 0.011 ms over the \
//!      last 60 s (40 decisions) | sites_up=1;;;0;2 sites_down=1;;1;0;2 \
//!      decision=0.011ms;;;0; decisions=40;;;0;"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::Duration;

mod ask;
mod judge;
mod perfdata;
mod range;

pub use ask::{ask, AskError};
pub use judge::{judge, AnswerError, Answers};
pub use perfdata::{perfdata_number, PerfdataItem, Unit};
pub use range::{Range, RangeError};

/// A plugin's state, its exit code: ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceState {
    /// 0: all measures within their thresholds.
    Ok = 0,
    /// 1: a measure outside its warning range.
    Warning = 1,
    /// 2: a measure outside its critical range, or no usable answer.
    Critical = 2,
    /// 3: the check itself could not tell (bad arguments, unreadable answer).
    Unknown = 3,
}

impl ServiceState {
    /// The state's word in the plugin's line: `OK`, `WARNING`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warning => "WARNING",
            ServiceState::Critical => "CRITICAL",
            ServiceState::Unknown => "UNKNOWN",
        }
    }

    /// The plugin's exit code: 0 to 3.
    pub fn exit_code(self) -> u8 {
        self as u8
    }

    /// The state of `value` under a warning and a critical range (critical
    /// first; no range, no alert).
    pub fn judge(value: f64, warning: Option<Range>, critical: Option<Range>) -> ServiceState {
        if critical.is_some_and(|r| r.alerts(value)) {
            ServiceState::Critical
        } else if warning.is_some_and(|r| r.alerts(value)) {
            ServiceState::Warning
        } else {
            ServiceState::Ok
        }
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thresholds a redirector is judged against; `None`: that measure
/// never alerts at that level.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    /// WARNING when the number of sites up is outside this range.
    pub warning_up: Option<Range>,
    /// CRITICAL when the number of sites up is outside this range.
    pub critical_up: Option<Range>,
    /// WARNING when the number of sites down is outside this range.
    pub warning_down: Option<Range>,
    /// CRITICAL when the number of sites down is outside this range.
    pub critical_down: Option<Range>,
    /// WARNING when the last minute's mean decision time (ms) is outside
    /// this range.
    pub warning_latency: Option<Range>,
    /// CRITICAL when the last minute's mean decision time (ms) is outside
    /// this range.
    pub critical_latency: Option<Range>,
}

/// The plugin's verdict: its state and the text after `ROUTECAST STATE: `
/// (with the perfdata after ` | ` when the answers were judged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The state, the exit code.
    pub state: ServiceState,
    /// What the line says after the state.
    pub text: String,
}

impl fmt::Display for Verdict {
    /// The plugin's line, without its newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ROUTECAST {}: {}", self.state, self.text)
    }
}

/// Asks the redirector at `admin_url` and judges its answers: CRITICAL
/// when it gives none ([`AskError`]), UNKNOWN when they cannot be read
/// ([`AnswerError`]).
pub async fn check(admin_url: &str, thresholds: &Thresholds, timeout: Duration) -> Verdict {
    let judged = match ask(admin_url, timeout).await {
        Ok(answers) => judge(&answers, thresholds),
        Err(why) => {
            return Verdict {
                state: ServiceState::Critical,
                text: why.to_string(),
            }
        }
    };
    judged.unwrap_or_else(|why| Verdict {
        state: ServiceState::Unknown,
        text: why.to_string(),
    })
}
