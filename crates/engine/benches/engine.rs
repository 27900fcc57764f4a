//! Benches for the engine's hot paths.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use routecast_engine::prefix::{PrefixTable, PrefixTableBuilder};

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
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
                    .unwrap()
                    .trunc(),
            )
        } else {
            let len = 24 + (r >> 8) as u8 % 25; // /24../48
            let bits =
                ((0x2000u128 | ((r >> 16) as u128 & 0x1fff)) << 112) | ((rng.next() as u128) << 48);
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(bits), len).unwrap().trunc())
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
    let mut rng = SplitMix(7);
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

criterion_group!(benches, lpm);
criterion_main!(benches);
