//! Debian's nginx (`/usr/sbin/nginx`) as an unprivileged process on a free
//! loopback port: one process in the foreground, its configuration, pid,
//! logs and temporary files under a directory of the test's, stopped when
//! dropped. Shared by the player tests (nginx as an HLS origin) and the
//! redirector tests (nginx's stub_status as a site's load).
//!
//! nginx is required (scripts/test installs it): a missing one fails the
//! test, it never skips.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
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

impl Nginx {
    /// Starts nginx with its files in `dir`; `http` gives the inside of the
    /// `http {}` block for the port to listen on (127.0.0.1). Panics with
    /// nginx's error log if it does not answer within 10 s.
    pub fn start(dir: &Path, http: impl FnOnce(u16) -> String) -> Nginx {
        let port = free_port();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(dir, &http(port))).expect("write nginx.conf");
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|p| !p.starts_with('/') || Path::new(p).exists())
            .unwrap_or("nginx");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nginx must be installed (scripts/test installs Debian's nginx): {e}")
            });
        let mut nginx = Running(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            let exited = nginx.0.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "nginx did not start ({exited:?}): {log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            addr,
            _nginx: nginx,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A loopback port free a moment ago (the server takes it right after).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("bound address").port()
}
