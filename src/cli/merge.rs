//! Several logs (one per server) merged by time: read, parsed and prepared
//! on one thread, always taking the line with the earliest logged time
//! next, and replayed on another.

use routecast_accesslog::{LineError, Request};
use routecast_replay::Replay;

use super::pipeline::{Batch, BatchSink};
use super::progress::Progress;
use super::simulate::{LineRules, Rejected};
use super::source::Source;
use super::Failure;

/// Several logs: read, merged and prepared on one thread, replayed on this
/// one.
pub fn replay_merged(
    sources: &mut [Source],
    replays: &mut [&mut Replay],
    rules: LineRules,
    quiet: bool,
) -> Result<(u64, Rejected), Failure> {
    let preparers = replays.iter().map(|r| r.preparer()).collect();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let produced = std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<(u64, Rejected), Failure> {
            let mut sink = BatchSink::new(tx, preparers);
            let mut rejected = Rejected::default();
            let progress = Progress::start(sources, quiet);
            let mut push = |r: &Request<'_>| sink.push(r);
            let lines = merge(sources, &mut push, &mut rejected, rules, &progress)?;
            sink.flush();
            progress.finish();
            Ok((lines, rejected))
        });
        for batch in rx {
            for (replay, requests) in replays.iter_mut().zip(batch.runs) {
                for p in requests {
                    replay.push_prepared(p);
                }
            }
        }
        producer.join()
    });
    produced.map_err(|_| Failure::Other(anyhow::anyhow!("the log reader thread panicked")))?
}

/// Several logs: always take the line with the earliest logged time next.
fn merge(
    sources: &mut [Source],
    replay: &mut dyn FnMut(&Request<'_>),
    rejected: &mut Rejected,
    rules: LineRules,
    progress: &Progress,
) -> Result<u64, Failure> {
    let mut lines = 0u64;
    let mut heads: Vec<Option<Owned>> = Vec::with_capacity(sources.len());
    for src in sources.iter_mut() {
        heads.push(advance(src, rejected, rules)?);
    }
    loop {
        let next = heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|o| (o.req.logged_ms, i)))
            .min();
        let Some((_, i)) = next else { break };
        if let Some(o) = heads[i].take() {
            let req = Request {
                path: &o.path,
                ..o.req.clone()
            };
            replay(&req);
        }
        lines += 1;
        progress.tick(lines);
        heads[i] = advance(&mut sources[i], rejected, rules)?;
    }
    Ok(sources.iter().map(|s| s.line_no).sum())
}

fn advance(
    src: &mut Source,
    rejected: &mut Rejected,
    rules: LineRules,
) -> Result<Option<Owned>, Failure> {
    while src.next_line()? {
        if src.buf.is_empty() {
            continue;
        }
        let parsed = src.parser.parse(&src.buf);
        if let Some(r) = accept(src, parsed, rejected, rules)? {
            let req = Request {
                client: r.client,
                logged_ms: r.logged_ms,
                time_is: r.time_is,
                duration_ms: r.duration_ms,
                method: "GET",
                path: b"",
                status: r.status,
                bytes: r.bytes,
                user_agent: None,
            };
            return Ok(Some(Owned {
                req,
                path: r.path.to_vec(),
            }));
        }
    }
    Ok(None)
}

/// An owned copy of a parsed line (for merging several logs).
struct Owned {
    req: Request<'static>,
    path: Vec<u8>,
}

fn reject(
    src: &Source,
    e: LineError,
    rejected: &mut Rejected,
    rules: LineRules,
) -> Result<(), Failure> {
    let place = format!(
        "{}:{}: {} (format {})",
        src.name, src.line_no, e, src.format
    );
    rejected.record(place, rules)
}

/// A parsed line as the replay takes it (sizes filled in for logs without
/// them), or `None` after counting a malformed one (an error with --strict).
fn accept<'a>(
    src: &Source,
    parsed: Result<Request<'a>, LineError>,
    rejected: &mut Rejected,
    rules: LineRules,
) -> Result<Option<Request<'a>>, Failure> {
    match parsed {
        Ok(mut r) => {
            if src.no_bytes {
                r.bytes = rules.request_bytes;
            }
            Ok(Some(r))
        }
        Err(e) => reject(src, e, rejected, rules).map(|()| None),
    }
}
