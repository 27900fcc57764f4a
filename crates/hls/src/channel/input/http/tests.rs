use super::*;
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
        }
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_back_off_from_0_25_s_doubling_to_10_s_and_data_resets_it() {
    let mut answers: Vec<Answer> = (0..9).map(|_| Answer::Close).collect();
    answers.push(Answer::Send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nG\x01\x02\x03",
    ));
    answers.push(Answer::SendAndHold(b"HTTP/1.1 200 OK\r\n\r\nG\x04\x05\x06"));
    let (url, mut came) = script(answers).await;
    let mut live = LiveBody::new(&url, StreamTimings::default());
    assert_eq!(&live.next().await[..], b"G\x01\x02\x03");
    assert_eq!(&live.next().await[..], b"G\x04\x05\x06");
    // Waits of 0.25, 0.5, 1, 2, 4, 8, 10, 10 and 10 s; then the body
    // that came and ended: 0.25 s again.
    assert_eq!(
        drain(&mut came),
        [0, 250, 750, 1_750, 3_750, 7_750, 15_750, 25_750, 35_750, 45_750, 46_000]
    );
    assert_eq!(live.reconnects().load(Ordering::Relaxed), 10);
}

#[tokio::test(start_paused = true)]
async fn a_silent_stream_is_reopened_after_the_idle_limit() {
    let (url, mut came) = script(vec![
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\nabc"),
        Answer::SendAndHold(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\ndef"),
    ])
    .await;
    let mut live = LiveBody::new(&url, StreamTimings::default());
    assert_eq!(&live.next().await[..], b"abc");
    assert_eq!(&live.next().await[..], b"def");
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
    let mut live = LiveBody::new(&url, StreamTimings::default());
    assert_eq!(&live.next().await[..], b"ok");
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
    let mut live = LiveBody::new(&local(port, "/"), StreamTimings::default());
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
        got = live.next() => got,
        () = late_server => unreachable!("the server holds its connection"),
    };
    assert_eq!(&got[..], b"G\x01\x02\x03");
    assert_eq!(start.elapsed(), Duration::from_millis(750));
}
