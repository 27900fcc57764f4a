//! Small frictions of the command line (issue 15, points 4 and 5): Traffic
//! Router's coverage-zone leniencies, error places inside policy steps,
//! `config check -c`, a closed pipe, and README's rrdtool example.

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn routecast_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routecast"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("routecast runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SITE: &str = r#"[[sites]]
name = "ams"
urls = ["http://ams.example.net"]
location = { lat = 52.37, lon = 4.9 }
"#;

#[test]
fn a_coverage_zone_with_host_bits_loads_with_a_warning_naming_file_line_and_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Traffic Router's own test file has this network (host bits below /37).
    let czf = "{\n  \"coverageZones\": {\n    \"zone-1\": {\n      \"network6\": [\"2001:CAFE:F00D:0::/37\"]\n    }\n  }\n}\n";
    std::fs::write(dir.path().join("czf.json"), czf).expect("write");
    let config = format!("{SITE}\n[[coverage_zones]]\nfile = \"czf.json\"\n");
    std::fs::write(dir.path().join("r.toml"), config).expect("write");
    let o = routecast_in(dir.path(), &["config", "check", "-c", "r.toml"]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "refused: {err}");
    // Expected network from Python's ipaddress module:
    // ip_network('2001:CAFE:F00D:0::/37', strict=False) == 2001:cafe:f000::/37.
    assert!(
        err.starts_with("routecast: warning: czf.json:4:20: coverageZones.\"zone-1\".network6[0]: \"2001:CAFE:F00D:0::/37\" has host bits set: read as 2001:cafe:f000::/37"),
        "{err}"
    );
    let o = routecast_in(
        dir.path(),
        &["route", "-c", "r.toml", "2001:cafe:f7ff::1", "/x"],
    );
    assert!(text(&o.stdout).contains("zone-1"), "{}", text(&o.stdout));
}

#[test]
fn a_typo_in_a_policy_step_is_reported_at_its_own_line_by_config_check_dash_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = "[[policies]]\nname = \"default\"\nsteps = [\n  { step = \"available\" },\n  { step = \"capacity\", headrom = 0.1 },\n]\n";
    std::fs::write(dir.path().join("p.toml"), format!("{SITE}\n{policy}")).expect("write");
    for args in [
        &["config", "check", "-c", "p.toml"][..],
        &["config", "check", "p.toml"][..],
        &["config", "check", "--config", "p.toml"][..],
    ] {
        let o = routecast_in(dir.path(), args);
        assert_eq!(o.status.code(), Some(78), "{args:?}: {}", text(&o.stderr));
        assert_eq!(
            text(&o.stderr),
            "p.toml:10:24: unknown field `headrom`, expected `headroom`\n",
            "{args:?}"
        );
    }
    let o = routecast_in(dir.path(), &["config", "check"]);
    assert_eq!(o.status.code(), Some(64), "no file is a usage error");
}

/// `routecast route … --json | head -1` where head has gone: the pipe is
/// closed before routecast writes (python3 holds only the write end).
#[test]
fn route_into_a_closed_pipe_exits_quietly() {
    let script = "import os, subprocess, sys\nr, w = os.pipe()\nos.close(r)\np = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)\nsys.stdout.write('%d %s' % (p.returncode, p.stderr.decode()))\n";
    let config = root().join("examples/routecast.toml");
    for json in [true, false] {
        let mut args = vec![
            "-c",
            script,
            env!("CARGO_BIN_EXE_routecast"),
            "route",
            "-c",
            config.to_str().expect("utf-8"),
            "81.2.69.142",
            "/live/news/index.m3u8",
        ];
        if json {
            args.push("--json");
        }
        let o = Command::new("python3")
            .args(&args)
            .output()
            .expect("python3 runs");
        assert_eq!(text(&o.stdout), "0 ", "json {json}: status and stderr");
    }
}

/// README's rrdtool command, run as written in a directory holding the
/// report of README's first command, draws data: the span it gives is the
/// one `simulate` prints, and rrdtool's AVERAGE over it is a number.
#[test]
fn readmes_rrdtool_example_draws_the_replayed_period() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = root().join("examples/routecast.toml");
    let log = root().join("examples/access.log.gz");
    let o = routecast_in(
        dir.path(),
        &[
            "simulate",
            "-c",
            config.to_str().expect("utf-8"),
            log.to_str().expect("utf-8"),
            "-o",
            "report",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let span = out
        .lines()
        .find_map(|l| l.strip_prefix("rrdtool: "))
        .unwrap_or_else(|| panic!("no rrdtool span in the summary: {out}"));
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let command = readme
        .split('`')
        .find(|s| s.starts_with("rrdtool graph "))
        .expect("README has an rrdtool graph command");
    assert!(
        command.contains(span),
        "README's {command:?} lacks {span:?}"
    );
    let mut words: Vec<&str> = command.split_whitespace().skip(1).collect();
    words.push("PRINT:m:AVERAGE:%lf");
    let drawn = Command::new("rrdtool")
        .current_dir(dir.path())
        .args(&words)
        .output()
        .expect("rrdtool is installed (scripts/test installs it)");
    assert!(drawn.status.success(), "{}", text(&drawn.stderr));
    let average = text(&drawn.stdout);
    let value: f64 = average
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN);
    assert!(
        value > 0.0,
        "rrdtool's AVERAGE over README's span: {average:?}"
    );
    let png = std::fs::metadata(dir.path().join("ams.png")).expect("png written");
    assert!(png.len() > 1000);
}
