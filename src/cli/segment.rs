//! `routecast segment`: read a transport stream, write live HLS.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use routecast_hls::channel::input::InputOptions;
use routecast_hls::channel::{
    parse_renditions, Channel, ChannelConfig, ChannelError, ChannelEvent, FailoverConfig,
    Publisher, RenditionInputs, RenditionSummary, RenditionsError, SystemClock, MASTER_PLAYLIST,
};
use routecast_hls::cutter::CutNotice;
use routecast_hls::origin::{OriginStartError, OriginThread};
use routecast_hls::segmenter::{EncryptionConfig, LIVE_PLAYLIST};
use routecast_hls::{CutterConfig, Timestamp};

use super::Failure;
use outcome::Outcome;

mod outcome;

/// Examples shown after `routecast segment --help`.
pub const EXAMPLES: &str = "\
Examples:
  # Two renditions, served with low latency: /master.m3u8, /hi/index.m3u8, /lo/index.m3u8
  routecast segment hi=udp://@239.1.1.1:5000 lo=udp://@239.1.1.2:5000 -o out \\
      --target-duration 2 --part-target 0.5 --serve 0.0.0.0:8080
  # Two video renditions and an audio-only one, their shared audio (EXT-X-MEDIA)
  routecast segment hi=udp://@239.1.1.1:5000 lo=udp://@239.1.1.2:5000 \\
      aac=udp://@239.1.1.3:5000 -o out
  # A backup for one input
  routecast segment http://enc-a/live.ts --backup http://enc-b/live.ts -o out
  # A backup per rendition (lo has none: no failover for it)
  routecast segment hi=http://enc-a/hi.ts lo=http://enc-a/lo.ts -o out \\
      --backup hi=http://enc-b/hi.ts
  # Give up an HTTP input silent or failing for 60 s (exit 69)
  routecast segment http://enc-a/live.ts -o out --give-up-after 60

  # Trick play: I-frame playlists, listed in master.m3u8
  routecast segment udp://@239.1.1.1:5000 -o out --iframes --archive

  # An HEVC encoder with open GOPs (CRA pictures): cut at them always, no WARN
  routecast segment udp://@239.1.1.3:5000 -o out --allow-cra";

/// Arguments of `routecast segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The transport stream: a file, `-` for standard input, or
    /// `udp://[@]HOST:PORT` (with `@` or a multicast address: listen there).
    /// Several inputs (`NAME=INPUT`, or named r0, r1, …) are renditions of
    /// one stream: each goes to DIR/NAME, and DIR/master.m3u8 lists them
    /// with BANDWIDTH, CODECS and RESOLUTION measured from the streams.
    /// Audio-only inputs among video ones are the variants' audio group
    /// (EXT-X-MEDIA TYPE=AUDIO, the first the default), not variants.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    /// Directory for segments and playlists (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// EXT-X-TARGETDURATION, seconds: no segment rounds above it. A first
    /// GOP longer than this raises the target announced for the playlist's
    /// life (said in a WARN line); a later GOP still longer is cut between
    /// frames without a keyframe (a WARN line per GOP), and the media
    /// playlists of video do not claim EXT-X-INDEPENDENT-SEGMENTS.
    #[arg(long, default_value_t = 6, value_name = "SECONDS")]
    target_duration: u32,
    /// Length of the live playlist's sliding window, seconds (at least
    /// 3 × the target duration).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    window: f64,
    /// Segments that left the live window stay on disk this long, seconds
    /// (players that loaded an older playlist can still fetch them); at
    /// least the window plus a target duration (RFC 8216 §6.2.2).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    grace: f64,
    /// Keep every segment and list them all in `archive.m3u8` (an EVENT
    /// playlist, ended with the input) instead of deleting old ones.
    #[arg(long)]
    archive: bool,
    /// Encrypt segments and parts with AES-128 (RFC 8216 §5.2: CBC,
    /// PKCS#7, `EXT-X-KEY` with the IV of each media sequence number);
    /// keys from the system's secure random source, written atomically as
    /// `key<N>.key` before a playlist names them.
    #[arg(long)]
    encrypt: bool,
    /// I-frame playlists for trick play: `iframes.m3u8` (and with
    /// --archive `archive-iframes.m3u8`) lists each intra picture of the
    /// video as EXT-X-BYTERANGE of its segment, with EXT-X-MAP naming the
    /// segment's PAT and PMT (with --encrypt, each picture is a file of its
    /// own, `segN.iK.ts`, encrypted: ranges of a CBC-encrypted segment
    /// cannot be decrypted alone). `master.m3u8` lists it with
    /// EXT-X-I-FRAME-STREAM-INF (BANDWIDTH, CODECS, RESOLUTION measured),
    /// also for a single input.
    #[arg(long)]
    iframes: bool,
    /// Mark SCTE-35 ad breaks also with the de-facto tags many
    /// ad-insertion servers read: EXT-X-CUE-OUT:DURATION= before a break's
    /// first segment, EXT-X-CUE-OUT-CONT:ElapsedTime=,Duration= inside it,
    /// EXT-X-CUE-IN after it (for breaks with a planned duration; every
    /// break keeps its EXT-X-DATERANGE).
    #[arg(long)]
    cue_tags: bool,
    /// With --encrypt: a new key every N segments.
    #[arg(long, default_value_t = 10, value_name = "N", requires = "encrypt",
          value_parser = clap::value_parser!(u64).range(1..))]
    key_rotation: u64,
    /// With --encrypt: where key files go (default: beside the segments),
    /// e.g. a directory an authenticated key server serves; with several
    /// renditions, each in a directory of its name there.
    #[arg(long, value_name = "DIR", requires = "encrypt")]
    key_dir: Option<PathBuf>,
    /// With --encrypt: the key URI written in EXT-X-KEY, `{key}` replaced
    /// by the key's name (`key3.key`; `hi/key3.key` for rendition `hi`
    /// with --key-dir), e.g. `https://keys.example/live/{key}`.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "{key}",
        requires = "encrypt"
    )]
    key_uri: String,
    /// Read a file at the stream's own pace (by its PCR), as a live source;
    /// after a PCR jump (an encoder restart, back or ahead) the pace goes
    /// on from where the stream was, neither bursting nor sleeping it out.
    #[arg(long)]
    realtime: bool,
    /// Low-latency HLS: also cut partial segments of at most this many
    /// seconds (e.g. 0.5), listed with EXT-X-PART and EXT-X-PRELOAD-HINT;
    /// with several renditions each playlist reports the others
    /// (EXT-X-RENDITION-REPORT).
    #[arg(long, value_name = "SECONDS")]
    part_target: Option<f64>,
    /// Serve the output over HTTP on this address with the built-in origin:
    /// LL-HLS blocking playlist reloads, delta updates and preload hints.
    /// One input is served at /index.m3u8; several renditions at
    /// /NAME/index.m3u8 (as on disk) with /master.m3u8. After the input ends
    /// it keeps serving until SIGINT/SIGTERM. The soft descriptor limit is
    /// raised to the hard one and connections are capped below it (503
    /// past the cap), so that clients never stop the segmenter.
    #[arg(long, value_name = "ADDR")]
    serve: Option<std::net::SocketAddr>,
    /// Serve over TLS (HTTPS) on --serve's address with this certificate
    /// chain (PEM, leaf first), paired with the --tls-key at its position;
    /// repeat both for several certificates, chosen by the name the client
    /// asks for (SNI). HTTP/2 is offered by ALPN (LL-HLS's blocking
    /// playlist request and part downloads share one connection); without
    /// TLS the origin speaks HTTP/1.1 and h2c with prior knowledge.
    /// Read again on SIGHUP and when a file changes (new handshakes get the
    /// new certificates); a pair that does not load or has expired is
    /// refused and the running one stays. A DER OCSP response in
    /// `FILE.ocsp` is stapled, as in `serve`.
    #[arg(long = "tls-cert", value_name = "FILE", requires = "serve")]
    tls_certs: Vec<std::path::PathBuf>,
    /// Private key of the --tls-cert at the same position (PEM).
    #[arg(long = "tls-key", value_name = "FILE", requires = "serve")]
    tls_keys: Vec<std::path::PathBuf>,
    /// A backup input: it takes over when the input has yielded no frames
    /// (silent, or sending bytes that are no usable TS) for
    /// --failover-after, counting every stall over a quarter of it within
    /// the last --recover-after (so a flapping input fails over too), and
    /// hands back after --recover-after without a stall; each switch is a
    /// cut at a keyframe after one discontinuity.
    /// With several renditions give `--backup NAME=INPUT` once per
    /// rendition that has one (the others have no failover).
    #[arg(long, value_name = "[NAME=]INPUT")]
    backup: Vec<String>,
    /// Time without frames before the backup takes over, seconds; also when
    /// a stalled input's open segment is published and a useless network
    /// input is reconnected (then after 2×, 4×… up to 30 s).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    failover_after: f64,
    /// Health of the input again, without a stall, before it takes back,
    /// seconds (at least --failover-after).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    recover_after: f64,
    /// Give up an HTTP input after this many seconds without data (never
    /// reachable, or gone): its stream ends properly and the run exits 69.
    /// Without it, HTTP inputs are retried for ever (0.25 s doubling to
    /// 10 s), each failure logged with the URL and the next retry.
    #[arg(long, value_name = "SECONDS")]
    give_up_after: Option<f64>,
    /// Accept HEVC CRA/BLA pictures as cut points always (open GOP).
    /// Without it, IDR pictures are preferred and a CRA picture is a cut
    /// point only when a cut is due and no IDR comes in time (x265's
    /// defaults: one IDR, then CRA pictures), said once in a WARN line.
    #[arg(long)]
    allow_cra: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Runs `routecast segment`.
pub fn run(args: &SegmentArgs) -> Result<(), Failure> {
    check_window(args)?;
    check_failover(args)?;
    check_encryption(args)?;
    let renditions =
        parse_renditions(&args.inputs, &args.backup).map_err(|e| Failure::Usage(usage(&e)))?;
    let stop = stop_on_signal();
    let (publishers, origin) = match args.serve {
        Some(addr) => serve(addr, args, &renditions, stop.clone())?,
        None => ((0..renditions.len()).map(|_| None).collect(), None),
    };
    let channel = Channel::new(config(args), renditions, Arc::new(SystemClock::new()), stop);
    let outcome = Outcome::default();
    channel
        .run(publishers, &|event| report(event, args.quiet, &outcome))
        .map_err(failure)?;
    if let Some(origin) = origin {
        // Every rendition waited for the stop signal before returning.
        origin.join();
    }
    outcome.failure()
}

/// What was wrong with the inputs and `--backup`s, in the flags' terms.
fn usage(e: &RenditionsError) -> String {
    match e {
        RenditionsError::BackupTwice => "--backup is given more than once for one input".into(),
        RenditionsError::BackupUnnamed { arg, names } => format!(
            "--backup {arg}: with several renditions give --backup NAME=INPUT (renditions: {names})"
        ),
        RenditionsError::UnknownRendition { .. } | RenditionsError::SecondBackup { .. } => {
            format!("--{e}")
        }
        other => other.to_string(),
    }
}

/// `--window` and `--grace` must make a valid live playlist;
/// `--give-up-after` is a positive number of seconds.
fn check_window(args: &SegmentArgs) -> Result<(), Failure> {
    if let Some(s) = args.give_up_after {
        if !(s.is_finite() && s > 0.0 && s < 1e9) {
            return Err(Failure::Usage(format!(
                "--give-up-after {s}: expected a positive number of seconds"
            )));
        }
    }
    if !(args.window.is_finite() && args.grace.is_finite() && args.grace >= 0.0) {
        return Err(Failure::Usage(
            "--window and --grace must be numbers of seconds".into(),
        ));
    }
    let minimum_grace = args.window + f64::from(args.target_duration);
    if !args.archive && args.grace < minimum_grace {
        return Err(Failure::Usage(format!(
            "--grace {} is too short: a removed segment must stay available for the window plus a \
             target duration ({minimum_grace} s), RFC 8216 §6.2.2",
            args.grace
        )));
    }
    Ok(())
}

/// `--key-uri` names each key apart (`{key}`) and fits a quoted URI;
/// with `--key-dir` it is given (the playlists cannot name keys relative
/// to themselves there).
fn check_encryption(args: &SegmentArgs) -> Result<(), Failure> {
    let template = &args.key_uri;
    if !template.contains("{key}") {
        return Err(Failure::Usage(format!(
            "--key-uri {template:?} has no {{key}}: every key would have one URI and players \
             would keep the first (e.g. https://keys.example/live/{{key}})"
        )));
    }
    if template.chars().any(|c| c.is_control() || c == '"') {
        return Err(Failure::Usage(format!(
            "--key-uri {template:?} holds a quote or a control character, which a playlist's \
             quoted URI cannot carry"
        )));
    }
    if args.key_dir.is_some() && template == "{key}" {
        return Err(Failure::Usage(
            "--key-dir puts keys where the playlists cannot name them relative to themselves: \
             give --key-uri with the URL the key server serves them at \
             (e.g. https://keys.example/live/{key})"
                .into(),
        ));
    }
    Ok(())
}

/// `--recover-after` must be at least `--failover-after`: a primary is
/// trusted again only after it has been healthy longer than it took to
/// judge it failed (else a flapping primary takes back at every flap).
fn check_failover(args: &SegmentArgs) -> Result<(), Failure> {
    let (failover, recover) = (args.failover_after, args.recover_after);
    if !(failover.is_finite() && recover.is_finite() && failover > 0.0) {
        return Err(Failure::Usage(
            "--failover-after and --recover-after must be positive numbers of seconds".into(),
        ));
    }
    if recover < failover {
        return Err(Failure::Usage(format!(
            "--recover-after {recover} is shorter than --failover-after {failover}: the primary \
             would be handed back before it is known to be healthy (give at least {failover})"
        )));
    }
    Ok(())
}

/// The channel's settings from the command line.
fn config(args: &SegmentArgs) -> ChannelConfig {
    ChannelConfig {
        out: args.out.clone(),
        cutter: CutterConfig {
            target_duration: args.target_duration,
            allow_cra: args.allow_cra,
            part_target: args.part_target,
            ..CutterConfig::default()
        },
        window_secs: args.window,
        grace_ms: (args.grace * 1000.0) as u64,
        archive: args.archive,
        encryption: args.encrypt.then(|| EncryptionConfig {
            key_dir: args.key_dir.clone(),
            key_uri: args.key_uri.clone(),
            rotation: args.key_rotation,
            ..EncryptionConfig::default()
        }),
        iframes: args.iframes,
        cue_tags: args.cue_tags,
        realtime: args.realtime,
        failover: FailoverConfig {
            silence_ms: (args.failover_after * 1000.0) as u64,
            recover_ms: (args.recover_after * 1000.0) as u64,
        },
        inputs: InputOptions {
            // Checked positive and finite by check_window.
            give_up_after: args.give_up_after.map(Duration::from_secs_f64),
        },
    }
}

/// `--serve`: the built-in origin on its own thread, and each rendition's
/// publisher for it.
type Served = (Vec<Option<Publisher>>, Option<OriginThread>);

fn serve(
    addr: std::net::SocketAddr,
    args: &SegmentArgs,
    renditions: &[RenditionInputs],
    stop: Arc<AtomicBool>,
) -> Result<Served, Failure> {
    let names: Vec<String> = renditions.iter().map(|r| r.name.clone()).collect();
    if !args.tls_certs.is_empty() {
        // What the TLS layer tells (certificates expiring, OCSP responses
        // not stapled, failed handshakes) as serve's text log lines.
        super::serve::init_logs(super::serve::LogFormat::Text);
    }
    let tls = super::tls_files(&args.tls_certs, &args.tls_keys)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(tls) = &tls {
        reload_certificates(tls.clone())?;
    }
    let on_error = |e| eprintln!("routecast segment: origin: {e}");
    let (origin, publishers) = OriginThread::spawn(addr, &args.out, &names, tls, stop, on_error)
        .map_err(|e| match e {
            OriginStartError::Bind { error, .. } => {
                Failure::Usage(format!("--serve {addr}: {error}"))
            }
            other => Failure::Other(other.into()),
        })?;
    if !args.quiet {
        let top = if names.len() == 1 && !args.iframes {
            LIVE_PLAYLIST
        } else {
            MASTER_PLAYLIST
        };
        eprintln!(
            "routecast segment: serving {scheme}://{}/{top}",
            origin.local_addr()
        );
    }
    Ok((publishers.into_iter().map(Some).collect(), Some(origin)))
}

/// Prints what the channel tells (switches, connections and the summary
/// only unless `--quiet`; errors always); `outcome` keeps what fails the
/// run.
fn report(event: ChannelEvent<'_>, quiet: bool, outcome: &Outcome) {
    if let ChannelEvent::Finished(summary) = &event {
        outcome.finished(summary);
    }
    match event {
        ChannelEvent::Switched { input, to } if !quiet => {
            eprintln!("routecast segment: {input}: switched to the {to:?} input");
        }
        ChannelEvent::ReadError { input, error } => {
            eprintln!("routecast segment: {input}: read error: {error}");
        }
        ChannelEvent::Stalled {
            input,
            silent_ms,
            reopening,
        } => {
            let then = if reopening { "reconnecting" } else { "waiting" };
            eprintln!(
                "routecast segment: {input}: no frame for {:.1} s (nothing usable: no complete \
                 access unit with an advancing timestamp); {then}",
                silent_ms as f64 / 1000.0
            );
        }
        ChannelEvent::MasterPlaylistFailed { path, error } => {
            eprintln!("routecast segment: {}: {error}", path.display());
        }
        ChannelEvent::Finished(summary) if !quiet => print_summary(summary),
        ChannelEvent::Input { input, notice } => outcome.input(input, notice, quiet),
        ChannelEvent::Cutting { input, notice } if !quiet => {
            eprintln!("routecast segment: {input}: WARN: {}", cut_warning(notice));
        }
        _ => {}
    }
}

/// What a cutter's notice means for the operator, and what to do.
fn cut_warning(notice: &CutNotice) -> String {
    let secs = |ticks: u64| Timestamp::seconds(ticks);
    match notice {
        CutNotice::TargetRaised {
            gop,
            asked,
            announced,
            frame,
        } => {
            let keyint = match frame {
                0 => format!("{asked} s of frames"),
                f => (u64::from(*asked) * Timestamp::HZ / f).to_string(),
            };
            format!(
                "the first GOP is {:.3} s, longer than --target-duration {asked}: \
                 EXT-X-TARGETDURATION is {announced} for the playlist's life; for {asked} s \
                 segments give the encoder a keyframe interval of at most {asked} s \
                 (ffmpeg -g {keyint}, x264/x265 keyint={keyint})",
                secs(*gop)
            )
        }
        CutNotice::LongGop {
            at,
            since_random_access,
            target,
        } => format!(
            "a GOP longer than the target duration {target} s: segment cut without a keyframe \
             at PTS {:.3} s, {:.3} s after the last keyframe (players joining at such a \
             segment wait for the next keyframe); give the encoder a keyframe interval of at \
             most {target} s (ffmpeg -g, x264/x265 keyint)",
            secs(at.0),
            secs(*since_random_access)
        ),
        CutNotice::OpenGop { at } => format!(
            "open GOPs: HEVC CRA pictures and no IDR in time, so segments are cut at CRA \
             pictures (first at PTS {:.3} s), their leading pictures kept (a player starting \
             there skips them); --allow-cra to accept CRA cut points (and silence this), or \
             encode closed GOPs (x265: -x265-params no-open-gop=1) with an IDR at most every \
             target duration",
            secs(at.0)
        ),
        CutNotice::SpliceLate { splice, cut } => format!(
            "SCTE-35 splice at PTS {:.3} s has no keyframe: segment cut at the next one, PTS \
             {:.3} s ({:.3} s later; the EXT-X-DATERANGE keeps the splice's time); have the \
             encoder put a keyframe at splice points (SCTE-35-aware encoders do; ffmpeg \
             -force_key_frames)",
            secs(splice.0),
            secs(cut.0),
            secs(cut.ticks_since(*splice))
        ),
        CutNotice::SpliceDropped { at } => format!(
            "SCTE-35 splice announced for PTS {:.3} s never came: the stream's timeline broke \
             first (encoder restart or input switch) or the stream ended; no EXT-X-DATERANGE \
             for it",
            secs(at.0)
        ),
        CutNotice::BadSplice(e) => format!(
            "SCTE-35 section skipped: {e} (its packets stay in the segment; no \
             EXT-X-DATERANGE for it)"
        ),
        other => format!("{other:?}"),
    }
}

/// The rendition's playlist and what it saw.
fn print_summary(r: &RenditionSummary) {
    let s = &r.stats;
    eprintln!("{}", r.playlist.display());
    eprintln!(
        "{}: {} segments; {} packets ({} null, {} broken, {} continuity errors, {} bytes skipped for sync); {} discontinuities; {} PMT changes; {} segments over the target duration; {} input switches; target duration {}; {} cuts without a keyframe in {} GOPs longer than it",
        r.input,
        r.segments,
        s.demux.packets,
        s.demux.null_packets,
        s.demux.bad_packets,
        s.demux.continuity_errors,
        r.skipped_for_sync,
        r.discontinuities,
        s.demux.pmt_changes,
        s.long_segments,
        r.switches,
        r.target_duration
            .map_or_else(|| "none".to_owned(), |t| format!("{t} s")),
        s.forced_cuts,
        s.long_gops,
    );
    if s.demux.splice_sections + s.demux.bad_splice_sections > 0 {
        eprintln!(
            "{}: {} SCTE-35 sections read, {} refused",
            r.input, s.demux.splice_sections, s.demux.bad_splice_sections
        );
    }
}

/// The exit status of a channel error: bad inputs and directories are
/// usage errors, a failed input is bad data, the rest other failures.
fn failure(e: ChannelError) -> Failure {
    match e {
        ChannelError::Input(_)
        | ChannelError::Open { .. }
        | ChannelError::Setup(_)
        | ChannelError::Failover(_) => Failure::Usage(e.to_string()),
        ChannelError::Read { .. } => Failure::Data(e.to_string()),
        ChannelError::Write(e) => Failure::Other(e.into()),
        other => Failure::Other(other.into()),
    }
}

/// How often the certificate files are checked for changes (as `serve`
/// checks its configuration's).
const CERT_WATCH: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads the origin's certificates again on SIGHUP and when one of their
/// files changes (checked every [`CERT_WATCH`]), as `serve` does: new
/// handshakes get the new ones, open connections keep theirs, and a pair
/// that does not load is refused with its error while the running one
/// stays. SIGHUP is caught before this returns (before the origin serves:
/// an early one must not end the run); the watch runs on a thread of its
/// own until the process ends.
fn reload_certificates(tls: Arc<routecast_http::tls::Tls>) -> Result<(), Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let failed = |e: std::io::Error| Failure::Other(anyhow::anyhow!("cannot catch SIGHUP: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    let mut hangups = {
        let _in = rt.enter();
        signal(SignalKind::hangup()).map_err(failed)?
    };
    std::thread::Builder::new()
        .name("segment-certificates".into())
        .spawn(move || {
            rt.block_on(async {
                let mut seen = tls.modified();
                let mut tick = tokio::time::interval(CERT_WATCH);
                loop {
                    let asked = tokio::select! {
                        _ = hangups.recv() => true,
                        _ = tick.tick() => false,
                    };
                    let now = tls.modified();
                    if !asked && now == seen {
                        continue;
                    }
                    seen = now;
                    match tls.reload() {
                        Ok(()) => eprintln!("routecast segment: TLS certificates reloaded"),
                        Err(e) => eprintln!(
                            "routecast segment: TLS certificates refused; keeping the running ones: {e}"
                        ),
                    }
                }
            });
        })
        .map_err(failed)?;
    Ok(())
}

/// Set once SIGINT or SIGTERM arrives: the segmenter then ends the stream
/// properly (last segment, ENDLIST) instead of dying mid-write.
fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let _ = std::thread::Builder::new()
        .name("segment-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            });
            set.store(true, Ordering::Relaxed);
        });
    flag
}
