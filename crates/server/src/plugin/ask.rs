//! Asking a redirector's admin listener for its `/status` and `/metrics`,
//! both within one timeout, by [`routecast_http`]; a failure says why in
//! the words an operator expects (refused, timeout, the HTTP status).

use std::time::Duration;

use routecast_http::FetchError;

use super::judge::Answers;
use super::perfdata::perfdata_number;

/// The most of an answer read, bytes.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Why the redirector gave no usable answer (the plugin's CRITICAL).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    /// The connection was refused: nothing listens there.
    #[error("no answer from {url}: connection refused")]
    Refused {
        /// The URL asked.
        url: String,
    },
    /// No whole answer within the time allowed.
    #[error("no answer from {url}: timeout after {} s", perfdata_number(.after.as_secs_f64()))]
    Timeout {
        /// The URL asked (the admin URL when both answers were late).
        url: String,
        /// The time allowed.
        after: Duration,
    },
    /// The exchange failed otherwise.
    #[error("no answer from {url}: {source}")]
    Fetch {
        /// The URL asked.
        url: String,
        /// The client's reason.
        source: FetchError,
    },
    /// An answer other than 200.
    #[error("{url} answered HTTP status {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status it answered.
        status: u16,
    },
}

/// Asks `admin_url` (the redirector's `--admin-listen`, e.g.
/// `http://127.0.0.1:9099`) for `/status` and `/metrics` at once, both
/// within `timeout` in all.
pub async fn ask(admin_url: &str, timeout: Duration) -> Result<Answers, AskError> {
    let base = admin_url.trim_end_matches('/');
    let both = async {
        tokio::join!(
            fetch(format!("{base}/status"), timeout),
            fetch(format!("{base}/metrics"), timeout)
        )
    };
    let Ok((status, metrics)) = tokio::time::timeout(timeout, both).await else {
        return Err(AskError::Timeout {
            url: base.into(),
            after: timeout,
        });
    };
    Ok(Answers {
        status: status?,
        metrics: metrics?,
    })
}

/// One answer's body, if it is a 200.
async fn fetch(url: String, timeout: Duration) -> Result<String, AskError> {
    match routecast_http::fetch(&url, timeout, MAX_ANSWER_BYTES).await {
        Ok(f) if f.status == 200 => Ok(String::from_utf8_lossy(&f.body).into_owned()),
        Ok(f) => Err(AskError::Status {
            url,
            status: f.status,
        }),
        Err(FetchError::Connect { source })
            if source.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            Err(AskError::Refused { url })
        }
        Err(FetchError::Timeout { .. }) => Err(AskError::Timeout {
            url,
            after: timeout,
        }),
        Err(source) => Err(AskError::Fetch { url, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A listener that answers every connection with `head` and `body`.
    async fn answering(head: &'static str, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0; 4096];
                let _ = socket.read(&mut buf).await;
                let answer = format!("{head}\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn both_answers_are_read_and_an_error_status_is_named() {
        let url = answering("HTTP/1.1 200 OK", "hello").await;
        let answers = ask(&format!("{url}/"), Duration::from_secs(5)).await;
        let answers = answers.expect("answers");
        assert_eq!(
            (answers.status.as_str(), answers.metrics.as_str()),
            ("hello", "hello")
        );
        let url = answering("HTTP/1.1 503 Service Unavailable", "").await;
        let why = ask(&url, Duration::from_secs(5)).await.expect_err("503");
        assert_eq!(
            why.to_string(),
            format!("{url}/status answered HTTP status 503")
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let why = ask(&url, Duration::from_secs(5)).await.expect_err("closed");
        assert_eq!(
            why.to_string(),
            format!("no answer from {url}/status: connection refused")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_redirector_times_out_at_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let started = tokio::time::Instant::now();
        let why = ask(&url, Duration::from_millis(1500))
            .await
            .expect_err("silent");
        assert_eq!(started.elapsed(), Duration::from_millis(1500));
        assert!(why.to_string().ends_with(": timeout after 1.5 s"), "{why}");
        drop(listener);
    }
}
