//! Media playlist tests: exact output against RFC 8216's examples, the live
//! window rule step by step, and property tests of its invariants.

use proptest::prelude::*;

use super::*;

fn secs(s: f64) -> Ticks {
    Ticks::from_secs_f64(s).unwrap_or_default()
}

fn segment(uri: &str, duration: Ticks) -> SegmentEntry {
    SegmentEntry::new(uri, duration)
}

/// Pushes and returns the outcome, failing the test on an error.
fn push(playlist: &mut MediaPlaylist, entry: SegmentEntry) -> PushOutcome {
    match playlist.push(entry) {
        Ok(outcome) => outcome,
        Err(e) => panic!("push failed: {e}"),
    }
}

fn uris(segments: &[SegmentEntry]) -> Vec<&str> {
    segments.iter().map(|s| s.uri.as_str()).collect()
}

/// RFC 8216 §8.2, "Live Media Playlist Using HTTPS".
const RFC_LIVE: &str = "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:8
#EXT-X-MEDIA-SEQUENCE:2680

#EXTINF:7.975,
https://priv.example.com/fileSequence2680.ts
#EXTINF:7.941,
https://priv.example.com/fileSequence2681.ts
#EXTINF:7.975,
https://priv.example.com/fileSequence2682.ts
";

#[test]
fn rfc8216_live_example_renders_as_published() {
    let playlist = MediaPlaylist::parse(RFC_LIVE);
    let expected = RFC_LIVE.replace("\n\n", "\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    assert_eq!(playlist.map(|p| p.render()), Ok(expected));
}

#[test]
fn rfc8216_live_example_parses() -> Result<(), PlaylistError> {
    let playlist = MediaPlaylist::parse(RFC_LIVE)?;
    assert_eq!(playlist.target_duration(), 8);
    assert_eq!(playlist.media_sequence(), 2680);
    assert_eq!(playlist.playlist_type(), PlaylistType::Live);
    assert!(!playlist.is_ended());
    let got: Vec<_> = playlist
        .segments()
        .map(|s| (s.sequence, s.duration))
        .collect();
    let want = [
        (2680, secs(7.975)),
        (2681, secs(7.941)),
        (2682, secs(7.975)),
    ];
    assert_eq!(got, want);
    assert_eq!(playlist.next_sequence(), Some(2683));
    Ok(())
}

#[test]
fn rfc8216_simple_vod_example_parses() -> Result<(), PlaylistError> {
    // RFC 8216 §8.1, with the playlist type added.
    let text = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n\
        #EXTINF:9.009,\nhttp://media.example.com/first.ts\n\
        #EXTINF:9.009,\nhttp://media.example.com/second.ts\n\
        #EXTINF:3.003,\nhttp://media.example.com/third.ts\n#EXT-X-ENDLIST\n";
    let playlist = MediaPlaylist::parse(text)?;
    assert_eq!(playlist.playlist_type(), PlaylistType::Vod);
    assert!(playlist.is_ended());
    assert_eq!(playlist.total_duration(), secs(21.021));
    let rendered = playlist.render();
    assert!(rendered.starts_with(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXTINF:9.009,\n"
    ));
    assert!(
        rendered.ends_with("#EXTINF:3.003,\nhttp://media.example.com/third.ts\n#EXT-X-ENDLIST\n")
    );
    Ok(())
}

#[test]
fn rfc8216_encrypted_example_is_refused() {
    // RFC 8216 §8.3: resuming without the key would be wrong.
    let text =
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:7794\n#EXT-X-TARGETDURATION:15\n\n\
        #EXT-X-KEY:METHOD=AES-128,URI=\"https://priv.example.com/key.php?r=52\"\n\n\
        #EXTINF:2.833,\nhttp://media.example.com/fileSequence52-A.ts\n";
    let error = MediaPlaylist::parse(text);
    let want = PlaylistError::UnsupportedTag {
        line: 6,
        tag: "#EXT-X-KEY".into(),
    };
    assert_eq!(error, Err(want));
}

/// Six-second target, 18-second window; the comments trace the window rule.
#[test]
fn live_window_slides_and_counts_discontinuities_exactly() -> Result<(), PlaylistError> {
    let mut live = MediaPlaylist::live(6, Ticks::from_secs(18))?;
    let durations = [6.0, 6.0, 6.0, 6.0, 5.5, 4.0, 6.0, 6.0];
    let mut removed = Vec::new();
    for (n, duration) in durations.into_iter().enumerate() {
        let mut entry = segment(&format!("seg{n}.ts"), secs(duration));
        if n == 3 {
            entry.discontinuity_before = true;
            entry.program_date_time = Some(UnixMillis(1_234_567_890_123));
        }
        let outcome = push(&mut live, entry);
        assert_eq!(outcome.sequence, n as u64);
        assert!(!outcome.over_target);
        removed.push(uris(&outcome.removed).join(" "));
        if n == 6 {
            // seg3 (with the discontinuity) is first now: still listed, so
            // the discontinuity sequence has not moved.
            let expected = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n\
                #EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
                #EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2009-02-13T23:31:30.123Z\n\
                #EXTINF:6.000,\nseg3.ts\n#EXTINF:5.500,\nseg4.ts\n\
                #EXTINF:4.000,\nseg5.ts\n#EXTINF:6.000,\nseg6.ts\n";
            assert_eq!(live.render(), expected);
        }
    }
    // 18 s: nothing goes until the rest alone reaches 18 s. seg3 brings 24:
    // 24 − 6 ≥ 18, seg0 goes. seg4: 23.5 − 6 < 18. seg5: 27.5 − 6 ≥ 18, seg1
    // goes; 21.5 − 6 < 18. seg6: seg2 goes. seg7: seg3 goes.
    assert_eq!(
        removed,
        ["", "", "", "seg0.ts", "", "seg1.ts", "seg2.ts", "seg3.ts"]
    );
    let expected = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n\
        #EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-INDEPENDENT-SEGMENTS\n\
        #EXTINF:5.500,\nseg4.ts\n#EXTINF:4.000,\nseg5.ts\n\
        #EXTINF:6.000,\nseg6.ts\n#EXTINF:6.000,\nseg7.ts\n";
    assert_eq!(live.render(), expected);
    live.end();
    assert!(live.render().ends_with("seg7.ts\n#EXT-X-ENDLIST\n"));
    assert_eq!(
        live.push(segment("late.ts", secs(1.0))),
        Err(PlaylistError::Ended)
    );
    Ok(())
}

#[test]
fn event_and_vod_never_remove() -> Result<(), PlaylistError> {
    let mut event = MediaPlaylist::event(2)?;
    let mut vod = MediaPlaylist::vod(2)?;
    for n in 0..100 {
        assert!(push(&mut event, segment(&format!("e{n}.ts"), secs(2.0)))
            .removed
            .is_empty());
        assert!(push(&mut vod, segment(&format!("v{n}.ts"), secs(2.0)))
            .removed
            .is_empty());
    }
    assert_eq!((event.segments().len(), event.media_sequence()), (100, 0));
    assert_eq!((vod.segments().len(), vod.media_sequence()), (100, 0));
    assert!(event.render().contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"));
    assert!(!event.render().contains("#EXT-X-ENDLIST"));
    assert!(vod.render().contains("#EXT-X-PLAYLIST-TYPE:VOD\n"));
    assert!(vod.render().ends_with("v99.ts\n#EXT-X-ENDLIST\n"));
    event.end();
    assert!(event.render().ends_with("e99.ts\n#EXT-X-ENDLIST\n"));
    assert_eq!(event.window(), None);
    assert_eq!(
        event.set_window(Ticks::from_secs(60)),
        Err(PlaylistError::NotLive)
    );
    Ok(())
}

#[test]
fn window_shorter_than_three_targets_is_refused() {
    let too_short = MediaPlaylist::live(6, Ticks(Ticks::from_secs(18).0 - 1));
    let want = PlaylistError::WindowTooShort {
        window: Ticks(1_619_999),
        minimum: Ticks(1_620_000),
    };
    assert_eq!(too_short.map(|_| ()), Err(want));
    assert!(MediaPlaylist::live(6, Ticks::from_secs(18)).is_ok());
    assert_eq!(
        MediaPlaylist::live(0, Ticks::from_secs(18)).map(|_| ()),
        Err(PlaylistError::ZeroTargetDuration)
    );
    assert_eq!(
        MediaPlaylist::event(0).map(|_| ()),
        Err(PlaylistError::ZeroTargetDuration)
    );
}

#[test]
fn over_target_segment_is_listed_and_reported() -> Result<(), PlaylistError> {
    let mut live = MediaPlaylist::live(6, Ticks::from_secs(30))?;
    assert!(!push(&mut live, segment("a.ts", secs(6.499))).over_target);
    // 6.4995 s is written 6.500, which rounds to 7: judged as written.
    assert!(push(&mut live, segment("b.ts", Ticks(584_955))).over_target);
    assert!(push(&mut live, segment("c.ts", secs(6.5))).over_target);
    assert!(push(&mut live, segment("d.ts", secs(12.0))).over_target);
    let text = live.render();
    assert!(text.contains("#EXTINF:6.500,\nc.ts\n#EXTINF:12.000,\nd.ts\n"));
    assert_eq!(text.matches("#EXT-X-TARGETDURATION:6\n").count(), 1);
    assert_eq!(live.target_duration(), 6);
    Ok(())
}

#[test]
fn unwritable_uris_are_refused_without_change() -> Result<(), PlaylistError> {
    let mut live = MediaPlaylist::live(6, Ticks::from_secs(18))?;
    let before = live.clone();
    for uri in ["", "#EXT-X-ENDLIST", "a\nb.ts", "a.ts\r", " a.ts", "a.ts\t"] {
        let error = live.push(segment(uri, secs(6.0)));
        assert!(
            matches!(error, Err(PlaylistError::InvalidUri { .. })),
            "{uri:?}"
        );
    }
    assert_eq!(live, before);
    Ok(())
}

#[test]
fn parse_errors_carry_line_numbers() {
    let head = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n";
    let cases: Vec<(String, PlaylistError)> = vec![
        ("".into(), PlaylistError::MissingHeader { line: 1 }),
        (
            "#EXTM3U8\n".into(),
            PlaylistError::MissingHeader { line: 1 },
        ),
        (
            "#EXTM3U\n#EXTINF:6,\na.ts\n".into(),
            PlaylistError::MissingTag {
                line: 3,
                tag: "#EXT-X-TARGETDURATION",
            },
        ),
        (
            format!("{head}#EXT-X-TARGETDURATION:6\n"),
            PlaylistError::DuplicateTag {
                line: 3,
                tag: "#EXT-X-TARGETDURATION",
            },
        ),
        (
            format!("{head}#EXTINF:6,\na.ts\n#EXT-X-MEDIA-SEQUENCE:4\n"),
            PlaylistError::MisplacedTag {
                line: 5,
                tag: "#EXT-X-MEDIA-SEQUENCE",
            },
        ),
        (
            format!("{head}#EXTINF:six,\na.ts\n"),
            PlaylistError::InvalidValue {
                line: 3,
                tag: "#EXTINF",
                value: "six,".into(),
            },
        ),
        (
            format!("{head}\r\n#EXT-X-MEDIA-SEQUENCE:-1\r\n"),
            PlaylistError::InvalidValue {
                line: 4,
                tag: "#EXT-X-MEDIA-SEQUENCE",
                value: "-1".into(),
            },
        ),
        (
            format!("{head}#EXT-X-PLAYLIST-TYPE:LIVE\n"),
            PlaylistError::InvalidValue {
                line: 3,
                tag: "#EXT-X-PLAYLIST-TYPE",
                value: "LIVE".into(),
            },
        ),
        (
            format!("{head}#EXT-X-PROGRAM-DATE-TIME:yesterday\n"),
            PlaylistError::InvalidValue {
                line: 3,
                tag: "#EXT-X-PROGRAM-DATE-TIME",
                value: "yesterday".into(),
            },
        ),
        (
            format!("{head}a.ts\n"),
            PlaylistError::UriWithoutDuration { line: 3 },
        ),
        (
            format!("{head}#EXTINF:6,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:6,\n"),
            PlaylistError::DanglingTag {
                line: 5,
                tag: "#EXT-X-DISCONTINUITY",
            },
        ),
        (
            format!(
                "{head}#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n#EXTINF:6,\na\n#EXTINF:6,\nb\n"
            ),
            PlaylistError::SequenceOverflow { line: 7 },
        ),
        (
            format!("{head}#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n"),
            PlaylistError::UnsupportedTag {
                line: 3,
                tag: "#EXT-X-STREAM-INF".into(),
            },
        ),
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:0\n".into(),
            PlaylistError::InvalidValue {
                line: 2,
                tag: "#EXT-X-TARGETDURATION",
                value: "0".into(),
            },
        ),
    ];
    for (text, want) in cases {
        let line = want.line();
        assert_eq!(MediaPlaylist::parse(&text), Err(want), "{text:?}");
        assert!(line.is_some());
    }
}

#[test]
fn parse_skips_comments_unknown_tags_and_crlf() -> Result<(), PlaylistError> {
    let text = "\u{feff}#EXTM3U\r\n# a comment\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-NEW-TAG:1\r\n\
        #EXTINF:3.5,title\r\na.ts\r\n";
    let playlist = MediaPlaylist::parse(text)?;
    let got: Vec<_> = playlist
        .segments()
        .map(|s| (s.uri.as_str(), s.duration))
        .collect();
    assert_eq!(got, [("a.ts", secs(3.5))]);
    Ok(())
}

#[test]
fn parsed_live_playlist_resumes_where_it_stopped() -> Result<(), PlaylistError> {
    let mut live = MediaPlaylist::live(4, Ticks::from_secs(16))?;
    for n in 0..20 {
        let mut entry = segment(&format!("s{n}.ts"), secs(4.0));
        entry.discontinuity_before = n % 7 == 0;
        let _ = push(&mut live, entry);
    }
    let mut resumed = MediaPlaylist::parse(&live.render())?;
    assert_eq!(
        resumed.window(),
        Some(Ticks::from_secs(16)),
        "the listed total, 16 s"
    );
    resumed.set_window(Ticks::from_secs(16))?;
    let a = push(&mut live, segment("s20.ts", secs(4.0)));
    let b = push(&mut resumed, segment("s20.ts", secs(4.0)));
    assert_eq!(a, b);
    assert_eq!(live.render(), resumed.render());
    assert_eq!(
        resumed.set_window(Ticks::from_secs(11)),
        Err(PlaylistError::WindowTooShort {
            window: Ticks::from_secs(11),
            minimum: Ticks::from_secs(12),
        })
    );
    Ok(())
}

#[test]
fn ticks_round_to_milliseconds_and_seconds() {
    assert_eq!(Ticks(44).rounded_millis(), 0);
    assert_eq!(Ticks(45).rounded_millis(), 1);
    assert_eq!(
        Ticks(u64::MAX).rounded_millis(),
        u64::MAX / 90,
        "remainder 15 rounds down"
    );
    assert_eq!(
        Ticks(u64::MAX - 60).rounded_millis(),
        u64::MAX / 90,
        "remainder 45 rounds up"
    );
    assert_eq!(secs(6.4995).rounded_secs(), 7, "6.4995 shows as 6.500");
    assert_eq!(secs(6.499).rounded_secs(), 6);
    assert_eq!(Ticks(540_540).to_string(), "6.006s");
    assert_eq!(Ticks::from_secs_f64(-0.5), None);
    assert_eq!(Ticks::from_secs_f64(f64::INFINITY), None);
    assert_eq!(Ticks::from_secs_f64(1e20), None);
    assert_eq!(Ticks::from_millis(6006), Ticks(540_540));
}

/// One push in a generated run: duration (ticks ≤ target), discontinuity,
/// program date-time.
type Step = (u64, bool, Option<u64>);

fn steps(target: u32, len: usize) -> impl Strategy<Value = Vec<Step>> {
    let max = Ticks::from_secs(target).0;
    proptest::collection::vec(
        (0..=max, any::<bool>(), proptest::option::of(0u64..1 << 45)),
        0..len,
    )
}

fn entry(n: usize, (ticks, discontinuity, time): Step) -> SegmentEntry {
    let mut entry = segment(&format!("segment-{n}.ts"), Ticks(ticks));
    entry.discontinuity_before = discontinuity;
    entry.program_date_time = time.map(UnixMillis);
    entry.bytes = Some(188 * n as u64);
    entry
}

/// `parse(render(p))` lists the same segments (durations to the
/// millisecond, no sizes) with the same numbers.
fn assert_round_trip(playlist: &MediaPlaylist) -> Result<(), TestCaseError> {
    let parsed = MediaPlaylist::parse(&playlist.render());
    let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(parsed.target_duration(), playlist.target_duration());
    prop_assert_eq!(parsed.media_sequence(), playlist.media_sequence());
    prop_assert_eq!(
        parsed.discontinuity_sequence(),
        playlist.discontinuity_sequence()
    );
    prop_assert_eq!(parsed.playlist_type(), playlist.playlist_type());
    prop_assert_eq!(parsed.is_ended(), playlist.is_ended());
    let expected: Vec<SegmentEntry> = playlist
        .segments()
        .map(|s| SegmentEntry {
            duration: Ticks::from_millis(s.duration.rounded_millis()),
            bytes: None,
            ..s.clone()
        })
        .collect();
    prop_assert_eq!(parsed.segments().cloned().collect::<Vec<_>>(), expected);
    prop_assert_eq!(parsed.render(), playlist.render());
    Ok(())
}

proptest! {
    #[test]
    fn live_window_invariants_hold(
        (target, extra, pushes) in (1u32..=10).prop_flat_map(|t| {
            (Just(t), 0..=Ticks::from_secs(3 * t).0, steps(t, 120))
        })
    ) {
        let window = Ticks(MediaPlaylist::minimum_window(target).0 + extra);
        let mut live = MediaPlaylist::live(target, window).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (mut removed, mut removed_discontinuities, mut pushed_total) = (0u64, 0u64, 0u64);
        for (n, step) in pushes.into_iter().enumerate() {
            let before = live.media_sequence();
            let outcome = live.push(entry(n, step)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            pushed_total += step.0;
            prop_assert_eq!(outcome.sequence, n as u64);
            prop_assert!(!outcome.over_target);
            for gone in &outcome.removed {
                prop_assert_eq!(gone.sequence, removed, "removed in order");
                removed += 1;
                removed_discontinuities += u64::from(gone.discontinuity_before);
            }
            prop_assert!(live.media_sequence() >= before);
            prop_assert_eq!(live.media_sequence(), removed);
            prop_assert_eq!(live.discontinuity_sequence(), removed_discontinuities);
            let listed: Vec<u64> = live.segments().map(|s| s.sequence).collect();
            prop_assert_eq!(listed, (removed..=n as u64).collect::<Vec<_>>());
            let total = live.total_duration().0;
            prop_assert_eq!(total, live.segments().map(|s| s.duration.0).sum::<u64>());
            let first = live.segments().next().map_or(0, |s| s.duration.0);
            // The precise rule: no further removal is possible...
            prop_assert!(live.segments().len() == 1 || total - first < window.0);
            // ...and none was made that left less than the window.
            if removed > 0 {
                prop_assert!(total >= window.0, "total {} < window {}", total, window.0);
            } else {
                prop_assert_eq!(total, pushed_total);
            }
            let text = live.render();
            prop_assert_eq!(text.matches(&format!("#EXT-X-TARGETDURATION:{target}\n")).count(), 1);
            for line in text.lines().filter_map(|l| l.strip_prefix("#EXTINF:")) {
                let value: f64 = line.trim_end_matches(',').parse().map_err(|_| TestCaseError::fail(line.to_owned()))?;
                prop_assert!(value.round() <= f64::from(target), "EXTINF {}", line);
            }
        }
        assert_round_trip(&live)?;
    }

    #[test]
    fn live_playlists_round_trip_after_every_push(
        (target, pushes) in (1u32..=4).prop_flat_map(|t| (Just(t), steps(t, 40)))
    ) {
        let mut live = MediaPlaylist::live(target, Ticks::from_secs(3 * target))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (n, step) in pushes.into_iter().enumerate() {
            let _ = live.push(entry(n, step)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            assert_round_trip(&live)?;
        }
        live.end();
        assert_round_trip(&live)?;
    }

    #[test]
    fn event_and_vod_keep_everything_and_round_trip(
        vod in any::<bool>(),
        ended in any::<bool>(),
        pushes in steps(6, 60),
    ) {
        let built = if vod { MediaPlaylist::vod(6) } else { MediaPlaylist::event(6) };
        let mut playlist = built.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let count = pushes.len();
        for (n, step) in pushes.into_iter().enumerate() {
            let outcome = playlist.push(entry(n, step)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(outcome.removed.is_empty());
        }
        if ended {
            playlist.end();
        }
        prop_assert_eq!(playlist.segments().len(), count);
        prop_assert_eq!((playlist.media_sequence(), playlist.discontinuity_sequence()), (0, 0));
        prop_assert_eq!(playlist.render().ends_with("#EXT-X-ENDLIST\n"), vod || ended);
        assert_round_trip(&playlist)?;
    }

    #[test]
    fn over_target_flag_matches_rounded_extinf(target in 1u32..=10, ticks in 0u64..2_000_000) {
        let mut event = MediaPlaylist::event(target).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let outcome = event.push(segment("a.ts", Ticks(ticks))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = event.render();
        let extinf = text.lines().find_map(|l| l.strip_prefix("#EXTINF:")).unwrap_or_default();
        let shown: f64 = extinf.trim_end_matches(',').parse().map_err(|_| TestCaseError::fail(extinf.to_owned()))?;
        // f64 rounds halves away from zero, as RFC 8216's "nearest integer".
        prop_assert_eq!(outcome.over_target, shown.round() > f64::from(target), "EXTINF {}", extinf);
        prop_assert_eq!(event.target_duration(), target);
    }

    #[test]
    fn parse_never_panics_on_any_text(text in any::<String>()) {
        let _ = MediaPlaylist::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_playlist_like_text(
        lines in proptest::collection::vec(
            (
                prop::sample::select(vec![
                    "#EXTM3U", "#EXT-X-VERSION:", "#EXT-X-TARGETDURATION:", "#EXT-X-MEDIA-SEQUENCE:",
                    "#EXT-X-DISCONTINUITY-SEQUENCE:", "#EXT-X-PLAYLIST-TYPE:", "#EXTINF:",
                    "#EXT-X-DISCONTINUITY", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-ENDLIST", "#", "",
                    "seg.ts", "#EXT-X-INDEPENDENT-SEGMENTS", "\r",
                ]),
                prop::sample::select(vec![
                    "", "6", "6.006,", "0", "18446744073709551615", "18446744073709551616", "VOD",
                    "EVENT", "2009-02-13T23:31:30.123Z", "99999999-12-31T23:59:59.999-23:59", "-1",
                    "1.", ".5", "\u{e9}", "1.0000000000000000001",
                ]),
            ),
            0..30,
        )
    ) {
        let mut text = String::from("#EXTM3U\n");
        for (tag, value) in lines {
            text.push_str(tag);
            text.push_str(value);
            text.push('\n');
        }
        if let Ok(playlist) = MediaPlaylist::parse(&text) {
            // Whatever parses renders to something that parses the same way.
            let again = MediaPlaylist::parse(&playlist.render());
            prop_assert_eq!(again.map(|p| p.render()), Ok(playlist.render()));
        }
    }
}

fn part(uri: &str, ms: u64, independent: bool) -> PartEntry {
    PartEntry {
        uri: uri.into(),
        duration: Ticks::from_millis(ms),
        independent,
    }
}

#[test]
fn low_latency_lists_recent_parts_the_preload_hint_and_server_control() {
    let mut p = MediaPlaylist::live(2, Ticks::from_secs(6)).expect("valid");
    p.enable_low_latency(Ticks::from_millis(500))
        .expect("valid");
    for seg in 0..3u64 {
        for k in 0..4u64 {
            let next = if k == 3 {
                format!("s{}.0.ts", seg + 1)
            } else {
                format!("s{seg}.{}.ts", k + 1)
            };
            p.push_part(part(&format!("s{seg}.{k}.ts"), 500, k == 0), Some(next))
                .expect("part");
        }
        let _ = p
            .push(SegmentEntry::new(format!("s{seg}.ts"), Ticks::from_secs(2)))
            .expect("push");
    }
    p.push_part(part("s3.0.ts", 500, true), Some("s3.1.ts".into()))
        .expect("part");
    let want = "#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000,
s0.ts
#EXT-X-PART:DURATION=0.500,URI=\"s1.0.ts\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI=\"s1.1.ts\"
#EXT-X-PART:DURATION=0.500,URI=\"s1.2.ts\"
#EXT-X-PART:DURATION=0.500,URI=\"s1.3.ts\"
#EXTINF:2.000,
s1.ts
#EXT-X-PART:DURATION=0.500,URI=\"s2.0.ts\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI=\"s2.1.ts\"
#EXT-X-PART:DURATION=0.500,URI=\"s2.2.ts\"
#EXT-X-PART:DURATION=0.500,URI=\"s2.3.ts\"
#EXTINF:2.000,
s2.ts
#EXT-X-PART:DURATION=0.500,URI=\"s3.0.ts\",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s3.1.ts\"
";
    assert_eq!(p.render(), want);
    // Resuming such a playlist keeps the segments, not the parts.
    let back = MediaPlaylist::parse(want).expect("parses");
    assert_eq!(back.segments().count(), 3);
    assert_eq!(back.next_sequence(), Some(3));
    // Ended: no hint, no open parts.
    p.end();
    assert!(!p.render().contains("PRELOAD-HINT"));
}

#[test]
fn delta_updates_skip_what_starts_before_the_skip_boundary() {
    let mut p = MediaPlaylist::live(1, Ticks::from_secs(12)).expect("valid");
    p.enable_low_latency(Ticks::from_millis(250))
        .expect("valid");
    assert_eq!(p.render_delta(), None, "nothing to skip yet");
    for i in 0..12 {
        let _ = p
            .push(SegmentEntry::new(format!("s{i}.ts"), Ticks::from_secs(1)))
            .expect("push");
    }
    let delta = p.render_delta().expect("something to skip");
    // CAN-SKIP-UNTIL=6: s0..s5 start more than 6 s before the end.
    assert!(
        delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n"),
        "{delta}"
    );
    assert!(!delta.contains("s5.ts"), "{delta}");
    assert!(delta.contains("\ns6.ts\n"), "{delta}");
    assert!(delta.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{delta}");
    // Without low latency there is no delta.
    let plain = MediaPlaylist::live(1, Ticks::from_secs(12)).expect("valid");
    assert_eq!(plain.render_delta(), None);
}

#[test]
fn part_targets_and_part_uris_are_checked() {
    let mut p = MediaPlaylist::live(2, Ticks::from_secs(6)).expect("valid");
    assert_eq!(
        p.push_part(part("a.ts", 500, true), None),
        Err(PlaylistError::NotLowLatency)
    );
    assert!(p.enable_low_latency(Ticks::from_millis(2_001)).is_err());
    assert!(p.enable_low_latency(Ticks(0)).is_err());
    p.enable_low_latency(Ticks::from_millis(1_000))
        .expect("valid");
    assert!(p.push_part(part("a\".ts", 500, true), None).is_err());
    assert!(p
        .push_part(part("a.ts", 500, true), Some("b\nc".into()))
        .is_err());
    let mut e = MediaPlaylist::event(2).expect("valid");
    assert_eq!(
        e.enable_low_latency(Ticks::from_millis(500)),
        Err(PlaylistError::NotLive)
    );
}

#[test]
fn rendition_reports_follow_the_preload_hint_in_full_and_delta_playlists() {
    let mut p = MediaPlaylist::live(1, Ticks::from_secs(30)).expect("valid");
    p.enable_low_latency(Ticks::from_millis(500))
        .expect("valid");
    for seg in 0..8u64 {
        p.push_part(part(&format!("s{seg}.0.ts"), 500, true), None)
            .expect("part");
        let _ = p
            .push(SegmentEntry::new(format!("s{seg}.ts"), Ticks::from_secs(1)))
            .expect("push");
    }
    p.set_preload_hint(Some("s8.0.ts".into())).expect("hint");
    let reports = vec![
        RenditionReport {
            uri: "../lo/index.m3u8".into(),
            last_msn: 7,
            last_part: Some(1),
        },
        RenditionReport {
            uri: "../audio/index.m3u8".into(),
            last_msn: 6,
            last_part: None,
        },
    ];
    p.set_rendition_reports(reports.clone()).expect("reports");
    assert_eq!(p.rendition_reports(), reports.as_slice());
    let tail = "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s8.0.ts\"
#EXT-X-RENDITION-REPORT:URI=\"../lo/index.m3u8\",LAST-MSN=7,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=6
";
    assert!(p.render().ends_with(tail), "{}", p.render());
    let delta = p.render_delta().expect("8 s listed, 6 s skippable");
    assert!(delta.contains("#EXT-X-SKIP:"), "{delta}");
    assert!(delta.ends_with(tail), "{delta}");
    // A URI that would break the quoted attribute is refused.
    let bad = RenditionReport {
        uri: "a\"b".into(),
        last_msn: 0,
        last_part: None,
    };
    assert!(matches!(
        p.set_rendition_reports(vec![bad]),
        Err(PlaylistError::InvalidUri { .. })
    ));
    // Without low latency there is nothing to report into.
    let mut plain = MediaPlaylist::live(1, Ticks::from_secs(30)).expect("valid");
    assert_eq!(
        plain.set_rendition_reports(reports),
        Err(PlaylistError::NotLowLatency)
    );
}

fn video_variant(uri: &str, audio: Option<&str>) -> Variant {
    Variant {
        uri: uri.to_owned(),
        bandwidth: BitsPerSecond(1_064_000),
        average_bandwidth: Some(BitsPerSecond(1_000_000)),
        codecs: "avc1.64001f,mp4a.40.2".to_owned(),
        resolution: Some((1280, 720)),
        frame_rate: None,
        audio: audio.map(str::to_owned),
    }
}

fn audio_rendition(name: &str, default: bool) -> AudioRendition {
    AudioRendition {
        group_id: "aac".to_owned(),
        name: name.to_owned(),
        uri: format!("{name}/index.m3u8"),
        default,
        language: None,
        channels: Some(2),
    }
}

/// Alternative audio is written as RFC 8216 §8.6 shows it (EXT-X-MEDIA
/// before the variants, which name its group in AUDIO).
#[test]
fn audio_renditions_are_ext_x_media_lines_the_variants_name() {
    let english = AudioRendition {
        language: Some("en".into()),
        ..audio_rendition("english", true)
    };
    let commentary = AudioRendition {
        channels: None,
        ..audio_rendition("commentary", false)
    };
    let playlist = MultivariantPlaylist::with_audio(
        vec![video_variant("hi/index.m3u8", Some("aac"))],
        vec![english, commentary],
    );
    let expected = "#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"english\",LANGUAGE=\"en\",\
DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"english/index.m3u8\"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"commentary\",\
DEFAULT=NO,AUTOSELECT=YES,URI=\"commentary/index.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=1064000,AVERAGE-BANDWIDTH=1000000,\
CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aac\"
hi/index.m3u8
";
    assert_eq!(playlist.map(|p| p.render()), Ok(expected.to_owned()));
}

/// What RFC 8216 forbids in a group is refused with the attribute named:
/// a variant's AUDIO naming no group (§4.3.4.2.1), two renditions of one
/// name or two defaults in a group (§4.3.4.1.1), unquotable values.
#[test]
fn unwritable_audio_renditions_are_refused() {
    let refused =
        |variant: Variant, audio: Vec<AudioRendition>| match MultivariantPlaylist::with_audio(
            vec![variant],
            audio,
        ) {
            Err(PlaylistError::InvalidAttribute {
                attribute, value, ..
            }) => (attribute, value),
            other => panic!("expected InvalidAttribute, got {other:?}"),
        };
    let hi = || video_variant("hi/index.m3u8", Some("aac"));
    let no_group = refused(video_variant("hi/index.m3u8", Some("ac3")), vec![]);
    assert_eq!(no_group, ("AUDIO", "ac3".to_owned()));
    let without_audio = MultivariantPlaylist::new(vec![hi()]);
    assert!(
        matches!(
            without_audio,
            Err(PlaylistError::InvalidAttribute {
                attribute: "AUDIO",
                ..
            })
        ),
        "{without_audio:?}"
    );
    let twice = vec![audio_rendition("a", true), audio_rendition("a", false)];
    assert_eq!(refused(hi(), twice), ("NAME", "a".to_owned()));
    let defaults = vec![audio_rendition("a", true), audio_rendition("b", true)];
    assert_eq!(refused(hi(), defaults), ("DEFAULT", "YES".to_owned()));
    let quoted = AudioRendition {
        name: "a\"b".into(),
        ..audio_rendition("a", true)
    };
    assert_eq!(refused(hi(), vec![quoted]), ("NAME", "a\"b".to_owned()));
    let silent = AudioRendition {
        channels: Some(0),
        ..audio_rendition("a", true)
    };
    assert_eq!(refused(hi(), vec![silent]), ("CHANNELS", "0".to_owned()));
    // Two groups may each have a default and reuse a name.
    let other = AudioRendition {
        group_id: "ac3".into(),
        ..audio_rendition("a", true)
    };
    let both =
        MultivariantPlaylist::with_audio(vec![hi()], vec![audio_rendition("a", true), other]);
    assert_eq!(both.map(|p| p.audio().len()), Ok(2));
    let bad_uri = AudioRendition {
        uri: "a\nb".into(),
        ..audio_rendition("a", true)
    };
    assert!(matches!(
        MultivariantPlaylist::with_audio(vec![hi()], vec![bad_uri]),
        Err(PlaylistError::InvalidUri { .. })
    ));
}

#[test]
fn the_target_is_announced_only_while_nothing_is_listed() {
    let mut p = MediaPlaylist::live(4, Ticks::from_secs(12)).expect("valid");
    assert!(p.announce_target(10));
    assert_eq!(p.target_duration(), 10);
    // The window grew to three target durations (RFC 8216 §6.2.2).
    assert_eq!(p.window(), Some(Ticks::from_secs(30)));
    let _ = p
        .push(SegmentEntry::new("s0.ts", Ticks::from_secs(10)))
        .expect("push");
    assert!(!p.announce_target(12));
    assert!(p.render().contains("#EXT-X-TARGETDURATION:10\n"));
}

#[test]
fn independent_segments_is_claimed_only_when_asked() {
    let mut p = MediaPlaylist::live(4, Ticks::from_secs(12)).expect("valid");
    assert!(p.render().contains("#EXT-X-INDEPENDENT-SEGMENTS\n"));
    p.set_independent_segments(false);
    assert!(!p.render().contains("INDEPENDENT-SEGMENTS"));
    assert!(!p.independent_segments());
}

/// A date range goes before its segment, attributes in a fixed order; a
/// delta update that skips the segment keeps the range, after
/// `EXT-X-SKIP` (no CAN-SKIP-DATERANGES); a listed range can be completed.
#[test]
fn date_ranges_are_written_and_kept_by_delta_updates() {
    let mut p = MediaPlaylist::live(1, Ticks::from_secs(12)).expect("valid");
    p.enable_low_latency(Ticks::from_millis(250))
        .expect("valid");
    for i in 0..12 {
        let mut s = SegmentEntry::new(format!("s{i}.ts"), Ticks::from_secs(1));
        s.program_date_time = Some(UnixMillis(1_000 * i));
        if i == 2 {
            let mut r = DateRange::new("splice-1", UnixMillis(2_000));
            r.planned_duration = Some(Ticks::from_secs(30));
            r.scte35_out = Some("0xFC30".into());
            s.dateranges.push(r);
        }
        let _ = p.push(s).expect("push");
    }
    let range = p.daterange_mut("splice-1").expect("listed");
    range.duration = Some(Ticks::from_millis(29_960));
    range.scte35_in = Some("0xFC31".into());
    let tag = "#EXT-X-DATERANGE:ID=\"splice-1\",START-DATE=\"1970-01-01T00:00:02.000Z\",\
               DURATION=29.960,PLANNED-DURATION=30.000,SCTE35-OUT=0xFC30,SCTE35-IN=0xFC31\n";
    let full = p.render();
    assert!(full.contains(&format!("00:02.000Z\n{tag}")), "{full}");
    let delta = p.render_delta().expect("something to skip");
    assert!(
        delta.contains(&format!("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n{tag}")),
        "{delta}"
    );
    let mut cmd = DateRange::new("cmd-1", UnixMillis(0));
    cmd.class = Some("urn:x".into());
    cmd.scte35_cmd = Some("0xFC".into());
    assert_eq!(
        cmd.to_string(),
        "#EXT-X-DATERANGE:ID=\"cmd-1\",CLASS=\"urn:x\",START-DATE=\"1970-01-01T00:00:00.000Z\",SCTE35-CMD=0xFC"
    );
}

/// A key stays in effect until the next EXT-X-KEY: clear segments after
/// encrypted ones get METHOD=NONE (also first after a skip), and a resumed
/// playlist reads both back.
#[test]
fn keys_are_written_per_segment_and_ended_by_method_none() {
    let mut p = MediaPlaylist::live(1, Ticks::from_secs(12)).expect("valid");
    p.enable_low_latency(Ticks::from_millis(250))
        .expect("valid");
    for i in 0..12u64 {
        let mut s = SegmentEntry::new(format!("s{i}.ts"), Ticks::from_secs(1));
        if i < 6 {
            s.key = Some(SegmentKey::for_sequence("k.key", i));
        }
        let _ = p.push(s).expect("push");
    }
    let full = p.render();
    assert!(
        full.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\",IV=0x00000000000000000000000000000005\n#EXTINF:1.000,\ns5.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1.000,\ns6.ts\n"),
        "{full}"
    );
    assert_eq!(full.matches("METHOD=NONE").count(), 1, "{full}");
    // s0..s5 skipped: the client still has s5's key, s6 says NONE.
    let delta = p.render_delta().expect("delta");
    assert!(
        delta.contains("SKIPPED-SEGMENTS=6\n#EXT-X-KEY:METHOD=NONE\n"),
        "{delta}"
    );
    let mut plain = MediaPlaylist::live(1, Ticks::from_secs(12)).expect("valid");
    for e in p.segments() {
        let _ = plain
            .push(SegmentEntry {
                parts: Vec::new(),
                ..e.clone()
            })
            .expect("push");
    }
    let text = plain.render();
    let back = MediaPlaylist::parse(&text).expect("parses");
    let keys: Vec<Option<u128>> = back
        .segments()
        .map(|s| s.key.as_ref().map(|k| k.iv))
        .collect();
    assert_eq!(
        keys[..7],
        [Some(0), Some(1), Some(2), Some(3), Some(4), Some(5), None]
    );
    assert_eq!(back.render(), text);
}

/// An I-frame playlist: `EXT-X-I-FRAMES-ONLY`, each entry a byte range,
/// `EXT-X-MAP` written when it changes, version 5 (4 without maps); it
/// never slides by itself, only by `remove_front_while`; it reads back as
/// written, and its tags are refused in a playlist that is not one.
#[test]
fn iframe_playlists_render_ranges_and_maps_and_read_back() {
    let mut p = MediaPlaylist::iframes(PlaylistType::Live, 4).expect("valid");
    for (uri, offset) in [("seg0.ts", 376), ("seg0.ts", 9400), ("seg1.ts", 376)] {
        let mut e = segment(uri, secs(2.0));
        e.byte_range = Some(ByteRange {
            length: 1880,
            offset,
        });
        e.map = Some(InitSection {
            uri: uri.to_owned(),
            range: ByteRange {
                length: 376,
                offset: 0,
            },
        });
        let pushed = push(&mut p, e);
        assert!(pushed.removed.is_empty(), "no window of its own");
    }
    let expected = "#EXTM3U
#EXT-X-VERSION:5
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-I-FRAMES-ONLY
#EXT-X-MAP:URI=\"seg0.ts\",BYTERANGE=\"376@0\"
#EXTINF:2.000,
#EXT-X-BYTERANGE:1880@376
seg0.ts
#EXTINF:2.000,
#EXT-X-BYTERANGE:1880@9400
seg0.ts
#EXT-X-MAP:URI=\"seg1.ts\",BYTERANGE=\"376@0\"
#EXTINF:2.000,
#EXT-X-BYTERANGE:1880@376
seg1.ts
";
    assert_eq!(p.render(), expected);
    assert_eq!(MediaPlaylist::parse(expected), Ok(p.clone()));
    let gone = p.remove_front_while(|e| e.uri == "seg0.ts");
    assert_eq!(gone.len(), 2);
    assert_eq!(p.media_sequence(), 2);
    assert!(p
        .render()
        .contains("#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP"));
    // Without maps (pictures in files of their own): version 4.
    let mut own = MediaPlaylist::iframes(PlaylistType::Vod, 4).expect("valid");
    let _ = push(&mut own, segment("seg0.i0.ts", secs(1.0)));
    assert!(own.render().starts_with("#EXTM3U\n#EXT-X-VERSION:4\n"));
    // In a playlist that is not an I-frame playlist: refused.
    let ranged = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:2,\n#EXT-X-BYTERANGE:10@0\na.ts\n";
    assert!(matches!(
        MediaPlaylist::parse(ranged),
        Err(PlaylistError::UnsupportedTag { .. })
    ));
    let late = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:2,\na.ts\n#EXT-X-I-FRAMES-ONLY\n";
    assert!(MediaPlaylist::parse(late).is_err());
    assert_eq!(ByteRange::parse("12@x"), None);
    assert_eq!(ByteRange::parse("12"), None);
}

/// Cue tags are written before their segment's `EXTINF` and read back;
/// another writer's forms are skipped.
#[test]
fn cue_tags_render_and_read_back() {
    let mut p = MediaPlaylist::event(6).expect("valid");
    let cues = [
        vec![Cue::Out {
            duration: secs(30.0),
        }],
        vec![Cue::Cont {
            elapsed: secs(6.0),
            duration: secs(30.0),
        }],
        vec![Cue::In],
    ];
    for (i, c) in cues.iter().enumerate() {
        let mut e = segment(&format!("seg{i}.ts"), secs(6.0));
        e.cues = c.clone();
        let _ = push(&mut p, e);
    }
    let text = p.render();
    assert!(text.contains(
        "#EXT-X-CUE-OUT:DURATION=30.000\n#EXTINF:6.000,\nseg0.ts\n\
         #EXT-X-CUE-OUT-CONT:ElapsedTime=6.000,Duration=30.000\n#EXTINF:6.000,\nseg1.ts\n\
         #EXT-X-CUE-IN\n#EXTINF:6.000,\nseg2.ts\n"
    ));
    assert_eq!(MediaPlaylist::parse(&text), Ok(p));
    let theirs = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-CUE-OUT:30\n#EXTINF:6,\na.ts\n";
    let read = MediaPlaylist::parse(theirs).expect("skipped, not refused");
    assert!(read.segments().all(|s| s.cues.is_empty()));
}
