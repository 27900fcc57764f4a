//! The admin listener: metrics and status only there, and operators'
//! drain / reset with a bearer token.

use crate::support::{example, get, header, launch, post, start_checked, status, upstream, Server};

#[test]
fn metrics_and_status_are_on_the_admin_listener_only() {
    let (s, admin) = launch(&example(), &["--trusted-proxy", "127.0.0.0/8"], true);
    let admin = admin.expect("admin listener");
    assert_eq!(
        status(&get(
            s.addr,
            "/live/a/seg1.ts",
            "X-Forwarded-For: 81.2.69.142\r\n"
        )),
        302
    );
    assert_eq!(status(&get(s.addr, "//evil", "")), 400);
    let m = get(admin, "/metrics", "");
    assert_eq!(status(&m), 200, "{m}");
    assert!(
        m.contains(r#"routecast_requests_total{site="lon",group="uk",status="302"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"routecast_requests_total{site="-",group="-",status="400"} 1"#),
        "{m}"
    );
    assert!(m.contains("routecast_decision_seconds_count 1"), "{m}");
    assert!(m.contains(r#"routecast_site_up{site="gru"} 1"#), "{m}");
    let st = get(admin, "/status", "");
    let body: serde_json::Value =
        serde_json::from_str(st.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(body["sites"].as_array().map(Vec::len), Some(7));
    assert_eq!(body["sites"][6]["state"], "draining");
    // The public listener has no admin endpoints: /metrics is just a path.
    assert!(!get(s.addr, "/metrics", "").contains("routecast_requests"));
}

#[test]
fn operators_drain_and_restore_a_site_with_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token-for-tests\n").expect("write token");
    let token = token_file.to_str().expect("utf-8");
    // Its overrides saved in the temporary directory, not beside the
    // example in the source tree (which other tests start from).
    let state_file = dir.path().join("state");
    let (s, admin) = launch(
        &example(),
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--admin-token-file",
            token,
            "--state-file",
            state_file.to_str().expect("utf-8"),
        ],
        true,
    );
    let admin = admin.expect("admin listener");
    let uk = |s: &Server| {
        header(
            &get(
                s.addr,
                "/live/a/seg1.ts",
                "X-Forwarded-For: 81.2.69.142\r\n",
            ),
            "x-routecast-site",
        )
        .map(str::to_string)
    };
    assert_eq!(uk(&s).as_deref(), Some("lon"));
    assert_eq!(status(&post(admin, "/sites/lon/drain", None)), 401);
    assert_eq!(
        status(&post(
            admin,
            "/sites/lon/drain",
            Some("wrong-token-of-same-size")
        )),
        401
    );
    let r = post(admin, "/sites/lon/drain", Some("s3cret-token-for-tests"));
    assert_eq!(status(&r), 200, "{r}");
    assert!(r.contains("\"state\":\"draining\""), "{r}");
    assert_eq!(
        uk(&s).as_deref(),
        Some("ams"),
        "a draining site takes no new viewers"
    );
    let st = get(admin, "/status", "");
    let body: serde_json::Value =
        serde_json::from_str(st.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    let lon = body["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|x| x["site"] == "lon")
        .expect("lon");
    assert_eq!(lon["state"], "draining");
    assert_eq!(
        status(&post(
            admin,
            "/sites/lon/reset",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    assert_eq!(uk(&s).as_deref(), Some("lon"));
    assert_eq!(
        status(&post(
            admin,
            "/sites/paris/drain",
            Some("s3cret-token-for-tests")
        )),
        404
    );
    // The public listener has no admin actions.
    assert_ne!(
        status(&post(
            s.addr,
            "/sites/lon/drain",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    drop(s);
    // Without a token file, actions are refused outright.
    let (a, b) = (upstream(), upstream());
    let (s2, admin2) = start_checked(&a, &b, dir.path());
    assert_eq!(
        status(&post(admin2, "/sites/a/drain", Some("anything"))),
        403
    );
    drop(s2);
}

#[test]
fn a_drain_survives_a_reload_and_a_restart_through_the_state_file() {
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_checked(&a, &b, dir.path());
    drop(s);
    let config = dir.path().join("checked.toml");
    let token = dir.path().join("token");
    std::fs::write(&token, "state-token-for-tests\n").expect("write token");
    let args = ["--admin-token-file", token.to_str().expect("utf-8")];
    let start = || {
        let (s, admin, log) = crate::support::launch_inner(&config, &args, true, true);
        (s, admin.expect("admin listener"), log)
    };
    let (s, admin, _) = start();
    let drained_a = |s: &Server, admin| {
        let site = header(&get(s.addr, "/live/x", ""), "x-routecast-site").map(str::to_string);
        let status: serde_json::Value =
            serde_json::from_str(crate::support::body(&get(admin, "/status", ""))).expect("JSON");
        (site, status["sites"][0]["state"].clone())
    };
    let drained = (Some("b".to_string()), serde_json::json!("draining"));
    assert_eq!(
        status(&post(
            admin,
            "/sites/a/drain",
            Some("state-token-for-tests")
        )),
        200
    );
    assert_eq!(drained_a(&s, admin), drained);
    // Reload: still drained.
    assert_eq!(
        status(&post(admin, "/reload", Some("state-token-for-tests"))),
        202
    );
    let reloaded = crate::support::within(std::time::Duration::from_secs(5), || {
        get(admin, "/metrics", "").contains("routecast_reloads_total{result=\"accepted\"} 1")
    });
    assert!(reloaded.is_some(), "reloaded");
    assert_eq!(drained_a(&s, admin), drained, "after a reload");
    // Killed (SIGKILL) and started again with the same state file (the
    // default one, beside the configuration): still drained, and said so.
    let saved = std::fs::read_to_string(dir.path().join("checked.toml.state")).expect("saved");
    assert_eq!(
        saved,
        "{\n  \"overrides\": {\n    \"a\": \"draining\"\n  }\n}\n"
    );
    drop(s);
    let (s, admin, log) = start();
    assert_eq!(drained_a(&s, admin), drained, "after a restart");
    crate::support::within(std::time::Duration::from_secs(2), || {
        crate::support::logged(&log, "admin override restored").is_some()
    });
    let restored = crate::support::logged(&log, "admin override restored").expect("logged");
    assert!(
        restored.contains("site=a") && restored.contains("state=draining"),
        "{restored}"
    );
    // Reset: saved too; the next start has no override.
    assert_eq!(
        status(&post(
            admin,
            "/sites/a/reset",
            Some("state-token-for-tests")
        )),
        200
    );
    drop(s);
    let (s, admin, _) = start();
    assert_eq!(
        drained_a(&s, admin),
        (Some("a".to_string()), serde_json::json!("active"))
    );
}

#[test]
fn a_state_file_elsewhere_is_used_and_a_corrupt_one_is_reported_not_fatal() {
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_checked(&a, &b, dir.path());
    drop(s);
    let config = dir.path().join("checked.toml");
    let file = dir.path().join("var-lib-routecast.state");
    std::fs::write(
        &file,
        "{\"overrides\":{\"a\":\"disabled\",\"paris\":\"draining\"}}",
    )
    .expect("write");
    let args = ["--state-file", file.to_str().expect("utf-8")];
    let (s, _, log) = crate::support::launch_inner(&config, &args, true, true);
    assert_eq!(crate::support::site_of(&s), "b", "a disabled by the file");
    let warned = crate::support::within(std::time::Duration::from_secs(2), || {
        crate::support::logged(&log, "site no longer configured").is_some()
    });
    assert!(warned.is_some(), "{:?}", log.lock().map(|l| l.clone()));
    drop(s);
    std::fs::write(&file, "{\"overrides\":{\"a\":").expect("write");
    let (s, _, log) = crate::support::launch_inner(&config, &args, true, true);
    assert_eq!(
        crate::support::site_of(&s),
        "a",
        "started, without overrides"
    );
    // stderr is collected by a thread of its own: wait for the line.
    crate::support::within(std::time::Duration::from_secs(2), || {
        crate::support::logged(&log, "NOT restored").is_some()
    });
    let error = crate::support::logged(&log, "NOT restored").expect("logged as an error");
    assert!(
        error.contains("ERROR")
            && error.contains(&format!("{}: not a routecast state file", file.display())),
        "{error}"
    );
}
