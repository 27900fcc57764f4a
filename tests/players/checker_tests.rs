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
