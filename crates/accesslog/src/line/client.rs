//! The first field of a combined line, the client address, read by hand:
//! dotted-quad IPv4 sixteen bytes at a time, IPv6 in hex groups, `std`
//! for anything else (and as the reference they are property-tested
//! against); what is no address may be a host name ([`super::host`]).

use std::net::IpAddr;

use memchr::memchr;

use super::host::{parse_client, Client};

/// The client address. Dotted-quad IPv4 (what most log lines hold) is read
/// by hand in one pass over the bytes, as `std`'s parser does the same work
/// through UTF-8 validation and a general state machine at about three
/// times the cost; anything else (IPv6, or IPv4 this does not take) goes to
/// `std`, whose answer is the reference (property-tested equal).
pub(super) fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    parse_ipv4(b)
        .map(IpAddr::V4)
        .or_else(|| parse_ipv6(b).map(IpAddr::V6))
        .or_else(|| std::str::from_utf8(b).ok()?.parse().ok())
}

/// IPv6 in hex groups of one to four digits, with at most one `::` that
/// stands for at least one group: the address, or `None` for anything else
/// (embedded IPv4, zone ids, junk), which `std` then reads. Hand-written
/// for the same reason as [`parse_ipv4`] (about ten times `std`'s speed on
/// the eight-group addresses clients have); property-tested equal.
pub(super) fn parse_ipv6(b: &[u8]) -> Option<std::net::Ipv6Addr> {
    let mut groups = [0u16; 8];
    let (mut n, mut gap) = (0usize, None);
    let mut i = 0;
    if b.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    while i < b.len() {
        let (value, digits) = hex_group(&b[i..])?;
        *groups.get_mut(n)? = value;
        n += 1;
        i += digits;
        match b.get(i..i + 2) {
            _ if i == b.len() => break,
            Some(b"::") if gap.is_none() => {
                gap = Some(n);
                i += 2;
            }
            _ if b[i] == b':' && i + 1 < b.len() => i += 1,
            _ => return None,
        }
    }
    match gap {
        None if n == 8 => {}
        // `::` stands for at least one group.
        Some(at) if n < 8 => {
            groups.copy_within(at..n, 8 - (n - at));
            groups[at..8 - (n - at)].fill(0);
        }
        _ => return None,
    }
    Some(std::net::Ipv6Addr::from(groups))
}

/// One to four hex digits: their value and how many.
fn hex_group(b: &[u8]) -> Option<(u16, usize)> {
    let mut value = 0u16;
    let mut digits = 0;
    for &c in b.iter().take(5) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        if digits == 4 {
            return None;
        }
        value = value << 4 | u16::from(d);
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

/// `a.b.c.d` with each part 0–255 in decimal, no leading zeros (as `std`
/// requires): the address, or `None` for anything else.
pub(super) fn parse_ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    ipv4_prefix(b).and_then(|(a, n)| (n == b.len()).then_some(a))
}

/// The first field of a line, the client (an address, else a host name),
/// and where its space is: a dotted quad is read in the same pass that
/// finds the space.
pub(super) fn client_field(line: &[u8]) -> Option<(Client<'_>, usize)> {
    if let Some((a, n)) = ipv4_prefix(line) {
        if line.get(n) == Some(&b' ') {
            return Some((Client::Ip(IpAddr::V4(a)), n));
        }
    }
    // IPv6, a host name (or junk): tens of bytes to the space, which
    // `memchr` finds faster than a loop.
    let sp = memchr(b' ', line)?;
    Some((parse_client(&line[..sp])?, sp))
}

/// A dotted quad at the start of `b` (up to the first byte that is neither
/// a digit nor a point), and its length.
fn ipv4_prefix(b: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    match b.first_chunk::<16>() {
        Some(head) => ipv4_in_16(head),
        None => ipv4_prefix_bytewise(b),
    }
}

/// `0x0101…01` times a byte: that byte in every lane of a `u128`.
const fn lanes(byte: u8) -> u128 {
    u128::from_ne_bytes([byte; 16])
}

/// The top bit of each byte lane.
const HIGH: u128 = lanes(0x80);
/// The low seven bits of each byte lane.
const LOW7: u128 = lanes(0x7f);

/// The top bit of each byte of `x` that is zero (exact: no borrow crosses
/// lanes, as each lane's sum stays under 0x100).
#[inline]
fn zero_bytes(x: u128) -> u128 {
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// [`ipv4_prefix`] for a line of at least 16 bytes, which hold any dotted
/// quad and the byte after it: all sixteen are classified at once, bit
/// tricks on one 128-bit word (SWAR: no `unsafe`, no branch per byte),
/// as the byte-at-a-time loop mispredicted a branch at every point and
/// was a third of the line parser's time. Property-tested equal to
/// [`ipv4_prefix_bytewise`].
#[inline]
pub(super) fn ipv4_in_16(head: &[u8; 16]) -> Option<(std::net::Ipv4Addr, usize)> {
    let x = u128::from_le_bytes(*head);
    // Digits become 0..=9 in `u`; a lane is a digit when it is at most 9.
    let u = x ^ lanes(b'0');
    let digits = !(((u & LOW7) + lanes(0x7f - 9)) | u) & HIGH;
    let points = zero_bytes(x ^ lanes(b'.'));
    let other = HIGH & !(digits | points);
    if other == 0 {
        return None;
    }
    // The field ends at the first byte that is neither; the points before
    // it are those under its lowest bit.
    let len = (other.trailing_zeros() / 8) as usize;
    let mut points = points & ((other & other.wrapping_neg()) - 1);
    // Each lane's digit (0..=9 where a digit is), after two zero lanes, so
    // that a part's tens and hundreds can be read whatever its length.
    let mut d = [0u8; 18];
    d[2..].copy_from_slice(&u.to_le_bytes());
    let mut address = 0u32;
    let mut from = 0usize;
    for part in 0..4 {
        let to = if part < 3 {
            if points == 0 {
                return None;
            }
            let p = (points.trailing_zeros() / 8) as usize;
            points &= points - 1;
            p
        } else if points != 0 {
            return None; // a fourth point
        } else {
            len
        };
        let n = to.wrapping_sub(from);
        if !(1..=3).contains(&n) {
            return None;
        }
        // `d[to + 1]` is the part's last digit (ones), `d[to]` the one
        // before it, `d[to - 1]` the one before that.
        let ones = u32::from(d[to + 1]);
        let tens = u32::from(d[to]) * u32::from(n >= 2);
        let hundreds = u32::from(d[to - 1]) * u32::from(n == 3);
        if n > 1 && d[from + 2] == 0 {
            return None; // a leading zero
        }
        let value = hundreds * 100 + tens * 10 + ones;
        if value > 255 {
            return None;
        }
        address = address << 8 | value;
        from = to + 1;
    }
    Some((std::net::Ipv4Addr::from(address), len))
}

/// [`ipv4_prefix`] a byte at a time, for fields at the very end of a short
/// input (and the reference the word-at-a-time reading is tested against).
pub(super) fn ipv4_prefix_bytewise(b: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    // The octets gather in one integer: bytes stored one by one and then
    // read as a word stall the read (no store forwarding).
    let mut address = 0u32;
    let mut part = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    let mut n = 0;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None; // a leading zero
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 => {
                address = address << 8 | value;
                part += 1;
                (value, digits) = (0, 0);
            }
            b'.' => return None,
            _ => break,
        }
        n += 1;
    }
    if part != 3 || digits == 0 {
        return None;
    }
    Some((std::net::Ipv4Addr::from(address << 8 | value), n))
}
