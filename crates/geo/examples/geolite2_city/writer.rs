//! A MaxMind DB writer for one job: millions of non-overlapping networks
//! over a few hundred thousand records, in an IPv6 tree with the IPv4
//! space under `::/96` and MaxMind's aliases of it.
//!
//! Written here rather than taken from a crate: `mmdb-writer` 0.1 (the
//! best-kept Rust writer we found; `maxminddb-writer` is undocumented)
//! wrote a correct file, but needed 10.6 GB of memory and two minutes at
//! this size, as it holds every record and sub-value as trees of owned
//! values, several times over. Here each distinct value is written once
//! and remembered by a hash: 25 s, and most of the 3.3 GB peak is the
//! made-up world itself.
//!
//! Format: MaxMind DB 2.0 (<https://maxmind.github.io/MaxMind-DB/>): the
//! search tree (28-bit records), 16 zero bytes, the data section (shared
//! values written once and pointed to), then `\xAB\xCD\xEFMaxMind.com` and
//! the metadata map.

use std::collections::HashMap;

/// A value of the data section.
#[derive(Debug, Clone)]
pub enum Value {
    /// UTF-8 string.
    Str(String),
    /// Double.
    F64(f64),
    /// Unsigned 16-bit integer.
    U16(u16),
    /// Unsigned 32-bit integer.
    U32(u32),
    /// Unsigned 64-bit integer.
    U64(u64),
    /// Boolean.
    Bool(bool),
    /// Map with string keys, written in the given order.
    Map(Vec<(&'static str, Value)>),
    /// Array.
    Array(Vec<Value>),
}

/// A record of the tree: empty, another node, or a record of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Empty,
    Node(u32),
    Data(u32),
}

/// The search tree over 128-bit addresses.
#[derive(Debug)]
pub struct Tree {
    nodes: Vec<[Slot; 2]>,
}

impl Tree {
    /// A tree with its root.
    pub fn new() -> Self {
        Tree {
            nodes: vec![[Slot::Empty; 2]],
        }
    }

    /// The node at the end of the first `depth` bits of `bits`, made if need be.
    fn walk(&mut self, bits: u128, depth: u8) -> Result<usize, String> {
        let mut node = 0usize;
        for d in 0..depth {
            let bit = ((bits >> (127 - d)) & 1) as usize;
            node = match self.nodes[node][bit] {
                Slot::Node(n) => n as usize,
                Slot::Empty => {
                    let n = self.nodes.len();
                    self.nodes.push([Slot::Empty; 2]);
                    self.nodes[node][bit] = Slot::Node(n as u32);
                    n
                }
                Slot::Data(_) => return Err(format!("{bits:x}/{depth} is inside a network")),
            };
        }
        Ok(node)
    }

    /// `bits/len` (an IPv6 network; IPv4 ones at `::/96` + 32) gets record `id`.
    pub fn insert(&mut self, bits: u128, len: u8, id: u32) -> Result<(), String> {
        if len == 0 || len > 128 {
            return Err(format!("prefix length {len}"));
        }
        let parent = self.walk(bits, len - 1)?;
        let bit = ((bits >> (128 - u32::from(len))) & 1) as usize;
        match self.nodes[parent][bit] {
            Slot::Empty => {
                self.nodes[parent][bit] = Slot::Data(id);
                Ok(())
            }
            _ => Err(format!("{bits:x}/{len} overlaps another network")),
        }
    }

    /// Points `bits/len` at the IPv4 subtree (the node at `::/96`), as
    /// MaxMind's databases do for `::ffff:0:0/96`, 2001::/32 and 2002::/16.
    pub fn alias_ipv4(&mut self, bits: u128, len: u8) -> Result<(), String> {
        let root = self.walk(0, 96)? as u32;
        let parent = self.walk(bits, len - 1)?;
        let bit = ((bits >> (128 - u32::from(len))) & 1) as usize;
        self.nodes[parent][bit] = Slot::Node(root);
        Ok(())
    }

    /// The data records in tree order.
    pub fn data_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes.iter().flatten().filter_map(|s| match s {
            Slot::Data(id) => Some(*id),
            _ => None,
        })
    }

    /// The number of nodes.
    pub fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// The tree section with 28-bit records; `offset(id)` is where record
    /// `id` starts in the data section.
    pub fn encode(&self, offset: impl Fn(u32) -> u32) -> Vec<u8> {
        let n = self.node_count();
        let value = |s: Slot| match s {
            Slot::Empty => n,
            Slot::Node(i) => i,
            Slot::Data(id) => n + 16 + offset(id),
        };
        let mut out = Vec::with_capacity(self.nodes.len() * 7);
        for [l, r] in &self.nodes {
            let (l, r) = (value(*l), value(*r));
            out.extend_from_slice(&l.to_be_bytes()[1..]);
            out.push((((l >> 24) & 0xF) << 4 | ((r >> 24) & 0xF)) as u8);
            out.extend_from_slice(&r.to_be_bytes()[1..]);
        }
        out
    }
}

/// The data section: every distinct value (and sub-value) written once,
/// later copies replaced by pointers.
#[derive(Debug, Default)]
pub struct Data {
    /// The section so far.
    pub bytes: Vec<u8>,
    /// Hash of a value's plain encoding → where it was written (128-bit
    /// xxh3: no collision among a few million values in practice, and a
    /// tenth of the memory of keeping the encodings).
    seen: HashMap<u128, u32>,
}

impl Data {
    /// Writes `v` (or finds it) and returns its offset.
    pub fn add(&mut self, v: &Value) -> u32 {
        if let Some(&at) = self.seen.get(&plain(v)) {
            return at;
        }
        let at = self.bytes.len() as u32;
        self.put(v);
        at
    }

    fn put(&mut self, v: &Value) {
        // Values of 3 bytes or less are as small as a pointer to them.
        let small = matches!(v, Value::U16(_) | Value::Bool(_))
            || matches!(v, Value::Str(s) if s.len() < 3);
        if !small {
            let plain = plain(v);
            if let Some(&at) = self.seen.get(&plain) {
                pointer(&mut self.bytes, at);
                return;
            }
            self.seen.insert(plain, self.bytes.len() as u32);
        }
        match v {
            Value::Map(entries) => {
                control(&mut self.bytes, 7, entries.len());
                for (k, v) in entries {
                    self.put(&Value::Str((*k).to_string()));
                    self.put(v);
                }
            }
            Value::Array(items) => {
                control(&mut self.bytes, 11, items.len());
                for v in items {
                    self.put(v);
                }
            }
            scalar => scalar_into(&mut self.bytes, scalar),
        }
    }
}

/// The hash of the encoding of `v` without pointers: the key that finds copies.
fn plain(v: &Value) -> u128 {
    let mut out = Vec::new();
    plain_into(&mut out, v);
    xxhash_rust::xxh3::xxh3_128(&out)
}

fn plain_into(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                scalar_into(out, &Value::Str((*k).to_string()));
                plain_into(out, v);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                plain_into(out, v);
            }
        }
        scalar => scalar_into(out, scalar),
    }
}

fn scalar_into(out: &mut Vec<u8>, v: &Value) {
    let int = |out: &mut Vec<u8>, kind: u8, x: u64| {
        let bytes = x.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        control(out, kind, 8 - skip);
        out.extend_from_slice(&bytes[skip..]);
    };
    match v {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::F64(x) => {
            control(out, 3, 8);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::U16(x) => int(out, 5, u64::from(*x)),
        Value::U32(x) => int(out, 6, u64::from(*x)),
        Value::U64(x) => int(out, 9, *x),
        Value::Bool(b) => control(out, 14, usize::from(*b)),
        Value::Map(_) | Value::Array(_) => plain_into(out, v),
    }
}

/// A control byte (and extended type and size bytes) for `kind`, `size`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (head, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push(kind << 5 | head);
    } else {
        out.push(head);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

/// A pointer to offset `at` of the data section, in its shortest form.
fn pointer(out: &mut Vec<u8>, at: u32) {
    let p = 1 << 5;
    match at {
        0..2048 => out.extend_from_slice(&[p | (at >> 8) as u8, at as u8]),
        2048..526_336 => {
            let x = at - 2048;
            out.extend_from_slice(&[p | 1 << 3 | (x >> 16) as u8, (x >> 8) as u8, x as u8]);
        }
        526_336..134_744_064 => {
            let x = at - 526_336;
            let b = x.to_be_bytes();
            out.extend_from_slice(&[p | 2 << 3 | b[0], b[1], b[2], b[3]]);
        }
        _ => {
            out.push(p | 3 << 3);
            out.extend_from_slice(&at.to_be_bytes());
        }
    }
}

/// The whole file: tree, separator, data, metadata marker and map.
pub fn file(tree: &[u8], data: &[u8], metadata: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(tree.len() + data.len() + 512);
    out.extend_from_slice(tree);
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    plain_into(&mut out, metadata);
    out
}
