use super::*;
use crate::testing::{chunked, serve, Reply};
use tokio::time::Instant;

const IDLE: Duration = Duration::from_secs(5);

/// The segmenter's request head.
const SEGMENT: RequestHead = RequestHead {
    user_agent: "routecast-segment",
    accept: Some("*/*"),
};

/// Every chunk until the end of the body.
async fn read_to_end(stream: &mut BodyStream) -> Result<Vec<Vec<u8>>, FetchError> {
    let mut all = Vec::new();
    while let Some(chunk) = stream.next_chunk().await? {
        all.push(chunk.to_vec());
    }
    Ok(all)
}

#[tokio::test(start_paused = true)]
async fn a_chunked_body_arrives_decoded_as_it_comes() {
    let (base, mut heads) = serve(vec![Reply {
        pieces: chunked(&[b"G\x01\x02", b"\x03\x04", b"\x05"]),
        gap: Duration::from_secs(1),
        hold: false,
    }])
    .await;
    let mut stream = BodyStream::open(&format!("{base}/live.ts"), &SEGMENT, IDLE)
        .await
        .expect("200");
    // Each chunk as it came (a second apart), without its size line.
    assert_eq!(
        read_to_end(&mut stream).await.expect("body"),
        [&b"G\x01\x02"[..], b"\x03\x04", b"\x05"]
    );
    let authority = base.trim_start_matches("http://");
    let head = heads.recv().await.expect("a request");
    assert_eq!(
        String::from_utf8_lossy(&head),
        format!(
            "GET /live.ts HTTP/1.1\r\nhost: {authority}\r\nuser-agent: routecast-segment\r\naccept: */*\r\n\r\n"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_without_length_runs_until_the_connection_closes() {
    let (base, _heads) = serve(vec![Reply {
        pieces: vec![
            b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n".to_vec(),
            vec![0x47; 188],
            vec![0x47; 188],
        ],
        gap: Duration::from_secs(4),
        hold: false,
    }])
    .await;
    let mut stream = BodyStream::open(&format!("{base}/live.ts"), &SEGMENT, IDLE)
        .await
        .expect("200");
    assert_eq!(
        read_to_end(&mut stream).await.expect("body"),
        [[0x47; 188], [0x47; 188]]
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_stream_is_idle_after_exactly_the_idle_limit() {
    let (base, _heads) = serve(vec![Reply::then_silence(
        b"HTTP/1.1 200 OK\r\n\r\nG\x01\x02\x03",
    )])
    .await;
    let mut stream = BodyStream::open(&format!("{base}/live.ts"), &SEGMENT, IDLE)
        .await
        .expect("200");
    let first = stream.next_chunk().await.expect("data");
    assert_eq!(first.as_deref(), Some(&b"G\x01\x02\x03"[..]));
    let start = Instant::now();
    let e = stream.next_chunk().await.expect_err("silence");
    assert_eq!(start.elapsed(), IDLE);
    assert!(
        matches!(e, FetchError::Idle { limit } if limit == IDLE),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no data within 5000 ms");
}

#[tokio::test(start_paused = true)]
async fn a_head_that_never_comes_is_idle_too() {
    let (base, _heads) = serve(vec![Reply::then_silence(b"")]).await;
    let start = Instant::now();
    let e = BodyStream::open(&format!("{base}/live.ts"), &SEGMENT, IDLE)
        .await
        .expect_err("no head");
    assert_eq!(start.elapsed(), IDLE);
    assert!(matches!(e, FetchError::Idle { .. }), "{e:?}");
}

#[tokio::test]
async fn a_stream_is_the_body_of_a_200_only() {
    let (base, _heads) = serve(vec![
        Reply::once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone"),
        Reply::once(b"HTTP/1.1 206 Partial Content\r\nContent-Length: 1\r\n\r\nG"),
    ])
    .await;
    for status in [404, 206] {
        let e = BodyStream::open(&format!("{base}/live.ts"), &SEGMENT, IDLE)
            .await
            .expect_err("not 200");
        assert!(
            matches!(e, FetchError::Status { status: s } if s == status),
            "{e:?}"
        );
        assert_eq!(e.to_string(), format!("HTTP status {status}"));
    }
}

#[tokio::test]
async fn a_redirect_tells_its_location_and_one_without_location_is_a_status() {
    let (base, _heads) = serve(vec![
        Reply::once(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /b.ts\r\nContent-Length: 0\r\n\r\n"),
        Reply::once(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: http://h:81/c.ts\r\nContent-Length: 0\r\n\r\n"),
        Reply::once(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"),
    ])
    .await;
    let url = format!("{base}/live.ts");
    let open = || BodyStream::open(&url, &SEGMENT, IDLE);
    let e = open().await.expect_err("301");
    assert!(
        matches!(&e, FetchError::Redirect { status: 301, location } if location == "/b.ts"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "HTTP status 301 to /b.ts");
    let e = open().await.expect_err("308");
    assert!(
        matches!(&e, FetchError::Redirect { status: 308, location } if location == "http://h:81/c.ts"),
        "{e:?}"
    );
    let e = open().await.expect_err("302 without Location");
    assert!(matches!(e, FetchError::Status { status: 302 }), "{e:?}");
}
