//! Session classes: what one redirect stands for in the redirected site's
//! estimated load (`routecast serve`), by content prefix.
//!
//! A redirect only says that a session started or went on; how long that
//! session keeps the site busy depends on the content. The default hold,
//! [`SessionClass::DEFAULT_HOLD_S`], is argued there.

use super::{Mbps, Platform};

/// One `[[sessions]]` class.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionClass {
    /// Path prefixes covered (the longest prefix over all classes wins).
    pub content: Vec<String>,
    /// Bit rate one redirect adds; `None`: the server's default
    /// (`routecast serve --session-mbps`).
    pub mbps: Option<Mbps>,
    /// Seconds the estimate lasts, 1 to [`SessionClass::MAX_HOLD_S`].
    pub hold_s: u32,
}

impl SessionClass {
    /// How long a redirect's estimate lasts unless a class says otherwise:
    /// 10 s. A redirect only tells us that a session started or went on.
    /// An HLS or DASH player comes back for its live playlist every target
    /// duration (Apple recommends 6 s; 10 s is the longest in common use),
    /// and a redirected segment is one download that takes at most a
    /// segment's duration; either way one redirect stands for one viewer
    /// for about that long, and the next redirect renews it. Content
    /// redirected once per session (a progressive VOD file, a continuous
    /// HTTP stream) keeps its site busy for minutes: give it a class with
    /// a longer hold.
    pub const DEFAULT_HOLD_S: u32 = 10;
    /// The longest hold a class may set: an hour.
    pub const MAX_HOLD_S: u32 = 3600;
}

impl Platform {
    /// The session classes, in declaration order.
    pub fn sessions(&self) -> &[SessionClass] {
        &self.sessions
    }

    /// The class of the session class list that covers `path` (its index
    /// in [`Platform::sessions`], the longest prefix winning), `None` for
    /// the default class. Allocation-free.
    pub fn session_class(&self, path: &str) -> Option<usize> {
        self.sessions
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let longest = c
                    .content
                    .iter()
                    .filter(|p| crate::policy::has_prefix(path, p))
                    .map(String::len)
                    .max()?;
                Some((longest, i))
            })
            .max_by_key(|&(len, i)| (len, std::cmp::Reverse(i)))
            .map(|(_, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Platform, PlatformConfig};

    fn platform(sessions: &str) -> Result<Platform, String> {
        let text = format!(
            "[[sites]]\nname = \"a\"\nurls = [\"https://a.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n{sessions}"
        );
        let config = PlatformConfig::parse("test.toml", &text).map_err(|e| e.to_string())?;
        Platform::build(&config, &[]).map_err(|e| e.to_string())
    }

    #[test]
    fn the_longest_prefix_picks_the_class_and_other_paths_get_the_default() {
        let p = platform(
            "[[sessions]]\ncontent = [\"/live/\"]\nhold_s = 6\n\n\
             [[sessions]]\ncontent = [\"/vod/\", \"/live/sports/\"]\nmbps = 8.0\nhold_s = 300\n",
        )
        .expect("valid");
        assert_eq!(p.sessions()[0].hold_s, 6);
        assert_eq!(p.sessions()[0].mbps, None);
        assert_eq!(p.sessions()[1].mbps, Some(crate::Mbps(8.0)));
        assert_eq!(p.session_class("/live/news/i.m3u8"), Some(0));
        assert_eq!(p.session_class("/live/sports/i.m3u8"), Some(1));
        assert_eq!(p.session_class("/vod/film.mp4"), Some(1));
        assert_eq!(p.session_class("/radio/x"), None);
        let defaults = platform("[[sessions]]\ncontent = [\"/\"]\n").expect("valid");
        assert_eq!(defaults.sessions()[0].hold_s, 10);
        assert_eq!(defaults.session_class("/anything"), Some(0));
    }

    #[test]
    fn bad_classes_are_refused_with_their_place() {
        for (text, error) in [
            (
                "[[sessions]]\ncontent = []\n",
                "test.toml:7:11: a session class needs content = [\"/prefix/\", ...]",
            ),
            (
                "[[sessions]]\ncontent = [\"live/\"]\n",
                "test.toml:7:12: content prefix \"live/\" must start with '/'",
            ),
            (
                "[[sessions]]\ncontent = [\"/a/\"]\nhold_s = 0\n",
                "test.toml:8:10: session hold_s must be between 1 and 3600 seconds",
            ),
            (
                "[[sessions]]\ncontent = [\"/a/\"]\nhold_s = 3601\n",
                "test.toml:8:10: session hold_s must be between 1 and 3600 seconds",
            ),
            (
                "[[sessions]]\ncontent = [\"/a/\"]\nmbps = -1.0\n",
                "test.toml:8:8: session mbps must be a number of Mbit/s >= 0",
            ),
            (
                "[[sessions]]\ncontent = [\"/a/\"]\n\n[[sessions]]\ncontent = [\"/b/\", \"/a/\"]\n",
                "test.toml:10:19: content prefix \"/a/\" is already in a session class",
            ),
        ] {
            let e = platform(text).expect_err(text);
            assert!(e.starts_with(error), "{e}\nexpected {error}");
        }
    }
}
