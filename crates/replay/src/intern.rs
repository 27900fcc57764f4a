//! The prepared requests of the reordering window, each kept once.
//!
//! A request waits in the window for as long as the window is (an hour by
//! default), so the window is tens of megabytes that are written once and
//! read back once from main memory: what it holds per request is what it
//! costs. Most of a prepared request ([`Prepared`]: group, policy, position,
//! client hash, serving content lists; 80 bytes) is the same for every
//! request of a client for a content class, so the window holds a 4-byte id
//! instead, and [`Interned`] the prepared request once, with a count of the
//! waiting requests that refer to it. A request whose preparation hashes its
//! whole path (nearly unique to it) gets a slot of its own, without being
//! looked up. The same bits come back out: exact.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use routecast_engine::Prepared;

/// One kept prepared request.
#[derive(Debug, Clone, Copy)]
struct Slot {
    prep: Prepared,
    /// Waiting requests that refer to it (0: free).
    refs: u32,
    /// Whether it is in `ids` (shared by requests with the same bits).
    shared: bool,
}

/// Prepared requests by id, each kept once while requests refer to it.
#[derive(Debug, Default)]
pub(crate) struct Interned {
    slots: Vec<Slot>,
    /// Free slots, the most recently freed last (its memory is the most
    /// likely to be in a cache).
    free: Vec<u32>,
    /// Shared slots by the prepared request's exact bits.
    ids: HashMap<Bits, u32, BuildHasherDefault<Fold>>,
}

impl Interned {
    /// An id for `prep`, for one waiting request: give it back to
    /// [`Interned::take`] once.
    pub(crate) fn add(&mut self, prep: &Prepared) -> u32 {
        if prep.hashes_whole_path() {
            return self.slot(prep, false);
        }
        let bits = Bits(prep.bits());
        if let Some(&id) = self.ids.get(&bits) {
            if let Some(s) = self.slots.get_mut(id as usize) {
                s.refs += 1;
                return id;
            }
        }
        let id = self.slot(prep, true);
        self.ids.insert(bits, id);
        id
    }

    /// A new slot holding `prep` for one request.
    fn slot(&mut self, prep: &Prepared, shared: bool) -> u32 {
        let s = Slot {
            prep: *prep,
            refs: 1,
            shared,
        };
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = s;
                id
            }
            None => {
                self.slots.push(s);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// The prepared request of `id`, for one of the requests it was added
    /// for; the last one frees its slot.
    pub(crate) fn take(&mut self, id: u32) -> Prepared {
        let s = &mut self.slots[id as usize];
        debug_assert!(s.refs > 0, "an id taken more often than added");
        s.refs -= 1;
        let prep = s.prep;
        if s.refs == 0 {
            if s.shared {
                self.ids.remove(&Bits(prep.bits()));
            }
            self.free.push(id);
        }
        prep
    }

    /// Prepared requests kept.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// A prepared request's exact bits, compared and hashed word by word (no
/// call to `memcmp`, one multiply).
#[derive(Debug, Clone, Copy)]
struct Bits([u64; 10]);

impl PartialEq for Bits {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Bits {}

impl std::hash::Hash for Bits {
    /// The words folded together: they include the client's hash (xxh3,
    /// well mixed), so the fold is spread well enough; the hasher then
    /// multiplies once. Not keyed: the bits come from the operator's own
    /// logs, through xxh3.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let k = &self.0;
        let fold = k[0] ^ k[1] ^ k[2].rotate_left(7) ^ k[3].rotate_left(13) ^ k[4] ^ k[5] ^ k[6];
        state.write_u64(fold ^ k[7].rotate_left(29) ^ k[8].rotate_left(17) ^ k[9].rotate_left(41));
    }
}

/// The hasher of [`Bits`]: a Fibonacci multiply of the folded word.
#[derive(Debug, Default)]
pub(crate) struct Fold(u64);

impl Hasher for Fold {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(23) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests;
