//! Connections a server will not serve (over its connection cap), answered
//! and closed, never reset: the redirector's listeners and the segmenter's
//! origin refuse the same way.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// The longest a refused connection is kept open after its answer.
pub const REFUSAL_LINGER: Duration = Duration::from_millis(500);
/// The most read (and dropped) from a refused connection.
pub const REFUSAL_READ_BYTES: usize = 16 * 1024;

/// Refuses connections with a fixed answer (e.g. a `503` with
/// `Connection: close`), keeping at most a given number lingering at once.
#[derive(Debug, Clone)]
pub struct Refusal {
    answer: &'static [u8],
    lingering: Arc<Semaphore>,
}

impl Refusal {
    /// Answers with `answer` (a whole HTTP response, small enough for a
    /// fresh socket's send buffer); at most `at_once` refused connections
    /// linger at a time.
    pub fn new(answer: &'static [u8], at_once: usize) -> Self {
        Self {
            answer,
            lingering: Arc::new(Semaphore::new(at_once)),
        }
    }

    /// Answers `stream` and closes it, never with a bare reset: the answer
    /// is written at once; then, while fewer than `at_once` are lingering,
    /// what the client sends is read and dropped (up to
    /// [`REFUSAL_READ_BYTES`], for up to [`REFUSAL_LINGER`]) so that closing
    /// with its request unread does not reset the connection before the
    /// client has read the answer (nginx's lingering close). Beyond that,
    /// the answer is written and the socket closed at once. No request is
    /// parsed. Call it inside a tokio runtime.
    pub fn refuse(&self, stream: TcpStream) {
        let Ok(permit) = self.lingering.clone().try_acquire_owned() else {
            let _ = stream.try_write(self.answer);
            return;
        };
        let answer = self.answer;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REFUSAL_LINGER, linger(stream, answer)).await;
            drop(permit);
        });
    }
}

/// Writes `answer`, ends the sending side, and reads until the client
/// closes or [`REFUSAL_READ_BYTES`] were read.
async fn linger(mut stream: TcpStream, answer: &[u8]) {
    if stream.write_all(answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut buf = [0u8; 2048];
    let mut read = 0;
    while read < REFUSAL_READ_BYTES {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
}
