//! Benches for the engine's hot paths.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use routecast_engine::hash::SplitMix64;
use routecast_engine::prefix::{PrefixTable, PrefixTableBuilder};
use routecast_engine::{
    Coordinates, CoverageZone, Facts, ImportedZones, Location, Mbps, Platform, PlatformConfig,
    Router, StaticLoad,
};
use std::sync::Arc;

struct SplitMix(SplitMix64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
}

fn table(n: usize, rng: &mut SplitMix) -> (PrefixTable<u32>, Vec<IpNet>) {
    let mut t = PrefixTableBuilder::new();
    let mut nets = Vec::with_capacity(n);
    while t.len() < n {
        let r = rng.next();
        let net = if r % 10 < 7 {
            let len = 12 + (r >> 8) as u8 % 13; // /12../24
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from((r >> 32) as u32), len)
                    .expect("bench setup")
                    .trunc(),
            )
        } else {
            let len = 24 + (r >> 8) as u8 % 25; // /24../48
            let bits =
                ((0x2000u128 | ((r >> 16) as u128 & 0x1fff)) << 112) | ((rng.next() as u128) << 48);
            IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from(bits), len)
                    .expect("bench setup")
                    .trunc(),
            )
        };
        let len = t.len() as u32;
        if t.insert(net, len).is_ok() {
            nets.push(net);
        }
    }
    (t.build(), nets)
}

fn addresses(nets: &[IpNet], n: usize, rng: &mut SplitMix) -> Vec<IpAddr> {
    (0..n)
        .map(|_| {
            let net = nets[rng.next() as usize % nets.len()];
            match net {
                IpNet::V4(v) => IpAddr::V4(Ipv4Addr::from(
                    u32::from(v.network()) | (rng.next() as u32 & !u32::from(v.netmask())),
                )),
                IpNet::V6(v) => IpAddr::V6(Ipv6Addr::from(
                    u128::from(v.network()) | (rng.next() as u128 & !u128::from(v.netmask())),
                )),
            }
        })
        .collect()
}

fn lpm(c: &mut Criterion) {
    let mut rng = SplitMix(SplitMix64::new(7));
    let (t, nets) = table(500_000, &mut rng);
    let addrs = addresses(&nets, 1 << 16, &mut rng);
    let mut g = c.benchmark_group("prefix");
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("routecast_500k_mixed", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for a in &addrs {
                if t.longest_match(black_box(*a)).is_some() {
                    hits += 1;
                }
            }
            hits
        })
    });
    let mut pt = prefix_trie::joint::map::JointPrefixMap::<IpNet, u32>::new();
    for (n, v) in t.iter() {
        pt.insert(n, *v);
    }
    g.bench_function("prefix_trie_500k_mixed", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for a in &addrs {
                let n = IpNet::from(black_box(*a));
                if pt.get_lpm(&n).is_some() {
                    hits += 1;
                }
            }
            hits
        })
    });
    let mut rt = iptrie::IpRTrieMap::<Option<u32>>::new();
    for (n, v) in t.iter() {
        rt.insert(n, Some(*v));
    }
    let lc = rt.compress();
    g.bench_function("iptrie_lc_500k_mixed", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for a in &addrs {
                let n = IpNet::from(black_box(*a));
                if lc.lookup(&n).1.is_some() {
                    hits += 1;
                }
            }
            hits
        })
    });
    g.finish();
}

/// 20 sites, 40 configured groups plus 100,000 coverage-zone networks, and a
/// 7-step policy: available, serves_content, allowed_for_group, closest,
/// least_cost, consistent_hash, capacity.
fn platform(rng: &mut SplitMix) -> (Platform, Vec<IpNet>) {
    let mut toml = String::from("[[coverage_zones]]\nfile = \"czf.json\"\n\n");
    for i in 0..20 {
        let lat = -60.0 + (i as f64) * 6.0;
        let lon = -170.0 + (i as f64) * 17.0;
        toml += &format!(
            "[[sites]]\nname = \"s{i}\"\nurls = [\"https://s{i}.example.net\"]\nlocation = {{ lat = {lat}, lon = {lon} }}\ncapacity_mbps = 10000\ncost = {{ per_gb = {} }}\ncontent = [\"/live/\", \"/vod/\"]\n\n",
            0.001 * ((i % 5) as f64)
        );
    }
    for (i, c) in ["US", "DE", "FR", "GB", "NL", "JP", "BR", "IN", "AU", "CA"]
        .iter()
        .enumerate()
    {
        toml += &format!("[[groups]]\nname = \"c{i}\"\ncountries = [\"{c}\"]\n\n");
    }
    toml += "[[policies]]\nname = \"seven\"\nsteps = [{ step = \"available\" }, { step = \"serves_content\" }, { step = \"allowed_for_group\" }, { step = \"closest\", bucket_km = 500 }, { step = \"least_cost\" }, { step = \"consistent_hash\" }, { step = \"capacity\", headroom = 0.2 }]\n";
    let config = PlatformConfig::parse("bench.toml", &toml).expect("bench setup");
    let (table, nets) = table(100_000, rng);
    let zones: Vec<CoverageZone> = (0..100)
        .map(|z| CoverageZone {
            name: format!("zone{z}"),
            networks: nets.iter().skip(z).step_by(100).copied().collect(),
            coordinates: Some(Coordinates::new(50.0, z as f64).expect("bench setup")),
        })
        .collect();
    drop(table);
    let imported = [ImportedZones {
        entry: 0,
        file: "czf.json".into(),
        zones,
    }];
    (
        Platform::build(&config, &imported).expect("bench setup"),
        nets,
    )
}

fn decide(c: &mut Criterion) {
    let mut rng = SplitMix(SplitMix64::new(11));
    let (platform, nets) = platform(&mut rng);
    let router = Router::new(Arc::new(platform));
    let mut addrs = addresses(&nets, 512, &mut rng);
    // Half the requests from addresses no network covers (GeoIP decides).
    for a in addrs.iter_mut().skip(1).step_by(2) {
        *a = IpAddr::V4(Ipv4Addr::from(rng.next() as u32 | 0x0100_0000));
    }
    let countries = [
        "US", "DE", "FR", "GB", "NL", "JP", "BR", "IN", "AU", "CA", "SE",
    ];
    let facts: Vec<(IpAddr, Location, String)> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let loc = Location {
                country: countries[i % countries.len()].parse().ok(),
                continent: None,
                asn: Some(64_512 + i as u32 % 100),
                coordinates: Coordinates::new(
                    ((i * 7) % 120) as f64 - 60.0,
                    ((i * 13) % 360) as f64 - 180.0,
                )
                .ok(),
            };
            (
                *a,
                loc,
                format!("/live/channel{}/720p/segment{}.ts", i % 50, i),
            )
        })
        .collect();
    let load = StaticLoad {
        load: (0..20).map(|i| Mbps(500.0 * i as f64)).collect(),
        down: vec![routecast_engine::SiteId(3)],
    };
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    // Each bench routes the rotating requests in turn through `call`.
    let mut rotate = |name: &str, call: &mut dyn FnMut(&Facts<'_>)| {
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let (addr, location, path) = &facts[i % facts.len()];
                i += 1;
                let f = Facts {
                    address: *addr,
                    location: *location,
                    path,
                    user_agent: None,
                };
                call(black_box(&f));
            })
        });
    };
    rotate("20_sites_7_steps", &mut |f| {
        black_box(router.decide(f, &load));
    });
    let mut scratch = routecast_engine::Scratch::default();
    rotate("20_sites_7_steps_scratch", &mut |f| {
        black_box(router.decide_with(f, &load, &mut scratch));
    });
    rotate("20_sites_7_steps_route_only", &mut |f| {
        black_box(router.route_with(f, &load, &mut scratch));
    });
    g.finish();
}

criterion_group!(benches, lpm, decide);
criterion_main!(benches);
