//! Which stream a request path belongs to: the one stream at the root, or
//! a named rendition under `/NAME/` with plain files (the multivariant
//! playlist) at the root.
//!
//! A lookup over a handful of names per request; the single-stream path
//! costs one match and the same file-name check as before.

use std::path::PathBuf;

use tokio::sync::watch;

use super::files::{self, BadPath};
use super::Published;

/// One directory the origin serves and the state its live playlist and
/// pending media come from.
pub(crate) struct Stream {
    /// Where its files are on disk.
    pub(crate) dir: PathBuf,
    /// What its segmenter last published.
    pub(crate) state: watch::Receiver<Published>,
    /// `index.m3u8` and media names come from `state` (a live stream);
    /// when false the directory is plain files only (the multivariant
    /// root, whose `state` only gives cache lifetimes).
    pub(crate) live: bool,
}

/// The streams of one origin.
pub(crate) enum Routes {
    /// One live stream at the root (`/index.m3u8`).
    Single(Stream),
    /// Renditions under `/NAME/` (from `DIR/NAME`), plain files of `DIR`
    /// (`master.m3u8`) at the root.
    Renditions {
        /// `DIR`, not live.
        root: Stream,
        /// Each rendition by name, in the order given.
        named: Vec<(String, Stream)>,
    },
}

/// Why a rendition set cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenditionError {
    /// No rendition at all.
    #[error("no rendition to serve")]
    Empty,
    /// A name that is not one plain path segment (ASCII letters, digits,
    /// `_`, `-`; not empty).
    #[error("rendition name {name:?} is not letters, digits, '_' and '-'")]
    BadName {
        /// The name given.
        name: String,
    },
    /// The same name twice.
    #[error("rendition name {name:?} given twice")]
    Repeated {
        /// The name given.
        name: String,
    },
}

impl Routes {
    /// Renditions `named` (each served from `root_dir/NAME`) and the
    /// plain files of `root_dir`; the root's 404s and playlists are cached
    /// per the first rendition's target duration.
    pub(crate) fn renditions(
        root_dir: PathBuf,
        named: Vec<(String, watch::Receiver<Published>)>,
    ) -> Result<Self, RenditionError> {
        let first = named.first().ok_or(RenditionError::Empty)?.1.clone();
        let mut streams: Vec<(String, Stream)> = Vec::with_capacity(named.len());
        for (name, state) in named {
            let plain = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            if !plain {
                return Err(RenditionError::BadName { name });
            }
            if streams.iter().any(|(n, _)| *n == name) {
                return Err(RenditionError::Repeated { name });
            }
            let dir = root_dir.join(&name);
            streams.push((
                name,
                Stream {
                    dir,
                    state,
                    live: true,
                },
            ));
        }
        let root = Stream {
            dir: root_dir,
            state: first,
            live: false,
        };
        Ok(Routes::Renditions {
            root,
            named: streams,
        })
    }

    /// The stream whose directory holds the file of `path`, and the file's
    /// name (the rules of [`files::file_name`]). An unknown rendition is
    /// [`BadPath::NotFound`], answered for the root.
    pub(crate) fn route<'a>(&self, path: &'a str) -> (&Stream, Result<&'a str, BadPath>) {
        match self {
            Routes::Single(s) => (s, files::file_name(path)),
            Routes::Renditions { root, named } => {
                if files::suspicious(path) {
                    return (root, Err(BadPath::Suspicious));
                }
                let nested = path.strip_prefix('/').and_then(|p| p.split_once('/'));
                let Some((dir, rest)) = nested else {
                    return (root, files::file_name(path));
                };
                match named.iter().find(|(n, _)| n == dir) {
                    Some((_, s)) => (s, files::plain_name(rest)),
                    None => (root, Err(BadPath::NotFound)),
                }
            }
        }
    }
}
