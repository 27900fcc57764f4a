//! What the whole-binary tests of `routecast simulate` share: the example
//! platform, a run that must succeed, and reading `summary.json` back.
//! Included by tests/simulate.rs, tests/simulate_bounds.rs and
//! tests/simulate_hosts.rs.

use std::path::Path;
use std::process::Output;

/// The repository's example platform (`examples/routecast.toml`).
pub fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/routecast.toml")
        .display()
        .to_string()
}

/// `o`, after checking that it exited 0 (else its status and stderr).
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The `summary.json` a run wrote into `out`.
pub fn summary(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Bytes of every `kind` (`sites` or `groups`) of a summary, summed.
pub fn total(summary: &serde_json::Value, kind: &str) -> u64 {
    summary["summary"][kind]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["bytes"].as_u64().expect("bytes"))
        .sum()
}
