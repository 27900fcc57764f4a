//! Reading a rendition's inputs: each on a thread of its own (a stalled
//! input must not stop the other one, nor the watchdog), paced by the
//! stream's PCR with `--realtime`, delivered in order through one channel.
//! The loop that takes them ([`super::follow`]) sees them through
//! [`Inputs`], so that tests can script arrivals on virtual time.
//!
//! A network input that yields nothing usable is reopened on the loop's
//! request ([`Inputs::reopen`]): its thread drops the connection and opens
//! it again before its next read.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use super::failover::Source;
use super::input::{InputOpener, InputSpec};
use super::pace::Pace;
use super::ChannelError;
use crate::ts::PACKET_SIZE;

/// What the inputs delivered.
#[derive(Debug)]
pub(crate) enum Arrival {
    /// Bytes read from an input.
    Chunk(Source, Vec<u8>),
    /// The input ended.
    End(Source),
    /// Reading the input failed; it is not read any more.
    Failed(Source, io::Error),
    /// Nothing arrived in time.
    Timeout,
    /// Every input is gone.
    Disconnected,
}

/// A rendition's inputs, as the failover loop takes them.
pub(crate) trait Inputs {
    /// The next arrival, or [`Arrival::Timeout`] after `timeout`.
    fn next(&mut self, timeout: Duration) -> Arrival;

    /// Hands back a chunk's buffer once it is read (for the next reads).
    fn give_back(&mut self, source: Source, chunk: Vec<u8>);

    /// Drops `source`'s connection and opens it again (it yields nothing
    /// usable); whether it will be: network inputs are, files and standard
    /// input are not.
    fn reopen(&mut self, source: Source) -> bool;
}

/// One message from a reader thread (an empty chunk: the input ended).
type Message = (Source, io::Result<Vec<u8>>);

/// Inputs read on threads of their own.
#[derive(Debug)]
pub(crate) struct ReaderThreads {
    rx: Receiver<Message>,
    /// Each reader's channel for buffers handed back, by [`slot`].
    spares: Vec<SyncSender<Vec<u8>>>,
    /// Each reader's request to reopen its input (network inputs only), by
    /// [`slot`].
    reopen: Vec<Option<Arc<AtomicBool>>>,
}

/// What the loop keeps of one reader thread.
type Reader = (SyncSender<Vec<u8>>, Option<Arc<AtomicBool>>);

pub(crate) use super::failover::slot;

impl ReaderThreads {
    /// Opens each input (the primary first) with `opener` and starts its
    /// reader.
    pub(crate) fn start(
        inputs: Vec<(Source, InputSpec)>,
        realtime: bool,
        clock: &Arc<dyn Clock>,
        opener: &InputOpener,
    ) -> Result<Self, ChannelError> {
        let (tx, rx) = mpsc::sync_channel::<Message>(8);
        let readers: Vec<Reader> = inputs
            .into_iter()
            .map(|(source, spec)| {
                let input = match opener.open(source, &spec) {
                    Ok(input) => input,
                    Err(error) => return Err(ChannelError::Open { spec, error }),
                };
                let opener = opener.clone();
                spawn(
                    source,
                    (spec, input),
                    opener,
                    realtime,
                    clock.clone(),
                    tx.clone(),
                )
            })
            .collect::<Result<_, _>>()?;
        let (spares, reopen) = readers.into_iter().unzip();
        Ok(Self { rx, spares, reopen })
    }
}

impl Inputs for ReaderThreads {
    fn next(&mut self, timeout: Duration) -> Arrival {
        match self.rx.recv_timeout(timeout) {
            Ok((source, Ok(chunk))) if chunk.is_empty() => Arrival::End(source),
            Ok((source, Ok(chunk))) => Arrival::Chunk(source, chunk),
            Ok((source, Err(e))) => Arrival::Failed(source, e),
            Err(RecvTimeoutError::Timeout) => Arrival::Timeout,
            Err(RecvTimeoutError::Disconnected) => Arrival::Disconnected,
        }
    }

    fn give_back(&mut self, source: Source, chunk: Vec<u8>) {
        if let Some(spare) = self.spares.get(slot(source)) {
            let _ = spare.try_send(chunk);
        }
    }

    fn reopen(&mut self, source: Source) -> bool {
        let flag = self.reopen.get(slot(source)).and_then(Option::as_ref);
        flag.inspect(|f| f.store(true, Ordering::Relaxed)).is_some()
    }
}

/// Reads `input` on a thread of its own, sending chunks (an empty one at the
/// end), paced by the stream's PCR when `realtime`. Returns the channel
/// that takes buffers back, and for a network input the flag that has it
/// reopened.
fn spawn(
    source: Source,
    (spec, input): (InputSpec, Box<dyn Read + Send>),
    opener: InputOpener,
    realtime: bool,
    clock: Arc<dyn Clock>,
    tx: SyncSender<Message>,
) -> Result<Reader, ChannelError> {
    // Chunks come back once read, so buffers are not allocated (and zeroed)
    // for every read.
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(4);
    let reopen = reopenable(&spec).then(|| Arc::new(AtomicBool::new(false)));
    let opened = Opened {
        input,
        spec,
        source,
        opener,
        reopen: reopen.clone(),
    };
    std::thread::Builder::new()
        .name(format!("segment-input-{source:?}"))
        .spawn(move || read(opened, source, realtime, &*clock, &spare_rx, &tx))
        .map_err(ChannelError::Thread)?;
    Ok((spare_tx, reopen))
}

/// Whether `spec` is a connection that opening again may mend: UDP and
/// HTTP (a file or standard input would start over or cannot).
fn reopenable(spec: &InputSpec) -> bool {
    !matches!(spec, InputSpec::File(_) | InputSpec::Stdin)
}

/// An open input, what it was opened from (and with: its notices go on),
/// and the request to reopen it.
struct Opened {
    input: Box<dyn Read + Send>,
    spec: InputSpec,
    source: Source,
    opener: InputOpener,
    reopen: Option<Arc<AtomicBool>>,
}

impl Opened {
    /// Opens the input again if asked to (the old one is closed first: a
    /// UDP port is bound once).
    fn reopen_if_asked(&mut self) -> io::Result<()> {
        let asked = self
            .reopen
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed));
        if asked {
            self.input = Box::new(io::empty());
            self.input = self.opener.open(self.source, &self.spec)?;
        }
        Ok(())
    }
}

/// The reader thread: reads until the input ends or fails, or nobody
/// listens any more; reopens it between reads when asked.
fn read(
    mut opened: Opened,
    source: Source,
    realtime: bool,
    clock: &dyn Clock,
    spares: &Receiver<Vec<u8>>,
    tx: &SyncSender<Message>,
) {
    let mut pace = realtime.then(Pace::default);
    let size = if realtime { 16 * PACKET_SIZE } else { 1 << 20 };
    loop {
        if let Err(e) = opened.reopen_if_asked() {
            let _ = tx.send((source, Err(e)));
            return;
        }
        let input = &mut opened.input;
        let mut buf = spares.try_recv().unwrap_or_default();
        buf.resize(size, 0);
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send((source, Err(e)));
                return;
            }
        };
        buf.truncate(n);
        if let Some(pace) = &mut pace {
            pace.wait_chunk(&buf, clock);
        }
        if tx.send((source, Ok(buf))).is_err() || n == 0 {
            return;
        }
    }
}
