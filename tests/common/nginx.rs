//! Debian's nginx (`/usr/sbin/nginx`) as an unprivileged process on a free
//! loopback port: one process in the foreground, its configuration, pid,
//! logs and temporary files under a directory of the test's, stopped when
//! dropped. Shared by the player tests (nginx as an HLS origin) and the
//! redirector tests (nginx's stub_status as a site's load).
//!
//! nginx is required (scripts/test installs it): a missing one fails the
//! test, it never skips.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running nginx; stopped when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// Where it listens.
    pub addr: SocketAddr,
    _nginx: Running,
}

/// The whole configuration around `http`, the inside of the `http {}`
/// block: everything nginx writes goes under `dir`.
fn config(dir: &Path, http: &str) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{http}
}}
"#
    )
}

/// Attempts at starting nginx, each on a new port: another process may
/// take the port between [`free_port`] and nginx's bind.
const ATTEMPTS: usize = 5;

/// How one start ended.
enum Start {
    /// Listening: nginx wrote its pid file, which it does only once its
    /// sockets are bound.
    Listening(Running),
    /// The port was taken (nginx exits after a few tries to bind).
    PortTaken,
}

impl Nginx {
    /// Starts nginx with its files in `dir`; `http` gives the inside of the
    /// `http {}` block for the port to listen on (127.0.0.1). nginx cannot
    /// bind port 0 and say which port it got, so a free port is picked and,
    /// should another process take it first, nginx starts again on a new
    /// one ([`ATTEMPTS`] in all). Panics with nginx's error log if it does
    /// not answer within 10 s.
    pub fn start(dir: &Path, http: impl Fn(u16) -> String) -> Nginx {
        Self::start_on(dir, http, std::iter::repeat_with(free_port))
    }

    /// [`Nginx::start`] on the first of `ports` that nginx can bind.
    pub fn start_on(
        dir: &Path,
        http: impl Fn(u16) -> String,
        ports: impl IntoIterator<Item = u16>,
    ) -> Nginx {
        for port in ports.into_iter().take(ATTEMPTS) {
            if let Start::Listening(nginx) = start_once(dir, &http(port)) {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                return Nginx {
                    addr,
                    _nginx: nginx,
                };
            }
        }
        panic!("nginx found no free port in {ATTEMPTS} attempts");
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Runs nginx once with `http` as the inside of its `http {}` block, until
/// it listens or fails to bind; panics on any other failure.
fn start_once(dir: &Path, http: &str) -> Start {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(dir, http)).expect("write nginx.conf");
    let (pid_file, log_file) = (dir.join("nginx.pid"), dir.join("error.log"));
    for stale in [&pid_file, &log_file] {
        let _ = std::fs::remove_file(stale);
    }
    let nginx = ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .find(|p| !p.starts_with('/') || Path::new(p).exists())
        .unwrap_or("nginx");
    let child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(&log_file)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("nginx must be installed (scripts/test installs Debian's nginx): {e}")
        });
    let mut nginx = Running(child);
    let pid = nginx.0.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let written = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if written.trim() == pid {
            return Start::Listening(nginx);
        }
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let exited = nginx.0.try_wait().ok().flatten();
        if exited.is_some() && log.contains("Address already in use") {
            return Start::PortTaken;
        }
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "nginx did not start ({exited:?}): {log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port free a moment ago: another process may take it before
/// the caller binds it. Servers that can bind port 0 and report the port
/// they got should; [`Nginx::start`] cannot, and tries again.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("bound address").port()
}
