//! `routecast serve`: the redirector.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use routecast_engine::Router;
use routecast_server::{
    spawn_checks, AccessLog, ClientResolver, Health, Limits, Metrics, ServerView, State,
};

use super::Failure;

/// Arguments of `routecast serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The platform configuration (routecast.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// Address to listen on (port 0 picks a free port; the chosen address
    /// is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Proxies whose Forwarded / X-Forwarded-For headers are believed, and
    /// clients shown the full decision in JSON (CIDR; repeat for more).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Address of the admin listener (`/metrics` for Prometheus, `/status`);
    /// keep it on loopback or a management network. None by default.
    #[arg(long, value_name = "ADDR:PORT")]
    admin_listen: Option<SocketAddr>,
    /// Append a line per routed request to FILE (Traffic Router's format:
    /// `routecast simulate --request-bytes N FILE` replays it).
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// A file holding the bearer token that admin actions (drain, disable)
    /// need; without it they are refused. (A file, not an argument, so that
    /// the token does not show in the process list.)
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Connections served at once.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_connections: usize,
    /// Seconds a client has to send its request head.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    header_timeout: u64,
}

/// Runs `routecast serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
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
    let loaded = routecast_geo::load(&args.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.into()))?;
    let _in_runtime = runtime.enter();
    let access_log = args
        .access_log
        .as_deref()
        .map(|p| {
            AccessLog::open(p).map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "{}: cannot open the access log: {e}",
                    p.display()
                ))
            })
        })
        .transpose()?;
    let admin_token = match &args.admin_token_file {
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "{}: cannot read the admin token: {e}",
                    p.display()
                ))
            })?;
            let t = t.trim().to_string();
            if t.len() < 16 {
                return Err(Failure::Usage(format!(
                    "{}: the admin token must be at least 16 characters",
                    p.display()
                )));
            }
            Some(t)
        }
        None => None,
    };
    let health = Arc::new(Health::new(&loaded.platform));
    let state = Arc::new(State {
        router: Router::new(loaded.platform.clone()),
        locator: loaded.locator.clone(),
        clients: ClientResolver::new(trusted),
        view: ServerView(health.clone()),
        metrics: Metrics::default(),
        access_log,
        admin_token,
    });
    let limits = Limits {
        max_connections: args.max_connections,
        header_timeout: Duration::from_secs(args.header_timeout),
        ..Limits::default()
    };
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| {
                Failure::Other(anyhow::anyhow!("cannot listen on {}: {e}", args.listen))
            })?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "routecast: listening on http://{addr}")?;
        out.flush()?;
        drop(out);
        if let Some(admin_addr) = args.admin_listen {
            let admin = tokio::net::TcpListener::bind(admin_addr)
                .await
                .map_err(|e| {
                    Failure::Other(anyhow::anyhow!("cannot listen on {admin_addr}: {e}"))
                })?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "routecast: admin on http://{}", admin.local_addr()?)?;
            out.flush()?;
            tokio::spawn(routecast_server::serve_admin(
                admin,
                state.clone(),
                shutdown_signal(),
            ));
        }
        spawn_checks(&loaded.platform, health);
        routecast_server::serve(listener, state, limits, shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
