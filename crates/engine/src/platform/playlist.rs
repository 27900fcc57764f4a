//! Playlist rules: the content whose HLS playlists `routecast serve`
//! answers itself, where it fetches them, and which rule covers a path.

use super::Platform;

/// Where a playlist rule fetches playlists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaylistOrigin {
    /// From the chosen site itself, at its first `http://` URL
    /// ([`Site::http_url`](super::Site::http_url)).
    Site,
    /// From one origin: an `http://` base URL without trailing slash.
    Url(String),
}

/// What a playlist request is answered with when no origin gives a usable
/// playlist (refused connection, timeout, a status other than 2xx, 404 and
/// 410, or an answer that is not a playlist). The origin's 404 or 410 is
/// always passed on as 404.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PlaylistFallback {
    /// `302` to the chosen site's own URL for the playlist, the Location a
    /// plain redirect gives, so that viewers keep playing (the default).
    #[default]
    Redirect,
    /// `502`, naming every upstream tried and why it failed.
    Error,
}

/// A `[[playlists]]` rule: `.m3u8` requests under its prefixes are answered
/// by the server with the playlist, rewritten for the chosen site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistRule {
    /// Path prefixes covered.
    pub content: Vec<String>,
    /// Where playlists come from.
    pub origin: PlaylistOrigin,
    /// Whether multivariant playlists get Content Steering.
    pub steering: bool,
    /// Time a fetch may take, ms.
    pub timeout_ms: u64,
    /// The answer when every origin tried fails.
    pub fallback: PlaylistFallback,
}

impl Platform {
    /// The rule that has routecast serve `path` as a playlist: the path ends
    /// in `.m3u8` (any case) and lies under one of the rule's prefixes (the
    /// longest prefix wins): its index in [`Platform::playlists`] and the
    /// rule. Allocation-free; `None` for everything else.
    pub fn playlist_rule(&self, path: &str) -> Option<(usize, &PlaylistRule)> {
        if self.playlists.is_empty() || !has_m3u8_extension(path) {
            return None;
        }
        self.playlists
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.content
                    .iter()
                    .filter(|p| crate::policy::has_prefix(path, p))
                    .map(|p| (p.len(), i, r))
                    .max_by_key(|(len, ..)| *len)
            })
            .max_by_key(|(len, ..)| *len)
            .map(|(_, i, r)| (i, r))
    }
}

fn has_m3u8_extension(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 5 && b[b.len() - 5..].eq_ignore_ascii_case(b".m3u8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::PlaylistOrigin;

    #[test]
    fn playlist_rules_cover_m3u8_under_their_prefixes_longest_first() {
        let toml = r#"
[[sites]]
name = "a"
urls = ["https://a.example.net", "http://a.example.net"]
location = { lat = 0, lon = 0 }

[[playlists]]
content = ["/live/"]

[[playlists]]
content = ["/live/sports/", "/events/"]
origin = "http://origin.example.net/hls/"
steering = true
timeout_ms = 900
"#;
        let config = crate::PlatformConfig::parse("t.toml", toml).expect("parses");
        let p = Platform::build(&config, &[]).expect("builds");
        assert_eq!(p.playlists().len(), 2);
        let rule = |path: &str| p.playlist_rule(path).map(|(_, r)| r.timeout_ms);
        assert_eq!(rule("/live/news/index.m3u8"), Some(2000));
        assert_eq!(rule("/live/sports/x/INDEX.M3U8"), Some(900));
        assert_eq!(rule("/events/a.m3u8"), Some(900));
        assert_eq!(rule("/live/news/seg1.ts"), None);
        assert_eq!(rule("/vod/a.m3u8"), None);
        assert_eq!(rule("/live/.m3u8x"), None);
        let (index, sports) = p.playlist_rule("/events/a.m3u8").expect("rule");
        assert_eq!(index, 1);
        assert_eq!(
            sports.origin,
            PlaylistOrigin::Url("http://origin.example.net/hls".into())
        );
        assert!(sports.steering);
        assert_eq!(p.playlists()[0].origin, PlaylistOrigin::Site);
        assert!(!p.playlists()[0].steering);
        let twice = format!("{toml}\n[[playlists]]\ncontent = [\"/events/\"]\n");
        let config = crate::PlatformConfig::parse("t.toml", &twice).expect("parses");
        let e = Platform::build(&config, &[]).expect_err("a prefix in two rules");
        assert!(e.to_string().starts_with("t.toml:17:12:"), "{e}");
        assert!(e.to_string().contains("already in a playlist rule"), "{e}");
    }

    #[test]
    fn a_rule_redirects_when_its_origin_fails_unless_told_to_answer_an_error() {
        let rule = |line: &str| {
            format!(
                "[[sites]]\nname = \"a\"\nurls = [\"http://a.example.net\"]\n\
                 location = {{ lat = 0, lon = 0 }}\n\n[[playlists]]\ncontent = [\"/live/\"]\n{line}"
            )
        };
        let fallback = |line: &str| {
            let config = crate::PlatformConfig::parse("t.toml", &rule(line))?;
            let p = Platform::build(&config, &[])?;
            Ok::<_, crate::ConfigError>(p.playlists()[0].fallback)
        };
        assert_eq!(fallback("").ok(), Some(PlaylistFallback::Redirect));
        let redirect = fallback("fallback = \"redirect\"\n").ok();
        assert_eq!(redirect, Some(PlaylistFallback::Redirect));
        let error = fallback("fallback = \"error\"\n").ok();
        assert_eq!(error, Some(PlaylistFallback::Error));
        let e = fallback("fallback = \"retry\"\n").expect_err("unknown fallback");
        assert!(e.to_string().starts_with("t.toml:8:12:"), "{e}");
        assert!(
            e.to_string().contains("expected `redirect` or `error`"),
            "{e}"
        );
    }
}
