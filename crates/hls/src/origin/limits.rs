//! The descriptors the origin may use, and how it listens.
//!
//! Connections and the segmenter's files share the process's one limit of
//! open descriptors (`RLIMIT_NOFILE`). The origin starts by raising the soft
//! limit to the hard one ([`raise_descriptor_limit`]), then serves at most
//! [`connection_cap`] connections, keeping the rest for the segment writer,
//! the files the origin reads and the connections it is refusing. The
//! listen backlog is the system's (`net.core.somaxconn`).

use std::io;
use std::net::SocketAddr;

use rustix::process::{getrlimit, setrlimit, Resource};
use tokio::net::{TcpListener, TcpSocket};

/// Descriptors kept free of connections at least: the segment writer
/// (a part, a segment and a playlist at once per rendition, each written
/// to a temporary file and renamed), files being read for clients, the
/// refused connections being answered, the runtime's own.
pub const RESERVED_DESCRIPTORS: u64 = 128;

/// Listen backlog when the system's cannot be read (the kernel caps it to
/// its `somaxconn` anyway).
const DEFAULT_BACKLOG: u32 = 4096;

/// Raises the soft limit of open descriptors to the hard one (as nginx's
/// `worker_rlimit_nofile` or systemd's `LimitNOFILE=` would) and returns
/// the soft limit now in force (`None`: unlimited). Raising is only ever
/// up: a soft limit already at the hard one, or under an unlimited hard
/// one, is left alone.
///
/// # Errors
/// The system refused to read or set the limit.
pub fn raise_descriptor_limit() -> io::Result<Option<u64>> {
    let limit = getrlimit(Resource::Nofile);
    // An unlimited hard limit is refused by Linux for this resource
    // (fs.nr_open caps it): then the soft one stays.
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum) {
        if soft < hard {
            let raised = rustix::process::Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            setrlimit(Resource::Nofile, raised)?;
        }
    }
    Ok(getrlimit(Resource::Nofile).current)
}

/// The connections served at once: `configured`, but never more than the
/// soft descriptor limit less a reserve for everything else (a quarter of
/// the limit, at least [`RESERVED_DESCRIPTORS`]); at least one.
pub fn connection_cap(configured: usize) -> usize {
    let Some(soft) = getrlimit(Resource::Nofile).current else {
        return configured.max(1);
    };
    let reserve = RESERVED_DESCRIPTORS.max(soft / 4);
    let room = usize::try_from(soft.saturating_sub(reserve)).unwrap_or(usize::MAX);
    configured.min(room).max(1)
}

/// The system's listen backlog (`/proc/sys/net/core/somaxconn`), else
/// 4096.
pub(crate) fn backlog() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&n| n > 0 && n <= i32::MAX as u32)
        .unwrap_or(DEFAULT_BACKLOG)
}

/// A listener on `addr` with the system's listen backlog
/// (`/proc/sys/net/core/somaxconn`, else 4096) and
/// `SO_REUSEADDR` (as `TcpListener::bind` sets it). Must be called within a
/// tokio runtime.
///
/// # Errors
/// The address cannot be listened on.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog())
}
