//! Who watches what: client networks, players, renditions, the daily
//! curve of arrivals, and each viewer's session.
//!
//! The random generator is SplitMix64 ([`routecast_engine::hash`]): its
//! output is fixed forever, so the bundled example log can be regenerated
//! byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use routecast_engine::hash::SplitMix64;

/// The workload's random numbers (SplitMix64: a seed names a log).
pub(crate) struct Rng(pub(crate) SplitMix64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    pub(crate) fn pick<'a, T>(&mut self, weighted: &'a [(u32, T)]) -> &'a T {
        let total: u32 = weighted.iter().map(|w| w.0).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (w, v) in weighted {
            if r < *w {
                return v;
            }
            r -= w;
        }
        &weighted[weighted.len() - 1].1
    }
}

/// Client networks and their share of viewers.
const NETWORKS: &[(u32, &str)] = &[
    (14, "81.2.69.142/31"),   // GB (GeoIP)
    (8, "2.125.160.216/29"),  // GB
    (8, "89.160.20.112/28"),  // SE, AS29518
    (10, "216.160.83.56/29"), // US
    (6, "2001:480::/43"),     // US, IPv6
    (6, "175.16.199.0/24"),   // CN
    (3, "67.43.156.0/24"),    // BT
    (4, "2001:218::/32"),     // JP, IPv6
    (5, "1.0.0.0/24"),        // AS15169
    (5, "12.81.92.0/22"),     // AS7018
    (10, "198.51.100.0/24"),  // coverage zones nl-kpn / de-telekom
    (6, "203.0.113.0/24"),    // coverage zones
    (4, "2001:db8:100::/40"), // coverage zone nl-kpn, IPv6
    (1, "192.0.2.0/24"),      // the NOC
    (10, "100.64.0.0/10"),    // unknown (carrier-grade NAT)
];

const AGENTS: &[(u32, &str)] = &[
    (40, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 hls.js/1.5"),
    (30, "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)"),
    (20, "ExoPlayerLib/2.19.1 (Linux; Android 14) ExoPlayer"),
    (10, "VLC/3.0.21 LibVLC/3.0.21"),
];

/// Renditions: name and bit rate in kbit/s.
const LADDER: &[(u32, (&str, u64))] = &[
    (15, ("360p", 800)),
    (30, ("540p", 2500)),
    (40, ("720p", 5000)),
    (15, ("1080p", 8000)),
];

pub(crate) fn host(rng: &mut Rng, net: &str) -> IpAddr {
    // The table above holds valid networks only.
    let (addr, len) = net.split_once('/').unwrap_or((net, "32"));
    let len: u32 = len.parse().unwrap_or(32);
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let host_bits = 32 - len;
            let mask = if host_bits == 32 {
                u32::MAX
            } else {
                (1u32 << host_bits) - 1
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) | (rng.next() as u32 & mask)))
        }
        Ok(IpAddr::V6(a)) => {
            let host_bits = 128 - len;
            let mask = if host_bits >= 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
            IpAddr::V6(Ipv6Addr::from(u128::from(a) | (r & mask)))
        }
        Err(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// Relative arrival rate at `t` seconds into the day: 1 at 21:00, 0.25 at 09:00.
pub(crate) fn intensity(t: f64) -> f64 {
    let phase = (t - 21.0 * 3600.0) / 86_400.0 * std::f64::consts::TAU;
    0.25 + 0.75 * (1.0 + phase.cos()) / 2.0
}

/// One viewer.
pub(crate) struct Session {
    pub(crate) client: IpAddr,
    pub(crate) agent: &'static str,
    pub(crate) live: bool,
    pub(crate) path: String,
    pub(crate) kbps: u64,
    pub(crate) ends_ms: i64,
    pub(crate) segment: u64,
}

impl Session {
    /// A viewer arriving at `at_ms`.
    pub(crate) fn arrive(rng: &mut Rng, at_ms: i64) -> Session {
        let net = *rng.pick(NETWORKS);
        let client = host(rng, net);
        let agent = *rng.pick(AGENTS);
        let (rendition, kbps) = *rng.pick(LADDER);
        let live = rng.unit() < 0.75;
        let (path, watch_s) = if live {
            // Popular channels first: channel k with weight 1/k.
            let ch = (1.0 / (0.05 + rng.unit() * 0.95)).floor().min(20.0) as u64;
            (
                format!("/live/ch{ch}/{rendition}/"),
                rng.exp(1200.0).clamp(60.0, 10_800.0),
            )
        } else {
            let title = rng.below(500);
            (
                format!("/vod/films/title{title:03}/{rendition}.mp4"),
                rng.exp(900.0).clamp(30.0, 10_800.0),
            )
        };
        Session {
            client,
            agent,
            live,
            path,
            kbps,
            ends_ms: at_ms + (watch_s * 1000.0) as i64,
            segment: rng.below(100_000),
        }
    }
}
