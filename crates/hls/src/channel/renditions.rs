//! Several renditions of one stream: their names and inputs as given on a
//! command line (`NAME=INPUT`, backups `NAME=INPUT`), and the multivariant
//! playlist that lists them once each has been measured (audio-only ones
//! among video ones as an audio group).

use std::path::Path;

use crate::playlist::{
    AudioRendition, BitsPerSecond, IFrameStream, MultivariantPlaylist, PlaylistError, Variant,
};
use crate::segmenter::{Rendition, IFRAMES_PLAYLIST, LIVE_PLAYLIST};
use crate::store::{self, StoreError};

/// The multivariant playlist's file name (with several renditions, or
/// with I-frame playlists).
pub const MASTER_PLAYLIST: &str = "master.m3u8";

/// One rendition's name and inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionInputs {
    /// Its name: its directory under the output, and its URI prefix.
    pub name: String,
    /// The primary input (see [`super::input::InputSpec::parse`]).
    pub primary: String,
    /// The backup input, if any.
    pub backup: Option<String>,
}

/// Why the renditions or backups given cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenditionsError {
    /// Two renditions with one name.
    #[error("rendition name {name:?} given twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// Several backups for a single input.
    #[error("a backup is given more than once for one input")]
    BackupTwice,
    /// A backup without `NAME=` when there are several renditions.
    #[error("backup {arg}: with several renditions a backup is NAME=INPUT (renditions: {names})")]
    BackupUnnamed {
        /// The backup as given.
        arg: String,
        /// The renditions, comma-separated.
        names: String,
    },
    /// A backup for a rendition that does not exist.
    #[error("backup {arg}: {name:?} is not a rendition (renditions: {names})")]
    UnknownRendition {
        /// The backup as given.
        arg: String,
        /// The name it gives.
        name: String,
        /// The renditions, comma-separated.
        names: String,
    },
    /// A second backup for one rendition.
    #[error("backup {arg}: rendition {name:?} has a backup already")]
    SecondBackup {
        /// The backup as given.
        arg: String,
        /// The rendition.
        name: String,
    },
}

/// Whether `n` can name a rendition (and its directory): ASCII letters,
/// digits, `-` and `_`.
pub fn is_rendition_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The renditions of `inputs` (`NAME=INPUT` or `INPUT`, named r0, r1, …
/// by position) with their `backups`. One input: at most one backup (a
/// `NAME=` prefix naming that input is allowed). Several: `NAME=INPUT`, at
/// most once per rendition.
pub fn parse_renditions(
    inputs: &[String],
    backups: &[String],
) -> Result<Vec<RenditionInputs>, RenditionsError> {
    let many = inputs.len() > 1;
    let mut out: Vec<RenditionInputs> = Vec::new();
    for (i, arg) in inputs.iter().enumerate() {
        let (name, primary) = match arg.split_once('=') {
            Some((n, rest)) if is_rendition_name(n) => (n.to_string(), rest.to_string()),
            _ => (format!("r{i}"), arg.clone()),
        };
        if many && out.iter().any(|r| r.name == name) {
            return Err(RenditionsError::DuplicateName { name });
        }
        out.push(RenditionInputs {
            name,
            primary,
            backup: None,
        });
    }
    match out.as_mut_slice() {
        [one] => one.backup = single_backup(&one.name, backups)?,
        many => assign_backups(many, backups)?,
    }
    Ok(out)
}

/// The backup of a single input named `name`.
fn single_backup(name: &str, given: &[String]) -> Result<Option<String>, RenditionsError> {
    match given {
        [] => Ok(None),
        [one] => Ok(Some(
            one.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .unwrap_or(one)
                .to_string(),
        )),
        _ => Err(RenditionsError::BackupTwice),
    }
}

/// Gives each of several renditions the backup that names it.
fn assign_backups(
    renditions: &mut [RenditionInputs],
    given: &[String],
) -> Result<(), RenditionsError> {
    let names = |renditions: &[RenditionInputs]| {
        renditions
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for arg in given {
        let Some((name, input)) = arg.split_once('=').filter(|(n, _)| is_rendition_name(n)) else {
            let (arg, names) = (arg.clone(), names(renditions));
            return Err(RenditionsError::BackupUnnamed { arg, names });
        };
        let Some(i) = renditions.iter().position(|r| r.name == name) else {
            let (arg, name, names) = (arg.clone(), name.to_string(), names(renditions));
            return Err(RenditionsError::UnknownRendition { arg, name, names });
        };
        if renditions[i].backup.is_some() {
            let (arg, name) = (arg.clone(), name.to_string());
            return Err(RenditionsError::SecondBackup { arg, name });
        }
        renditions[i].backup = Some(input.to_string());
    }
    Ok(())
}

/// Why the multivariant playlist was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterPlaylistError {
    /// The measured renditions make no valid playlist.
    #[error(transparent)]
    Playlist(#[from] PlaylistError),
    /// Writing it failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The `GROUP-ID` of the audio-only renditions, when there is video too.
pub const AUDIO_GROUP: &str = "audio";

/// Writes `dir`/[`MASTER_PLAYLIST`] once every rendition has been measured
/// (nothing before); `measured` in the order of `renditions`. See
/// [`multivariant_playlist`] for what it lists. One rendition is the one
/// in `dir` itself (its playlists are named without a directory).
pub fn write_master_playlist(
    dir: &Path,
    renditions: &[RenditionInputs],
    measured: &[Option<Rendition>],
) -> Result<(), MasterPlaylistError> {
    let Some(all) = measured
        .iter()
        .map(Option::as_ref)
        .collect::<Option<Vec<&Rendition>>>()
    else {
        return Ok(());
    };
    let single = renditions.len() == 1;
    let named: Vec<(&str, &Rendition)> = renditions
        .iter()
        .map(|r| if single { "" } else { r.name.as_str() })
        .zip(all)
        .collect();
    let playlist = multivariant_playlist(&named)?;
    store::write_atomic(dir, MASTER_PLAYLIST, playlist.render().as_bytes())?;
    Ok(())
}

/// The multivariant playlist of the measured renditions `(name, measure)`
/// (the name is the directory of its playlists; empty: none).
///
/// Audio-only renditions among video ones are alternative audio
/// (`EXT-X-MEDIA:TYPE=AUDIO` in group [`AUDIO_GROUP`], the first one
/// `DEFAULT=YES`, `CHANNELS` from the AAC header), not variants: every video
/// rendition is a variant with `AUDIO="audio"`, its `CODECS` adding the
/// group's audio codecs, its `BANDWIDTH` and `AVERAGE-BANDWIDTH` adding the
/// group's highest (a player fetches the variant and one audio rendition,
/// RFC 8216 §4.3.4.2). A video rendition that carries its own audio keeps it
/// muxed (its `CODECS` list it already); a player that follows `AUDIO`
/// plays the group's. Only audio-only renditions: each is a variant.
///
/// A video rendition with an I-frame playlist is listed again with
/// `EXT-X-I-FRAME-STREAM-INF` (its video codec alone, its resolution, the
/// I-frame stream's own bit rates).
pub fn multivariant_playlist(
    renditions: &[(&str, &Rendition)],
) -> Result<MultivariantPlaylist, PlaylistError> {
    let streams = renditions
        .iter()
        .filter_map(|(name, r)| iframe_stream(name, r))
        .collect();
    variants_and_audio(renditions)?.with_iframe_streams(streams)
}

/// The variants and audio renditions of [`multivariant_playlist`].
fn variants_and_audio(
    renditions: &[(&str, &Rendition)],
) -> Result<MultivariantPlaylist, PlaylistError> {
    let (audio_only, video): (Vec<_>, Vec<_>) =
        renditions.iter().partition(|(_, r)| r.is_audio_only());
    if audio_only.is_empty() || video.is_empty() {
        let variants = renditions.iter().map(|(n, r)| variant(n, r)).collect();
        return MultivariantPlaylist::new(variants);
    }
    let audio = audio_only
        .iter()
        .enumerate()
        .map(|(i, (name, r))| AudioRendition {
            group_id: AUDIO_GROUP.to_owned(),
            name: (*name).to_owned(),
            uri: uri(name, LIVE_PLAYLIST),
            default: i == 0,
            language: None,
            channels: r.audio_channels,
        })
        .collect();
    let group: Vec<&Rendition> = audio_only.iter().map(|(_, r)| *r).collect();
    let variants = video
        .iter()
        .map(|(name, r)| with_audio_group(variant(name, r), &group))
        .collect();
    MultivariantPlaylist::with_audio(variants, audio)
}

/// The URI of rendition `name`'s `file`.
fn uri(name: &str, file: &str) -> String {
    match name {
        "" => file.to_owned(),
        _ => format!("{name}/{file}"),
    }
}

/// The I-frame stream of rendition `name`, if it has one: video whose
/// format is known, with I-frames measured.
fn iframe_stream(name: &str, r: &Rendition) -> Option<IFrameStream> {
    let (bandwidth, average) = r.iframes?;
    r.resolution?;
    // With a known video format, its codec comes first.
    let codec = r.codecs.split(',').next()?;
    Some(IFrameStream {
        uri: uri(name, IFRAMES_PLAYLIST),
        bandwidth: BitsPerSecond(bandwidth),
        average_bandwidth: Some(BitsPerSecond(average)),
        codecs: codec.to_owned(),
        resolution: r.resolution,
    })
}

/// The variant of rendition `name`, as measured.
fn variant(name: &str, r: &Rendition) -> Variant {
    Variant {
        uri: uri(name, LIVE_PLAYLIST),
        bandwidth: BitsPerSecond(r.bandwidth),
        average_bandwidth: Some(BitsPerSecond(r.average_bandwidth)),
        codecs: r.codecs.clone(),
        resolution: r.resolution,
        frame_rate: None,
        audio: None,
    }
}

/// `variant` played with one of the audio renditions `group`: the highest
/// of their bit rates added, their codecs listed once each.
fn with_audio_group(mut variant: Variant, group: &[&Rendition]) -> Variant {
    let peak = group.iter().map(|r| r.bandwidth).max().unwrap_or(0);
    let average = group.iter().map(|r| r.average_bandwidth).max().unwrap_or(0);
    variant.bandwidth = BitsPerSecond(variant.bandwidth.0.saturating_add(peak));
    variant.average_bandwidth = variant
        .average_bandwidth
        .map(|a| BitsPerSecond(a.0.saturating_add(average)));
    let mut codecs: Vec<&str> = variant.codecs.split(',').collect();
    for codec in group.iter().filter_map(|r| r.audio_codec.as_deref()) {
        if !codecs.contains(&codec) {
            codecs.push(codec);
        }
    }
    variant.codecs = codecs.join(",");
    variant.audio = Some(AUDIO_GROUP.to_owned());
    variant
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    /// The backups given `backups` for renditions `names` (each `NAME=NAME.ts`).
    fn backups(names: &[&str], backups: &[&str]) -> Result<Vec<Option<String>>, String> {
        let inputs: Vec<String> = names.iter().map(|n| format!("{n}={n}.ts")).collect();
        parse_renditions(&inputs, &args(backups))
            .map(|r| r.into_iter().map(|r| r.backup).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn inputs_are_named_by_prefix_or_position() {
        let r = parse_renditions(&args(&["hi=a.ts", "b.ts", "x/y=c.ts"]), &[]).ok();
        let names: Option<Vec<(String, String)>> =
            r.map(|r| r.into_iter().map(|r| (r.name, r.primary)).collect());
        assert_eq!(
            names,
            Some(vec![
                ("hi".into(), "a.ts".into()),
                ("r1".into(), "b.ts".into()),
                ("r2".into(), "x/y=c.ts".into())
            ])
        );
        let twice = parse_renditions(&args(&["a=1.ts", "a=2.ts"]), &[]);
        assert_eq!(
            twice.map_err(|e| e.to_string()),
            Err("rendition name \"a\" given twice".into())
        );
    }

    #[test]
    fn one_input_keeps_backup_input() {
        let b = |given: &[&str]| backups(&["hi"], given).ok();
        assert_eq!(b(&[]), Some(vec![None]));
        assert_eq!(b(&["b.ts"]), Some(vec![Some("b.ts".into())]));
        assert_eq!(b(&["hi=b.ts"]), Some(vec![Some("b.ts".into())]));
        // Another prefix is part of the input, as before.
        assert_eq!(b(&["x=b.ts"]), Some(vec![Some("x=b.ts".into())]));
        let twice = backups(&["hi"], &["a.ts", "b.ts"]).unwrap_or_else(|e| vec![Some(e)]);
        assert_eq!(
            twice,
            [Some(
                "a backup is given more than once for one input".into()
            )]
        );
    }

    #[test]
    fn several_renditions_take_one_backup_each_by_name() {
        let b = backups(&["hi", "lo"], &["lo=http://b/lo.ts"]).ok();
        assert_eq!(b, Some(vec![None, Some("http://b/lo.ts".into())]));
        for (given, expected) in [
            (
                &["x=b.ts"][..],
                "\"x\" is not a rendition (renditions: hi, lo)",
            ),
            (
                &["hi=a.ts", "hi=b.ts"],
                "rendition \"hi\" has a backup already",
            ),
            (&["b.ts"], "with several renditions a backup is NAME=INPUT"),
            (&["=b.ts"], "with several renditions a backup is NAME=INPUT"),
        ] {
            let m = backups(&["hi", "lo"], given).err().unwrap_or_default();
            assert!(m.contains(expected), "{given:?}: {m}");
            assert!(!m.contains('\n'), "one line: {m}");
        }
    }

    #[test]
    fn the_master_playlist_waits_for_every_rendition() {
        let dir = tempfile::tempdir().expect("tmp");
        let renditions = parse_renditions(&args(&["hi=a.ts", "lo=b.ts"]), &[]).expect("valid");
        let hi = Rendition {
            bandwidth: 2_000_000,
            average_bandwidth: 1_500_000,
            codecs: "avc1.64001f,mp4a.40.2".into(),
            resolution: Some((1280, 720)),
            video: true,
            audio_codec: Some("mp4a.40.2".into()),
            audio_channels: Some(2),
            iframes: None,
        };
        write_master_playlist(dir.path(), &renditions, &[Some(hi.clone()), None]).expect("ok");
        assert!(!dir.path().join(MASTER_PLAYLIST).exists());
        let lo = Rendition {
            resolution: Some((640, 360)),
            ..hi.clone()
        };
        write_master_playlist(dir.path(), &renditions, &[Some(hi), Some(lo)]).expect("ok");
        let text = std::fs::read_to_string(dir.path().join(MASTER_PLAYLIST)).expect("written");
        assert!(text.contains("RESOLUTION=1280x720"), "{text}");
        assert!(text.lines().any(|l| l == "lo/index.m3u8"), "{text}");
    }

    fn video(codecs: &str, width: u32, bandwidth: u64) -> Rendition {
        let audio_codec = codecs.split_once(',').map(|(_, a)| a.to_owned());
        Rendition {
            bandwidth,
            average_bandwidth: bandwidth / 2,
            codecs: codecs.into(),
            resolution: Some((width, width * 9 / 16)),
            video: true,
            audio_channels: audio_codec.as_ref().map(|_| 2),
            iframes: None,
            audio_codec,
        }
    }

    fn audio(codec: &str, channels: Option<u8>, bandwidth: u64) -> Rendition {
        Rendition {
            bandwidth,
            average_bandwidth: bandwidth - 1_000,
            codecs: codec.into(),
            resolution: None,
            video: false,
            audio_codec: Some(codec.into()),
            audio_channels: channels,
            iframes: None,
        }
    }

    fn render(renditions: &[(&str, &Rendition)]) -> String {
        multivariant_playlist(renditions)
            .map(|p| p.render())
            .unwrap_or_else(|e| e.to_string())
    }

    /// An audio-only input among video ones is the variants' audio: one
    /// EXT-X-MEDIA, referenced by every video variant, whose CODECS and
    /// bit rates include it (RFC 8216 §4.3.4.2: the peak of all media
    /// fetched).
    #[test]
    fn an_audio_only_rendition_among_video_is_the_variants_audio_group() {
        let (hi, lo) = (
            video("avc1.64001f", 1280, 2_000_000),
            video("avc1.42c01e", 640, 600_000),
        );
        let aac = audio("mp4a.40.2", Some(2), 130_000);
        let expected = "#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"aac\",\
DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"aac/index.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=2130000,AVERAGE-BANDWIDTH=1129000,\
CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"audio\"
hi/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=730000,AVERAGE-BANDWIDTH=429000,\
CODECS=\"avc1.42c01e,mp4a.40.2\",RESOLUTION=640x360,AUDIO=\"audio\"
lo/index.m3u8
";
        let text = render(&[("hi", &hi), ("aac", &aac), ("lo", &lo)]);
        assert_eq!(text, expected);
    }

    /// Several audio-only renditions are one group, the first the default;
    /// a variant is as fast as its video plus the fastest of them; a video
    /// rendition that carries its own AAC lists it once.
    #[test]
    fn several_audio_renditions_are_one_group_with_the_first_default() {
        let hi = video("avc1.64001f,mp4a.40.2", 1280, 2_000_000);
        let (main, he) = (
            audio("mp4a.40.2", Some(2), 130_000),
            audio("mp4a.40.5", None, 70_000),
        );
        let text = render(&[("hi", &hi), ("main", &main), ("he", &he)]);
        let media: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("#EXT-X-MEDIA:"))
            .collect();
        assert_eq!(
            media,
            [
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"main\",DEFAULT=YES,\
                 AUTOSELECT=YES,CHANNELS=\"2\",URI=\"main/index.m3u8\"",
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"he\",DEFAULT=NO,\
                 AUTOSELECT=YES,URI=\"he/index.m3u8\""
            ]
        );
        let inf = "#EXT-X-STREAM-INF:BANDWIDTH=2130000,AVERAGE-BANDWIDTH=1129000,\
                   CODECS=\"avc1.64001f,mp4a.40.2,mp4a.40.5\",RESOLUTION=1280x720,AUDIO=\"audio\"";
        assert!(text.contains(&format!("{inf}\nhi/index.m3u8\n")), "{text}");
    }

    /// Only audio renditions (no video to go with): each is a variant, as
    /// before.
    #[test]
    fn an_audio_only_channel_keeps_its_renditions_as_variants() {
        let (main, he) = (
            audio("mp4a.40.2", Some(2), 130_000),
            audio("mp4a.40.5", Some(2), 70_000),
        );
        let expected = "#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=130000,AVERAGE-BANDWIDTH=129000,CODECS=\"mp4a.40.2\"
main/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=69000,CODECS=\"mp4a.40.5\"
he/index.m3u8
";
        assert_eq!(render(&[("main", &main), ("he", &he)]), expected);
    }

    /// Video whose codec string is unknown (MPEG-2: no SPS read, no
    /// RESOLUTION) with its own AAC is a variant, never taken for audio.
    #[test]
    fn video_without_a_known_codec_string_is_no_audio_rendition() {
        let mpeg2 = Rendition {
            bandwidth: 1_000_000,
            average_bandwidth: 500_000,
            codecs: "mp4a.40.2".into(),
            resolution: None,
            video: true,
            audio_codec: Some("mp4a.40.2".into()),
            audio_channels: Some(2),
            iframes: None,
        };
        let aac = audio("mp4a.40.2", Some(2), 130_000);
        let text = render(&[("sd", &mpeg2), ("aac", &aac)]);
        assert!(text.contains("AUDIO=\"audio\"\nsd/index.m3u8\n"), "{text}");
        assert_eq!(text.matches("#EXT-X-STREAM-INF").count(), 1, "{text}");
    }
}
