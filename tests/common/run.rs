//! Running outside programs from whole-binary tests: a tool that must be
//! installed, `routecast segment --serve` and the port it bound, and
//! waiting for a condition. Shared by tests/segment.rs and
//! tests/segment_origin.rs.

use std::io::{BufRead, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a tool that must be installed; panics with its stderr on failure.
pub fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `cmd` (a `routecast segment … --serve 127.0.0.1:0`) and reads
/// the port its origin bound from the first line it prints; the rest of its
/// standard error is read on and returned by the thread.
pub fn serving(cmd: &mut Command) -> (Child, u16, std::thread::JoinHandle<String>) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().expect("routecast runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("stderr");
    let port = first
        .strip_prefix("routecast segment: serving http://127.0.0.1:")
        .or_else(|| first.strip_prefix("routecast segment: serving https://127.0.0.1:"))
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address served on: {first:?}"));
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    (child, port, rest)
}

/// Calls `f` every 100 ms until it answers, for at most `seconds`.
pub fn within<T>(seconds: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
