use super::*;
use crate::testing::{chunked, serve, Reply};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_get_sends_one_plain_request_and_reads_the_answer() {
    let (base, mut heads) = serve(vec![Reply::once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    )])
    .await;
    let got = fetch(&format!("{base}/live/a.m3u8?x=1"), SECOND, 100)
        .await
        .expect("answer");
    assert_eq!((got.status, &got.body[..]), (200, &b"hello"[..]));
    let authority = base.trim_start_matches("http://");
    let head = heads.recv().await.expect("a request");
    assert_eq!(
        String::from_utf8_lossy(&head),
        format!(
            "GET /live/a.m3u8?x=1 HTTP/1.1\r\nhost: {authority}\r\nuser-agent: routecast/1\r\n\r\n"
        )
    );
}

#[tokio::test]
async fn a_chunked_body_arrives_decoded() {
    let (base, _heads) = serve(vec![Reply {
        pieces: chunked(&[b"#EXTM3U\n", b"#EXT-X-VERSION:7\n", b"a.ts\n"]),
        gap: Duration::from_millis(10),
        hold: false,
    }])
    .await;
    let got = fetch(&format!("{base}/p.m3u8"), SECOND, 100)
        .await
        .expect("answer");
    assert_eq!(&got.body[..], b"#EXTM3U\n#EXT-X-VERSION:7\na.ts\n");
}

#[tokio::test]
async fn other_statuses_are_answers_and_redirects_are_not_followed() {
    let (elsewhere, mut followed) = serve(vec![Reply::once(b"HTTP/1.1 200 OK\r\n\r\n")]).await;
    let redirect =
        format!("HTTP/1.1 302 Found\r\nLocation: {elsewhere}/x\r\nContent-Length: 0\r\n\r\n");
    let (base, _heads) = serve(vec![
        Reply::once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone"),
        Reply::once(redirect.as_bytes()),
    ])
    .await;
    let got = fetch(&format!("{base}/a"), SECOND, 100).await.expect("404");
    assert_eq!((got.status, &got.body[..]), (404, &b"gone"[..]));
    let got = fetch(&format!("{base}/b"), SECOND, 100).await.expect("302");
    assert_eq!((got.status, got.body.len()), (302, 0));
    assert!(followed.try_recv().is_err(), "the Location was not asked");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_whether_its_length_is_said_or_not() {
    let (base, _heads) = serve(vec![
        Reply::once(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890"),
        Reply {
            pieces: chunked(&[b"012345", b"67890"]),
            gap: Duration::from_millis(10),
            hold: false,
        },
    ])
    .await;
    for _ in 0..2 {
        let e = fetch(&format!("{base}/big"), SECOND, 10)
            .await
            .expect_err("too large");
        assert!(matches!(e, FetchError::TooLarge { limit: 10 }), "{e:?}");
        assert_eq!(e.to_string(), "the answer is larger than 10 bytes");
    }
}

#[tokio::test(start_paused = true)]
async fn an_origin_that_never_answers_times_out_at_the_limit() {
    let (base, _heads) = serve(vec![Reply::then_silence(b"")]).await;
    let start = Instant::now();
    let e = fetch(&format!("{base}/slow"), 2 * SECOND, 100)
        .await
        .expect_err("no answer");
    assert_eq!(start.elapsed(), 2 * SECOND);
    assert!(matches!(e, FetchError::Timeout { limit } if limit == 2 * SECOND));
    assert_eq!(e.to_string(), "no answer within 2000 ms");
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_coming_times_out_too() {
    let (base, _heads) = serve(vec![Reply::then_silence(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part",
    )])
    .await;
    let start = Instant::now();
    let e = fetch(&format!("{base}/cut"), 3 * SECOND, 1000)
        .await
        .expect_err("no whole answer");
    assert_eq!(start.elapsed(), 3 * SECOND);
    assert!(matches!(e, FetchError::Timeout { .. }), "{e:?}");
}

#[tokio::test]
async fn refused_connections_and_malformed_answers_are_errors() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let closed = format!("http://{}/x", listener.local_addr().expect("address"));
    drop(listener);
    let e = fetch(&closed, SECOND, 100).await.expect_err("refused");
    assert!(matches!(e, FetchError::Connect { .. }), "{e:?}");
    assert!(e.to_string().starts_with("cannot connect: "), "{e}");

    let (base, _heads) = serve(vec![Reply::once(b"<html>\r\n\r\n")]).await;
    let e = fetch(&format!("{base}/x"), SECOND, 100)
        .await
        .expect_err("not HTTP");
    assert!(matches!(e, FetchError::Http { .. }), "{e:?}");
    assert!(e.to_string().starts_with("HTTP exchange failed: "), "{e}");
}

#[tokio::test]
async fn only_plain_http_urls_are_fetched() {
    for url in ["https://example.net/x", "http:///x", "example.net/x"] {
        let e = fetch(url, SECOND, 100).await.expect_err("not http");
        assert!(matches!(e, FetchError::NotHttp { .. }), "{url}: {e:?}");
        assert_eq!(e.to_string(), "not an http:// URL");
    }
}

#[tokio::test]
async fn text_is_read_lossily_and_failures_are_none() {
    let (base, _heads) = serve(vec![Reply::once(
        b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nok\xff!",
    )])
    .await;
    assert_eq!(
        fetch_text(&format!("{base}/status"), SECOND).await,
        Some((503, "ok\u{fffd}!".to_string()))
    );
    assert_eq!(fetch_text(&format!("{base}/again"), SECOND).await, None);
}
