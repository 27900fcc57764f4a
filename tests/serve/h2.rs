//! HTTP/2's own limits on the plain listener (h2c with prior knowledge),
//! tried with frames written by hand: what an attacker sends is not what
//! a well-behaved client library would let a test send.
//!
//! Frames (RFC 9113 §4.1): a 9-byte header (length 24 bits, type, flags,
//! stream id), then the payload. Header blocks use HPACK's static table
//! and literals without indexing (RFC 7541 §6.2.2), nothing compressed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::support::{get, start, status};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const WINDOW_UPDATE: u8 = 0x8;
const FLOW_CONTROL_ERROR: u32 = 0x3;
const ENHANCE_YOUR_CALM: u32 = 0xb;
const REFUSED_STREAM: u32 = 0x7;

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// `GET http://tr.example.net/live/ch1/720p/seg<n>.ts` as a header block.
fn get_block(n: u32) -> Vec<u8> {
    let mut b = vec![0x82, 0x86]; // :method GET, :scheme http
    for (index, value) in [
        (1u8, "tr.example.net".to_string()),
        (4, format!("/live/ch1/720p/seg{n}.ts")),
    ] {
        b.push(index); // literal without indexing, name from the static table
        b.push(value.len() as u8);
        b.extend_from_slice(value.as_bytes());
    }
    b
}

/// A frame read back: type, flags, stream, payload.
type Frame = (u8, u8, u32, Vec<u8>);

/// Every frame the server sends until it closes or `wait` passes.
fn frames(s: &mut TcpStream, wait: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 65536];
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let len = u32::from_be_bytes([0, bytes[at], bytes[at + 1], bytes[at + 2]]) as usize;
        let (kind, flags) = (bytes[at + 3], bytes[at + 4]);
        let stream =
            u32::from_be_bytes([bytes[at + 5], bytes[at + 6], bytes[at + 7], bytes[at + 8]])
                & 0x7fff_ffff;
        let Some(payload) = bytes.get(at + 9..at + 9 + len) else {
            break;
        };
        out.push((kind, flags, stream, payload.to_vec()));
        at += 9 + len;
    }
    out
}

fn code(payload: &[u8], at: usize) -> u32 {
    payload
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn open(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let s = TcpStream::connect(addr).expect("connects");
    let mut out = PREFACE.to_vec();
    frame(&mut out, SETTINGS, 0, 0, &[]);
    (s, out)
}

#[test]
fn settings_announce_the_stream_and_header_limits() {
    let server = start(&["--max-streams", "16"]);
    let (mut s, mut out) = open(server.addr);
    frame(
        &mut out,
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &get_block(1),
    );
    s.write_all(&out).expect("writes");
    let got = frames(&mut s, Duration::from_secs(1));
    let settings = got
        .iter()
        .find(|f| f.0 == SETTINGS && f.1 == 0)
        .expect("the server's SETTINGS");
    let values: Vec<(u16, u32)> = settings
        .3
        .chunks(6)
        .map(|c| (u16::from_be_bytes([c[0], c[1]]), code(c, 2)))
        .collect();
    assert!(
        values.contains(&(0x3, 16)),
        "MAX_CONCURRENT_STREAMS: {values:?}"
    );
    assert!(
        values.contains(&(0x6, 16 * 1024)),
        "MAX_HEADER_LIST_SIZE: {values:?}"
    );
    assert!(
        got.iter().any(|f| f.0 == HEADERS && f.2 == 1),
        "stream 1 answered: {got:?}"
    );
}

#[test]
fn streams_over_the_limit_are_refused() {
    let server = start(&["--max-streams", "4"]);
    let (mut s, mut out) = open(server.addr);
    // Twelve requests whose bodies never come: their streams stay open.
    for i in 0..12u32 {
        frame(&mut out, HEADERS, END_HEADERS, 2 * i + 1, &get_block(i));
    }
    s.write_all(&out).expect("writes");
    let got = frames(&mut s, Duration::from_secs(1));
    let refused = got
        .iter()
        .filter(|f| f.0 == RST_STREAM && code(&f.3, 0) == REFUSED_STREAM)
        .count();
    let answered = got.iter().filter(|f| f.0 == HEADERS).count();
    assert!(
        refused >= 8 && answered <= 4,
        "refused {refused}, answered {answered}: {got:?}"
    );
}

#[test]
fn rapid_reset_closes_the_connection_and_the_server_serves_on() {
    let server = start(&[]);
    let (mut s, mut out) = open(server.addr);
    // CVE-2023-44487: requests cancelled as soon as they are sent.
    for i in 0..2000u32 {
        let id = 2 * i + 1;
        frame(
            &mut out,
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &get_block(i),
        );
        frame(&mut out, RST_STREAM, 0, id, &8u32.to_be_bytes()); // CANCEL
    }
    let _ = s.write_all(&out);
    let got = frames(&mut s, Duration::from_secs(3));
    let goaway = got.iter().find(|f| f.0 == GOAWAY).expect("a GOAWAY");
    assert_eq!(code(&goaway.3, 4), ENHANCE_YOUR_CALM, "{goaway:?}");
    let answered = got.iter().filter(|f| f.0 == HEADERS).count();
    assert!(
        answered < 200,
        "{answered} of 2000 cancelled requests were routed"
    );
    // Other clients are served.
    assert_eq!(status(&get(server.addr, "/live/ch1/720p/seg1.ts", "")), 302);
}

#[test]
fn a_flow_control_window_pushed_past_its_limit_is_a_connection_error() {
    let server = start(&[]);
    let (mut s, mut out) = open(server.addr);
    // RFC 9113 §6.9.1: a window over 2^31 - 1 is a FLOW_CONTROL_ERROR.
    for _ in 0..2 {
        frame(&mut out, WINDOW_UPDATE, 0, 0, &0x7fff_ffffu32.to_be_bytes());
    }
    s.write_all(&out).expect("writes");
    let got = frames(&mut s, Duration::from_secs(2));
    let goaway = got.iter().find(|f| f.0 == GOAWAY).expect("a GOAWAY");
    assert_eq!(code(&goaway.3, 4), FLOW_CONTROL_ERROR, "{goaway:?}");
    assert_eq!(status(&get(server.addr, "/live/ch1/720p/seg1.ts", "")), 302);
}
