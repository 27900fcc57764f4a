use super::*;
use std::net::TcpListener;
use std::sync::atomic::AtomicUsize;

#[test]
fn a_200_head_says_whether_the_body_is_chunked() {
    let plain = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n";
    assert_eq!(
        parse_response_head(plain),
        Ok(ResponseHead { chunked: false })
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n";
    assert_eq!(
        parse_response_head(chunked),
        Ok(ResponseHead { chunked: true })
    );
}

#[test]
fn other_statuses_and_garbage_are_errors() {
    let not_found = parse_response_head(b"HTTP/1.1 404 Not Found\r\n\r\n");
    assert_eq!(
        not_found,
        Err(ResponseHeadError::Status { status: Some(404) })
    );
    assert_eq!(
        not_found.map_err(|e| e.to_string()),
        Err("HTTP status Some(404)".into())
    );
    assert_eq!(
        parse_response_head(b""),
        Err(ResponseHeadError::Status { status: None })
    );
    assert!(matches!(
        parse_response_head(b"<html>\r\n\r\n"),
        Err(ResponseHeadError::Malformed(_))
    ));
}

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

#[test]
fn an_http_stream_reconnects_when_the_server_closes_and_reads_chunked_bodies() {
    let a: Vec<u8> = (0..5_000u32).map(|i| i as u8).collect();
    let b: Vec<u8> = (0..3_000u32).map(|i| (i * 7) as u8).collect();
    let (port, connections) = server(vec![(a.clone(), false), (b.clone(), true)]);
    let url = HttpUrl {
        host: "127.0.0.1".into(),
        port,
        path: "/live.ts".into(),
    };
    let mut s = HttpStream::new(url);
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
fn a_refused_connection_is_retried_with_back_off() {
    // Nothing listens yet: the stream waits, then finds the server.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = HttpUrl {
        host: "127.0.0.1".into(),
        port,
        path: "/".into(),
    };
    let mut s = HttpStream::new(url);
    let reconnects = s.reconnects();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).map(|()| buf)
    });
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        reconnects.load(Ordering::Relaxed) >= 2,
        "retried while refused"
    );
    let late = TcpListener::bind(("127.0.0.1", port)).expect("rebind");
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = late.accept() {
            read_request(&mut c);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nG\x01\x02\x03");
        }
    });
    let got = reader.join().expect("reader").expect("data");
    assert_eq!(&got, b"G\x01\x02\x03");
}
