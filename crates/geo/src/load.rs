//! Loading a platform from disk: the configuration, the coverage-zone files
//! and GeoIP databases it names. Used by every front end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use routecast_engine::{ConfigError, ImportedZones, Locator, NoLocator, Platform, PlatformConfig};

use crate::mmdb::GeoIp;

/// A platform ready to route, with its locator.
#[derive(Clone)]
pub struct Loaded {
    /// The validated platform.
    pub platform: Arc<Platform>,
    /// Finds client locations (GeoIP, or nothing when no database is configured).
    pub locator: Arc<dyn Locator>,
    /// The GeoIP databases, when configured.
    pub geoip: Option<Arc<GeoIp>>,
    /// Every file the platform was read from (for reload on change).
    pub files: Vec<PathBuf>,
    /// What was accepted leniently while loading (a coverage-zone network
    /// with host bits set, …), each naming its file and place; front ends
    /// print them.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("platform", &self.platform)
            .field("geoip", &self.geoip)
            .field("files", &self.files)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Reads and validates the configuration at `path` and everything it names.
/// Relative paths inside it are relative to its directory.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let shown = path.display().to_string();
    let text = read(path)?;
    let config = PlatformConfig::parse(&shown, &text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files = vec![path.to_path_buf()];
    let mut imported = Vec::with_capacity(config.coverage_zones.len());
    let mut warnings = Vec::new();
    for (entry, cz) in config.coverage_zones.iter().enumerate() {
        let file = dir.join(cz.file.get_ref());
        let czf_name = file.display().to_string();
        let czf_text = std::fs::read_to_string(&file).map_err(|e| {
            config.source.error(
                cz.file.span(),
                format!("cannot read coverage-zone file {czf_name}: {e}"),
            )
        })?;
        let czf = crate::czf::parse(&czf_name, &czf_text).map_err(|e| {
            let message = format!("{}: {}", e.path, e.message);
            match e.place {
                Some((line, col)) => ConfigError::at(&e.file, line, col, message),
                None => ConfigError::whole_file(&e.file, message),
            }
        })?;
        warnings.extend(czf.warnings.iter().map(ToString::to_string));
        imported.push(ImportedZones {
            entry,
            file: czf_name,
            zones: czf.zones,
        });
        files.push(file);
    }
    let platform = Arc::new(Platform::build(&config, &imported)?);
    let resolve =
        |s: &Option<toml::Spanned<String>>| s.as_ref().map(|s| (dir.join(s.get_ref()), s.span()));
    let (city, asn) = (resolve(&config.geoip.city), resolve(&config.geoip.asn));
    let open = |db: &Option<(PathBuf, std::ops::Range<usize>)>, kind| {
        db.as_ref()
            .map(|(p, span)| {
                crate::mmdb::open(p, kind)
                    .map_err(|e| config.source.error(span.clone(), e.to_string()))
            })
            .transpose()
    };
    let city_db = open(&city, crate::mmdb::DbKind::City)?;
    let asn_db = open(&asn, crate::mmdb::DbKind::Asn)?;
    files.extend(city.into_iter().chain(asn).map(|(p, _)| p));
    let geoip =
        (city_db.is_some() || asn_db.is_some()).then(|| Arc::new(GeoIp::new(city_db, asn_db)));
    let locator: Arc<dyn Locator> = match &geoip {
        Some(g) => g.clone(),
        None => Arc::new(NoLocator),
    };
    Ok(Loaded {
        platform,
        locator,
        geoip,
        files,
        warnings,
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError::whole_file(
            path.display().to_string(),
            format!("cannot read configuration: {e}"),
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        ConfigError::whole_file(
            path.display().to_string(),
            format!(
                "not UTF-8 text (invalid byte at offset {}): expected a TOML file",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}
