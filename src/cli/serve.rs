//! `routecast serve`: the redirector.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use routecast_geo::Loaded;
use routecast_server::{
    AccessLog, AdminToken, ClientResolver, Limits, Public, Snapshot, State, StateFile, TokenError,
};
use tokio::net::TcpListener;

use super::Failure;

/// Arguments of `routecast serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The platform configuration (routecast.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// Operational log on stderr (site up/down, statistics unavailable,
    /// reloads, admin actions): `text` for people, `json` (one object per
    /// line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Address to listen on (port 0 picks a free port; the chosen address
    /// is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Proxies whose Forwarded / X-Forwarded-For headers are believed, and
    /// clients shown the full decision in JSON (CIDR; repeat for more). The
    /// headers are walked from the right: the first entry that is not a
    /// trusted proxy is the client; if it is not an address (unknown,
    /// garbage), the last trusted hop is.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Address of the admin listener (`/metrics` for Prometheus, `/status`);
    /// keep it on loopback or a management network. None by default.
    #[arg(long, value_name = "ADDR:PORT")]
    admin_listen: Option<SocketAddr>,
    /// Append a line per routed request to FILE (Traffic Router's format,
    /// fields escaped as nginx escapes them, `\xHH`; `routecast simulate
    /// --request-bytes N FILE` replays it).
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// A file holding the bearer token that admin actions (drain, disable)
    /// need; without it they are refused. (A file, not an argument, so that
    /// the token does not show in the process list.)
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Worker threads (default: one per core; 1 runs everything on one
    /// thread, like a single nginx worker).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where admin overrides (drain, disable, activate) are saved, to be
    /// restored at the next start (default: beside the configuration, its
    /// name with `.state` appended).
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Bit rate each redirect adds to its site's estimated load, for its
    /// session class's hold (10 s unless a `[[sessions]]` class says
    /// otherwise) or until the site's next statistics poll; classes may set
    /// their own, Mbit/s.
    #[arg(long, default_value_t = 5.0, value_name = "MBPS")]
    session_mbps: f64,
    /// Seconds HLS clients keep a steering manifest (TTL) before reloading it
    /// (served at `/.steering/<path>`; playlists with `steering = true` point
    /// at it).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    steering_ttl: u64,
    /// Connections served at once.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_connections: usize,
    /// Seconds a client has to finish its TLS handshake, and to send each
    /// HTTP/1.1 request head.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    header_timeout: u64,
    /// Address of the TLS listener (HTTPS: HTTP/1.1 or HTTP/2, chosen by
    /// ALPN; TLS 1.2 and 1.3, sessions resumed by ticket or id). The plain
    /// listener (--listen) stays; it speaks HTTP/2 with prior knowledge
    /// (h2c) besides HTTP/1.1.
    #[arg(long, value_name = "ADDR:PORT", requires = "tls_certs")]
    tls_listen: Option<SocketAddr>,
    /// Certificate chain for the TLS listener (PEM, leaf first), paired
    /// with the --tls-key at the same position; repeat both for several
    /// certificates, chosen by the name the client asks for (SNI: exact,
    /// then wildcard); the first serves clients that ask for no name or an
    /// unknown one. Reloaded with the configuration (SIGHUP, POST /reload,
    /// a changed file): a pair that does not load or has expired is refused
    /// with its error and the running certificates stay. A DER OCSP
    /// response in `FILE.ocsp`, if there is one, is stapled until its
    /// nextUpdate (see the README).
    #[arg(long = "tls-cert", value_name = "FILE", requires = "tls_listen")]
    tls_certs: Vec<PathBuf>,
    /// Private key of the --tls-cert at the same position (PEM: PKCS#8,
    /// PKCS#1 RSA or SEC1 EC).
    #[arg(long = "tls-key", value_name = "FILE", requires = "tls_listen")]
    tls_keys: Vec<PathBuf>,
    /// HTTP/2 streams a connection may have open at once.
    #[arg(long, default_value_t = 128, value_name = "N")]
    max_streams: u32,
}

/// How the operational log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-11-25T10:00:00Z  WARN site down: out of rotation site=lon …`
    Text,
    /// `{"timestamp":…,"level":"WARN","fields":{"message":…,"site":"lon",…}}`
    Json,
}

/// Structured logs (tracing) on stderr, at level INFO and above.
pub(super) fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false);
    // A second initialisation (tests running several servers in one
    // process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs `routecast serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    init_logs(args.log_format);
    let trusted = args
        .trusted_proxies
        .iter()
        .map(|c| {
            routecast_engine::parse_cidr(c)
                .map_err(|e| Failure::Usage(format!("--trusted-proxy: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.max_connections == 0 || args.header_timeout == 0 {
        return Err(Failure::Usage(
            "--max-connections and --header-timeout must be at least 1".into(),
        ));
    }
    if args.max_streams == 0 {
        return Err(Failure::Usage("--max-streams must be at least 1".into()));
    }
    let tls = match args.tls_listen {
        Some(_) => super::tls_files(&args.tls_certs, &args.tls_keys)?,
        None => None,
    };
    let loaded = super::load_platform(&args.config)?;
    let runtime = runtime(args.threads)?;
    let _in_runtime = runtime.enter();
    let mut state = state(args, &loaded, ClientResolver::new(trusted))?;
    state.tls = tls.clone();
    let state = Arc::new(state);
    let limits = Limits {
        max_connections: args.max_connections,
        header_timeout: Duration::from_secs(args.header_timeout),
        max_streams: args.max_streams,
        ..Limits::default()
    };
    runtime.block_on(async {
        let mut public = vec![Public::plain(bind(args.listen, "listening", "http").await?)];
        if let (Some(addr), Some(tls)) = (args.tls_listen, tls) {
            public.push(Public {
                listener: bind(addr, "listening", "https").await?,
                tls: Some(tls),
            });
        }
        let admin = match args.admin_listen {
            Some(addr) => Some(bind(addr, "admin", "http").await?),
            None => None,
        };
        let config = args.config.clone();
        routecast_server::run(state, &loaded, config, (public, admin), limits).await?;
        Ok(())
    })
}

/// The server's state: its access log and admin token opened, the session
/// rate and steering TTL of the command line, and the admin overrides of
/// the state file restored.
fn state(args: &ServeArgs, loaded: &Loaded, clients: ClientResolver) -> Result<State, Failure> {
    let access_log = args.access_log.as_deref().map(AccessLog::open);
    let access_log = access_log
        .transpose()
        .map_err(|e| Failure::Other(e.into()))?;
    let admin_token = args.admin_token_file.as_deref().map(AdminToken::read);
    let admin_token = admin_token.transpose().map_err(|e| match e {
        TokenError::TooShort { .. } => Failure::Usage(e.to_string()),
        _ => Failure::Other(e.into()),
    })?;
    let mut state = State::new(Snapshot::new(loaded), clients, access_log, admin_token);
    if !(args.session_mbps.is_finite() && args.session_mbps >= 0.0) {
        return Err(Failure::Usage(
            "--session-mbps must be a number of Mbit/s >= 0".into(),
        ));
    }
    state.session_mbps = args.session_mbps;
    state.steering_ttl = args.steering_ttl.max(1);
    let file = args.state_file.clone();
    let file = StateFile::new(file.unwrap_or_else(|| StateFile::beside(&args.config)));
    file.restore(&loaded.platform, &state.current().view.0);
    state.state_file = Some(file);
    Ok(state)
}

/// The runtime: one worker per core, `threads` of them, or (1) one thread.
fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, Failure> {
    let mut builder = match threads {
        Some(0) => return Err(Failure::Usage("--threads must be at least 1".into())),
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = threads.filter(|n| *n > 1) {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.into()))
}

/// Binds `addr` and announces it on stdout: `routecast: <what> on
/// <scheme>://…`.
async fn bind(addr: SocketAddr, what: &str, scheme: &str) -> Result<TcpListener, Failure> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot listen on {addr}: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "routecast: {what} on {scheme}://{}",
        listener.local_addr()?
    )?;
    out.flush()?;
    Ok(listener)
}
