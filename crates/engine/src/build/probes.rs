//! Probes of a site that `routecast serve` runs: the active health check
//! and the load source it polls for the site's bandwidth.

use toml::Spanned;

use crate::config::{HealthConfig, LoadSourceConfig};
use crate::error::{ConfigError, Source};
use crate::platform::{HealthCheck, LoadReading, LoadSource, Mbps};

use super::base_url::probe_url;
use super::err;

/// A health check with its defaults, its URL plain `http://` ([`probe_url`]).
pub(super) fn health_check(
    src: &Source,
    h: &Spanned<HealthConfig>,
) -> Result<HealthCheck, ConfigError> {
    let v = h.get_ref();
    let bad = |m: String| Err(err(src, h, m));
    if let Err(e) = probe_url(&v.url) {
        return bad(format!("health url: {e}"));
    }
    let interval_ms = v.interval_ms.unwrap_or(5000);
    let timeout_ms = v.timeout_ms.unwrap_or(2000.min(interval_ms));
    let (rise, fall) = (v.rise.unwrap_or(2), v.fall.unwrap_or(3));
    if interval_ms < 100 || timeout_ms == 0 || timeout_ms > interval_ms {
        return bad(
            "health interval_ms must be at least 100 and timeout_ms between 1 and interval_ms"
                .into(),
        );
    }
    if rise == 0 || fall == 0 {
        return bad("health rise and fall must be at least 1".into());
    }
    Ok(HealthCheck {
        url: v.url.clone(),
        interval_ms,
        timeout_ms,
        rise,
        fall,
    })
}

/// A load source: its URL plain `http://` ([`probe_url`]), its format with
/// what it needs.
pub(super) fn load_source(
    src: &Source,
    l: &Spanned<LoadSourceConfig>,
) -> Result<LoadSource, ConfigError> {
    let v = l.get_ref();
    let bad = |m: &str| Err(err(src, l, m.to_string()));
    if let Err(e) = probe_url(&v.url) {
        return bad(&format!("load url: {e}"));
    }
    let per_connection = v.mbps_per_connection;
    if per_connection.is_some() && v.format != "stub_status" {
        return bad("mbps_per_connection is only for format \"stub_status\"");
    }
    let reading = match (v.format.as_str(), &v.metric, &v.field) {
        ("prometheus", Some(m), None) if !m.is_empty() => {
            LoadReading::PrometheusBytes { metric: m.clone() }
        }
        ("json", None, Some(f)) if !f.is_empty() => LoadReading::JsonMbps { field: f.clone() },
        ("stub_status", None, None) => match per_connection {
            Some(x) if x.is_finite() && x > 0.0 => LoadReading::StubStatusWriting {
                per_connection: Mbps(x),
            },
            _ => return bad(
                "format \"stub_status\" needs mbps_per_connection = <Mbit/s per writing connection, above 0> (and no metric or field)",
            ),
        },
        ("prometheus", ..) => {
            return bad(
                "format \"prometheus\" needs metric = \"<counter of bytes sent>\" (and no field)",
            )
        }
        ("json", ..) => {
            return bad("format \"json\" needs field = \"<dot path to Mbit/s>\" (and no metric)")
        }
        ("stub_status", ..) => {
            return bad("format \"stub_status\" takes no metric or field (it reads Writing:)")
        }
        _ => return bad("load format must be \"prometheus\", \"json\" or \"stub_status\""),
    };
    let interval_ms = v.interval_ms.unwrap_or(5000);
    if interval_ms < 100 {
        return bad("load interval_ms must be at least 100");
    }
    Ok(LoadSource {
        url: v.url.clone(),
        reading,
        interval_ms,
    })
}
