//! HLS Content Steering manifests for a client and the platform's load.

use crate::support::{get, header, start, status};

#[test]
fn steering_manifests_rank_pathways_for_the_client_and_the_load() {
    let s = start(&["--trusted-proxy", "127.0.0.0/8", "--steering-ttl", "30"]);
    let r = get(
        s.addr,
        "/.steering/live/news/master.m3u8?_HLS_pathway=ams&_HLS_throughput=5000000",
        "X-Forwarded-For: 81.2.69.142\r\n",
    );
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    let m: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(m["VERSION"], 1);
    assert_eq!(m["TTL"], 30);
    assert_eq!(m["RELOAD-URI"], "/.steering/live/news/master.m3u8");
    let pathways: Vec<&str> = m["PATHWAY-PRIORITY"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    // The UK client under uk-live: lon, then ams, then by price; all sites serve /live/.
    assert_eq!(pathways.first(), Some(&"lon"));
    assert_eq!(pathways.get(1), Some(&"ams"));
    assert_eq!(pathways.len(), 7);
    // The draining site comes last.
    assert_eq!(pathways.last(), Some(&"gru"));
}
