//! `routecast check` (Nagios / Icinga) against a running redirector.

use std::process::Command;
use std::time::Duration;

use crate::support::{site_of, start_checked, upstream, within};

fn check(admin: &str) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["check", "--url", admin, "--timeout", "5"])
        .output()
        .expect("check runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn routecast_check_reports_ok_warning_critical_and_unknown() {
    use std::sync::atomic::Ordering;
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_checked(&a, &b, dir.path());
    let admin = format!("http://{admin}");
    assert_eq!(site_of(&s), "a");
    let (code, out) = check(&admin);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ROUTECAST OK - 2/2 sites up, all sites up, mean decision "),
        "{out}"
    );
    assert!(
        out.contains("| sites_up=2;1;0;0;2 sites_down=0;1;2;0;2 decision_ms="),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    a.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || check(&admin).0 == 1).expect("WARNING with one site down");
    assert!(check(&admin).1.contains("sites down: a"));
    b.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || check(&admin).0 == 2).expect("CRITICAL with both down");
    drop(s);
    let (code, out) = check(&admin);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("ROUTECAST UNKNOWN - no answer from"),
        "{out}"
    );
}
