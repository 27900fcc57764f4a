//! The multivariant (master) playlist: one `EXT-X-STREAM-INF` per rendition.

use std::fmt;

use super::{excerpt, is_valid_uri, PlaylistError};

/// A bit rate in bits per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitsPerSecond(pub u64);

/// One variant stream: a media playlist and what a client needs to choose it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The media playlist's URI, relative to the multivariant playlist's.
    pub uri: String,
    /// `BANDWIDTH`: the peak segment bit rate.
    pub bandwidth: BitsPerSecond,
    /// `AVERAGE-BANDWIDTH`: the average segment bit rate, if known.
    pub average_bandwidth: Option<BitsPerSecond>,
    /// `CODECS`: RFC 6381 codec strings, comma-separated, e.g.
    /// `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
    /// `RESOLUTION`: width × height in pixels.
    pub resolution: Option<(u32, u32)>,
    /// `FRAME-RATE`: the maximum frame rate, written with three decimals.
    pub frame_rate: Option<f64>,
}

impl Variant {
    /// Why this variant cannot be written, if it cannot.
    fn check(&self) -> Result<(), PlaylistError> {
        let invalid = |attribute, value: &str| PlaylistError::InvalidAttribute {
            uri: excerpt(&self.uri),
            attribute,
            value: excerpt(value),
        };
        if !is_valid_uri(&self.uri) {
            return Err(PlaylistError::InvalidUri {
                uri: excerpt(&self.uri),
            });
        }
        // A quoted-string holds no '"', CR or LF (RFC 8216 §4.2).
        let quotable = !self.codecs.contains('"') && !self.codecs.chars().any(char::is_control);
        if self.codecs.is_empty() || !quotable {
            return Err(invalid("CODECS", &self.codecs));
        }
        if let Some((width, height)) = self.resolution.filter(|&(w, h)| w == 0 || h == 0) {
            return Err(invalid("RESOLUTION", &format!("{width}x{height}")));
        }
        if let Some(rate) = self.frame_rate.filter(|r| !r.is_finite() || *r <= 0.0) {
            return Err(invalid("FRAME-RATE", &rate.to_string()));
        }
        Ok(())
    }
}

/// An RFC 8216 multivariant playlist of variant streams. It claims
/// `EXT-X-INDEPENDENT-SEGMENTS` only when every variant is audio (every
/// AAC frame is independent): a video stream with GOPs longer than the
/// target is cut between keyframes, so its media playlist does not claim
/// it, and the multivariant playlist claims it only if all of them do.
#[derive(Debug, Clone, PartialEq)]
pub struct MultivariantPlaylist {
    variants: Vec<Variant>,
}

impl MultivariantPlaylist {
    /// Checks that every variant can be written: a URI fit for a line of its
    /// own, non-empty `CODECS` without `"` or control characters, a non-zero
    /// resolution and a finite, positive frame rate.
    pub fn new(variants: Vec<Variant>) -> Result<MultivariantPlaylist, PlaylistError> {
        if variants.is_empty() {
            return Err(PlaylistError::NoVariants);
        }
        variants.iter().try_for_each(Variant::check)?;
        Ok(MultivariantPlaylist { variants })
    }

    /// The variants, in the order written.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The playlist text (same as `to_string()`), lines ending in `\n`.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MultivariantPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "#EXTM3U")?;
        let audio = |codecs: &str| codecs.split(',').all(|c| c.trim().starts_with("mp4a"));
        if self.variants.iter().all(|v| audio(&v.codecs)) {
            writeln!(f, "#EXT-X-INDEPENDENT-SEGMENTS")?;
        }
        for variant in &self.variants {
            write!(f, "#EXT-X-STREAM-INF:BANDWIDTH={}", variant.bandwidth.0)?;
            if let Some(average) = variant.average_bandwidth {
                write!(f, ",AVERAGE-BANDWIDTH={}", average.0)?;
            }
            write!(f, ",CODECS=\"{}\"", variant.codecs)?;
            if let Some((width, height)) = variant.resolution {
                write!(f, ",RESOLUTION={width}x{height}")?;
            }
            if let Some(rate) = variant.frame_rate {
                write!(f, ",FRAME-RATE={rate:.3}")?;
            }
            writeln!(f)?;
            writeln!(f, "{}", variant.uri)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(uri: &str) -> Variant {
        Variant {
            uri: uri.to_owned(),
            bandwidth: BitsPerSecond(1_280_000),
            average_bandwidth: Some(BitsPerSecond(1_000_000)),
            codecs: "avc1.4d401f,mp4a.40.2".to_owned(),
            resolution: Some((1280, 720)),
            frame_rate: Some(29.97),
        }
    }

    #[test]
    fn renders_rfc8216_stream_inf_lines() {
        let low = Variant {
            bandwidth: BitsPerSecond(65_000),
            average_bandwidth: None,
            codecs: "mp4a.40.5".to_owned(),
            resolution: None,
            frame_rate: None,
            ..variant("audio-only.m3u8")
        };
        let playlist = MultivariantPlaylist::new(vec![variant("mid/index.m3u8"), low]);
        // A video variant may be cut between keyframes: no
        // EXT-X-INDEPENDENT-SEGMENTS (this test expected it before).
        let expected = "#EXTM3U\n\
            #EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000,\
            CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=29.970\n\
            mid/index.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=65000,CODECS=\"mp4a.40.5\"\n\
            audio-only.m3u8\n";
        assert_eq!(playlist.map(|p| p.render()), Ok(expected.to_owned()));
    }

    #[test]
    fn only_audio_variants_claim_independent_segments() {
        let audio = |uri: &str| Variant {
            codecs: "mp4a.40.2".to_owned(),
            resolution: None,
            frame_rate: None,
            ..variant(uri)
        };
        let playlist =
            MultivariantPlaylist::new(vec![audio("a/index.m3u8"), audio("b/index.m3u8")]);
        let text = playlist.map(|p| p.render()).unwrap_or_default();
        assert!(
            text.starts_with("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"),
            "{text}"
        );
    }

    #[test]
    fn unwritable_variants_are_refused() {
        let attribute = |v: Variant| match MultivariantPlaylist::new(vec![v]) {
            Err(PlaylistError::InvalidAttribute { attribute, .. }) => attribute,
            other => panic!("expected InvalidAttribute, got {other:?}"),
        };
        assert_eq!(
            attribute(Variant {
                codecs: String::new(),
                ..variant("a.m3u8")
            }),
            "CODECS"
        );
        assert_eq!(
            attribute(Variant {
                codecs: "avc1\"".into(),
                ..variant("a.m3u8")
            }),
            "CODECS"
        );
        assert_eq!(
            attribute(Variant {
                resolution: Some((0, 720)),
                ..variant("a")
            }),
            "RESOLUTION"
        );
        assert_eq!(
            attribute(Variant {
                frame_rate: Some(f64::NAN),
                ..variant("a")
            }),
            "FRAME-RATE"
        );
        assert_eq!(
            attribute(Variant {
                frame_rate: Some(-1.0),
                ..variant("a")
            }),
            "FRAME-RATE"
        );
        assert!(matches!(
            MultivariantPlaylist::new(vec![variant("a\nb")]),
            Err(PlaylistError::InvalidUri { .. })
        ));
        assert_eq!(
            MultivariantPlaylist::new(vec![]),
            Err(PlaylistError::NoVariants)
        );
    }
}
