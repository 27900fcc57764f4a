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
    let (s, admin) = launch(
        &example(),
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--admin-token-file",
            token,
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
