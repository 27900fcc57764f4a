//! Configuration reloads: on SIGHUP, on file change and on `POST /reload`;
//! a broken configuration is refused and the running one stays.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{
    body, example_in, get, header, launch, launch_logged, logged, post, status, within,
};

#[test]
fn configuration_reloads_on_sighup_and_on_change_and_bad_ones_are_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("routecast.toml");
    let example = std::fs::read_to_string(root.join("examples/routecast.toml"))
        .expect("example")
        .replace(
            "../tests/fixtures",
            &root.join("tests/fixtures").display().to_string(),
        );
    std::fs::copy(root.join("examples/czf.json"), dir.path().join("czf.json")).expect("czf");
    std::fs::write(&config, &example).expect("write");
    let (s, log) = launch_logged(&config, &["--trusted-proxy", "127.0.0.0/8"]);
    let addr = s.addr;
    let pid = s.child.id().to_string();
    let uk = || {
        header(
            &get(addr, "/live/a/seg1.ts", "X-Forwarded-For: 81.2.69.142\r\n"),
            "x-routecast-site",
        )
        .map(str::to_string)
    };
    let hup = || {
        assert!(Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill runs")
            .success())
    };
    assert_eq!(uk().as_deref(), Some("lon"));
    // SIGHUP with a new preference: the UK now goes to ams.
    std::fs::write(
        &config,
        example.replace(
            "sites = [\"lon\", \"ams\"] }",
            "sites = [\"ams\", \"lon\"] }",
        ),
    )
    .expect("write");
    hup();
    within(Duration::from_secs(5), || uk().as_deref() == Some("ams")).expect("reloaded on SIGHUP");
    // A broken configuration is refused, loudly, and the running one stays.
    std::fs::write(
        &config,
        example.replace(
            "sites = [\"lon\", \"ams\"] }",
            "sites = [\"ams\", \"paris\"] }",
        ),
    )
    .expect("write");
    hup();
    within(Duration::from_secs(5), || {
        logged(&log, "reload rejected").is_some()
    })
    .expect("rejection logged");
    assert!(logged(&log, "preference names no site \"paris\"").is_some());
    for _ in 0..20 {
        assert_eq!(
            uk().as_deref(),
            Some("ams"),
            "no failed request while a bad configuration is pushed"
        );
    }
    // Without a signal, a changed file is picked up within a few seconds.
    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    std::fs::write(&config, &example).expect("write");
    within(Duration::from_secs(8), || uk().as_deref() == Some("lon")).expect("reloaded on change");
    drop(s);
}

#[test]
fn post_reload_reloads_the_configuration_and_status_reports_the_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example_in(dir.path(), "http://127.0.0.1:9");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "reload-token-for-tests\n").expect("write token");
    let (s, admin) = launch(
        &config,
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--admin-token-file",
            token_file.to_str().expect("utf-8"),
        ],
        true,
    );
    let admin = admin.expect("admin listener");
    let uk = || {
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
    let original = std::fs::read_to_string(&config).expect("config");
    let modified = std::fs::metadata(&config)
        .and_then(|m| m.modified())
        .expect("mtime");
    // Rewrite the file but keep its mtime: only POST /reload can notice.
    let rewrite = |text: &str| {
        std::fs::write(&config, text).expect("write");
        let f = std::fs::File::options()
            .write(true)
            .open(&config)
            .expect("open");
        f.set_modified(modified).expect("set mtime");
    };
    let last_reload = || -> serde_json::Value {
        let r = get(admin, "/status", "");
        serde_json::from_str::<serde_json::Value>(body(&r)).expect("status JSON")["last_reload"]
            .clone()
    };
    assert_eq!(uk().as_deref(), Some("lon"));
    assert!(last_reload().is_null());
    // Without the token: refused, nothing happens.
    assert_eq!(status(&post(admin, "/reload", None)), 401);
    // A broken configuration: refused, with its place; traffic unchanged.
    rewrite(&format!("{original}\n[[sites]]\nname = 42\n"));
    assert_eq!(
        status(&post(admin, "/reload", Some("reload-token-for-tests"))),
        202
    );
    let refused = within(Duration::from_secs(5), || {
        last_reload()["installed"] == false
    });
    assert!(refused.is_some(), "{:?}", last_reload());
    let error = last_reload()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("routecast.toml:"), "{error}");
    assert_eq!(uk().as_deref(), Some("lon"));
    // A good one: installed.
    rewrite(&original.replace(
        "sites = [\"lon\", \"ams\"] }",
        "sites = [\"ams\", \"lon\"] }",
    ));
    assert_eq!(
        status(&post(admin, "/reload", Some("reload-token-for-tests"))),
        202
    );
    let installed = within(Duration::from_secs(5), || {
        last_reload()["installed"] == true
    });
    assert!(installed.is_some(), "{:?}", last_reload());
    assert_eq!(uk().as_deref(), Some("ams"));
}
