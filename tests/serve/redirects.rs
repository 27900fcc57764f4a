//! Redirects: a configured site's URL with the request's path and query,
//! read raw and by a real client (curl).

use std::process::Command;

use crate::support::{get, header, start, status, SITES};

#[test]
fn redirects_to_a_configured_site_with_the_path_and_query() {
    let s = start(&[]);
    let r = get(s.addr, "/vod/news/720p/index.m3u8?token=abc", "");
    assert_eq!(status(&r), 302, "{r}");
    let location = header(&r, "location").expect("Location");
    let site = header(&r, "x-routecast-site").expect("site header");
    assert!(SITES.contains(&site));
    assert_eq!(
        location,
        format!("https://{site}.cdn.example.net/vod/news/720p/index.m3u8?token=abc")
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(status(&get(s.addr, "/healthz", "")), 200);
}

#[test]
fn curl_gets_the_redirect() {
    let s = start(&[]);
    let url = format!("http://{}/vod/films/title001/720p.mp4", s.addr);
    let o = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &url,
        ])
        .output()
        .expect("curl runs (scripts/test installs Debian's curl)");
    let out = String::from_utf8_lossy(&o.stdout);
    let (code, to) = out.split_once(' ').expect("code and URL");
    assert_eq!(code, "302");
    assert!(SITES.iter().any(|site| to == format!("https://{site}.cdn.example.net/vod/films/title001/720p.mp4")), "{to}");
}

#[test]
fn a_path_no_site_serves_is_404_and_503_stays_for_sites_that_cannot_take_it() {
    // The example's sites serve only /live/ and /vod/.
    let s = start(&[]);
    for target in ["/other/x.mp4", "/", "/livestream/x"] {
        let r = get(s.addr, target, "");
        assert_eq!(status(&r), 404, "{target}: {r}");
        assert!(header(&r, "location").is_none(), "{r}");
    }
    let j = get(s.addr, "/other/x.mp4?format=json", "");
    assert_eq!(status(&j), 404, "{j}");
    assert_eq!(header(&j, "content-type"), Some("application/json"));
    // A site that serves /live/ but is disabled: 503 for /live/, 404 for /vod/.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("disabled.toml");
    std::fs::write(
        &config,
        "[[sites]]\nname = \"a\"\nurls = [\"https://a.example.net\"]\nlocation = { lat = 0, lon = 0 }\n\
         content = [\"/live/\"]\nstate = \"disabled\"\n\n\
         [[policies]]\nname = \"p\"\nsteps = [{ step = \"serves_content\" }, { step = \"closest\" }]\n",
    )
    .expect("write config");
    let (s, _) = crate::support::launch(&config, &[], false);
    assert_eq!(status(&get(s.addr, "/live/x.ts", "")), 503);
    assert_eq!(status(&get(s.addr, "/vod/x.mp4", "")), 404);
}
