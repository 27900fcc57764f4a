//! The checker on hand-made snapshots: a well-behaved sliding window
//! passes, and each broken invariant is caught (so the live test can fail).

use super::*;

const RULES: Rules = Rules {
    grace_ms: 12_000,
    margin_ms: 1_500,
};

/// A live playlist text: `segN.ts` from `msn` on, 2-second target.
fn text(msn: u64, dsn: u64, segments: &[(f64, bool)], endlist: bool) -> String {
    let mut t = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{msn}\n"
    );
    if dsn > 0 {
        t += &format!("#EXT-X-DISCONTINUITY-SEQUENCE:{dsn}\n");
    }
    for (i, (d, disc)) in segments.iter().enumerate() {
        if *disc {
            t += "#EXT-X-DISCONTINUITY\n";
        }
        t += &format!("#EXTINF:{d:.3},\nseg{}.ts\n", msn + i as u64);
    }
    if endlist {
        t += "#EXT-X-ENDLIST\n";
    }
    t
}

fn snap(msn: u64, dsn: u64, segments: &[(f64, bool)]) -> Snapshot {
    Snapshot::parse(&text(msn, dsn, segments, false)).expect("parses")
}

/// Four 2-second segments from `msn` on.
fn window(msn: u64) -> Snapshot {
    snap(msn, 0, &[(2.0, false); 4])
}

/// A whole transport stream of `packets` packets.
fn ts(packets: usize) -> Vec<u8> {
    let mut b = vec![0u8; packets * PACKET_SIZE];
    for p in b.chunks_mut(PACKET_SIZE) {
        p[0] = 0x47;
    }
    b
}

/// Observes `s` at `now`, then downloads what is due: every segment is
/// there, whole, 10 packets long.
fn step(c: &mut LiveChecker, now: u64, s: Snapshot) -> Result<(), String> {
    c.observe(now, s)?;
    for e in c.due(now) {
        c.answer(&e, 200, &ts(10))?;
    }
    Ok(())
}

fn checker() -> LiveChecker {
    LiveChecker::new(RULES)
}

#[test]
fn parse_reads_sequence_numbers_discontinuities_and_endlist() {
    let s = Snapshot::parse(&text(7, 2, &[(2.0, false), (1.5, true)], true)).expect("parses");
    assert_eq!((s.target_duration, s.media_sequence), (2, 7));
    assert_eq!(s.discontinuity_sequence, 2);
    assert!(s.endlist);
    let second = &s.segments[1];
    assert_eq!((second.msn, second.uri.as_str()), (8, "seg8.ts"));
    assert!(second.discontinuity && !s.segments[0].discontinuity);
    assert_eq!(s.duration(), 3.5);
    assert!(Snapshot::parse("#EXTM3U\n#EXTINF:2,\na.ts\n").is_err());
    assert!(Snapshot::parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n").is_err());
}

#[test]
fn a_sliding_window_passes_and_its_removed_segments_are_fetched_twice() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    assert_eq!(c.answered, [4, 0, 0]);
    step(&mut c, 500, window(0)).expect("unchanged");
    step(&mut c, 2000, window(1)).expect("slid");
    assert_eq!((c.answered, c.removals), ([5, 0, 0], 1));
    let later: Vec<_> = c.pending().to_vec();
    assert_eq!(later[0].uri, "seg0.ts");
    assert_eq!(later[0].due_ms, 2000 + 12_000 - 1_500);
    assert_eq!(
        later[0].want,
        Want::StillThere {
            len: 10 * PACKET_SIZE
        }
    );
    assert_eq!(later[1].due_ms, 2000 + 12_000 + 2_000 + 3_000);
    assert_eq!(later[1].want, Want::Gone);
    let due = c.due(12_500);
    assert_eq!(due.len(), 1);
    c.answer(&due[0], 200, &ts(10)).expect("still there");
    let due = c.due(19_000);
    c.answer(&due[0], 404, b"").expect("gone");
    assert_eq!((c.answered, c.snapshots), ([5, 1, 1], 3));
}

#[test]
fn a_media_sequence_going_back_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(3)).expect("first");
    let e = step(&mut c, 500, window(2)).expect_err("went back");
    assert!(e.contains("MEDIA-SEQUENCE went back from 3 to 2"), "{e}");
}

#[test]
fn a_discontinuity_sequence_going_back_is_caught() {
    let mut c = checker();
    step(&mut c, 0, snap(0, 1, &[(2.0, false); 4])).expect("first");
    let e = step(&mut c, 500, snap(0, 0, &[(2.0, false); 4])).expect_err("back");
    assert!(e.contains("DISCONTINUITY-SEQUENCE went back"), "{e}");
}

#[test]
fn a_discontinuity_leaving_without_the_sequence_moving_is_caught() {
    let mut c = checker();
    let first = [(2.0, true), (2.0, false), (2.0, false), (2.0, false)];
    step(&mut c, 0, snap(0, 0, &first)).expect("first");
    let e = step(&mut c, 2000, window(1)).expect_err("dsn stayed");
    assert!(e.contains("moved by 0 while 1 discontinuities left"), "{e}");
    let mut c = checker();
    step(&mut c, 0, snap(0, 0, &first)).expect("first");
    step(&mut c, 2000, snap(1, 1, &[(2.0, false); 4])).expect("dsn moved by one");
}

#[test]
fn a_changed_target_duration_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    let t = text(1, 0, &[(2.0, false); 4], false).replace("TARGETDURATION:2", "TARGETDURATION:3");
    let e = step(&mut c, 2000, Snapshot::parse(&t).expect("parses")).expect_err("changed");
    assert!(e.contains("TARGETDURATION changed from 2 to 3"), "{e}");
}

#[test]
fn a_media_sequence_number_renamed_or_rewritten_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    let t = text(0, 0, &[(2.0, false); 4], false).replace("seg2.ts", "other.ts");
    let e = step(&mut c, 500, Snapshot::parse(&t).expect("parses")).expect_err("renamed");
    assert!(e.contains("media sequence 2 was"), "{e}");
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    let e = step(
        &mut c,
        500,
        snap(
            0,
            0,
            &[(2.0, false), (1.0, false), (2.0, false), (2.0, false)],
        ),
    )
    .expect_err("duration changed");
    assert!(e.contains("media sequence 1 was"), "{e}");
}

#[test]
fn a_segment_removed_before_its_grace_period_ends_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    step(&mut c, 2000, window(1)).expect("slid");
    let e = c.due(12_500).remove(0);
    let err = c.answer(&e, 404, b"").expect_err("deleted too early");
    assert!(
        err.contains("seg0.ts (left the playlist, within its grace): HTTP 404"),
        "{err}"
    );
    let err = c.answer(&e, 200, &ts(9)).expect_err("shorter");
    assert!(
        err.contains("1692 bytes within its grace period, 1880 when listed"),
        "{err}"
    );
}

#[test]
fn a_segment_never_deleted_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    step(&mut c, 2000, window(1)).expect("slid");
    let e = c.due(30_000).remove(1);
    assert_eq!(e.want, Want::Gone);
    let err = c.answer(&e, 200, &ts(10)).expect_err("still on disk");
    assert!(err.contains("never deleted"), "{err}");
}

#[test]
fn an_incomplete_or_missing_new_segment_is_caught() {
    assert!(check_segment(200, &ts(3)).is_ok());
    assert!(check_segment(404, b"")
        .expect_err("must fail")
        .contains("HTTP 404"));
    assert!(check_segment(200, b"").is_err());
    let mut cut = ts(3);
    cut.pop();
    assert!(check_segment(200, &cut)
        .expect_err("must fail")
        .contains("563 bytes"));
    let mut bad = ts(3);
    bad[2 * PACKET_SIZE] = 0;
    assert!(check_segment(200, &bad)
        .expect_err("must fail")
        .contains("packet 2"));
    let mut c = checker();
    c.observe(0, window(0)).expect("first");
    let e = c.due(0).remove(0);
    let err = c.answer(&e, 404, b"").expect_err("missing");
    assert!(err.contains("seg0.ts (just listed): HTTP 404"), "{err}");
}

#[test]
fn a_playlist_shorter_than_three_targets_after_a_removal_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    let e = step(&mut c, 2000, snap(2, 0, &[(2.0, false); 2])).expect_err("too short");
    assert!(e.contains("under 3 × 2 s"), "{e}");
}

#[test]
fn a_grace_shorter_than_rfc_8216_asks_is_caught() {
    let mut c = LiveChecker::new(Rules {
        grace_ms: 9_000,
        margin_ms: 1_000,
    });
    step(&mut c, 0, window(0)).expect("first");
    let e = step(&mut c, 2000, window(1)).expect_err("grace too short");
    assert!(e.contains("wants it kept 10000 ms"), "{e}");
}

#[test]
fn segments_skipped_between_polls_changes_after_endlist_and_a_lost_tail_are_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    let e = step(&mut c, 9000, window(5)).expect_err("skipped");
    assert!(e.contains("segment 4 left the playlist unseen"), "{e}");

    let mut c = checker();
    let ended = Snapshot::parse(&text(0, 0, &[(2.0, false); 4], true)).expect("parses");
    step(&mut c, 0, ended).expect("first");
    let e = step(&mut c, 2000, window(1)).expect_err("after endlist");
    assert!(e.contains("changed after EXT-X-ENDLIST"), "{e}");

    let mut c = checker();
    step(&mut c, 0, snap(0, 0, &[(2.0, false); 5])).expect("first");
    let e = step(&mut c, 500, window(0)).expect_err("tail lost");
    assert!(e.contains("lost its newest segments"), "{e}");
}

/// A low-latency playlist: segments `msn..msn + n` complete, each in parts
/// of 0.48, 0.48, 0.48, 0.48 and 0.08 s (parts listed for the last two),
/// then `open` parts of the next and a hint to the part after them.
fn ll_text(msn: u64, n: u64, open: u64) -> String {
    let mut t = String::from(
        "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000\n#EXT-X-PART-INF:PART-TARGET=0.500\n",
    );
    t += &format!("#EXT-X-MEDIA-SEQUENCE:{msn}\n");
    let part = |m: u64, k: u64| {
        let d = if k == 4 { 0.08 } else { 0.48 };
        let ind = if k == 0 { ",INDEPENDENT=YES" } else { "" };
        format!("#EXT-X-PART:DURATION={d:.3},URI=\"seg{m}.{k}.ts\"{ind}\n")
    };
    for m in msn..msn + n {
        if m + 2 >= msn + n {
            (0..5).for_each(|k| t += &part(m, k));
        }
        t += &format!("#EXTINF:2.000,\nseg{m}.ts\n");
    }
    (0..open).for_each(|k| t += &part(msn + n, k));
    t += &format!(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg{}.{open}.ts\"\n",
        msn + n
    );
    t
}

fn ll(msn: u64, n: u64, open: u64) -> Snapshot {
    Snapshot::parse(&ll_text(msn, n, open)).expect("parses")
}

/// Observes `s`, then answers the downloads: part `segM.K.ts` is packet
/// `K` of segment `M`, opened by the PAT (PID 0), other packets PID 0x100.
fn ll_step(c: &mut LiveChecker, now: u64, s: Snapshot) -> Result<(), String> {
    c.observe(now, s)?;
    for e in c.due(now) {
        let body = match e.media {
            Media::Part(_, k) => ll_packet(k),
            Media::Segment(_) => (0..5).flat_map(ll_packet).collect(),
        };
        c.answer(&e, 200, &body)?;
    }
    Ok(())
}

fn ll_packet(k: u64) -> Vec<u8> {
    let mut p = ts(1);
    p[1] = if k == 0 { 0 } else { 1 };
    p[3] = k as u8;
    p
}

#[test]
fn parse_reads_parts_hints_and_skipped_segments() {
    let s = ll(3, 4, 2);
    assert_eq!(
        (s.part_target, s.end(), s.last_part()),
        (Some(0.5), 7, Some((7, 1)))
    );
    assert_eq!(s.parts.len(), 12);
    assert_eq!((s.parts[0].msn, s.parts[0].index), (5, 0));
    assert!(s.parts[0].independent && !s.parts[1].independent);
    assert_eq!(s.hint.as_deref(), Some("seg7.2.ts"));
    let delta = ll_text(3, 4, 2).replace(
        "#EXTINF:2.000,\nseg3.ts\n#EXTINF:2.000,\nseg4.ts\n",
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n",
    );
    let d = Snapshot::parse(&delta).expect("parses");
    assert_eq!((d.skipped, d.segments[0].msn, d.end()), (2, 5, 7));
    assert_eq!(d.parts, s.parts);
}

#[test]
fn live_parts_pass_and_each_segment_is_compared_with_its_parts() {
    let mut c = checker();
    for (n, open) in [(0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1), (2, 0)] {
        ll_step(&mut c, 0, ll(0, n, open)).expect("valid");
    }
    assert_eq!(
        (
            c.parts.concatenated,
            c.parts.hints_kept,
            c.parts.hints_missed
        ),
        (2, 6, 0)
    );
    assert_eq!(c.parts.downloaded, 10);
}

#[test]
fn parts_that_do_not_make_up_their_segment_are_caught() {
    let mut c = checker();
    ll_step(&mut c, 0, ll(0, 0, 4)).expect("valid");
    c.observe(0, ll(0, 1, 0)).expect("valid");
    let due = c.due(0);
    for e in &due[..1] {
        c.answer(e, 200, &ll_packet(4)).expect("the last part");
    }
    let e = c
        .answer(
            &due[1],
            200,
            &(0..4).flat_map(ll_packet).collect::<Vec<u8>>(),
        )
        .expect_err("short");
    assert!(
        e.contains("its 5 parts make 940 bytes, the segment has 752"),
        "{e}"
    );
}

#[test]
fn a_wrong_hint_a_long_part_or_a_part_after_its_segment_is_caught() {
    let mut c = checker();
    ll_step(&mut c, 0, ll(0, 0, 2)).expect("valid");
    let wrong = ll_text(0, 0, 3).replace("seg0.2.ts", "other.ts");
    let e = ll_step(&mut c, 0, Snapshot::parse(&wrong).expect("parses")).expect_err("hint");
    assert!(
        e.contains("named seg0.2.ts, the next part listed is other.ts"),
        "{e}"
    );

    let mut c = checker();
    let long =
        ll_text(0, 0, 2).replace("DURATION=0.480,URI=\"seg0.1", "DURATION=0.520,URI=\"seg0.1");
    let e = ll_step(&mut c, 0, Snapshot::parse(&long).expect("parses")).expect_err("long");
    assert!(e.contains("DURATION 0.52 outside"), "{e}");

    let mut c = checker();
    ll_step(&mut c, 0, ll(0, 1, 0)).expect("valid");
    let late = ll_text(0, 1, 0).replace(
        "#EXTINF:2.000,\nseg0.ts",
        "#EXT-X-PART:DURATION=0.080,URI=\"seg0.5.ts\"\n#EXTINF:2.000,\nseg0.ts",
    );
    let e = ll_step(&mut c, 0, Snapshot::parse(&late).expect("parses")).expect_err("late part");
    assert!(
        e.contains("a part listed after its segment 0 was complete"),
        "{e}"
    );
}

#[test]
fn a_segment_rewritten_within_its_grace_period_with_its_length_kept_is_caught() {
    let mut c = checker();
    step(&mut c, 0, window(0)).expect("first");
    step(&mut c, 2000, window(1)).expect("slid");
    let e = c.due(12_500).remove(0);
    // Same length, one payload byte changed: not the segment players got.
    let mut changed = ts(10);
    changed[5 * PACKET_SIZE + 7] = 0xff;
    let err = c.answer(&e, 200, &changed).expect_err("other bytes");
    assert!(
        err.contains("seg0.ts: its bytes changed within its grace period (first at byte 947)"),
        "{err}"
    );
    c.answer(&e, 200, &ts(10)).expect("the same bytes");
}

/// Four 2-second segments from `msn` on, each dated: `dates[i]` is the
/// seconds after 08:00:00 of segment `i`, `disc` marks a discontinuity.
fn dated(msn: u64, dates: &[(f64, bool)]) -> Snapshot {
    let mut t = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{msn}\n"
    );
    for (i, (at, disc)) in dates.iter().enumerate() {
        if *disc {
            t += "#EXT-X-DISCONTINUITY\n";
        }
        let ms = (at * 1000.0).round() as u64;
        t += &format!(
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T08:{:02}:{:02}.{:03}Z\n#EXTINF:2.000,\nseg{}.ts\n",
            ms / 60_000,
            ms / 1000 % 60,
            ms % 1000,
            msn + i as u64
        );
    }
    Snapshot::parse(&t).expect("parses")
}

#[test]
fn program_date_times_are_read_by_the_checkers_own_calendar() {
    assert_eq!(
        crate::snapshot::unix_ms("2026-12-07T08:30:00.123Z"),
        Some(1_796_632_200_123)
    );
    assert_eq!(
        crate::snapshot::unix_ms("1970-01-01T01:00:00+01:00"),
        Some(0)
    );
    assert_eq!(
        crate::snapshot::unix_ms("2000-02-29T00:00:00.5Z"),
        Some(951_782_400_500)
    );
    assert_eq!(crate::snapshot::unix_ms("2026-13-01T00:00:00Z"), None);
    assert_eq!(crate::snapshot::unix_ms("yesterday"), None);
}

#[test]
fn program_date_times_that_go_back_or_jump_without_a_discontinuity_are_caught() {
    let ok = [(0.0, false), (2.0, false), (4.0, false), (9.0, true)];
    step(&mut checker(), 0, dated(0, &ok)).expect("advancing dates");

    let back = [(0.0, false), (2.0, false), (4.0, false), (5.0, true)];
    let e = step(&mut checker(), 0, dated(0, &back)).expect_err("back");
    assert!(
        e.contains("seg3.ts: EXT-X-PROGRAM-DATE-TIME is -1000 ms"),
        "{e}"
    );

    let gap = [(0.0, false), (2.0, false), (4.0, false), (9.0, false)];
    let e = step(&mut checker(), 0, dated(0, &gap)).expect_err("gap");
    assert!(
        e.contains("seg3.ts: EXT-X-PROGRAM-DATE-TIME is +3000 ms"),
        "{e}"
    );

    // A segment's date, once listed, never changes.
    let mut c = checker();
    step(&mut c, 0, dated(0, &ok)).expect("first");
    let moved = [(2.5, false), (4.5, false), (9.0, true), (11.0, false)];
    let e = step(&mut c, 2000, dated(1, &moved)).expect_err("moved");
    assert!(e.contains("media sequence 1 was"), "{e}");
}

/// A packet starting a video PES (stream id 0xE0) on PID 0x100, its
/// random_access_indicator set if `rap`.
fn video_start(rap: bool) -> Vec<u8> {
    let mut p = ts(1);
    p[1] = 0x41;
    p[3] = 0x30;
    p[4] = 1;
    p[5] = if rap { 0x40 } else { 0 };
    p[6..10].copy_from_slice(&[0, 0, 1, 0xe0]);
    p
}

#[test]
fn independent_is_held_to_the_part_s_first_picture() {
    let snap = || ll(0, 0, 2);
    let answer = |c: &mut LiveChecker, k: u64, rap: bool| {
        let e = c
            .pending()
            .iter()
            .find(|e| e.media == Media::Part(0, k))
            .cloned()
            .expect("asked for");
        let mut body = ll_packet(k);
        body.extend(video_start(rap));
        c.answer(&e, 200, &body)
    };
    let mut c = checker();
    c.observe(0, snap()).expect("valid");
    answer(&mut c, 0, true).expect("independent on a keyframe");
    answer(&mut c, 1, false).expect("not independent, no keyframe");

    let mut c = checker();
    c.observe(0, snap()).expect("valid");
    let e = answer(&mut c, 0, false).expect_err("a claim without a keyframe");
    assert!(
        e.contains(
            "seg0.0.ts: INDEPENDENT=YES but its first video picture is not a random access point"
        ),
        "{e}"
    );
    let e = answer(&mut c, 1, true).expect_err("a keyframe not claimed");
    assert!(e.contains("seg0.1.ts: INDEPENDENT=NO but"), "{e}");
}
