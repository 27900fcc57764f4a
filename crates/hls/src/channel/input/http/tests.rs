use super::*;
use crate::channel::input::InputNotice;
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Reads a request head to its end (closing a socket with unread request
/// bytes resets the connection, which can discard the response).
fn read_request(s: &mut std::net::TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
}

/// A server that answers each connection with `bodies[n]` (chunked when
/// asked), then closes it; counts connections.
fn server(bodies: Vec<(Vec<u8>, bool)>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for (stream, (body, chunked)) in listener.incoming().zip(bodies) {
            let Ok(mut s) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            read_request(&mut s);
            if chunked {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                for c in body.chunks(1000) {
                    let _ = write!(s, "{:x}\r\n", c.len());
                    let _ = s.write_all(c);
                    let _ = s.write_all(b"\r\n");
                }
                let _ = s.write_all(b"0\r\n\r\n");
            } else {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            }
        }
    });
    (port, count)
}

fn local(port: u16, path: &str) -> HttpUrl {
    HttpUrl {
        host: "127.0.0.1".into(),
        port,
        path: path.into(),
    }
}

#[test]
fn an_http_stream_reconnects_when_the_server_closes_and_reads_chunked_bodies() {
    let a: Vec<u8> = (0..5_000u32).map(|i| i as u8).collect();
    let b: Vec<u8> = (0..3_000u32).map(|i| (i * 7) as u8).collect();
    let (port, connections) = server(vec![(a.clone(), false), (b.clone(), true)]);
    let mut s = HttpStream::new(local(port, "/live.ts")).expect("runtime");
    let reconnects = s.reconnects();
    let mut got = vec![0u8; a.len() + b.len()];
    s.read_exact(&mut got)
        .expect("both bodies, one after the other");
    assert_eq!(&got[..a.len()], &a[..]);
    assert_eq!(&got[a.len()..], &b[..], "the chunked body, decoded");
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert!(reconnects.load(Ordering::Relaxed) >= 1);
}

#[test]
fn reads_smaller_than_what_came_take_it_in_pieces() {
    let body: Vec<u8> = (0..1_000u32).map(|i| (i * 13) as u8).collect();
    let (port, _) = server(vec![(body.clone(), false)]);
    let mut s = HttpStream::new(local(port, "/live.ts")).expect("runtime");
    let mut got = Vec::new();
    let mut buf = [0u8; 7];
    while got.len() < body.len() {
        let n = s.read(&mut buf).expect("never fails");
        assert!((1..=7).contains(&n), "{n}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, body);
    assert_eq!(
        s.read(&mut []).expect("empty"),
        0,
        "an empty buffer reads 0"
    );
    assert_eq!(s.reconnects().load(Ordering::Relaxed), 0);
}

/// How the scripted server answers a connection, once its request head
/// is read.
enum Answer {
    /// Close without a word.
    Close,
    /// These bytes, then close.
    Send(&'static [u8]),
    /// These bytes, then silence on the open connection.
    SendAndHold(&'static [u8]),
    /// A 200 without length, then this chunk at once and every second,
    /// this many times in all, then close.
    Trickle(&'static [u8], u32),
}

/// Serves `answers`, one connection each, on a loopback port of the test's
/// runtime (on paused time, bytes written are there at once); tells when
/// each connection came, in milliseconds since the call.
async fn script(answers: Vec<Answer>) -> (HttpUrl, mpsc::UnboundedReceiver<u128>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = local(listener.local_addr().expect("addr").port(), "/live.ts");
    let (times, came) = mpsc::unbounded_channel();
    let start = Instant::now();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let _ = times.send(start.elapsed().as_millis());
            tokio::spawn(respond(socket, answer));
        }
    });
    (url, came)
}

/// Reads the request head, then answers.
async fn respond(mut socket: tokio::net::TcpStream, answer: Answer) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match answer {
        Answer::Close => {}
        Answer::Send(bytes) => {
            let _ = socket.write_all(bytes).await;
        }
        Answer::SendAndHold(bytes) => {
            let _ = socket.write_all(bytes).await;
            std::future::pending::<()>().await;
        }
        Answer::Trickle(chunk, times) => {
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            for i in 0..times {
                if i > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let _ = socket.write_all(chunk).await;
            }
        }
    }
}

/// Every time sent so far.
fn drain(came: &mut mpsc::UnboundedReceiver<u128>) -> Vec<u128> {
    std::iter::from_fn(|| came.try_recv().ok()).collect()
}

#[test]
fn the_default_timings_are_5_s_idle_and_a_back_off_of_0_25_to_10_s() {
    assert_eq!(
        StreamTimings::default(),
        StreamTimings {
            idle: Duration::from_secs(5),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            give_up_after: None,
        }
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_back_off_from_0_25_s_doubling_to_10_s_and_a_short_answer_does_not_reset_it() {
    let mut answers: Vec<Answer> = (0..9).map(|_| Answer::Close).collect();
    answers.push(Answer::Send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nG\x01\x02\x03",
    ));
    answers.push(Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nG\x04\x05\x06"));
    let (url, mut came) = script(answers).await;
    let mut live = LiveBody::new(&url, StreamTimings::default(), NoticeSink::ignore());
    assert_eq!(&live.next().await.expect("data")[..], b"G\x01\x02\x03");
    assert_eq!(&live.next().await.expect("data")[..], b"G\x04\x05\x06");
    // Waits of 0.25, 0.5, 1, 2, 4, 8, 10, 10 and 10 s; then the body
    // that came and ended at once: still 10 s (a source that answers a
    // few bytes and closes is not retried every 0.25 s; until this
    // change it was, 8 log lines a second).
    assert_eq!(
        drain(&mut came),
        [0, 250, 750, 1_750, 3_750, 7_750, 15_750, 25_750, 35_750, 45_750, 55_750]
    );
    assert_eq!(live.reconnects().load(Ordering::Relaxed), 10);
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_gave_data_for_the_longest_wait_resets_the_back_off() {
    let (url, mut came) = script(vec![
        Answer::Close,
        Answer::Close,
        Answer::Close,
        // A chunk at once and every second for 10 s, then the close.
        Answer::Trickle(b"G\x01\x02\x03", 11),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nG\x04\x05\x06"),
    ])
    .await;
    let mut live = LiveBody::new(&url, StreamTimings::default(), NoticeSink::ignore());
    for _ in 0..11 {
        assert_eq!(&live.next().await.expect("data")[..], b"G\x01\x02\x03");
    }
    assert_eq!(&live.next().await.expect("data")[..], b"G\x04\x05\x06");
    // Waits of 0.25, 0.5 and 1 s; the stream then ran 10 s: 0.25 s again
    // (not 2 s).
    assert_eq!(drain(&mut came), [0, 250, 750, 1_750, 12_000]);
}

#[tokio::test(start_paused = true)]
async fn a_silent_stream_is_reopened_after_the_idle_limit() {
    let (url, mut came) = script(vec![
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\nabc"),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\ndef"),
    ])
    .await;
    let mut live = LiveBody::new(&url, StreamTimings::default(), NoticeSink::ignore());
    assert_eq!(&live.next().await.expect("data")[..], b"abc");
    assert_eq!(&live.next().await.expect("data")[..], b"def");
    // 5 s of silence, then the shortest wait (data reset the back-off).
    assert_eq!(drain(&mut came), [0, 5_250]);
    assert_eq!(live.reconnects().load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_head_and_an_answer_other_than_200_are_retried() {
    let (url, mut came) = script(vec![
        Answer::SendAndHold(b""),
        Answer::Send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone"),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nok"),
    ])
    .await;
    let mut live = LiveBody::new(&url, StreamTimings::default(), NoticeSink::ignore());
    assert_eq!(&live.next().await.expect("data")[..], b"ok");
    assert_eq!(drain(&mut came), [0, 5_250, 5_750]);
    assert_eq!(live.reconnects().load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_until_the_server_comes() {
    // Nothing listens yet: the stream waits, then finds the server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut live = LiveBody::new(
        &local(port, "/"),
        StreamTimings::default(),
        NoticeSink::ignore(),
    );
    let reconnects = live.reconnects();
    let start = Instant::now();
    let late_server = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        // Refused at 0 and at 0.25 s; the next attempt is due at 0.75 s.
        assert_eq!(
            reconnects.load(Ordering::Relaxed),
            2,
            "retried while refused"
        );
        let late = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("rebind");
        let (socket, _) = late.accept().await.expect("the stream comes back");
        respond(
            socket,
            Answer::SendAndHold(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nG\x01\x02\x03"),
        )
        .await;
    };
    let got = tokio::select! {
        got = live.next() => got.expect("data"),
        () = late_server => unreachable!("the server holds its connection"),
    };
    assert_eq!(&got[..], b"G\x01\x02\x03");
    assert_eq!(start.elapsed(), Duration::from_millis(750));
}

// Redirects: resolution (RFC 3986 §5.4's examples are the oracle for the
// relative forms), the limit and loops.

#[test]
fn a_location_is_resolved_against_the_url_that_answered() {
    let mut chain = redirect::RedirectChain::new("http://a:8080/b/c/d;p?q");
    // RFC 3986 §5.4.1: "g" -> http://a/b/c/g, "../g" -> http://a/b/g,
    // "/g" -> http://a/g, "?y" -> http://a/b/c/d;p?y; "//g" is another host.
    assert_eq!(chain.follow(302, "g"), Ok("http://a:8080/b/c/g"));
    assert_eq!(chain.follow(301, "../g2"), Ok("http://a:8080/b/g2"));
    assert_eq!(chain.follow(307, "/g3#frag"), Ok("http://a:8080/g3"));
    assert_eq!(chain.follow(308, "?y"), Ok("http://a:8080/g3?y"));
    assert_eq!(
        chain.follow(303, "//other:81/live.ts"),
        Ok("http://other:81/live.ts")
    );
    assert_eq!(chain.redirects(), 5);
}

#[test]
fn a_redirect_out_of_plain_http_or_to_no_url_is_refused_by_name() {
    let mut chain = redirect::RedirectChain::new("http://a/live.ts");
    let e = chain.follow(302, "https://b/live.ts").expect_err("https");
    assert_eq!(
        e.to_string(),
        "http://a/live.ts redirected (302) to https://b/live.ts: only http:// is supported (no TLS)"
    );
    let e = chain.follow(301, "http://[::1/x").expect_err("no URL");
    assert!(
        e.to_string()
            .starts_with("http://a/live.ts redirected (301) to \"http://[::1/x\", which is no URL"),
        "{e}"
    );
    assert_eq!(chain.current(), "http://a/live.ts", "nothing followed");
}

#[test]
fn a_redirect_back_to_a_url_already_asked_is_a_loop_naming_the_chain() {
    let mut chain = redirect::RedirectChain::new("http://a:80/x");
    assert_eq!(chain.follow(302, "/y"), Ok("http://a/y"));
    let e = chain.follow(302, "http://a/x").expect_err("loop");
    assert_eq!(
        e.to_string(),
        "redirect loop: http://a:80/x -> http://a/y -> http://a/x"
    );
}

#[test]
fn ten_redirects_are_followed_and_the_eleventh_is_refused() {
    assert_eq!(redirect::MAX_REDIRECTS, 10);
    let mut chain = redirect::RedirectChain::new("http://a/0");
    for i in 1..=10 {
        let next = format!("http://a/{i}");
        assert_eq!(chain.follow(302, &format!("/{i}")), Ok(next.as_str()));
    }
    let e = chain.follow(302, "/11").expect_err("too many");
    let chain: Vec<String> = (0..=11).map(|i| format!("http://a/{i}")).collect();
    assert_eq!(
        e.to_string(),
        format!("more than 10 redirects: {}", chain.join(" -> "))
    );
}

/// A sink that keeps the notices, and what it kept so far.
fn kept() -> (NoticeSink, impl Fn() -> Vec<InputNotice>) {
    let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = notices.clone();
    let sink = NoticeSink::new(move |n| keep.lock().expect("lock").push(n));
    (sink, move || {
        std::mem::take(&mut *notices.lock().expect("lock"))
    })
}

#[tokio::test(start_paused = true)]
async fn redirects_301_then_302_lead_to_the_stream_and_the_connection_is_told() {
    let (url, mut came) = script(vec![
        Answer::Send(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /moved.ts\r\nContent-Length: 0\r\n\r\n",
        ),
        Answer::Send(b"HTTP/1.1 302 Found\r\nLocation: live2.ts?x=1\r\nContent-Length: 0\r\n\r\n"),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nG\x01\x02\x03"),
    ])
    .await;
    let (sink, notices) = kept();
    let mut live = LiveBody::new(&url, StreamTimings::default(), sink);
    assert_eq!(&live.next().await.expect("data")[..], b"G\x01\x02\x03");
    assert_eq!(
        drain(&mut came),
        [0, 0, 0],
        "redirects are followed at once"
    );
    let port = url.port;
    assert_eq!(
        notices(),
        [InputNotice::Connected {
            url: format!("http://127.0.0.1:{port}/live2.ts?x=1"),
            retries: 0,
            down: Duration::ZERO,
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn a_redirect_loop_is_a_failed_attempt_naming_the_chain_then_retried() {
    let (url, mut came) = script(vec![
        Answer::Send(b"HTTP/1.1 302 Found\r\nLocation: /b.ts\r\nContent-Length: 0\r\n\r\n"),
        Answer::Send(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /live.ts\r\nContent-Length: 0\r\n\r\n",
        ),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nok"),
    ])
    .await;
    let (sink, notices) = kept();
    let mut live = LiveBody::new(&url, StreamTimings::default(), sink);
    assert_eq!(&live.next().await.expect("data")[..], b"ok");
    assert_eq!(drain(&mut came), [0, 0, 250]);
    let base = format!("http://127.0.0.1:{}", url.port);
    assert_eq!(
        notices(),
        [
            InputNotice::Failed {
                url: format!("{base}/b.ts"),
                status: None,
                error: format!("redirect loop: {base}/live.ts -> {base}/b.ts -> {base}/live.ts"),
                retry_in: Duration::from_millis(250),
            },
            InputNotice::Connected {
                url: format!("{base}/live.ts"),
                retries: 1,
                down: Duration::from_millis(250),
            }
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn each_failure_is_told_with_its_status_and_the_next_retry_and_the_outage_at_reconnection() {
    let (url, _came) = script(vec![
        Answer::Send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone"),
        Answer::Send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"),
        Answer::Close,
        Answer::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nmore"),
    ])
    .await;
    let (sink, notices) = kept();
    let mut live = LiveBody::new(&url, StreamTimings::default(), sink);
    assert_eq!(&live.next().await.expect("data")[..], b"ok");
    let told = notices();
    let u = url.with_port();
    let failed = |status, error: &str, ms| InputNotice::Failed {
        url: u.clone(),
        status,
        error: error.into(),
        retry_in: Duration::from_millis(ms),
    };
    assert_eq!(told[0], failed(Some(404), "HTTP status 404", 250));
    assert_eq!(told[1], failed(Some(500), "HTTP status 500", 500));
    assert!(
        matches!(&told[2], InputNotice::Failed { status: None, retry_in, error, .. }
            if *retry_in == Duration::from_millis(1_000) && error.starts_with("HTTP exchange failed")),
        "{told:?}"
    );
    let connected = |retries, ms| InputNotice::Connected {
        url: u.clone(),
        retries,
        down: Duration::from_millis(ms),
    };
    assert_eq!(told[3], connected(3, 1_750));
    assert_eq!(told.len(), 4);
    // The body ends: told, and the next connection is after one retry;
    // the answer was short, so the back-off went on (2 s).
    assert_eq!(&live.next().await.expect("data")[..], b"more");
    assert_eq!(
        notices(),
        [failed(None, "the stream ended", 2_000), connected(1, 2_000)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_never_reachable_gives_up_at_the_limit_and_ends() {
    let answers = (0..10)
        .map(|_| Answer::Send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        .collect();
    let (url, mut came) = script(answers).await;
    let (sink, notices) = kept();
    let timings = StreamTimings {
        give_up_after: Some(Duration::from_secs(2)),
        ..StreamTimings::default()
    };
    let mut live = LiveBody::new(&url, timings, sink);
    let start = Instant::now();
    assert_eq!(live.next().await, None, "given up");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    // 0.25, 0.5, 1 s, then the wait cut to the limit: the last attempt at 2 s.
    assert_eq!(drain(&mut came), [0, 250, 750, 1_750, 2_000]);
    let told = notices();
    let waits: Vec<_> = told
        .iter()
        .filter_map(|n| match n {
            InputNotice::Failed { retry_in, .. } => Some(retry_in.as_millis()),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [250, 500, 1_000, 250]);
    assert_eq!(
        told.last(),
        Some(&InputNotice::GaveUp {
            url: url.with_port(),
            after: Duration::from_secs(2),
            error: "HTTP status 404".into(),
        })
    );
    assert_eq!(live.next().await, None, "and stays so");
}

#[tokio::test(start_paused = true)]
async fn a_silence_is_told_as_a_timeout_and_the_outage_counts_from_the_last_data() {
    let (url, _came) = script(vec![
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nabc"),
        Answer::SendAndHold(b""),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\ndef"),
    ])
    .await;
    let (sink, notices) = kept();
    let mut live = LiveBody::new(&url, StreamTimings::default(), sink);
    assert_eq!(&live.next().await.expect("data")[..], b"abc");
    assert_eq!(&live.next().await.expect("data")[..], b"def");
    let u = url.with_port();
    let timeout = |ms| InputNotice::Failed {
        url: u.clone(),
        status: None,
        error: "no data within 5000 ms".into(),
        retry_in: Duration::from_millis(ms),
    };
    assert_eq!(
        notices(),
        [
            InputNotice::Connected {
                url: u.clone(),
                retries: 0,
                down: Duration::ZERO,
            },
            // The body went silent: 5 s later, a timeout.
            timeout(250),
            // The head never came: 5 s more.
            timeout(500),
            // Down since the last data: 5 + 0.25 + 5 + 0.5 s.
            InputNotice::Connected {
                url: u.clone(),
                retries: 2,
                down: Duration::from_millis(10_750),
            },
        ]
    );
}
