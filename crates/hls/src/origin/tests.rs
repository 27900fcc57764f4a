//! The origin over loopback, with a real HTTP client (hyper's) and paused
//! time: tokio jumps the clock only when every task is idle, so a response
//! that arrives early, or late, shows in the measured time.

use std::error::Error;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

use super::*;
use crate::store::write_atomic;

type TestResult = Result<(), Box<dyn Error>>;

/// Target duration of the test stream: held requests give up after 6 s.
const TARGET: u32 = 2;
const LIMIT: Duration = Duration::from_secs(3 * TARGET as u64);

/// A low-latency state: segments `0..=last_segment` complete, parts of the
/// open segment up to `last_part`, a preload hint for the next part.
fn state(last_segment: Option<u64>, last_part: Option<(u64, u64)>) -> Published {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:{TARGET}\n\
         #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12\n\
         #EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:0\n"
    );
    for n in 0..=last_segment.unwrap_or(0) {
        if last_segment.is_some() {
            text.push_str(&format!("#EXTINF:2.000,\nseg{n}.ts\n"));
        }
    }
    if let Some((m, i)) = last_part {
        for k in 0..=i {
            text.push_str(&format!("#EXT-X-PART:DURATION=0.5,URI=\"seg{m}.{k}.ts\"\n"));
        }
        text.push_str(&format!(
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg{m}.{}.ts\"\n",
            i + 1
        ));
    }
    Published {
        delta: Some(format!(
            "#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n# delta of {last_segment:?} {last_part:?}\n"
        )),
        playlist: text,
        last_segment,
        last_part,
        ended: false,
        target_duration: TARGET,
        pending_media: Vec::new(),
    }
}

/// A running origin on a loopback port.
struct Origin {
    addr: SocketAddr,
    dir: PathBuf,
    publish: watch::Sender<Published>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<io::Result<()>>,
    _tmp: tempfile::TempDir,
}

impl Origin {
    async fn start(initial: Published) -> Result<Self, Box<dyn Error>> {
        Self::start_with(initial, |_| {}).await
    }

    async fn start_with(
        initial: Published,
        configure: impl FnOnce(&mut OriginConfig),
    ) -> Result<Self, Box<dyn Error>> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut config = OriginConfig::new(addr, &dir);
        configure(&mut config);
        let (publish, state) = watch::channel(initial);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_on(listener, config, state, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            dir,
            publish,
            stop: Some(stop),
            server,
            _tmp: tmp,
        })
    }

    fn write(&self, name: &str, bytes: &[u8]) -> TestResult {
        write_atomic(&self.dir, name, bytes)?;
        Ok(())
    }

    /// `GET target` in the background; the task answers the reply.
    fn spawn_get(&self, target: &str) -> JoinHandle<Result<Reply, String>> {
        let (addr, target) = (self.addr, target.to_owned());
        tokio::spawn(async move {
            request(addr, Method::GET, &target, &[])
                .await
                .map_err(|e| e.to_string())
        })
    }

    async fn get(&self, target: &str) -> Result<Reply, Box<dyn Error>> {
        request(self.addr, Method::GET, target, &[]).await
    }
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a new connection, through hyper's client.
async fn request(
    addr: SocketAddr,
    method: Method,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, Box<dyn Error>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .header(header::HOST, addr.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = send.send_request(req.body(Empty::<Bytes>::new())?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Lets every task run, with the clock stopped.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn blocked_reload_returns_when_the_segment_is_published_not_before() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 0)))).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=5");
    sleep(Duration::from_secs(1)).await;
    assert!(!held.is_finished(), "answered before segment 5 existed");
    // More parts of segment 5, but not the segment: still held.
    origin.publish.send_replace(state(Some(4), Some((5, 3))));
    sleep(Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "answered on a part of segment 5");
    let done = state(Some(5), Some((5, 3)));
    origin.publish.send_replace(done.clone());
    let r = held.await??;
    let took = started.elapsed();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), done.playlist);
    assert_eq!(
        took,
        Duration::from_millis(1500),
        "woken by the publish itself"
    );
    assert_eq!(r.header("content-type"), "application/vnd.apple.mpegurl");
    assert_eq!(
        r.header("cache-control"),
        "max-age=12",
        "6 × target (Appendix B.1)"
    );
    assert_eq!(r.header("access-control-allow-origin"), "*");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn blocked_part_reload_returns_when_the_part_is_published() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=5&_HLS_part=3");
    sleep(Duration::from_millis(500)).await;
    origin.publish.send_replace(state(Some(4), Some((5, 2))));
    sleep(Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "answered on part 2");
    let done = state(Some(4), Some((5, 3)));
    origin.publish.send_replace(done.clone());
    let r = held.await??;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), done.playlist);
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn part_past_the_end_of_a_segment_waits_for_part_0_of_the_next() -> TestResult {
    // Segment 5 closed after its part 3.
    let origin = Origin::start(state(Some(5), Some((5, 3)))).await?;
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=5&_HLS_part=4");
    sleep(Duration::from_secs(1)).await;
    assert!(!held.is_finished(), "there is no part 4 of segment 5 yet");
    let done = state(Some(5), Some((6, 0)));
    origin.publish.send_replace(done.clone());
    let r = held.await??;
    assert_eq!((r.status, r.text()), (StatusCode::OK, done.playlist));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn satisfied_and_plain_reloads_answer_at_once() -> TestResult {
    let p = state(Some(5), Some((6, 1)));
    let origin = Origin::start(p.clone()).await?;
    let started = Instant::now();
    for target in [
        "/index.m3u8",
        "/index.m3u8?_HLS_msn=3",
        "/index.m3u8?_HLS_msn=5&_HLS_part=9",
        "/index.m3u8?_HLS_msn=6&_HLS_part=1",
        "/index.m3u8?token=abc",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(
            (r.status, r.text()),
            (StatusCode::OK, p.playlist.clone()),
            "{target}"
        );
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    let plain = origin.get("/index.m3u8").await?;
    assert_eq!(
        plain.header("cache-control"),
        "max-age=1",
        "half the target"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn reload_answers_503_after_three_target_durations() -> TestResult {
    let origin = Origin::start(state(Some(5), Some((6, 1)))).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=6");
    // Progress that does not satisfy the request does not extend the limit.
    sleep(Duration::from_secs(5)).await;
    origin.publish.send_replace(state(Some(5), Some((6, 3))));
    let r = held.await??;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), LIMIT);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("access-control-allow-origin"), "*");
    // The part request likewise.
    let started = Instant::now();
    let r = origin.get("/index.m3u8?_HLS_msn=6&_HLS_part=4").await?;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), LIMIT);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn invalid_directives_are_refused_with_400_at_once() -> TestResult {
    // Last segment 5, last part (6, 1), part target 0.5 s: limit 6 parts.
    let origin = Origin::start(state(Some(5), Some((6, 1)))).await?;
    let started = Instant::now();
    for target in [
        "/index.m3u8?_HLS_part=2",
        "/index.m3u8?_HLS_msn=8",
        "/index.m3u8?_HLS_msn=6&_HLS_part=8",
        "/index.m3u8?_HLS_msn=7&_HLS_part=6",
        "/index.m3u8?_HLS_msn=abc",
        "/index.m3u8?_HLS_msn=-1",
        "/index.m3u8?_HLS_msn=1&_HLS_msn=2",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{target}");
        assert_eq!(r.header("cache-control"), "no-store", "{target}");
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    // Just inside the limits: held, not refused.
    for target in [
        "/index.m3u8?_HLS_msn=7",
        "/index.m3u8?_HLS_msn=6&_HLS_part=7",
    ] {
        let waited = timeout(Duration::from_secs(1), origin.get(target)).await;
        assert!(waited.is_err(), "{target} should be held");
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn skip_answers_the_delta_update() -> TestResult {
    let p = state(Some(5), Some((6, 1)));
    let origin = Origin::start(p.clone()).await?;
    let delta = p.delta.clone().unwrap_or_default();
    for target in ["/index.m3u8?_HLS_skip=YES", "/index.m3u8?_HLS_skip=v2"] {
        let r = origin.get(target).await?;
        assert_eq!(
            (r.status, r.text()),
            (StatusCode::OK, delta.clone()),
            "{target}"
        );
    }
    let r = origin.get("/index.m3u8?_HLS_skip=NO").await?;
    assert_eq!(r.text(), p.playlist);
    // Blocking and skipping: the delta of the state that satisfied it.
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=6&_HLS_part=2&_HLS_skip=YES");
    sleep(Duration::from_millis(500)).await;
    let next = state(Some(5), Some((6, 2)));
    origin.publish.send_replace(next.clone());
    let r = held.await??;
    assert_eq!(r.text(), next.delta.clone().unwrap_or_default());
    // No delta (the playlist cannot skip): the full playlist.
    origin.publish.send_replace(Published {
        delta: None,
        ..next.clone()
    });
    let r = origin.get("/index.m3u8?_HLS_skip=YES").await?;
    assert_eq!(r.text(), next.playlist);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_ended_stream_ignores_directives_and_releases_held_requests() -> TestResult {
    let origin = Origin::start(state(Some(5), None)).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=7");
    sleep(Duration::from_secs(1)).await;
    assert!(!held.is_finished());
    let ended = Published {
        ended: true,
        ..state(Some(5), None)
    };
    origin.publish.send_replace(ended.clone());
    let r = held.await??;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::OK, ended.playlist.clone())
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    for target in [
        "/index.m3u8?_HLS_msn=100",
        "/index.m3u8?_HLS_part=1",
        "/index.m3u8?_HLS_skip=YES",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(
            (r.status, r.text()),
            (StatusCode::OK, ended.playlist.clone()),
            "{target}"
        );
    }
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn nothing_published_is_404() -> TestResult {
    let origin = Origin::start(Published::default()).await?;
    let r = origin.get("/index.m3u8?_HLS_msn=0").await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("cache-control"), "no-store");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_hinted_part_waits_for_its_file() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/seg5.2.ts");
    sleep(Duration::from_secs(1)).await;
    assert!(!held.is_finished(), "answered before the part was written");
    // The segmenter writes, then publishes.
    origin.write("seg5.2.ts", b"part 5.2")?;
    settle().await;
    assert!(
        !held.is_finished(),
        "answered before the part was published"
    );
    origin.publish.send_replace(state(Some(4), Some((5, 2))));
    let r = held.await??;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"part 5.2");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(r.header("content-type"), "video/mp2t");
    assert_eq!(r.header("cache-control"), "max-age=86400, immutable");
    assert_eq!(r.header("access-control-allow-origin"), "*");
    Ok(())
}

/// Regression (the low-latency player test stalled on a loaded machine):
/// the segmenter publishes before its disk writes are done, so a part
/// published but not on disk yet, hinted or listed, is served from the
/// published state, whole or in ranges, at once.
#[tokio::test(start_paused = true)]
async fn media_published_before_the_disk_has_it_is_served_from_memory() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    let started = Instant::now();
    let hinted = origin.spawn_get("/seg5.2.ts");
    settle().await;
    assert!(
        !hinted.is_finished(),
        "answered before the part was published"
    );
    let mut published = state(Some(4), Some((5, 2)));
    published.pending_media = vec![
        ("seg5.1.ts".into(), Bytes::from_static(b"part 5.1")),
        ("seg5.2.ts".into(), Bytes::from_static(b"part 5.2")),
    ];
    origin.publish.send_replace(published);
    let r = hinted.await??;
    assert_eq!((r.status, &r.body[..]), (StatusCode::OK, &b"part 5.2"[..]));
    assert_eq!(r.header("cache-control"), "max-age=86400, immutable");
    let listed = origin.get("/seg5.1.ts").await?;
    assert_eq!(
        (listed.status, &listed.body[..]),
        (StatusCode::OK, &b"part 5.1"[..])
    );
    let range = request(
        origin.addr,
        Method::GET,
        "/seg5.1.ts",
        &[("range", "bytes=5-")],
    )
    .await?;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&range.body[..], b"5.1");
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
    // Not on disk and no longer pending (never written): 404 as before.
    origin.publish.send_replace(state(Some(4), Some((5, 2))));
    assert_eq!(
        origin.get("/seg5.1.ts").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_next_segment_waits_and_a_skipped_hint_is_404() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    let segment = origin.spawn_get("/seg5.ts");
    let skipped = origin.spawn_get("/seg5.2.ts");
    sleep(Duration::from_secs(1)).await;
    assert!(!segment.is_finished() && !skipped.is_finished());
    // The cutter closes segment 5 after part 1: no part 5.2 will come.
    origin.write("seg5.ts", b"segment 5")?;
    origin.write("seg6.0.ts", b"part 6.0")?;
    origin.publish.send_replace(state(Some(5), Some((6, 0))));
    let r = segment.await??;
    assert_eq!((r.status, &r.body[..]), (StatusCode::OK, &b"segment 5"[..]));
    let r = skipped.await??;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("cache-control"), "max-age=2");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn media_not_next_is_404_at_once_and_a_late_hint_is_503() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    let started = Instant::now();
    for target in [
        "/seg5.3.ts",
        "/seg7.ts",
        "/seg3.ts",
        "/seg05.ts",
        "/other.ts",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{target}");
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    let r = origin.get("/seg5.2.ts").await?;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), LIMIT);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn files_are_served_with_head_and_ranges() -> TestResult {
    let origin = Origin::start(state(Some(4), Some((5, 1)))).await?;
    origin.write("seg3.ts", b"0123456789")?;
    origin.write("archive.m3u8", b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n")?;
    let r = origin.get("/seg3.ts").await?;
    assert_eq!(
        (r.status, &r.body[..]),
        (StatusCode::OK, &b"0123456789"[..])
    );
    assert_eq!(r.header("accept-ranges"), "bytes");
    let r = origin.get("/archive.m3u8").await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/vnd.apple.mpegurl");
    assert_eq!(r.header("cache-control"), "max-age=1");
    let r = request(origin.addr, Method::HEAD, "/seg3.ts", &[]).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-length"), "10");
    assert!(r.body.is_empty());
    let r = request(
        origin.addr,
        Method::GET,
        "/seg3.ts",
        &[("range", "bytes=2-5")],
    )
    .await?;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&r.body[..], b"2345");
    assert_eq!(r.header("content-range"), "bytes 2-5/10");
    let r = request(
        origin.addr,
        Method::GET,
        "/seg3.ts",
        &[("range", "bytes=20-")],
    )
    .await?;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), "bytes */10");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn paths_outside_the_directory_are_refused() -> TestResult {
    let origin = Origin::start(state(Some(4), None)).await?;
    let secret = b"secret outside the directory";
    let outside = origin.dir.parent().ok_or("no parent")?.join("secret.ts");
    std::fs::write(&outside, secret)?;
    origin.write(".hidden.ts", b"hidden")?;
    std::fs::create_dir(origin.dir.join("sub"))?;
    std::fs::write(origin.dir.join("sub").join("seg1.ts"), b"nested")?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, origin.dir.join("link.ts"))?;
    for (target, status) in [
        ("/../secret.ts", StatusCode::BAD_REQUEST),
        ("/..%2fsecret.ts", StatusCode::BAD_REQUEST),
        ("/%2e%2e/secret.ts", StatusCode::BAD_REQUEST),
        ("/%2E%2E%2Fsecret.ts", StatusCode::BAD_REQUEST),
        ("/sub/../../secret.ts", StatusCode::BAD_REQUEST),
        ("/..\\secret.ts", StatusCode::BAD_REQUEST),
        ("//secret.ts", StatusCode::NOT_FOUND),
        ("/sub/seg1.ts", StatusCode::NOT_FOUND),
        ("/sub", StatusCode::NOT_FOUND),
        ("/.hidden.ts", StatusCode::NOT_FOUND),
        ("/link.ts", StatusCode::NOT_FOUND),
        ("/", StatusCode::NOT_FOUND),
    ] {
        let r = origin.get(target).await?;
        assert_eq!(r.status, status, "{target}");
        assert_ne!(&r.body[..], secret, "{target}");
    }
    // Absolute-form targets go through the same check.
    let host = origin.addr;
    let r = origin.get(&format!("http://{host}/../secret.ts")).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn other_methods_are_405_and_options_is_a_cors_preflight() -> TestResult {
    let origin = Origin::start(state(Some(4), None)).await?;
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let r = request(origin.addr, method.clone(), "/index.m3u8", &[]).await?;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS");
    }
    let r = request(
        origin.addr,
        Method::OPTIONS,
        "/seg1.ts",
        &[("origin", "https://player.example")],
    )
    .await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("access-control-allow-origin"), "*");
    assert_eq!(
        r.header("access-control-allow-methods"),
        "GET, HEAD, OPTIONS"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_held_requests_and_returns() -> TestResult {
    let mut origin = Origin::start(state(Some(4), None)).await?;
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=5");
    sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    if let Some(stop) = origin.stop.take() {
        let _ = stop.send(());
    }
    let r = held.await??;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.text(), "shutting down\n");
    (&mut origin.server).await??;
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(
        TcpStream::connect(origin.addr).await.is_err(),
        "still listening"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn connections_over_the_cap_are_answered_503_and_closed() -> TestResult {
    let origin = Origin::start_with(state(Some(4), None), |c| c.max_connections = 1).await?;
    // The one slot: a held request.
    let held = origin.spawn_get("/index.m3u8?_HLS_msn=5");
    settle().await;
    let mut refused = TcpStream::connect(origin.addr).await?;
    refused
        .write_all(b"GET /index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    refused.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    origin.publish.send_replace(state(Some(5), None));
    assert_eq!(held.await??.status, StatusCode::OK);
    settle().await;
    // The slot is free again.
    assert_eq!(origin.get("/index.m3u8").await?.status, StatusCode::OK);
    Ok(())
}

/// What the origin answers to `head` sent raw on a new connection: its
/// status line.
async fn raw_status(addr: SocketAddr, head: &str) -> Result<String, Box<dyn Error>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    Ok(answer.lines().next().unwrap_or("").to_string())
}

#[tokio::test(start_paused = true)]
async fn http_1_1_without_exactly_one_host_is_400() -> TestResult {
    let origin = Origin::start(state(Some(4), None)).await?;
    for (head, expected) in [
        (
            "GET /index.m3u8 HTTP/1.1\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "GET /index.m3u8 HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "GET /index.m3u8 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200 OK",
        ),
        // HTTP/1.0 had no Host requirement.
        ("GET /index.m3u8 HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK"),
    ] {
        assert_eq!(raw_status(origin.addr, head).await?, expected, "{head:?}");
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn percent_encoded_unreserved_characters_are_their_plain_selves() -> TestResult {
    let mut published = state(Some(4), None);
    published.pending_media = vec![("seg4.ts".into(), Bytes::from_static(b"segment four"))];
    let origin = Origin::start(published).await?;
    let plain = origin.get("/index.m3u8").await?;
    assert_eq!(plain.status, StatusCode::OK);
    for target in [
        "/%69ndex.m3u8",
        "/%69%6E%64%65%78%2e%6d3u8",
        "/index%2Em3u8",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(r.status, StatusCode::OK, "{target}");
        assert_eq!(r.body, plain.body, "{target}");
    }
    let r = origin.get("/seg%34.ts").await?;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::OK, "segment four".into())
    );
    // Reserved or invalid encodings, and what decodes to a dot-dot: 400.
    for target in [
        "/%2e%2e/index.m3u8",
        "/a%2Findex.m3u8",
        "/%zzndex.m3u8",
        "/%6",
    ] {
        let r = origin.get(target).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{target}");
    }
    Ok(())
}

#[tokio::test]
async fn the_listen_backlog_is_the_system_s() -> TestResult {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")?;
    let listener = bind("127.0.0.1:0".parse()?)?;
    let port = listener.local_addr()?.port();
    // ss (iproute2) shows a listening socket's backlog as its Send-Q.
    let out = std::process::Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()?;
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let send_q = shown.split_whitespace().nth(2).ok_or(shown.clone())?;
    assert_eq!(send_q, somaxconn.trim(), "{shown}");
    Ok(())
}

#[test]
fn connections_are_capped_below_the_descriptor_limit() {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let cap = connection_cap(usize::MAX) as u64;
    assert!(
        cap + RESERVED_DESCRIPTORS <= soft.max(RESERVED_DESCRIPTORS + 1),
        "{cap} of {soft}"
    );
    assert_eq!(connection_cap(3), 3);
}

#[tokio::test(start_paused = true)]
async fn a_slow_request_head_is_cut_off() -> TestResult {
    let origin = Origin::start(state(Some(4), None)).await?;
    let mut stream = TcpStream::connect(origin.addr).await?;
    stream
        .write_all(b"GET /index.m3u8 HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let started = Instant::now();
    let mut rest = Vec::new();
    // The head never ends: the server must close the connection.
    let _ = stream.read_to_end(&mut rest).await;
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    Ok(())
}

/// An origin of two renditions, `a` and `b`, in `out/a` and `out/b`.
struct Renditions {
    addr: SocketAddr,
    dir: PathBuf,
    a: watch::Sender<Published>,
    b: watch::Sender<Published>,
    _stop: tokio::sync::oneshot::Sender<()>,
    _tmp: tempfile::TempDir,
}

impl Renditions {
    async fn start(a: Published, b: Published) -> Result<Self, Box<dyn Error>> {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("out");
        for sub in ["a", "b"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let config = OriginConfig::new(addr, &dir);
        let (a, a_state) = watch::channel(a);
        let (b, b_state) = watch::channel(b);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let named = vec![("a".to_owned(), a_state), ("b".to_owned(), b_state)];
        tokio::spawn(serve_renditions_on(listener, config, named, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            dir,
            a,
            b,
            _stop: stop,
            _tmp: tmp,
        })
    }

    async fn get(&self, target: &str) -> Result<Reply, Box<dyn Error>> {
        request(self.addr, Method::GET, target, &[]).await
    }

    fn spawn_get(&self, target: &str) -> JoinHandle<Result<Reply, String>> {
        let (addr, target) = (self.addr, target.to_owned());
        tokio::spawn(async move {
            request(addr, Method::GET, &target, &[])
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn renditions_are_served_under_their_names_from_their_own_state() -> TestResult {
    let (a, b) = (state(Some(4), Some((5, 1))), state(Some(1), Some((2, 0))));
    let origin = Renditions::start(a.clone(), b.clone()).await?;
    write_atomic(&origin.dir, "master.m3u8", b"#EXTM3U\n")?;
    write_atomic(&origin.dir.join("a"), "seg4.ts", b"segment 4 of a")?;
    assert_eq!(origin.get("/a/index.m3u8").await?.text(), a.playlist);
    assert_eq!(origin.get("/b/index.m3u8").await?.text(), b.playlist);
    let master = origin.get("/master.m3u8").await?;
    assert_eq!(master.status, StatusCode::OK);
    assert_eq!(master.text(), "#EXTM3U\n");
    assert_eq!(master.header("cache-control"), "max-age=1");
    assert_eq!(origin.get("/a/seg4.ts").await?.text(), "segment 4 of a");
    for (target, status) in [
        ("/b/seg4.ts", StatusCode::NOT_FOUND),
        ("/index.m3u8", StatusCode::NOT_FOUND),
        ("/seg4.ts", StatusCode::NOT_FOUND),
        ("/c/index.m3u8", StatusCode::NOT_FOUND),
        ("/a/b/index.m3u8", StatusCode::NOT_FOUND),
        ("/a/", StatusCode::NOT_FOUND),
        ("/a/../master.m3u8", StatusCode::BAD_REQUEST),
        ("/a%2f..%2fmaster.m3u8", StatusCode::BAD_REQUEST),
        // Each rendition's 400s follow its own state: b is at segment 1.
        ("/b/index.m3u8?_HLS_msn=4", StatusCode::BAD_REQUEST),
        ("/a/index.m3u8?_HLS_part=1", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(origin.get(target).await?.status, status, "{target}");
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_rendition_s_blocking_reload_wakes_on_its_own_publication() -> TestResult {
    let origin =
        Renditions::start(state(Some(4), Some((5, 1))), state(Some(1), Some((2, 0)))).await?;
    let started = Instant::now();
    let held = origin.spawn_get("/b/index.m3u8?_HLS_msn=2&_HLS_part=1");
    let hinted = origin.spawn_get("/b/seg2.1.ts");
    sleep(Duration::from_millis(500)).await;
    // Rendition a moves on far past b's request: b stays held.
    origin.a.send_replace(state(Some(5), Some((6, 2))));
    sleep(Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "woken by the other rendition");
    assert!(!hinted.is_finished(), "woken by the other rendition");
    let mut done = state(Some(1), Some((2, 1)));
    done.pending_media = vec![("seg2.1.ts".into(), Bytes::from_static(b"part 2.1 of b"))];
    origin.b.send_replace(done.clone());
    let r = held.await??;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), done.playlist);
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(hinted.await??.text(), "part 2.1 of b");
    // A request b never satisfies is 503 after b's three target durations.
    let late = origin.get("/b/index.m3u8?_HLS_msn=3").await?;
    assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE);
    Ok(())
}

#[tokio::test]
async fn rendition_names_must_be_plain_and_distinct() -> TestResult {
    for names in [&["a", "a"][..], &["a", "b/c"], &["..", "b"], &[""], &[]] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let config = OriginConfig::new(listener.local_addr()?, "out");
        let named = names
            .iter()
            .map(|n| (n.to_string(), watch::channel(Published::default()).1))
            .collect();
        let e = serve_renditions_on(listener, config, named, async {})
            .await
            .err()
            .ok_or("served")?;
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{names:?}");
    }
    Ok(())
}

/// An AES-128 key file (`--encrypt`) is served with `no-store`: no shared
/// cache keeps a copy of it.
#[tokio::test(start_paused = true)]
async fn key_files_are_served_not_stored() -> TestResult {
    let origin = Origin::start(state(Some(4), None)).await?;
    origin.write("key0.key", &[7u8; 16])?;
    let r = origin.get("/key0.key").await?;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 16));
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert_eq!(r.header("cache-control"), "no-store");
    Ok(())
}
