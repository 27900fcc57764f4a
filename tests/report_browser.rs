//! The HTML report opens from disk in a real browser (headless Chromium):
//! the page parses, its charts are there, and it renders to a screenshot.

use std::path::Path;
use std::process::Command;

fn routecast(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs headless Chromium (Debian's package, installed by scripts/test) on
/// `url` with the flags a closed network needs, under a 90-second limit.
fn chromium(profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let profile = format!("--user-data-dir={}", profile.display());
    let mut args = vec![
        "90",
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &profile,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let o = Command::new("timeout")
        .args(&args)
        .output()
        .expect("timeout runs");
    assert!(
        o.status.success(),
        "chromium failed (scripts/test installs Debian's chromium): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn the_report_opens_from_disk_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("a.log");
    let out = dir.path().join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    routecast(&[
        "synth",
        "-n",
        "20000",
        "--seed",
        "4",
        "-o",
        log.to_str().expect("utf-8"),
    ]);
    routecast(&[
        "simulate",
        "-q",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    ]);
    let url = format!("file://{}", out.join("report.html").display());

    let dom = chromium(&dir.path().join("profile1"), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<h1>routecast simulation</h1>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    assert_eq!(
        dom.matches("<svg").count(),
        2,
        "site and group charts inline"
    );
    assert!(dom.contains("<td>ams</td>") && dom.contains("Client groups"));

    let png = dir.path().join("report.png");
    let shot = format!("--screenshot={}", png.display());
    chromium(
        &dir.path().join("profile2"),
        &[&shot, "--window-size=1200,1600", "--hide-scrollbars"],
        &url,
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        bytes.len()
    );
}
