//! Whole-binary tests of `routecast route` and `routecast config check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> PathBuf {
    root().join("examples/routecast.toml")
}

fn routecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("routecast runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A copy of the example platform in a temporary directory, edited by `edit`,
/// with its coverage-zone file and absolute GeoIP paths.
fn edited(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let geoip = root().join("tests/fixtures/geoip");
    let text = std::fs::read_to_string(example())
        .expect("example")
        .replace("../tests/fixtures/geoip", &geoip.display().to_string());
    std::fs::copy(
        root().join("examples/czf.json"),
        dir.path().join("czf.json"),
    )
    .expect("copy czf");
    let path = dir.path().join("routecast.toml");
    std::fs::write(&path, edit(text)).expect("write config");
    (dir, path)
}

fn check(path: &Path) -> Output {
    routecast(&["config", "check", path.to_str().expect("utf-8 path")])
}

/// Asserts exit 78 and one line `file:line:column: message` on stderr.
fn assert_config_error(o: &Output, file: &Path, line: usize, contains: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(78), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let want = format!("{}:{line}:", file.display());
    assert!(err.starts_with(&want), "expected {want}…, got {err}");
    assert!(err.contains(contains), "expected {contains:?} in {err}");
}

fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).expect("read");
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn route_explains_a_geoip_decision() {
    let o = routecast(&[
        "route",
        "-c",
        example().to_str().expect("path"),
        "81.2.69.142",
        "/live/news/index.m3u8",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("country GB, continent EU"), "{out}");
    assert!(
        out.contains("group      uk (matched by country GB)"),
        "{out}"
    );
    assert!(out.contains("policy     uk-live"), "{out}");
    assert!(
        out.contains("lon -> https://lon.cdn.example.net/live/news/index.m3u8 [preferred]"),
        "{out}"
    );
}

#[test]
fn route_json_with_load_spills_and_down_sites_drop() {
    let cfg = example();
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "route",
            "-c",
            cfg.to_str().expect("path"),
            "--json",
            "81.2.69.142",
            "/live/a.m3u8",
        ];
        args.extend_from_slice(extra);
        let o = routecast(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).expect("valid JSON")
    };
    let idle = json(&[]);
    assert_eq!(idle["site"], "lon");
    assert_eq!(idle["group"], "uk");
    assert_eq!(idle["url"], "https://lon.cdn.example.net/live/a.m3u8");
    // lon at capacity: everybody spills, to the next preference.
    let full = json(&["--load", "lon=500"]);
    assert_eq!(full["site"], "ams");
    assert_eq!(full["preferred"], "lon");
    assert_eq!(full["outcome"], "spilled_over");
    let down = json(&["--down", "lon,ams"]);
    assert_eq!(down["site"], "nyc");
    let avail = &down["steps"][0];
    assert_eq!(avail["step"], "available");
    assert_eq!(avail["implicit"], true);
    assert_eq!(avail["sites"][2]["site"], "lon");
    assert_eq!(avail["sites"][2]["verdict"], "dropped");
}

#[test]
fn coverage_zones_and_cidrs_take_precedence_over_geoip() {
    let cfg = example();
    let group = |addr: &str| -> String {
        let o = routecast(&[
            "route",
            "-c",
            cfg.to_str().expect("path"),
            "--json",
            addr,
            "/vod/x/1.ts",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        format!(
            "{} by {}",
            v["group"].as_str().unwrap_or("?"),
            v["matched_by"].as_str().unwrap_or("?")
        )
    };
    assert_eq!(
        group("198.51.100.7"),
        "czf-nl-kpn by network 198.51.100.0/25"
    );
    assert_eq!(
        group("203.0.113.130"),
        "czf-nl-kpn by network 203.0.113.128/26"
    );
    assert_eq!(
        group("2001:db8:2ff::1"),
        "czf-de-telekom by network 2001:db8:200::/40"
    );
    assert_eq!(group("192.0.2.55"), "office by network 192.0.2.0/24");
    assert_eq!(group("1.0.0.1"), "google-cloud by ASN 15169");
    assert_eq!(group("89.160.20.128"), "europe by continent EU");
    assert_eq!(group("2001:480::1"), "north-america by country US");
    assert_eq!(group("10.0.0.1"), "rest-of-world by default");
}

#[test]
fn config_check_accepts_the_example() {
    let o = check(&example());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok: 7 sites"), "{}", stdout(&o));
}

#[test]
fn policy_naming_a_missing_site_is_placed() {
    let (from, to) = ("[\"lon\", \"ams\"] }", "[\"lon\", \"paris\"] }");
    rejects(from, to, "\"paris\"", "preference names no site \"paris\"");
}

#[test]
fn group_allowing_a_missing_site_is_placed_at_the_name() {
    let (_d, path) = edited(|t| {
        t.replace(
            "sites = [\"ams\", \"fra\"]\n",
            "sites = [\"ams\", \"frankfurt\"]\n",
        )
    });
    let o = check(&path);
    let line = line_of(&path, "\"frankfurt\"");
    assert_config_error(&o, &path, line, "no site is named \"frankfurt\"");
    let col: usize = stderr(&o)
        .split(':')
        .nth(2)
        .and_then(|c| c.parse().ok())
        .expect("column");
    // The column of the opening quote of the name.
    assert_eq!(col, "sites = [\"ams\", ".len() + 1);
}

/// Edits the example with `from` → `to` and expects `config check` to fail
/// at the line containing `needle`, with `contains` in the message.
fn rejects(from: &str, to: &str, needle: &str, contains: &str) {
    let (_d, path) = edited(|t| {
        assert!(t.contains(from), "the example contains {from:?}");
        t.replacen(from, to, 1)
    });
    assert_config_error(&check(&path), &path, line_of(&path, needle), contains);
}

#[test]
fn site_without_url_and_bad_url_are_placed() {
    let fra = "urls = [\"https://fra.cdn.example.net\"]";
    rejects(fra, "urls = []", "urls = []", "site \"fra\" has no URL");
    rejects(
        "https://fra.",
        "ftp://fra.",
        "ftp://",
        "must start with http:// or https://",
    );
}

/// Issue 13, point 4: site URLs that passed and ended up in `Location`.
#[test]
fn site_urls_with_a_broken_host_or_port_are_placed() {
    for (bad, wrong) in [
        ("http://[::1", "is not a valid URL: invalid IPv6 address"),
        (
            "https://fra.cdn.example.net:99999",
            "is not a valid URL: invalid port number",
        ),
        (
            "https://fra.cdn.example.net:",
            "has an empty port after ':'",
        ),
        ("https://user@fra.cdn.example.net", "has credentials"),
    ] {
        rejects(
            "\"https://fra.cdn.example.net\"",
            &format!("\"{bad}\""),
            bad,
            &format!("site \"fra\": URL \"{bad}\" {wrong}"),
        );
    }
}

#[test]
fn bad_playlist_rules_are_placed() {
    let origin = "origin = \"http://origin.example.net\"";
    rejects(
        origin,
        "origin = \"site\"",
        "origin = \"site\"",
        "site \"fra\" has no http:// URL",
    );
    rejects(
        origin,
        "origin = \"https://origin.example.net\"",
        "https://origin",
        "must be \"site\" or an http:// URL",
    );
    rejects(
        origin,
        "origin = \"http://origin.example.net/?a=b\"",
        "?a=b",
        "without query",
    );
    rejects(
        "timeout_ms = 2000",
        "timeout_ms = 0",
        "timeout_ms = 0",
        "playlist timeout_ms must be between 1 and 60000",
    );
    rejects(
        "steering = true",
        "steer = true",
        "steer = true",
        "unknown field `steer`",
    );
    rejects(
        "content = [\"/live/\"]\norigin",
        "content = [\"live/\"]\norigin",
        "\"live/\"",
        "content prefix \"live/\" must start with '/'",
    );
}

#[test]
fn bad_cidr_unknown_field_and_syntax_errors_are_placed() {
    rejects(
        "\"192.0.2.0/24\"",
        "\"192.0.2.0/33\"",
        "/33",
        "is not a CIDR network",
    );
    let cap = "capacity_mbps = 800\ncost = { per_gb = 0.0030 }";
    let extra = "capacity_mbps = 800\ncapacity_gbps = 30\ncost = { per_gb = 0.0030 }";
    rejects(cap, extra, "capacity_gbps", "unknown field `capacity_gbps`");
    rejects("name = \"sjc\"", "name = \"sjc", "name = \"sjc", "");
    let live = "{ step = \"least_cost\" },\n  { step = \"capacity\", headroom = 0.15 }";
    let bad = "{ step = \"cheapest\" },\n  { step = \"capacity\", headroom = 0.15 }";
    rejects(
        live,
        bad,
        "step = \"cheapest\"",
        "unknown variant `cheapest`",
    );
}

#[test]
fn coverage_zone_file_with_a_bad_cidr_names_the_zone_file() {
    let (dir, path) = edited(|t| t);
    let czf = dir.path().join("czf.json");
    let text = std::fs::read_to_string(&czf)
        .expect("czf")
        .replace("198.51.100.128/25", "198.51.100.128/255");
    std::fs::write(&czf, text).expect("write");
    let o = check(&path);
    assert_config_error(
        &o,
        &czf,
        line_of(&czf, "/255"),
        "coverageZones.\"de-telekom\".network[0]",
    );
}

#[test]
fn missing_or_wrong_geoip_files_are_placed_in_the_config() {
    let city = "GeoLite2-City-Test.mmdb";
    rejects(
        city,
        "missing.mmdb",
        "missing.mmdb",
        "is not a readable MaxMind DB file",
    );
    rejects(
        city,
        "README.md",
        "README.md",
        "is not a readable MaxMind DB file",
    );
    let wrong = "expected a GeoIP2/GeoLite2 City or Country database";
    rejects(city, "GeoLite2-ASN-Test.mmdb", "city = ", wrong);
}

#[test]
fn unreadable_or_binary_configuration_is_exit_78() {
    let o = check(Path::new("/nonexistent/routecast.toml"));
    assert_eq!(o.status.code(), Some(78));
    assert!(
        stderr(&o).starts_with("/nonexistent/routecast.toml: cannot read configuration"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("x.toml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x41]).expect("write");
    let o = check(&bin);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("not UTF-8 text"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_64_with_one_line() {
    let cfg = example();
    let cfg = cfg.to_str().expect("path");
    for (args, want) in [
        (
            vec!["route", "-c", cfg, "300.1.2.3", "/live/x"],
            "\"300.1.2.3\" is not an IP address",
        ),
        (
            vec!["route", "-c", cfg, "192.0.2.1", "live/x"],
            "must start with '/'",
        ),
        (
            vec![
                "route",
                "-c",
                cfg,
                "192.0.2.1",
                "/live/x",
                "--load",
                "paris=10",
            ],
            "no site is named \"paris\"",
        ),
        (
            vec![
                "route",
                "-c",
                cfg,
                "192.0.2.1",
                "/live/x",
                "--load",
                "ams=-5",
            ],
            "is not a number of Mbit/s",
        ),
        (
            vec![
                "route",
                "-c",
                cfg,
                "192.0.2.1",
                "/live/x",
                "--down",
                "nowhere",
            ],
            "no site is named \"nowhere\"",
        ),
    ] {
        let o = routecast(&args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let o = routecast(&["route", "--bogus"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(routecast(&["--help"]).status.success());
}

#[test]
fn health_checks_are_validated() {
    let fra = "content = [\"/live/\", \"/vod/\"]\n\n[[sites]]\nname = \"lon\"";
    let https = "content = [\"/live/\", \"/vod/\"]\nhealth = { url = \"https://fra.internal/healthz\" }\n\n[[sites]]\nname = \"lon\"";
    rejects(fra, https, "health = ", "must start with http://");
    // Checked by the url crate as site URLs are (issue 13): these passed.
    for (url, wrong) in [
        ("http://[::1/healthz", "invalid IPv6 address"),
        ("http://fra.internal:99999/healthz", "invalid port number"),
        (
            "http://fra.internal:/healthz",
            "has an empty port after ':'",
        ),
    ] {
        let broken = format!("content = [\"/live/\", \"/vod/\"]\nhealth = {{ url = \"{url}\" }}\n\n[[sites]]\nname = \"lon\"");
        rejects(fra, &broken, "health = ", wrong);
    }
    let slow = "content = [\"/live/\", \"/vod/\"]\nhealth = { url = \"http://fra.internal/healthz\", interval_ms = 1000, timeout_ms = 5000 }\n\n[[sites]]\nname = \"lon\"";
    rejects(
        fra,
        slow,
        "health = ",
        "timeout_ms between 1 and interval_ms",
    );
}

#[test]
fn load_sources_are_validated() {
    let fra = "content = [\"/live/\", \"/vod/\"]\n\n[[sites]]\nname = \"lon\"";
    let snmp = "content = [\"/live/\", \"/vod/\"]\nload = { url = \"http://fra.internal/x\", format = \"snmp\" }\n\n[[sites]]\nname = \"lon\"";
    rejects(
        fra,
        snmp,
        "load = ",
        "load format must be \"prometheus\", \"json\" or \"stub_status\"",
    );
    let no_metric = "content = [\"/live/\", \"/vod/\"]\nload = { url = \"http://fra.internal/metrics\", format = \"prometheus\" }\n\n[[sites]]\nname = \"lon\"";
    rejects(fra, no_metric, "load = ", "needs metric");
}

#[test]
fn stub_status_load_sources_need_a_positive_rate_per_connection() {
    let fra = "content = [\"/live/\", \"/vod/\"]\n\n[[sites]]\nname = \"lon\"";
    let load = |rest: &str| {
        format!("content = [\"/live/\", \"/vod/\"]\nload = {{ url = \"http://fra.internal/nginx_status\", format = \"stub_status\"{rest} }}\n\n[[sites]]\nname = \"lon\"")
    };
    for rest in [
        "",
        ", mbps_per_connection = 0",
        ", mbps_per_connection = -2.5",
        ", mbps_per_connection = nan",
        ", mbps_per_connection = inf",
    ] {
        rejects(
            fra,
            &load(rest),
            "load = ",
            "format \"stub_status\" needs mbps_per_connection",
        );
    }
    rejects(
        fra,
        &load(", mbps_per_connection = 5, field = \"x\""),
        "load = ",
        "takes no metric or field",
    );
    let json = "content = [\"/live/\", \"/vod/\"]\nload = { url = \"http://fra.internal/s\", format = \"json\", field = \"mbps\", mbps_per_connection = 5 }\n\n[[sites]]\nname = \"lon\"";
    rejects(
        fra,
        json,
        "load = ",
        "mbps_per_connection is only for format \"stub_status\"",
    );
    let (_d, path) = edited(|t| t.replacen(fra, &load(", mbps_per_connection = 2.5"), 1));
    let o = check(&path);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
