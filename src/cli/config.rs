//! `routecast config check`.

use std::io::Write;
use std::path::Path;

use super::Failure;

/// Loads the configuration and everything it names; prints a summary.
pub fn check(file: &Path) -> Result<(), Failure> {
    let loaded = super::load_platform(file)?;
    let p = &loaded.platform;
    let networks = p.group_table().networks().len();
    let geoip = loaded.geoip.as_ref().map(|g| g.database_types());
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: ok: {} sites, {} groups ({} networks), {} policies{}{}",
        file.display(),
        p.sites().len(),
        p.groups().len(),
        networks,
        p.policies().len(),
        match p.playlists().len() {
            0 => String::new(),
            1 => ", 1 playlist rule".to_string(),
            n => format!(", {n} playlist rules"),
        },
        match geoip {
            Some((city, asn)) => format!(
                ", GeoIP {}",
                [city, asn]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
            None => String::new(),
        }
    )?;
    Ok(())
}
