use super::*;
use crate::testing::{body_text, state, two_sites};

const TOKEN: &str = "s3cret-token-for-tests";

/// A state whose admin token is [`TOKEN`], read from a file as the CLI does.
fn with_token() -> State {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("token");
    std::fs::write(&file, format!("  {TOKEN}\n")).expect("write");
    let mut s = state(&two_sites(""), &[]);
    s.admin_token = Some(AdminToken::read(&file).expect("a good token"));
    s
}

/// `method path` with `authorization`, answered: status, last header, body.
fn ask(
    s: &State,
    method: Method,
    path: &str,
    authorization: Option<&str>,
) -> (u16, String, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    let r = admin(s, &request.body(()).expect("request"));
    let last = r
        .headers()
        .iter()
        .last()
        .map(|(k, v)| format!("{k}: {v:?}"));
    let status = r.status().as_u16();
    let body = body_text(r.into_body());
    (status, last.unwrap_or_default(), body)
}

#[test]
fn tokens_are_read_trimmed_and_short_ones_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("token");
    std::fs::write(&file, "fifteen-chars-x\n").expect("write");
    let e = AdminToken::read(&file).expect_err("too short");
    assert!(matches!(e, TokenError::TooShort { .. }));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the admin token must be at least 16 characters",
            file.display()
        )
    );
    let missing = dir.path().join("missing");
    let e = AdminToken::read(&missing).expect_err("no file");
    assert!(e.to_string().starts_with(&format!(
        "{}: cannot read the admin token: ",
        missing.display()
    )));
    std::fs::write(&file, "\t sixteen-chars-xx \n").expect("write");
    let token = AdminToken::read(&file).expect("16 characters");
    assert!(token.matches(b"sixteen-chars-xx"));
    for wrong in [
        &b"sixteen-chars-xy"[..],
        b"sixteen-chars-x",
        b"sixteen-chars-xxx",
        b"",
    ] {
        assert!(!token.matches(wrong), "{wrong:?}");
    }
    assert_eq!(format!("{token:?}"), "AdminToken(…)");
}

#[test]
fn actions_need_the_token_and_a_configured_one() {
    let s = with_token();
    let refused = "a valid bearer token is required\n";
    for auth in [None, Some("Bearer wrong-token-of-same-size"), Some(TOKEN)] {
        let (status, last, body) = ask(&s, Method::POST, "/sites/a/drain", auth);
        assert_eq!(
            (status, last.as_str(), body.as_str()),
            (401, "www-authenticate: \"Bearer\"", refused)
        );
    }
    let bearer = format!("Bearer {TOKEN}");
    let (status, _, body) = ask(&s, Method::POST, "/sites/a/drain", Some(&bearer));
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"site\":\"a\",\"state\":\"draining\"}\n")
    );
    let without = state(&two_sites(""), &[]);
    let (status, _, body) = ask(&without, Method::POST, "/reload", Some(&bearer));
    let disabled = "admin actions are disabled (start with --admin-token-file)\n";
    assert_eq!((status, body.as_str()), (403, disabled));
}

#[test]
fn site_actions_change_the_state_in_force_until_reset() {
    let s = with_token();
    let bearer = format!("Bearer {TOKEN}");
    let act = |path: &str| ask(&s, Method::POST, path, Some(&bearer));
    let state_of_a = || s.current().view.0.state(SiteId(0), SiteState::Active);
    assert_eq!(act("/sites/a/disable").0, 200);
    assert_eq!(state_of_a(), SiteState::Disabled);
    assert_eq!(
        act("/sites/a/reset").2,
        "{\"site\":\"a\",\"state\":\"active\"}\n"
    );
    assert_eq!(state_of_a(), SiteState::Active);
    for (path, body) in [
        ("/sites/paris/drain", "no site is named \"paris\"\n"),
        (
            "/sites/a/bogus",
            "unknown action \"bogus\" (drain, disable, activate, reset)\n",
        ),
        ("/sites/a", "expected /sites/NAME/ACTION\n"),
        ("/sites/a/drain/now", "expected /sites/NAME/ACTION\n"),
    ] {
        assert_eq!((act(path).0, act(path).2.as_str()), (404, body), "{path}");
    }
    let (status, _, body) = ask(&s, Method::GET, "/nothing", None);
    assert_eq!(status, 404);
    assert!(body.starts_with("not found (admin: GET /metrics, GET /status, POST /reload"));
}

#[test]
fn a_reload_request_wakes_the_reload_loop() {
    let s = with_token();
    let bearer = format!("Bearer {TOKEN}");
    let (status, _, body) = ask(&s, Method::POST, "/reload", Some(&bearer));
    let accepted = "{\"outcome\":\"GET /status: last_reload\",\"reload\":\"requested\"}\n";
    assert_eq!((status, body.as_str()), (202, accepted));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let woken = runtime.block_on(async {
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            s.reload_requested.notified(),
        )
        .await
    });
    assert!(woken.is_ok(), "the permit was stored for the loop");
}

#[test]
fn status_shows_every_site_and_the_last_reload() {
    let s = state(&two_sites(""), &[]);
    let site = |name: &str| {
        format!("{{\"estimate_mbps\":0.0,\"load_mbps\":0.0,\"polled_mbps\":0.0,\"site\":\"{name}\",\"state\":\"active\",\"up\":true}}")
    };
    let (status, _, body) = ask(&s, Method::GET, "/status", None);
    let expected = format!(
        "{{\"last_reload\":null,\"sites\":[{},{}]}}\n",
        site("a"),
        site("b")
    );
    assert_eq!((status, body), (200, expected));
    s.reloaded(1_700_000_000_000, Err("test.toml:1:1: broken".into()));
    let (_, _, body) = ask(&s, Method::GET, "/status", None);
    assert!(body.starts_with("{\"last_reload\":{\"at_ms\":1700000000000,\"error\":\"test.toml:1:1: broken\",\"installed\":false},"), "{body}");
}
