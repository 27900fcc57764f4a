//! A scripted HTTP server for the tests: on a loopback port of the test's
//! own runtime (so that on paused time its bytes are there as soon as it
//! writes them), answering each connection with the next [`Reply`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How one connection is answered once its request head is read.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// Written one after the other, `gap` apart.
    pub pieces: Vec<Vec<u8>>,
    /// The time between two pieces.
    pub gap: Duration,
    /// Keep the connection open (and silent) after the last piece.
    pub hold: bool,
}

impl Reply {
    /// `bytes` at once, then the connection closes.
    pub fn once(bytes: &[u8]) -> Self {
        Self {
            pieces: vec![bytes.to_vec()],
            gap: Duration::ZERO,
            hold: false,
        }
    }

    /// `bytes` at once, then silence on an open connection.
    pub fn then_silence(bytes: &[u8]) -> Self {
        Self {
            hold: true,
            ..Self::once(bytes)
        }
    }
}

/// Serves `replies`, one connection each, in order; returns `http://ADDR`
/// and the request heads as they are read.
pub(crate) async fn serve(replies: Vec<Reply>) -> (String, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (heads, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for reply in replies {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let heads = heads.clone();
            tokio::spawn(async move { answer(socket, reply, heads).await });
        }
    });
    (base, seen)
}

/// Reads the request head, then writes the reply.
async fn answer(mut socket: TcpStream, reply: Reply, heads: mpsc::UnboundedSender<Vec<u8>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = heads.send(head);
    for (i, piece) in reply.pieces.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(reply.gap).await;
        }
        if socket.write_all(piece).await.is_err() {
            return;
        }
    }
    if reply.hold {
        std::future::pending::<()>().await;
    }
}

/// `body` in chunked transfer coding, one chunk per piece, with the head.
pub(crate) fn chunked(pieces: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out = vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec()];
    for p in pieces {
        let mut chunk = format!("{:x}\r\n", p.len()).into_bytes();
        chunk.extend_from_slice(p);
        chunk.extend_from_slice(b"\r\n");
        out.push(chunk);
    }
    out.push(b"0\r\n\r\n".to_vec());
    out
}
