//! Health checks: sites leave rotation and come back within their check's
//! timing, the event is logged, and no request fails while it happens
//! under load.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::{
    get, header, launch_logged, logged, site_of, start_checked, status, upstream, within,
};

#[test]
fn a_failing_site_leaves_rotation_at_its_fall_th_failed_check_and_comes_back_at_its_rise_th() {
    use std::sync::atomic::Ordering;
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _admin) = start_checked(&a, &b, dir.path());
    assert_eq!(site_of(&s), "a");
    // The server's own cadence is the clock: checks of a site run one after
    // the other, so when a's endpoint answers its third failing check
    // (fall = 2), the second has been counted, and every request sent from
    // then on goes to b, however loaded the machine. The exact timing (out
    // at the fall-th failing check, interval × fall after the failure) is
    // tested on paused time in routecast-server's health tests; here the
    // wall clock only reports it.
    let flipped = std::time::Instant::now();
    a.healthy.store(false, Ordering::Relaxed);
    let counted = a
        .nth_answer(flipped, false, 3, Duration::from_secs(10))
        .expect("a's checks go on");
    let out = counted - flipped;
    assert_eq!(
        site_of(&s),
        "b",
        "a left rotation at its second failed check"
    );
    assert_eq!(
        status(&get(s.addr, "/live/x", "")),
        302,
        "b still serves: no 5xx"
    );
    let flipped = std::time::Instant::now();
    a.healthy.store(true, Ordering::Relaxed);
    let counted = a
        .nth_answer(flipped, true, 3, Duration::from_secs(10))
        .expect("a's checks go on");
    let back = counted - flipped;
    assert_eq!(site_of(&s), "a", "a came back at its second passed check");
    eprintln!("site a out of rotation within {out:?}, back within {back:?} (3 checks of 200 ms)");
    // Both down: no site, 503 (never a redirect to a dead site).
    a.healthy.store(false, Ordering::Relaxed);
    b.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || {
        status(&get(s.addr, "/live/x", "")) == 503
    })
    .expect("503 when every site is down");
}

#[test]
fn a_site_going_down_is_logged_as_structured_json() {
    let a = upstream();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("checked.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[sites]]
name = "a"
urls = ["http://a.example.net"]
location = {{ lat = 52.37, lon = 4.90 }}
health = {{ url = "http://{}/health", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 2 }}

[[sites]]
name = "b"
urls = ["http://b.example.net"]
location = {{ lat = 50.11, lon = 8.68 }}

[[policies]]
name = "nearest"
steps = [{{ step = "available" }}, {{ step = "closest" }}]
"#,
            a.addr
        ),
    )
    .expect("write");
    let (s, log) = launch_logged(&config, &["--log-format", "json"]);
    a.healthy.store(false, std::sync::atomic::Ordering::Relaxed);
    let down = within(Duration::from_secs(5), || {
        logged(&log, "site down").is_some()
    });
    drop(s);
    assert!(
        down.is_some(),
        "no 'site down' event: {:?}",
        log.lock().map(|v| v.clone())
    );
    let line = logged(&log, "site down").expect("found");
    let event: serde_json::Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(event["level"], "WARN");
    assert_eq!(event["fields"]["site"], "a");
    assert!(
        event["fields"]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/health"),
        "{event}"
    );
}

/// One keep-alive client sending `GET /live/x` in a loop until `stop`:
/// (microseconds since `t0` when the request was sent, status, site) per
/// answer, and IO failures.
fn load_client(
    addr: SocketAddr,
    t0: std::time::Instant,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (Vec<(u128, u16, String)>, u64) {
    use std::io::{Read, Write};
    let (mut seen, mut failures) = (Vec::new(), 0u64);
    'connect: while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(c) = std::net::TcpStream::connect(addr) else {
            failures += 1;
            continue;
        };
        let mut w = c.try_clone().expect("clone");
        let mut r = BufReader::new(c);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let sent = t0.elapsed().as_micros();
            if w.write_all(b"GET /live/x HTTP/1.1\r\nHost: load\r\n\r\n")
                .is_err()
            {
                failures += 1;
                continue 'connect;
            }
            let (mut head, mut line) = (String::new(), String::new());
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        failures += 1;
                        continue 'connect;
                    }
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push_str(&line),
                }
            }
            let length = header(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if r.read_exact(&mut body).is_err() {
                failures += 1;
                continue 'connect;
            }
            let site = header(&head, "x-routecast-site").unwrap_or("").to_string();
            seen.push((sent, status(&head), site));
        }
    }
    (seen, failures)
}

#[test]
fn under_load_a_site_going_down_and_a_bad_configuration_fail_no_request() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_checked(&a, &b, dir.path());
    let config = dir.path().join("checked.toml");
    assert_eq!(site_of(&s), "a");
    let t0 = std::time::Instant::now();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            let addr = s.addr;
            std::thread::spawn(move || load_client(addr, t0, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let down_at = std::time::Instant::now();
    a.healthy.store(false, Ordering::Relaxed);
    // Out of rotation once its third failing check is answered (see
    // `a_failing_site_leaves_rotation_at_its_fall_th_failed_check_...`): the server's cadence, not the
    // wall clock, says when.
    let counted = a
        .nth_answer(down_at, false, 3, Duration::from_secs(10))
        .expect("a's checks go on");
    let (down_at, counted) = ((down_at - t0).as_micros(), (counted - t0).as_micros());
    std::thread::sleep(Duration::from_millis(1000));
    // An invalid configuration pushed while serving (the file watcher finds
    // it within 2 s and refuses it).
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{good}\n[[sites]]\nname = 7\n")).expect("write");
    std::thread::sleep(Duration::from_millis(3000));
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    let mut failures = 0;
    for c in clients {
        let (seen, failed) = c.join().expect("client");
        answers.extend(seen);
        failures += failed;
    }
    assert_eq!(failures, 0, "failed requests");
    assert!(answers.len() > 1_000, "only {} requests", answers.len());
    let not_302: Vec<_> = answers.iter().filter(|a| a.1 != 302).collect();
    assert!(
        not_302.is_empty(),
        "{} answers were not 302: {:?}",
        not_302.len(),
        &not_302[..not_302.len().min(5)]
    );
    // Every request sent after a's third failing check was answered went to b.
    let late: Vec<_> = answers
        .iter()
        .filter(|x| x.0 > counted && x.2 == "a")
        .collect();
    assert!(
        late.is_empty(),
        "{} requests sent after a's second failed check was counted still went to a: {:?}",
        late.len(),
        &late[..late.len().min(5)]
    );
    assert!(answers.iter().any(|x| x.0 > counted && x.2 == "b"));
    // The bad configuration was seen and refused: the server still routes
    // with the good one.
    let metrics = get(admin, "/metrics", "");
    assert!(
        metrics.contains("routecast_reloads_total{result=\"rejected\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("reload"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(site_of(&s), "b");
    eprintln!(
        "{} requests in {:.1} s under load, 0 failed, 0 non-302; site a out of rotation after {} ms",
        answers.len(),
        t0.elapsed().as_secs_f64(),
        (answers.iter().filter(|x| x.2 == "b" && x.0 > down_at).map(|x| x.0).min().unwrap_or(down_at) - down_at) / 1000
    );
}

#[test]
fn under_load_ten_reloads_keep_a_down_site_out_of_rotation() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_checked(&a, &b, dir.path());
    let config = dir.path().join("checked.toml");
    let pid = s.child.id().to_string();
    let accepted = |n: usize| {
        get(admin, "/metrics", "").contains(&format!(
            "routecast_reloads_total{{result=\"accepted\"}} {n}"
        ))
    };
    a.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || site_of(&s) == "b").expect("a leaves rotation");
    let t0 = std::time::Instant::now();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            let addr = s.addr;
            std::thread::spawn(move || load_client(addr, t0, stop))
        })
        .collect();
    // Ten valid reloads (SIGHUP), 300 ms apart (under interval × fall = 400
    // ms: a reload that forgot health would send requests to a for that
    // long), then an invalid configuration (refused).
    for n in 1..=10 {
        std::thread::sleep(Duration::from_millis(300));
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status();
        assert!(hup.expect("kill runs").success());
        within(Duration::from_secs(5), || accepted(n)).expect("reloaded");
    }
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{good}\n[[sites]]\nname = 7\n")).expect("write");
    within(Duration::from_secs(5), || {
        get(admin, "/metrics", "").contains("routecast_reloads_total{result=\"rejected\"} 1")
    })
    .expect("refused");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (mut answers, mut failures) = (Vec::new(), 0);
    for c in clients {
        let (seen, failed) = c.join().expect("client");
        answers.extend(seen);
        failures += failed;
    }
    let to = |site: &str| answers.iter().filter(|x| x.2 == site).count();
    let not_302 = answers.iter().filter(|x| x.1 != 302).count();
    eprintln!(
        "{} requests in {:.1} s across 10 reloads and a refused one: {failures} failed, {not_302} non-302, {} to the down site",
        answers.len(),
        t0.elapsed().as_secs_f64(),
        to("a")
    );
    assert_eq!((failures, not_302, to("a")), (0, 0, 0));
    assert!(answers.len() > 1_000, "only {} requests", answers.len());
    assert_eq!(to("b"), answers.len());
}
