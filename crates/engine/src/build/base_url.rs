//! Base URLs: a site's `urls` (what every `Location` starts with) and a
//! playlist origin (what every fetch starts with), checked by the `url`
//! crate (the WHATWG URL standard browsers follow) and kept as written.
//!
//! A base URL is `http://` or `https://`, a host (a name, an IPv4 address
//! or an IPv6 address in brackets), an optional port from 1 to 65535 and
//! an optional base path (`https://cdn.example.net/edge`) already in normal
//! form (no dot segments, nothing the parser would re-encode); no
//! credentials, query or fragment, and printable ASCII only (an
//! international name in its `xn--` form, other characters
//! percent-encoded). One trailing `/` is dropped: the request path follows.

use url::Url;

/// Checks a base URL; returns it as written without its trailing `/`, or
/// what is wrong with it (naming the URL).
pub(super) fn base_url(u: &str) -> Result<String, String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("URL {u:?} must start with http:// or https://"))?;
    check_characters(u)?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!("URL {u:?} has no host"));
    }
    let parsed = Url::parse(u).map_err(|e| format!("URL {u:?} is not a valid URL: {e}"))?;
    check_port(u, authority)?;
    check_path(u, &rest[authority.len()..], parsed.path())?;
    Ok(u.trim_end_matches('/').to_string())
}

/// Checks the URL a probe (a health check, a load source) asks: plain
/// `http://` (the polling client speaks no TLS), a host, a port from 1 to
/// 65535 as written, no credentials or fragment, printable ASCII; a path
/// and query are the probe's own. Returns what is wrong, naming the URL.
pub(super) fn probe_url(u: &str) -> Result<(), String> {
    let rest = u.strip_prefix("http://").ok_or_else(|| {
        format!("URL {u:?} must start with http:// (https probes are not supported yet)")
    })?;
    if let Some(c) = u
        .chars()
        .find(|c| !c.is_ascii_graphic() || "#@\\".contains(*c))
    {
        return Err(format!(
            "URL {u:?} contains {c:?} (expected printable ASCII, no credentials or fragment)"
        ));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!("URL {u:?} has no host"));
    }
    Url::parse(u).map_err(|e| format!("URL {u:?} is not a valid URL: {e}"))?;
    check_port(u, authority)
}

/// Printable ASCII, and none of the characters that would start
/// credentials, a query or a fragment, or that a parser reads as `/`.
fn check_characters(u: &str) -> Result<(), String> {
    let Some(bad) = u
        .chars()
        .find(|c| !c.is_ascii_graphic() || "?#@\\".contains(*c))
    else {
        return Ok(());
    };
    Err(match bad {
        '@' => format!("URL {u:?} has credentials (user@ or user:password@), which every redirect would hand to viewers (expected a base URL without query, fragment or credentials)"),
        '?' => format!("URL {u:?} has a query (expected a base URL without query, fragment or credentials)"),
        '#' => format!("URL {u:?} has a fragment (expected a base URL without query, fragment or credentials)"),
        '\\' => format!("URL {u:?} contains '\\\\' (expected '/')"),
        c if c.is_ascii() => format!("URL {u:?} contains {c:?} (expected no white space or control characters)"),
        c => format!("URL {u:?} contains {c:?} (expected ASCII: an international host name in its xn-- form, other characters percent-encoded)"),
    })
}

/// The port as written, if any: digits, 1 to 65535. (The `url` crate has
/// already refused ports above 65535 and non-digits; it accepts an empty
/// port and port 0, and forgets the empty one, so they are read here.)
fn check_port(u: &str, authority: &str) -> Result<(), String> {
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, after)| after),
        None => authority.find(':').map_or("", |i| &authority[i..]),
    };
    let Some(port) = after_host.strip_prefix(':') else {
        return Ok(());
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ if port.is_empty() => Err(format!(
            "URL {u:?} has an empty port after ':' (expected a port from 1 to 65535, or no ':')"
        )),
        _ => Err(format!(
            "URL {u:?} has port {port:?} (expected a port from 1 to 65535)"
        )),
    }
}

/// The base path as written is the one the parser reads: no dot segments
/// and nothing it would re-encode, so that a `Location` reads as written.
fn check_path(u: &str, written: &str, parsed: &str) -> Result<(), String> {
    let (written, parsed) = (written.trim_end_matches('/'), parsed.trim_end_matches('/'));
    if written == parsed {
        Ok(())
    } else {
        Err(format!(
            "URL {u:?} has path {written:?}, which reads as {parsed:?} (expected a base path without dot segments, other characters percent-encoded)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_urls_keep_their_path_and_query_and_refuse_what_base_urls_refuse() {
        for u in [
            "http://127.0.0.1:9100/metrics",
            "http://[::1]:8080/health?full=1",
            "http://edge.example.net/nginx_status",
        ] {
            assert_eq!(probe_url(u), Ok(()), "{u}");
        }
        for (u, wrong) in [
            ("https://a.example/health", "must start with http://"),
            (
                "http://[::1/health",
                "is not a valid URL: invalid IPv6 address",
            ),
            (
                "http://a.example:99999/h",
                "is not a valid URL: invalid port number",
            ),
            ("http://a.example:/h", "has an empty port after ':'"),
            ("http://a.example:0/h", "has port \"0\""),
            ("http://user@a.example/h", "contains '@'"),
            ("http://a.example/h#x", "contains '#'"),
            ("http://a.example/a b", "contains ' '"),
            ("http:///h", "has no host"),
            ("http://:80/h", "has no host"),
        ] {
            let e = probe_url(u).expect_err(u);
            assert!(e.contains(wrong), "{u}: {e}");
        }
    }

    #[test]
    fn base_urls_with_a_host_an_optional_port_and_path_are_kept_as_written() {
        for (u, want) in [
            ("https://ams.cdn.example.net", "https://ams.cdn.example.net"),
            ("https://ams.example.net/", "https://ams.example.net"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
            ("http://[2001:db8::1]", "http://[2001:db8::1]"),
            (
                "https://a.example:65535/edge/",
                "https://a.example:65535/edge",
            ),
            (
                "http://origin.example.net/hls/",
                "http://origin.example.net/hls",
            ),
            (
                "https://xn--caf-dma.example/a%20b",
                "https://xn--caf-dma.example/a%20b",
            ),
            ("https://a.example:443", "https://a.example:443"),
        ] {
            assert_eq!(base_url(u).as_deref(), Ok(want), "{u}");
        }
    }

    /// Issue 13, point 4: these passed and ended up in `Location`.
    #[test]
    fn broken_hosts_and_ports_are_refused_with_what_is_wrong() {
        for (u, wrong) in [
            ("http://[::1", "is not a valid URL: invalid IPv6 address"),
            (
                "http://a.example:99999",
                "is not a valid URL: invalid port number",
            ),
            ("http://a.example:", "has an empty port after ':'"),
            ("http://a.example:/x", "has an empty port after ':'"),
            ("http://[::1]:", "has an empty port after ':'"),
            ("http://a.example:0", "has port \"0\""),
            (
                "http://a.example:8o",
                "is not a valid URL: invalid port number",
            ),
            ("http://a exa.mple", "contains ' '"),
            ("http://a.example\t", "contains '\\t'"),
            ("http://caf\u{e9}.example", "contains 'é' (expected ASCII"),
            ("http://a..b%zz", "is not a valid URL"),
            ("http://:80", "has no host"),
            ("http:///x", "has no host"),
        ] {
            let e = base_url(u).expect_err(u);
            assert!(e.starts_with(&format!("URL {u:?} {wrong}")), "{u}: {e}");
        }
    }

    #[test]
    fn credentials_queries_fragments_and_odd_paths_are_refused() {
        for (u, wrong) in [
            ("https://user:pw@a.example", "has credentials"),
            ("https://a.example@evil.example", "has credentials"),
            ("https://a.example/?x=1", "has a query"),
            ("https://a.example/#x", "has a fragment"),
            ("https://a.example\\evil", "contains '\\\\'"),
            (
                "https://a.example/edge/../x",
                "has path \"/edge/../x\", which reads as \"/x\"",
            ),
            (
                "https://a.example/%2e%2e/x",
                "has path \"/%2e%2e/x\", which reads as \"/x\"",
            ),
            (
                "https://a.example/a\"b",
                "has path \"/a\\\"b\", which reads as \"/a%22b\"",
            ),
            ("ftp://a.example", "must start with http:// or https://"),
            ("https:/a.example", "must start with http:// or https://"),
        ] {
            let e = base_url(u).expect_err(u);
            assert!(e.starts_with(&format!("URL {u:?} {wrong}")), "{u}: {e}");
        }
    }

    /// Every load of a configuration (`config check`, `serve`, reload)
    /// names the file, the place, the site, the URL and what is wrong.
    #[test]
    fn a_site_url_error_names_the_file_place_site_and_url() {
        let text = "[[sites]]\nname = \"ams\"\nurls = [\"https://ams.example.net\", \"http://a.example:99999\"]\nlocation = { lat = 0, lon = 0 }\n\n[[policies]]\nname = \"p\"\nsteps = [{ step = \"closest\" }]\n";
        let config = crate::PlatformConfig::parse("routecast.toml", text).expect("parses");
        let Err(e) = crate::Platform::build(&config, &[]) else {
            panic!("a port above 65535 was accepted");
        };
        assert_eq!(
            e.to_string(),
            "routecast.toml:3:36: site \"ams\": URL \"http://a.example:99999\" is not a valid URL: invalid port number"
        );
    }
}
