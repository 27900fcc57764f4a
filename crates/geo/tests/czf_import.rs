//! Property: importing a coverage-zone file preserves every network — each
//! one is in the group table, in its zone's group, and classifies to it.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use routecast_engine::{GroupMatch, ImportedZones, Location, Platform, PlatformConfig};

const CONFIG: &str = r#"
[[coverage_zones]]
file = "czf.json"
prefix = "z-"

[[sites]]
name = "a"
urls = ["https://a.example.net"]
location = { lat = 0, lon = 0 }
"#;

fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 8u8..=32)
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(a.into(), l).expect("len").trunc())),
        (any::<u128>(), 16u8..=128)
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(a.into(), l).expect("len").trunc())),
    ]
}

/// Zones with disjoint network lists (a network is in at most one zone).
fn arb_zones() -> impl Strategy<Value = Vec<(String, Vec<IpNet>)>> {
    proptest::collection::btree_set(arb_net(), 0..200)
        .prop_flat_map(|nets| {
            let nets: Vec<IpNet> = nets.into_iter().collect();
            let n = nets.len();
            (Just(nets), proptest::collection::vec(0usize..8, n))
        })
        .prop_map(|(nets, zone_of)| {
            let mut zones: Vec<(String, Vec<IpNet>)> =
                (0..8).map(|z| (format!("zone{z}"), Vec::new())).collect();
            for (net, z) in nets.into_iter().zip(zone_of) {
                zones[z].1.push(net);
            }
            zones
        })
}

fn to_json(zones: &[(String, Vec<IpNet>)]) -> String {
    let mut cz = serde_json::Map::new();
    for (name, nets) in zones {
        let v4: Vec<String> = nets
            .iter()
            .filter(|n| matches!(n, IpNet::V4(_)))
            .map(|n| n.to_string())
            .collect();
        let v6: Vec<String> = nets
            .iter()
            .filter(|n| matches!(n, IpNet::V6(_)))
            .map(|n| n.to_string())
            .collect();
        cz.insert(
            name.clone(),
            serde_json::json!({ "network": v4, "network6": v6 }),
        );
    }
    serde_json::json!({ "revision": "t", "customerName": "t", "coverageZones": cz }).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_network_survives_import(zones in arb_zones()) {
        let text = to_json(&zones);
        let parsed = routecast_geo::czf::parse("czf.json", &text).expect("generated file is valid").zones;
        let config = PlatformConfig::parse("t.toml", CONFIG).expect("config");
        let imported = [ImportedZones { entry: 0, file: "czf.json".into(), zones: parsed }];
        let platform = Platform::build(&config, &imported).expect("platform");
        let table = platform.group_table();
        let total: usize = zones.iter().map(|z| z.1.len()).sum();
        prop_assert_eq!(table.networks().len(), total);
        for (name, nets) in &zones {
            for net in nets {
                let g = table.networks().exact(net).copied();
                prop_assert_eq!(g.map(|g| platform.group(g).name.clone()), Some(format!("z-{name}")));
                // The network's own first address classifies to a group whose
                // matched network lies within it (it or a more specific one).
                let first: IpAddr = net.network();
                let (_, how) = table.classify(first, &Location::default());
                match how {
                    GroupMatch::Network(m) => prop_assert!(net.contains(&m) || m == *net, "{} matched {}", net, m),
                    other => prop_assert!(false, "{} classified by {:?}", net, other),
                }
            }
        }
    }
}
