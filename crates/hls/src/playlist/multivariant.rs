//! The multivariant (master) playlist: one `EXT-X-STREAM-INF` per variant
//! stream, the alternative audio renditions (`EXT-X-MEDIA:TYPE=AUDIO`)
//! the variants refer to by group, and the I-frame playlists
//! (`EXT-X-I-FRAME-STREAM-INF`).

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
    /// `AUDIO`: the `GROUP-ID` of the audio renditions played with this
    /// variant, if any (the group's codec belongs in [`Variant::codecs`]
    /// and its peak in [`Variant::bandwidth`], RFC 8216 §4.3.4.2).
    pub audio: Option<String>,
}

/// An I-frame stream, `EXT-X-I-FRAME-STREAM-INF` (RFC 8216 §4.3.4.3): an
/// I-frame playlist for trick play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IFrameStream {
    /// `URI`: the I-frame playlist, relative to the multivariant playlist.
    pub uri: String,
    /// `BANDWIDTH`: its peak segment bit rate.
    pub bandwidth: BitsPerSecond,
    /// `AVERAGE-BANDWIDTH`, if known.
    pub average_bandwidth: Option<BitsPerSecond>,
    /// `CODECS`: the video codec alone, e.g. `avc1.64001f`.
    pub codecs: String,
    /// `RESOLUTION`: width × height in pixels.
    pub resolution: Option<(u32, u32)>,
}

impl IFrameStream {
    /// Why this stream cannot be written, if it cannot.
    fn check(&self) -> Result<(), PlaylistError> {
        let invalid = |attribute, value: &str| PlaylistError::InvalidAttribute {
            uri: excerpt(&self.uri),
            attribute,
            value: excerpt(value),
        };
        if !is_quotable(&self.uri) || !is_valid_uri(&self.uri) {
            return Err(invalid("URI", &self.uri));
        }
        if !is_quotable(&self.codecs) {
            return Err(invalid("CODECS", &self.codecs));
        }
        if let Some((width, height)) = self.resolution.filter(|&(w, h)| w == 0 || h == 0) {
            return Err(invalid("RESOLUTION", &format!("{width}x{height}")));
        }
        Ok(())
    }
}

impl fmt::Display for IFrameStream {
    /// The tag, without its line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={}",
            self.bandwidth.0
        )?;
        if let Some(average) = self.average_bandwidth {
            write!(f, ",AVERAGE-BANDWIDTH={}", average.0)?;
        }
        write!(f, ",CODECS=\"{}\"", self.codecs)?;
        if let Some((width, height)) = self.resolution {
            write!(f, ",RESOLUTION={width}x{height}")?;
        }
        write!(f, ",URI=\"{}\"", self.uri)
    }
}

/// An alternative audio rendition, `EXT-X-MEDIA:TYPE=AUDIO` (RFC 8216
/// §4.3.4.1), always `AUTOSELECT=YES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioRendition {
    /// `GROUP-ID`: the group the variants name in their `AUDIO` attribute.
    pub group_id: String,
    /// `NAME`: distinct within its group.
    pub name: String,
    /// `URI`: its media playlist, relative to the multivariant playlist.
    pub uri: String,
    /// `DEFAULT=YES`: the one played when the user chose none (at most one
    /// per group).
    pub default: bool,
    /// `LANGUAGE`: an RFC 5646 tag, if known.
    pub language: Option<String>,
    /// `CHANNELS`: the number of audio channels, if known.
    pub channels: Option<u8>,
}

/// Whether `value` can be written as a quoted-string: not empty, no `"` and
/// no control characters (CR, LF…), RFC 8216 §4.2.
fn is_quotable(value: &str) -> bool {
    !value.is_empty() && !value.contains('"') && !value.chars().any(char::is_control)
}

impl AudioRendition {
    /// Why this rendition cannot be written, if it cannot.
    fn check(&self) -> Result<(), PlaylistError> {
        if !is_valid_uri(&self.uri) {
            return Err(PlaylistError::InvalidUri {
                uri: excerpt(&self.uri),
            });
        }
        let language = self.language.as_deref();
        let quoted = [
            ("GROUP-ID", Some(self.group_id.as_str())),
            ("NAME", Some(self.name.as_str())),
            ("LANGUAGE", language),
        ];
        for (attribute, value) in quoted {
            if let Some(value) = value.filter(|v| !is_quotable(v)) {
                return Err(self.invalid(attribute, value));
            }
        }
        if self.channels == Some(0) {
            return Err(self.invalid("CHANNELS", "0"));
        }
        Ok(())
    }

    fn invalid(&self, attribute: &'static str, value: &str) -> PlaylistError {
        PlaylistError::InvalidAttribute {
            uri: excerpt(&self.uri),
            attribute,
            value: excerpt(value),
        }
    }
}

impl fmt::Display for AudioRendition {
    /// The `EXT-X-MEDIA` line, without its line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{}\"", self.group_id)?;
        write!(f, ",NAME=\"{}\"", self.name)?;
        if let Some(language) = &self.language {
            write!(f, ",LANGUAGE=\"{language}\"")?;
        }
        let default = if self.default { "YES" } else { "NO" };
        write!(f, ",DEFAULT={default},AUTOSELECT=YES")?;
        if let Some(channels) = self.channels {
            write!(f, ",CHANNELS=\"{channels}\"")?;
        }
        write!(f, ",URI=\"{}\"", self.uri)
    }
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
        if !is_quotable(&self.codecs) {
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
/// The audio renditions the variants refer to come first.
#[derive(Debug, Clone, PartialEq)]
pub struct MultivariantPlaylist {
    audio: Vec<AudioRendition>,
    variants: Vec<Variant>,
    iframes: Vec<IFrameStream>,
}

impl MultivariantPlaylist {
    /// Checks that every variant can be written: a URI fit for a line of its
    /// own, non-empty `CODECS` without `"` or control characters, a non-zero
    /// resolution, a finite, positive frame rate and no `AUDIO` (there is
    /// no group here: see [`MultivariantPlaylist::with_audio`]).
    pub fn new(variants: Vec<Variant>) -> Result<MultivariantPlaylist, PlaylistError> {
        MultivariantPlaylist::with_audio(variants, Vec::new())
    }

    /// As [`MultivariantPlaylist::new`], with alternative audio renditions
    /// (written first, in the order given). Checks too that every variant's
    /// `AUDIO` names a group given here (RFC 8216 §4.3.4.2.1), that names
    /// are distinct and at most one rendition is the default in each group
    /// (§4.3.4.1.1), and that each rendition's attributes can be written.
    pub fn with_audio(
        variants: Vec<Variant>,
        audio: Vec<AudioRendition>,
    ) -> Result<MultivariantPlaylist, PlaylistError> {
        if variants.is_empty() {
            return Err(PlaylistError::NoVariants);
        }
        variants.iter().try_for_each(Variant::check)?;
        audio.iter().try_for_each(AudioRendition::check)?;
        check_groups(&audio)?;
        let unknown_group = variants.iter().find_map(|v| {
            let group = v.audio.as_deref()?;
            (!audio.iter().any(|r| r.group_id == group)).then_some((v, group))
        });
        if let Some((variant, group)) = unknown_group {
            return Err(PlaylistError::InvalidAttribute {
                uri: excerpt(&variant.uri),
                attribute: "AUDIO",
                value: excerpt(group),
            });
        }
        Ok(MultivariantPlaylist {
            audio,
            variants,
            iframes: Vec::new(),
        })
    }

    /// Lists I-frame playlists too (after the variants, in the order
    /// given), each checked: a URI fit for a quoted string, non-empty
    /// `CODECS` without `"` or control characters, a non-zero resolution.
    pub fn with_iframe_streams(
        mut self,
        streams: Vec<IFrameStream>,
    ) -> Result<MultivariantPlaylist, PlaylistError> {
        streams.iter().try_for_each(IFrameStream::check)?;
        self.iframes = streams;
        Ok(self)
    }

    /// The I-frame streams, in the order written.
    pub fn iframe_streams(&self) -> &[IFrameStream] {
        &self.iframes
    }

    /// The audio renditions, in the order written.
    pub fn audio(&self) -> &[AudioRendition] {
        &self.audio
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

/// Why the renditions of one group cannot stand together, if they cannot:
/// two of one `NAME`, or more than one `DEFAULT=YES` (RFC 8216 §4.3.4.1.1).
fn check_groups(audio: &[AudioRendition]) -> Result<(), PlaylistError> {
    for (i, rendition) in audio.iter().enumerate() {
        let same_group = audio[..i]
            .iter()
            .filter(|r| r.group_id == rendition.group_id);
        for earlier in same_group {
            if earlier.name == rendition.name {
                return Err(rendition.invalid("NAME", &rendition.name));
            }
            if earlier.default && rendition.default {
                return Err(rendition.invalid("DEFAULT", "YES"));
            }
        }
    }
    Ok(())
}

impl fmt::Display for MultivariantPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "#EXTM3U")?;
        let audio = |codecs: &str| codecs.split(',').all(|c| c.trim().starts_with("mp4a"));
        if self.variants.iter().all(|v| audio(&v.codecs)) {
            writeln!(f, "#EXT-X-INDEPENDENT-SEGMENTS")?;
        }
        for rendition in &self.audio {
            writeln!(f, "{rendition}")?;
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
            if let Some(group) = &variant.audio {
                write!(f, ",AUDIO=\"{group}\"")?;
            }
            writeln!(f)?;
            writeln!(f, "{}", variant.uri)?;
        }
        for stream in &self.iframes {
            writeln!(f, "{stream}")?;
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
            audio: None,
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
    fn iframe_streams_follow_the_variants() {
        let stream = IFrameStream {
            uri: "iframes.m3u8".to_owned(),
            bandwidth: BitsPerSecond(200_000),
            average_bandwidth: Some(BitsPerSecond(150_000)),
            codecs: "avc1.4d401f".to_owned(),
            resolution: Some((1280, 720)),
        };
        let playlist = MultivariantPlaylist::new(vec![variant("index.m3u8")])
            .and_then(|p| p.with_iframe_streams(vec![stream.clone()]));
        let text = playlist.map(|p| p.render()).unwrap_or_default();
        assert!(
            text.ends_with(
                "index.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,\
                 AVERAGE-BANDWIDTH=150000,CODECS=\"avc1.4d401f\",RESOLUTION=1280x720,\
                 URI=\"iframes.m3u8\"\n"
            ),
            "{text}"
        );
        let bad = IFrameStream {
            uri: "a\"b".to_owned(),
            ..stream
        };
        assert!(MultivariantPlaylist::new(vec![variant("index.m3u8")])
            .and_then(|p| p.with_iframe_streams(vec![bad]))
            .is_err());
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
