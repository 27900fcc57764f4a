//! Session classes: prefixes, rates and holds checked.

use std::collections::HashSet;

use crate::config::SessionConfig;
use crate::error::{ConfigError, Source};
use crate::platform::{Mbps, SessionClass};

use super::{content_prefix, err};

/// Every session class, checked; a prefix belongs to one class.
pub(super) fn build_sessions(
    src: &Source,
    configs: &[SessionConfig],
) -> Result<Vec<SessionClass>, ConfigError> {
    let mut seen = HashSet::new();
    configs
        .iter()
        .map(|c| {
            if c.content.get_ref().is_empty() {
                return Err(err(
                    src,
                    &c.content,
                    "a session class needs content = [\"/prefix/\", ...]",
                ));
            }
            let mut content = Vec::with_capacity(c.content.get_ref().len());
            for p in c.content.get_ref() {
                let prefix = content_prefix(src, p)?;
                if !seen.insert(prefix.clone()) {
                    let message =
                        format!("content prefix {prefix:?} is already in a session class");
                    return Err(err(src, p, message));
                }
                content.push(prefix);
            }
            Ok(SessionClass {
                content,
                mbps: mbps(src, c)?,
                hold_s: hold_s(src, c)?,
            })
        })
        .collect()
}

/// The class's rate, if it sets one: finite and not negative.
fn mbps(src: &Source, c: &SessionConfig) -> Result<Option<Mbps>, ConfigError> {
    match &c.mbps {
        Some(m) if !(m.get_ref().is_finite() && *m.get_ref() >= 0.0) => {
            Err(err(src, m, "session mbps must be a number of Mbit/s >= 0"))
        }
        Some(m) => Ok(Some(Mbps(*m.get_ref()))),
        None => Ok(None),
    }
}

/// The class's hold, 1 to [`SessionClass::MAX_HOLD_S`] seconds.
fn hold_s(src: &Source, c: &SessionConfig) -> Result<u32, ConfigError> {
    let Some(h) = &c.hold_s else {
        return Ok(SessionClass::DEFAULT_HOLD_S);
    };
    u32::try_from(*h.get_ref())
        .ok()
        .filter(|s| (1..=SessionClass::MAX_HOLD_S).contains(s))
        .ok_or_else(|| {
            let max = SessionClass::MAX_HOLD_S;
            err(
                src,
                h,
                format!("session hold_s must be between 1 and {max} seconds"),
            )
        })
}
