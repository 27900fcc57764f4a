//! What an input tells while it is read: failed attempts and the next
//! retry, connections (after how long an outage), giving up. The reader
//! threads cannot call the channel's event callback (it is borrowed by the
//! run), so inputs post [`InputNotice`]s, and [`NoticedInputs`] hands them
//! to the callback as [`ChannelEvent::Input`] each time the rendition's
//! loop looks at its inputs (at least every 100 ms).

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::{InputOptions, InputSpec};
use crate::channel::failover::Source;
use crate::channel::reader::{slot, Arrival, Inputs};
use crate::channel::ChannelEvent;

/// Something an input went through, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputNotice {
    /// An attempt failed or the stream dropped; the next attempt comes
    /// after `retry_in`.
    Failed {
        /// The URL that failed (after redirects, the last one asked).
        url: String,
        /// The HTTP status, when the failure was one.
        status: Option<u16>,
        /// What happened (the status, the IO error, the redirect chain).
        error: String,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// The stream answered (200) and is read.
    Connected {
        /// The URL that answered (after redirects).
        url: String,
        /// Failed attempts since the stream last gave data (0 at a first
        /// connection that worked at once).
        retries: u64,
        /// Time since the stream last gave data (or since the start).
        down: Duration,
    },
    /// The input gave up: no data for `after`; it ends as a file does.
    GaveUp {
        /// The URL asked last.
        url: String,
        /// The time without data (the input's give-up limit).
        after: Duration,
        /// The last failure.
        error: String,
    },
}

/// Where an input posts its notices.
pub struct NoticeSink(Box<dyn Fn(InputNotice) + Send>);

impl std::fmt::Debug for NoticeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoticeSink")
    }
}

impl NoticeSink {
    /// A sink that calls `tell` with each notice.
    pub fn new(tell: impl Fn(InputNotice) + Send + 'static) -> Self {
        Self(Box::new(tell))
    }

    /// A sink that drops every notice.
    pub fn ignore() -> Self {
        Self::new(|_| {})
    }

    /// Posts `notice`.
    pub fn tell(&self, notice: InputNotice) {
        (self.0)(notice);
    }
}

/// Opens a rendition's inputs with their options, each posting notices
/// tagged with its [`Source`] to one channel.
#[derive(Debug, Clone)]
pub(crate) struct InputOpener {
    options: InputOptions,
    notices: Sender<(Source, InputNotice)>,
}

impl InputOpener {
    /// An opener, and the receiving end of its inputs' notices.
    pub(crate) fn new(options: InputOptions) -> (Self, Receiver<(Source, InputNotice)>) {
        let (notices, received) = mpsc::channel();
        (Self { options, notices }, received)
    }

    /// Opens `spec`, the `source` input.
    pub(crate) fn open(
        &self,
        source: Source,
        spec: &InputSpec,
    ) -> io::Result<Box<dyn Read + Send>> {
        let notices = self.notices.clone();
        let sink = NoticeSink::new(move |notice| {
            // The rendition is over when nobody receives: nothing to tell.
            let _ = notices.send((source, notice));
        });
        spec.open_with(&self.options, sink)
    }
}

/// A rendition's inputs whose notices are told to the event callback
/// as each arrival is taken.
pub(crate) struct NoticedInputs<'a, I> {
    /// The inputs.
    pub(crate) inputs: I,
    /// Their notices.
    pub(crate) notices: Receiver<(Source, InputNotice)>,
    /// The primary and (if any) the backup input, as named by the user.
    pub(crate) names: [Option<&'a str>; 2],
    /// Told what happens.
    pub(crate) events: &'a (dyn Fn(ChannelEvent<'_>) + Sync),
}

impl<I: Inputs> Inputs for NoticedInputs<'_, I> {
    fn next(&mut self, timeout: Duration) -> Arrival {
        let arrival = self.inputs.next(timeout);
        // After the arrival: an input posts its notice before it sends the
        // end that the notice explains.
        while let Ok((source, notice)) = self.notices.try_recv() {
            let input = self.names[slot(source)]
                .or(self.names[0])
                .unwrap_or_default();
            (self.events)(ChannelEvent::Input {
                input,
                notice: &notice,
            });
        }
        arrival
    }

    fn give_back(&mut self, source: Source, chunk: Vec<u8>) {
        self.inputs.give_back(source, chunk);
    }

    fn reopen(&mut self, source: Source) -> bool {
        self.inputs.reopen(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Inputs that never deliver.
    struct Silent;

    impl Inputs for Silent {
        fn next(&mut self, _timeout: Duration) -> Arrival {
            Arrival::Timeout
        }

        fn give_back(&mut self, _source: Source, _chunk: Vec<u8>) {}

        fn reopen(&mut self, _source: Source) -> bool {
            false
        }
    }

    #[test]
    fn notices_reach_the_event_callback_under_the_name_of_their_input() {
        let (sender, notices) = mpsc::channel();
        let told = Mutex::new(Vec::new());
        let events = |e: ChannelEvent<'_>| {
            if let ChannelEvent::Input { input, notice } = e {
                told.lock()
                    .expect("lock")
                    .push((input.to_owned(), notice.clone()));
            }
        };
        let mut inputs = NoticedInputs {
            inputs: Silent,
            notices,
            names: [Some("http://a/live.ts"), Some("http://b/live.ts")],
            events: &events,
        };
        let gave_up = InputNotice::GaveUp {
            url: "http://b/live.ts".into(),
            after: Duration::from_secs(3),
            error: "HTTP status 404".into(),
        };
        sender
            .send((Source::Backup, gave_up.clone()))
            .expect("send");
        assert!(matches!(inputs.next(Duration::ZERO), Arrival::Timeout));
        assert_eq!(
            *told.lock().expect("lock"),
            [("http://b/live.ts".to_owned(), gave_up)]
        );
    }
}
