//! Where each rendition of a channel stands, shared by their segmenters
//! so that each low-latency playlist reports the others
//! (`EXT-X-RENDITION-REPORT`, RFC 8216bis §4.4.5.4).
//!
//! A rendition posts its position after it published it, and reads the
//! others' before it renders: a report is never ahead of what the other
//! rendition serves (a player asking for the part after it would wait
//! for more than one part), at most one publication behind (the part it
//! asks for is then answered at once).

use std::sync::Mutex;

use crate::playlist::RenditionReport;

/// The last segment or part a rendition published: (media sequence
/// number, part index when it lists parts).
type Position = (u64, Option<u64>);

/// The positions of a channel's renditions, by index.
#[derive(Debug)]
pub struct RenditionBoard {
    /// Each rendition's media playlist, relative to any other's.
    uris: Vec<String>,
    positions: Mutex<Vec<Option<Position>>>,
}

impl RenditionBoard {
    /// A board for renditions whose media playlists are `uris`, each
    /// relative to the others' (`../NAME/index.m3u8` for renditions in
    /// sibling directories), by index.
    pub fn new(uris: Vec<String>) -> Self {
        let positions = Mutex::new(vec![None; uris.len()]);
        Self { uris, positions }
    }

    /// Rendition `index` published `position`.
    pub(super) fn post(&self, index: usize, position: Position) {
        let mut positions = self.lock();
        if let Some(slot) = positions.get_mut(index) {
            *slot = Some(position);
        }
    }

    /// The reports of every rendition but `index` that published
    /// something, in index order.
    pub(super) fn reports_for(&self, index: usize) -> Vec<RenditionReport> {
        let positions = self.lock();
        positions
            .iter()
            .zip(&self.uris)
            .enumerate()
            .filter(|(i, _)| *i != index)
            .filter_map(|(_, (position, uri))| {
                position.map(|(last_msn, last_part)| RenditionReport {
                    uri: uri.clone(),
                    last_msn,
                    last_part,
                })
            })
            .collect()
    }

    /// The positions; a rendition that panicked holding the lock left them
    /// whole (each write is one assignment).
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Position>>> {
        self.positions.lock().unwrap_or_else(|p| p.into_inner())
    }
}
