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
