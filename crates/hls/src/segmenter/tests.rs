use super::*;
use crate::testmux::stream;
use std::path::Path;

const T0: u64 = 1_764_000_000_000;

fn config(dir: &Path, archive: bool) -> SegmenterConfig {
    SegmenterConfig {
        dir: dir.to_path_buf(),
        cutter: CutterConfig::default(),
        window_secs: 18.0,
        grace_ms: 10_000,
        archive,
        encryption: None,
        iframes: false,
        cue_tags: false,
    }
}

/// Feeds `input` as if it arrived live from `t0`: packet times follow the
/// stream (25 fps, ~30 packets a frame is close enough for the clock).
fn feed(s: &mut Segmenter, input: &[u8], t0: u64) -> u64 {
    let mut now = t0;
    for (i, p) in input.chunks(PACKET_SIZE).enumerate() {
        now = t0 + i as u64 / 8;
        let r = s.push(p.try_into().expect("188"), now).expect("io");
        assert!(r.is_ok());
    }
    now
}

fn read(dir: &Path, name: &str) -> MediaPlaylist {
    MediaPlaylist::parse(&std::fs::read_to_string(dir.join(name)).expect("written")).expect("valid")
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_live_window_of_whole_segments_and_old_ones_deleted_after_the_grace() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), false), T0).expect("open");
    // 60 s of stream in 2 s GOPs: ten 6 s segments.
    let now = feed(&mut s, &stream(1500, 50, 0, true), T0);
    s.finish(now + 60_000).expect("finish");
    let live = read(dir.path(), LIVE_PLAYLIST);
    assert!(live.is_ended());
    // 18 s window: three 6 s segments, sequence numbers 7, 8, 9.
    let uris: Vec<&str> = live.segments().map(|e| e.uri.as_str()).collect();
    assert_eq!(uris, ["seg7.ts", "seg8.ts", "seg9.ts"]);
    assert_eq!(live.media_sequence(), 7);
    // Segments 0..=6 left the window; all but those within the grace period
    // are gone (finish ran 60 s later, past every grace period).
    let on_disk = files(dir.path());
    for gone in 0..6 {
        assert!(!on_disk.contains(&format!("seg{gone}.ts")), "{on_disk:?}");
    }
    for kept in 7..=9 {
        assert!(on_disk.contains(&format!("seg{kept}.ts")), "{on_disk:?}");
    }
    assert!(!on_disk.iter().any(|f| f.contains(".tmp")), "{on_disk:?}");
}

#[test]
fn program_date_time_advances_by_the_stream_durations() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let now = feed(&mut s, &stream(1500, 50, 0, true), T0);
    s.finish(now).expect("finish");
    let all = read(dir.path(), ARCHIVE_PLAYLIST);
    let entries: Vec<&SegmentEntry> = all.segments().collect();
    assert_eq!(entries.len(), 10);
    for w in entries.windows(2) {
        let (a, b) = (
            w[0].program_date_time.expect("pdt"),
            w[1].program_date_time.expect("pdt"),
        );
        assert_eq!(b.0 - a.0, w[0].duration.rounded_millis());
    }
    // Anchored to the wall clock: the first segment completed soon after T0
    // and began its 6 s before that.
    let first = entries[0].program_date_time.expect("pdt").0;
    assert!((T0 - 6_000..T0).contains(&first), "{first}");
    // An archive deletes nothing.
    assert_eq!(
        files(dir.path())
            .iter()
            .filter(|f| f.ends_with(".ts"))
            .count(),
        10
    );
}

#[test]
fn a_restart_continues_the_media_sequence_after_a_discontinuity() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        // The first run dies without finishing: no ENDLIST.
        let mut s = Segmenter::open(config(dir.path(), false), T0).expect("open");
        feed(&mut s, &stream(750, 50, 0, true), T0);
    }
    let before = read(dir.path(), LIVE_PLAYLIST);
    let next = before.next_sequence().expect("room");
    let mut s = Segmenter::open(config(dir.path(), false), T0 + 40_000).expect("resume");
    let now = feed(&mut s, &stream(300, 50, 5_000_000, true), T0 + 40_000);
    s.finish(now).expect("finish");
    let after = read(dir.path(), LIVE_PLAYLIST);
    let resumed = after
        .segments()
        .find(|e| e.sequence == next)
        .expect("the first new segment is still in the window");
    assert!(resumed.discontinuity_before);
    assert_eq!(resumed.uri, format!("seg{next}.ts"));
    assert!(after.media_sequence() >= before.media_sequence());
}

#[test]
fn a_shorter_target_duration_than_the_resumed_one_is_refused_on_resume() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), false), T0).expect("open");
    feed(&mut s, &stream(300, 50, 0, true), T0);
    // Files are written on the disk thread: the playlist is there once
    // flushed.
    s.flush().expect("flush");
    let mut c = config(dir.path(), false);
    // Asked 8 where the playlist says 6 (this test asked 4 and expected a
    // refusal before; a longer resumed target may be one announced from a
    // long first GOP, and is kept: see the next test).
    c.cutter.target_duration = 8;
    let e = Segmenter::open(c, T0).expect_err("target changed");
    assert!(
        e.to_string().contains("EXT-X-TARGETDURATION is 6, not 8"),
        "{e}"
    );
}

#[test]
fn a_target_raised_by_a_long_first_gop_is_kept_on_resume() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), false);
    c.cutter.target_duration = 4;
    c.window_secs = 12.0;
    {
        // 8 s GOPs: 8 announced.
        let mut s = Segmenter::open(c.clone(), T0).expect("open");
        feed(&mut s, &stream(600, 200, 0, true), T0);
        s.flush().expect("flush");
    }
    assert_eq!(read(dir.path(), LIVE_PLAYLIST).target_duration(), 8);
    // Restarted with the same flags, now 2 s GOPs: the playlist keeps 8.
    let mut s = Segmenter::open(c, T0 + 40_000).expect("resume");
    let now = feed(&mut s, &stream(500, 50, 5_000_000, true), T0 + 40_000);
    s.finish(now).expect("finish");
    let after = read(dir.path(), LIVE_PLAYLIST);
    assert_eq!(after.target_duration(), 8);
    assert!(after.segments().all(|e| e.duration.rounded_secs() <= 8));
}

/// 10 s of stream through a low-latency segmenter (2 s targets, 0.5 s
/// parts) writing into `dir`: every state it published.
fn low_latency_run(dir: &Path) -> Vec<Published> {
    let mut c = config(dir, false);
    c.cutter.target_duration = 2;
    c.window_secs = 8.0;
    c.cutter.part_target = Some(0.5);
    let mut s = Segmenter::open(c, T0).expect("open");
    let states = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = states.clone();
    s.on_publish(move |p| seen.lock().expect("lock").push(p))
        .expect("disk thread");
    feed(&mut s, &stream(250, 50, 0, true), T0);
    s.flush().expect("flush");
    let states = states.lock().expect("lock").clone();
    states
}

/// Regression (the low-latency player test stalled 1 run in 3 on a shared
/// 2-core machine): every part waited for its file, then for a rename of
/// `index.m3u8`, before it was published, and such a rename took 0.6–0.7 s
/// there. Now a disk that does not move at all holds up no publication:
/// every state goes out with the media not written yet, and the files
/// follow, media before the playlist that lists them, once the disk moves.
#[test]
fn publication_never_waits_for_the_disk() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), false);
    c.cutter.target_duration = 2;
    c.window_secs = 8.0;
    c.cutter.part_target = Some(0.5);
    let mut s = Segmenter::open(c, T0).expect("open");
    // A disk stuck until `release` is dropped; it records what it did.
    let (release, stuck) = std::sync::mpsc::channel::<()>();
    let done = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = done.clone();
    let real = dir.path().to_path_buf();
    s.disk = DiskWriter::with(
        Box::new(move |job| {
            let _ = stuck.recv();
            if let Job::Write { name, bytes } = job {
                crate::store::write_atomic(&real, name, bytes)?;
                record.lock().expect("lock").push(name.clone());
            }
            Ok(())
        }),
        outage::RetryPolicy::default(),
    )
    .expect("writer");
    let states = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Published>::new()));
    let seen = states.clone();
    s.on_publish(move |p| seen.lock().expect("lock").push(p))
        .expect("disk thread");
    // On another thread, so that a segmenter waiting for the disk fails
    // the test instead of hanging it.
    let (fed, feeding) = std::sync::mpsc::channel();
    let feeder = std::thread::spawn(move || {
        feed(&mut s, &stream(250, 50, 0, true), T0);
        let _ = fed.send(());
        s
    });
    let finished = feeding.recv_timeout(std::time::Duration::from_secs(60));
    assert!(finished.is_ok(), "the segmenter waited for the disk");
    {
        let states = states.lock().expect("lock");
        assert!(states.len() >= 4 * 5 + 4, "{} states", states.len());
        assert!(done.lock().expect("lock").is_empty(), "the disk moved");
        // Every part and segment listed is in the state, from memory.
        let last = states.last().expect("published");
        for k in 0..5 {
            let name = format!("seg3.{k}.ts");
            assert!(last.playlist.contains(&name), "{}", last.playlist);
            assert!(last
                .pending_media
                .iter()
                .any(|(n, b)| *n == name && !b.is_empty()));
        }
        assert!(last.pending_media.iter().any(|(n, _)| n == "seg3.ts"));
    }
    drop(release);
    let mut s = feeder.join().expect("feeder");
    s.flush().expect("flush");
    let written = done.lock().expect("lock").clone();
    let at = |name: &str| written.iter().position(|n| n == name).expect(name);
    assert!(at("seg3.4.ts") < at("seg3.ts") && at("seg3.ts") < written.len() - 1);
    assert_eq!(written.last().map(String::as_str), Some(LIVE_PLAYLIST));
    // Once the disk has them, the media leave the published state.
    let (tx, rx) = std::sync::mpsc::channel();
    s.on_publish(move |p| {
        let _ = tx.send(p.pending_media.len());
    })
    .expect("disk thread");
    assert_eq!(rx.try_recv(), Ok(0));
}

#[test]
fn low_latency_writes_parts_lists_them_and_publishes_each() {
    let dir = tempfile::tempdir().expect("tmp");
    let states = low_latency_run(dir.path());
    // 10 s in: 4 segments complete (the fifth still open), each in 5 parts.
    let live = read(dir.path(), LIVE_PLAYLIST);
    assert_eq!(live.next_sequence(), Some(4));
    let text = std::fs::read_to_string(dir.path().join(LIVE_PLAYLIST)).expect("written");
    assert!(
        text.contains("#EXT-X-PART-INF:PART-TARGET=0.500\n"),
        "{text}"
    );
    // Balanced parts (see `cutter::balance`): 0.44 s × 4 + 0.24 s, not
    // 0.48 s × 4 + 0.08 s.
    assert!(
        text.contains("#EXT-X-PART:DURATION=0.440,URI=\"seg3.0.ts\",INDEPENDENT=YES\n"),
        "{text}"
    );
    assert!(
        text.contains("#EXT-X-PART:DURATION=0.240,URI=\"seg3.4.ts\"\n"),
        "{text}"
    );
    assert!(
        text.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg4."),
        "{text}"
    );
    for k in 0..5 {
        let part = std::fs::read(dir.path().join(format!("seg3.{k}.ts"))).expect("part written");
        assert_eq!(part.len() % PACKET_SIZE, 0);
    }
    // Published after every part and segment, never going back.
    assert!(states.len() >= 4 * 5 + 4);
    for w in states.windows(2) {
        assert!(w[1].last_part >= w[0].last_part);
        assert!(w[1].last_segment >= w[0].last_segment);
    }
    assert_eq!(states.last().and_then(|p| p.last_segment), Some(3));
    assert_eq!(states.last().map(|p| p.playlist.clone()), Some(text));
}

/// Regression: the last part of a segment was published alone before the
/// segment, listed as a 0.08 s part followed by a hint to a part that never
/// came; hls-parser (strict) rejects that playlist (a part that is not the
/// last of its segment under 85 % of PART-TARGET, RFC 8216bis §4.4.4.9).
#[test]
fn the_last_part_of_a_segment_is_published_with_the_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    let states = low_latency_run(dir.path());
    let mut closed = 0;
    for p in states.iter() {
        let Some((m, k)) = p.last_part else { continue };
        // Segments of 50 frames in five parts (12 frames, then, once the
        // GOP is known, 11 × 4 + 6): part 4, the last, must come with its
        // segment.
        assert!(k <= 4, "{p:?}");
        if k == 4 {
            assert_eq!(p.last_segment, Some(m), "{}", p.playlist);
            assert!(
                p.playlist.contains(&format!(
                    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg{}.0.ts\"",
                    m + 1
                )),
                "{}",
                p.playlist
            );
            closed += 1;
        }
    }
    assert_eq!(
        closed, 4,
        "each of the 4 complete segments published once with its last part"
    );
}

#[test]
fn the_count_of_discontinuities_is_the_tags_written_including_a_resume() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
        feed(&mut s, &stream(300, 50, 0, true), T0);
        assert_eq!(s.discontinuities_written(), 0);
    }
    let mut s = Segmenter::open(config(dir.path(), true), T0 + 40_000).expect("resume");
    // The resumed run's first segment is one tag; an encoder restart in it
    // another.
    let mut input = stream(300, 50, 5_000_000, true);
    input.extend(stream(300, 50, 0, true));
    let now = feed(&mut s, &input, T0 + 40_000);
    s.finish(now).expect("finish");
    let text = std::fs::read_to_string(dir.path().join(ARCHIVE_PLAYLIST)).expect("archive");
    let tags = text
        .lines()
        .filter(|l| *l == "#EXT-X-DISCONTINUITY")
        .count() as u64;
    assert_eq!(tags, 2, "{text}");
    assert_eq!(s.discontinuities_written(), 2);
    assert_eq!(s.stats().discontinuities, 1, "the cutter saw one jump");
}

/// The `EXT-X-RENDITION-REPORT` lines of a playlist: (URI, LAST-MSN,
/// LAST-PART), read as plain text.
fn reports_in(playlist: &str) -> Vec<(String, u64, u64)> {
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-RENDITION-REPORT:"))
        .map(|attrs| {
            let (mut uri, mut msn, mut part) = (String::new(), u64::MAX, u64::MAX);
            for a in attrs.split(',') {
                match a.split_once('=') {
                    Some(("URI", v)) => uri = v.trim_matches('"').to_owned(),
                    Some(("LAST-MSN", v)) => msn = v.parse().expect("LAST-MSN"),
                    Some(("LAST-PART", v)) => part = v.parse().expect("LAST-PART"),
                    _ => panic!("unexpected attribute {a:?}"),
                }
            }
            (uri, msn, part)
        })
        .collect()
}

#[test]
fn low_latency_renditions_report_each_other_as_last_published() {
    let dir = tempfile::tempdir().expect("tmp");
    let board = Arc::new(RenditionBoard::new(vec![
        "../hi/index.m3u8".into(),
        "../lo/index.m3u8".into(),
    ]));
    let open = |name: &str, index| {
        let mut c = config(&dir.path().join(name), false);
        c.cutter.target_duration = 2;
        c.window_secs = 8.0;
        c.cutter.part_target = Some(0.5);
        let mut s = Segmenter::open(c, T0).expect("open");
        s.report_to(board.clone(), index);
        let states = Arc::new(std::sync::Mutex::new(Vec::<Published>::new()));
        let seen = states.clone();
        s.on_publish(move |p| seen.lock().expect("lock").push(p))
            .expect("disk thread");
        (s, states)
    };
    let (mut hi, hi_states) = open("hi", 0);
    let (mut lo, lo_states) = open("lo", 1);
    // lo runs 4 s ahead, then hi catches up to 6 s: each reports where the
    // other stood at its own last publication.
    feed(&mut lo, &stream(100, 50, 0, true), T0);
    feed(&mut hi, &stream(150, 50, 0, true), T0);
    let lo_last = lo_states.lock().expect("lock").last().cloned().expect("lo");
    let hi_last = hi_states.lock().expect("lock").last().cloned().expect("hi");
    let (m, k) = lo_last.last_part.expect("lo has parts");
    assert_eq!(
        reports_in(&hi_last.playlist),
        [("../lo/index.m3u8".to_owned(), m, k)],
        "{}",
        hi_last.playlist
    );
    // lo published before hi had anything: then no report of hi at all.
    assert!(
        reports_in(&lo_last.playlist).is_empty(),
        "{}",
        lo_last.playlist
    );
    // Its next publication reports hi, in full and delta playlists alike.
    // (The same timeline on: its first frame at 4 s.)
    feed(&mut lo, &stream(50, 50, 4 * 90_000, true), T0 + 4_000);
    let lo_now = lo_states.lock().expect("lock").last().cloned().expect("lo");
    let (hm, hk) = hi_last.last_part.expect("hi has parts");
    let want = [("../hi/index.m3u8".to_owned(), hm, hk)];
    assert_eq!(reports_in(&lo_now.playlist), want, "{}", lo_now.playlist);
    if let Some(delta) = &lo_now.delta {
        assert_eq!(reports_in(delta), want, "{delta}");
    }
    lo.flush().expect("flush");
    let on_disk = std::fs::read_to_string(dir.path().join("lo").join(LIVE_PLAYLIST)).expect("lo");
    assert_eq!(reports_in(&on_disk), want, "{on_disk}");
}

/// The archive's segments as (PDT ms, EXTINF ms, discontinuity before).
fn dates(dir: &Path) -> Vec<(u64, u64, bool)> {
    read(dir, ARCHIVE_PLAYLIST)
        .segments()
        .map(|e| {
            let pdt = e.program_date_time.expect("every segment has a PDT").0;
            (pdt, e.duration.rounded_millis(), e.discontinuity_before)
        })
        .collect()
}

/// Feeds `input`, `ms` of stream, as a live source would from `t0`: the
/// packets spread evenly over `ms`. The time after the last.
fn feed_at_real_time(s: &mut Segmenter, input: &[u8], ms: u64, t0: u64) -> u64 {
    let count = (input.len() / PACKET_SIZE) as u64;
    for (i, p) in input.chunks(PACKET_SIZE).enumerate() {
        let now = t0 + i as u64 * ms / count;
        let r = s.push(p.try_into().expect("188"), now).expect("io");
        assert!(r.is_ok());
    }
    t0 + ms
}

/// File mode (read much faster than real time): each PDT is the previous
/// PDT plus the previous EXTINF (to the rounding of a millisecond), across
/// discontinuities too.
fn assert_pdt_follows_extinf(dates: &[(u64, u64, bool)]) {
    for w in dates.windows(2) {
        let ((a, extinf, _), (b, _, _)) = (w[0], w[1]);
        assert!(b > a, "PDT back or still: {dates:?}");
        assert!(
            (b - a).abs_diff(extinf) <= 1,
            "{a} + {extinf} != {b}: {dates:?}"
        );
    }
}

/// An encoder restart in a file (two encodes concatenated, the second from
/// the same PTS): the PDTs after the discontinuity go on, not 12 s back.
#[test]
fn a_restart_in_a_file_does_not_put_the_program_date_time_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let mut input = stream(300, 50, 0, true);
    input.extend(stream(300, 50, 0, true));
    let now = feed(&mut s, &input, T0);
    s.finish(now).expect("finish");
    let dates = dates(dir.path());
    assert_eq!(dates.iter().filter(|d| d.2).count(), 1, "{dates:?}");
    assert_pdt_follows_extinf(&dates);
}

/// A forward jump of 10 minutes in a file: the PDTs go on by the durations,
/// not 10 minutes ahead.
#[test]
fn a_forward_jump_in_a_file_keeps_the_program_date_time_going_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let mut input = stream(300, 50, 0, true);
    input.extend(stream(300, 50, 600 * 90_000, true));
    let now = feed(&mut s, &input, T0);
    s.finish(now).expect("finish");
    let dates = dates(dir.path());
    assert_eq!(dates.iter().filter(|d| d.2).count(), 1, "{dates:?}");
    assert_pdt_follows_extinf(&dates);
}

/// A restart of routecast on an existing playlist whose PDTs ran ahead of
/// the wall clock (a file segmented faster than real time): the new run's
/// first PDT is not before the end of the last segment listed.
#[test]
fn a_resumed_run_never_puts_the_program_date_time_back() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let mut s = Segmenter::open(config(dir.path(), false), T0).expect("open");
        feed(&mut s, &stream(1500, 50, 0, true), T0);
    }
    let before = read(dir.path(), LIVE_PLAYLIST);
    let last = before.segments().last().expect("segments");
    let end = last.program_date_time.expect("pdt").0 + last.duration.rounded_millis();
    // Restarted 1 s later on the wall clock, 50 s before the last PDT.
    let mut s = Segmenter::open(config(dir.path(), false), T0 + 1_000).expect("resume");
    let now = feed(&mut s, &stream(300, 50, 0, true), T0 + 1_000);
    s.finish(now).expect("finish");
    let after = read(dir.path(), LIVE_PLAYLIST);
    let first_new = after
        .segments()
        .find(|e| e.discontinuity_before)
        .expect("the resumed segment");
    assert_eq!(
        first_new.program_date_time,
        Some(crate::playlist::UnixMillis(end))
    );
}

/// A live input that lost 30 s without a timestamp jump (its encoder
/// stalled and carried on): its PDT is moved forward onto the wall clock,
/// where the PDT of a live segment belongs (its end within `MAX_LAG_MS` of
/// when it was published).
#[test]
fn a_live_input_that_falls_behind_is_put_back_on_the_wall_clock() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let input = stream(600, 50, 0, true);
    let (first, second) = input.split_at(input.len() / 2 / PACKET_SIZE * PACKET_SIZE);
    let now = feed_at_real_time(&mut s, first, 12_000, T0);
    let now = feed_at_real_time(&mut s, second, 12_000, now + 30_000);
    s.finish(now).expect("finish");
    let dates = dates(dir.path());
    let (pdt, extinf, _) = *dates.last().expect("segments");
    let end = pdt + extinf;
    assert!(
        end.abs_diff(now) <= dates::MAX_LAG_MS,
        "{end} vs {now}: {dates:?}"
    );
    for w in dates.windows(2) {
        assert!(w[1].0 >= w[0].0 + w[0].1, "{dates:?}");
    }
}

/// A disk that fails every write of a file whose name passes `fails` while
/// `full` is set, with ENOSPC, as a full file system does; else the real
/// directory. Retries every few milliseconds.
fn faulty_disk(
    dir: &Path,
    full: &std::sync::Arc<AtomicBool>,
    fails: fn(&str) -> bool,
) -> DiskWriter {
    let (real, full) = (dir.to_path_buf(), full.clone());
    let runner: disk::Runner = Box::new(move |job| match job {
        Job::Write { name, .. } if full.load(Ordering::SeqCst) && fails(name) => {
            Err(crate::store::StoreError::Io {
                operation: crate::store::Operation::Write,
                path: real.join(name),
                error: std::io::Error::from_raw_os_error(28),
            })
        }
        Job::Write { name, bytes } => crate::store::write_atomic(&real, name, bytes),
        Job::Delete(path) => std::fs::remove_file(path).or(Ok(())),
        Job::Flush(_) => Ok(()),
    });
    let policy = outage::RetryPolicy {
        first: std::time::Duration::from_millis(1),
        max: std::time::Duration::from_millis(4),
        attempts_when_finishing: 3,
    };
    DiskWriter::with(runner, policy).expect("writer")
}

use std::sync::atomic::{AtomicBool, Ordering};

/// Polls `f` every millisecond for up to 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("never: {what}");
}

/// Every URI of the playlist `name` on disk is a file there; the playlist.
fn listed_files_exist(dir: &Path, name: &str) -> MediaPlaylist {
    let p = read(dir, name);
    for e in p.segments() {
        assert!(
            dir.join(&e.uri).exists(),
            "{name} lists a missing {}",
            e.uri
        );
    }
    p
}

/// A full disk mid-run: the playlist on disk stays the last valid one, the
/// segments cut meanwhile are dropped (not listed), memory stays bounded;
/// when space returns, publishing resumes with a discontinuity and the
/// media sequence going on.
#[test]
fn a_full_disk_is_waited_out_and_publishing_resumes_after_a_discontinuity() {
    full_disk_run(None);
}

/// The same in low-latency mode, where a segment whose parts were listed
/// is written whole and the next ones are dropped with their parts.
#[test]
fn a_full_disk_is_waited_out_with_low_latency_parts_too() {
    full_disk_run(Some(0.5));
}

/// 20 s of stream, 20 s of a full disk, 20 s more; see the tests above.
fn full_disk_run(part_target: Option<f64>) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), true);
    c.cutter.target_duration = 2;
    c.cutter.part_target = part_target;
    c.window_secs = 600.0;
    let mut s = Segmenter::open(c, T0).expect("open");
    let full = std::sync::Arc::new(AtomicBool::new(false));
    s.disk = faulty_disk(dir.path(), &full, |_| true);
    s.on_publish(|_| {}).expect("disk thread");
    let input = stream(1500, 50, 0, true); // 60 s, 2 s GOPs
    let third = input.len() / 3 / PACKET_SIZE * PACKET_SIZE;
    let now = feed_at_real_time(&mut s, &input[..third], 20_000, T0);
    s.flush().expect("flush");
    let before = listed_files_exist(dir.path(), LIVE_PLAYLIST);
    full.store(true, Ordering::SeqCst);
    let (outage, after) = input[third..].split_at(third);
    let (first_bit, rest) = outage.split_at(outage.len() / 4 / PACKET_SIZE * PACKET_SIZE);
    let now = feed_at_real_time(&mut s, first_bit, 5_000, now);
    eventually("the disk is seen stalled", || s.disk.stalled());
    let now = feed_at_real_time(&mut s, rest, 15_000, now);
    // Throughout: the playlist on disk is valid, whole, and lists only
    // files that are there; the media waiting is bounded.
    let during = listed_files_exist(dir.path(), LIVE_PLAYLIST);
    assert!(during.segments().count() >= before.segments().count());
    assert!(s.pending_bytes <= MAX_BACKLOG_BYTES, "{}", s.pending_bytes);
    assert!(
        s.segments_dropped() >= 5,
        "{} dropped",
        s.segments_dropped()
    );
    full.store(false, Ordering::SeqCst);
    eventually("the disk writes again", || !s.disk.stalled());
    let now = feed_at_real_time(&mut s, after, 20_000, now);
    s.finish(now).expect("finish");
    for name in [LIVE_PLAYLIST, ARCHIVE_PLAYLIST] {
        let p = listed_files_exist(dir.path(), name);
        let entries: Vec<&SegmentEntry> = p.segments().collect();
        for part in entries.iter().flat_map(|e| &e.parts) {
            assert!(dir.path().join(&part.uri).exists(), "{}", part.uri);
        }
        for w in entries.windows(2) {
            assert_eq!(w[1].sequence, w[0].sequence + 1, "{name}");
        }
        let tags: Vec<u64> = entries
            .iter()
            .filter(|e| e.discontinuity_before)
            .map(|e| e.sequence)
            .collect();
        assert_eq!(tags.len(), 1, "one discontinuity, after the gap: {name}");
        assert!(p.is_ended());
        // Listed: the media before the outage and after it, not all 30.
        let total = p.total_duration().0 / 90_000;
        assert!((30..=50).contains(&total), "{total} s listed in {name}");
    }
    assert_eq!(s.discontinuities_written(), 1);
}

/// The directory removed mid-run is created again and publishing goes on.
#[test]
fn a_removed_output_directory_comes_back() {
    let parent = tempfile::tempdir().expect("tmp");
    let dir = parent.path().join("out");
    let mut s = Segmenter::open(config(&dir, false), T0).expect("open");
    s.on_publish(|_| {}).expect("disk thread");
    let input = stream(750, 50, 0, true);
    let half = input.len() / 2 / PACKET_SIZE * PACKET_SIZE;
    let now = feed_at_real_time(&mut s, &input[..half], 15_000, T0);
    s.flush().expect("flush");
    std::fs::remove_dir_all(&dir).expect("remove");
    let now = feed_at_real_time(&mut s, &input[half..], 15_000, now);
    s.finish(now).expect("finish");
    let p = read(&dir, LIVE_PLAYLIST);
    assert!(p.is_ended());
    assert!(dir.join(&p.segments().last().expect("listed").uri).exists());
}

/// Finishing while the disk still refuses segments: the writes are given
/// up, `finish` fails (the process exits non-zero) and the playlist says
/// the stream ended when it can be written (here, a disk with room for a
/// playlist and not for a segment).
#[test]
fn finishing_on_a_failing_disk_gives_up_and_ends_the_playlist() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), false), T0).expect("open");
    let full = std::sync::Arc::new(AtomicBool::new(false));
    s.disk = faulty_disk(dir.path(), &full, |name| name.ends_with(".ts"));
    s.on_publish(|_| {}).expect("disk thread");
    let input = stream(500, 50, 0, true);
    let now = feed_at_real_time(&mut s, &input, 20_000, T0);
    s.flush().expect("flush");
    full.store(true, Ordering::SeqCst);
    let finished = s.finish(now);
    assert!(
        matches!(&finished, Err(SegmenterError::Store(e)) if e.to_string().contains("os error 28")),
        "{finished:?}"
    );
    assert!(read(dir.path(), LIVE_PLAYLIST).is_ended());
}

/// The first segment listed after a full disk is also the first after an
/// encoder restart: one discontinuity, and none on the segment after it.
#[test]
fn a_gap_and_a_restart_at_once_are_one_discontinuity() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), true);
    c.cutter.target_duration = 2;
    let mut s = Segmenter::open(c, T0).expect("open");
    let full = std::sync::Arc::new(AtomicBool::new(false));
    s.disk = faulty_disk(dir.path(), &full, |_| true);
    s.on_publish(|_| {}).expect("disk thread");
    let now = feed_at_real_time(&mut s, &stream(250, 50, 0, true), 10_000, T0);
    full.store(true, Ordering::SeqCst);
    let now = feed_at_real_time(&mut s, &stream(250, 50, 250 * 3_600, true), 10_000, now);
    eventually("the disk is seen stalled", || s.disk.stalled());
    let now = feed_at_real_time(&mut s, &stream(250, 50, 500 * 3_600, true), 10_000, now);
    // The encoder restarts while the disk is still full (its first
    // keyframe completes the segment before, which is dropped), and the
    // disk comes back before its first segment is complete.
    let restart = stream(250, 50, 0, true);
    let (first, rest) = restart.split_at(40 * PACKET_SIZE);
    let now = feed_at_real_time(&mut s, first, 100, now);
    assert!(s.segments_dropped() >= 1);
    full.store(false, Ordering::SeqCst);
    eventually("the disk writes again", || !s.disk.stalled());
    let now = feed_at_real_time(&mut s, rest, 9_900, now);
    s.finish(now).expect("finish");
    let text = std::fs::read_to_string(dir.path().join(ARCHIVE_PLAYLIST)).expect("archive");
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
}

/// Every state a low-latency segmenter (target 2 s, parts 0.5 s) publishes
/// for `input`.
fn low_latency_states(dir: &Path, input: &[u8]) -> Vec<Published> {
    let mut c = config(dir, false);
    c.cutter.target_duration = 2;
    c.window_secs = 8.0;
    c.cutter.part_target = Some(0.5);
    let mut s = Segmenter::open(c, T0).expect("open");
    let states = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = states.clone();
    s.on_publish(move |p| seen.lock().expect("lock").push(p))
        .expect("disk thread");
    let now = feed(&mut s, input, T0);
    s.finish(now).expect("finish");
    let states = states.lock().expect("lock").clone();
    states
}

#[test]
fn low_latency_publishes_nothing_before_the_first_gop_announces_the_target() {
    let dir = tempfile::tempdir().expect("tmp");
    // 8 s GOPs under an asked 2 s target.
    let states = low_latency_states(dir.path(), &stream(600, 200, 0, true));
    let published: Vec<&Published> = states.iter().filter(|p| !p.playlist.is_empty()).collect();
    assert!(published.len() > 10);
    for p in &published {
        assert!(
            p.playlist.contains("#EXT-X-TARGETDURATION:8\n"),
            "{}",
            p.playlist
        );
        assert!(!p.playlist.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
    }
    // The parts stay as asked.
    assert!(
        published[0].playlist.contains("PART-TARGET=0.500"),
        "{}",
        published[0].playlist
    );
}

#[test]
fn a_forced_cut_opens_a_segment_whose_first_part_is_not_independent() {
    use crate::testmux::{stream_of, FrameKind};
    let dir = tempfile::tempdir().expect("tmp");
    // IDRs at 0 and 2 s, then a 10 s GOP, then 2 s GOPs (16 s in all).
    let kind = |f: u64| match f.is_multiple_of(50) && !(100..300).contains(&f) {
        true => FrameKind::Idr,
        false => FrameKind::Other,
    };
    let states = low_latency_states(dir.path(), &stream_of(400, 0, false, &kind));
    // Each segment's duration and first part's independence, over every
    // state (parts are listed for recent segments only).
    let mut seen = std::collections::BTreeMap::new();
    for state in states.iter().filter(|p| !p.playlist.is_empty()) {
        let p = MediaPlaylist::parse(&state.playlist).expect("valid");
        assert_eq!(p.target_duration(), 2);
        assert!(!state.playlist.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
        for s in p.segments() {
            assert!(s.duration.rounded_secs() <= 2);
            seen.entry(s.sequence).or_insert((0, None)).0 = s.duration.0;
        }
        // `#EXT-X-PART:…,URI="segN.0.ts"[,INDEPENDENT=YES]`: part 0 of N.
        let first_parts = state.playlist.lines().filter_map(|l| {
            let uri = l.strip_prefix("#EXT-X-PART:")?.split("URI=\"seg").nth(1)?;
            let seq = uri
                .split(".0.ts\"")
                .next()
                .filter(|_| uri.contains(".0.ts\""))?;
            Some((seq.parse::<u64>().ok()?, l.contains("INDEPENDENT=YES")))
        });
        for (seq, independent) in first_parts {
            seen.entry(seq).or_insert((0, None)).1 = Some(independent);
        }
    }
    // Segments opening inside the long GOP (2 to 12 s) start with a part
    // without INDEPENDENT=YES; the others with one.
    let mut start = 0;
    let mut dependent = 0;
    for (seq, (duration, first)) in &seen {
        let inside = start > 2 * 90_000 && start < 12 * 90_000;
        let first = first.unwrap_or_else(|| panic!("segment {seq}: no parts listed: {seen:?}"));
        assert_eq!(first, !inside, "segment {seq} at {start}");
        dependent += usize::from(!first);
        start += duration;
    }
    assert_eq!(dependent, 4);
}

/// An SCTE-35 break in the stream becomes one `EXT-X-DATERANGE` in the
/// archive (its start's tag completed by its end: `DURATION`, `SCTE35-IN`)
/// dated at the segment that starts at the splice, and in the live playlist
/// a tag of the same ID and `START-DATE` once the start has left the window.
#[test]
fn an_ad_break_becomes_a_date_range_of_its_start_and_end() {
    use crate::scte35::hex_sequence;
    use crate::testmux::stream_with_cues;
    // Keyframes every second, presented two frames after their decoding.
    let (out, back) = placement(202, 952, 30);
    let cues = [(150, out.clone()), (900, back.clone())];
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let now = feed(&mut s, &stream_with_cues(1500, 25, 0, &cues), T0);
    s.finish(now).expect("finish");
    let text = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("written");
    let archive = text(ARCHIVE_PLAYLIST);
    let lines: Vec<&str> = archive.lines().collect();
    let ranges: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(ranges.len(), 1, "{archive}");
    let tag = lines[ranges[0]];
    let date = lines[ranges[0] - 1]
        .strip_prefix("#EXT-X-PROGRAM-DATE-TIME:")
        .expect("dated segment");
    let id = format!(
        "seg-00000009-{}",
        crate::playlist::UnixMillis::parse_iso8601(date)
            .expect("date")
            .0
    );
    assert_eq!(
        tag,
        format!(
            "#EXT-X-DATERANGE:ID=\"{id}\",START-DATE=\"{date}\",DURATION=30.000,PLANNED-DURATION=30.000,SCTE35-OUT={},SCTE35-IN={}",
            hex_sequence(&out),
            hex_sequence(&back)
        )
    );
    // A resumed archive keeps its ranges, as written.
    let resumed = MediaPlaylist::parse(&archive).expect("parses");
    let kept: Vec<String> = resumed
        .segments()
        .flat_map(|s| s.dateranges.iter().map(|r| r.to_string()))
        .collect();
    assert_eq!(kept, [tag.to_string()]);
    let live = text(LIVE_PLAYLIST);
    let live_ranges: Vec<&str> = live
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(
        live_ranges,
        [format!(
            "#EXT-X-DATERANGE:ID=\"{id}\",START-DATE=\"{date}\",DURATION=30.000,SCTE35-IN={}",
            hex_sequence(&back)
        )],
        "{live}"
    );
}

/// Encrypted live window: a key's file is deleted (after the grace) once
/// no listed segment names it; the keys of listed segments stay; every
/// listed segment names a key file that is there.
#[test]
fn key_files_leave_with_the_last_listed_segment_naming_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), false);
    c.encryption = Some(EncryptionConfig {
        rotation: 2,
        ..EncryptionConfig::default()
    });
    let mut s = Segmenter::open(c, T0).expect("open");
    let now = feed(&mut s, &stream(1500, 50, 0, true), T0);
    s.finish(now + 60_000).expect("finish");
    let live = read(dir.path(), LIVE_PLAYLIST);
    let named: Vec<String> = live
        .segments()
        .map(|e| e.key.as_ref().expect("encrypted").uri.clone())
        .collect();
    assert_eq!(named, ["key3.key", "key4.key", "key4.key"]);
    let keys: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".key"))
        .collect();
    assert_eq!(keys, ["key3.key", "key4.key"]);
}

/// One section ending a break and starting the next: the first range gets
/// its end (the whole section as SCTE35-IN), the second starts with it (the
/// same section as SCTE35-OUT), back to back.
#[test]
fn back_to_back_breaks_make_two_ranges_from_one_section() {
    use crate::scte35::hex_sequence;
    use crate::testmux::cue::{section, segmentation_descriptor, time_signal};
    use crate::testmux::{stream_with_cues, FRAME};
    let at = |frame: u64| frame * FRAME;
    let first = section(
        0,
        0x06,
        &time_signal(Some(at(202))),
        &segmentation_descriptor(9, 0x34, None),
    );
    let mut both = segmentation_descriptor(9, 0x35, None);
    both.extend(segmentation_descriptor(10, 0x34, None));
    let both = section(0, 0x06, &time_signal(Some(at(452))), &both);
    let last = section(
        0,
        0x06,
        &time_signal(Some(at(702))),
        &segmentation_descriptor(10, 0x35, None),
    );
    let cues = [(150, first), (400, both.clone()), (650, last)];
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Segmenter::open(config(dir.path(), true), T0).expect("open");
    let now = feed(&mut s, &stream_with_cues(1000, 25, 0, &cues), T0);
    s.finish(now).expect("finish");
    let archive = std::fs::read_to_string(dir.path().join(ARCHIVE_PLAYLIST)).expect("archive");
    let ranges: Vec<&str> = archive
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(ranges.len(), 2, "{archive}");
    let hex = hex_sequence(&both);
    assert!(
        ranges[0].contains("seg-00000009-") && ranges[0].ends_with(&format!("SCTE35-IN={hex}")),
        "{archive}"
    );
    assert!(ranges[0].contains("DURATION=10.000"), "{archive}");
    assert!(
        ranges[1].contains("seg-0000000A-") && ranges[1].contains(&format!("SCTE35-OUT={hex}")),
        "{archive}"
    );
    assert!(ranges[1].contains("DURATION=10.000"), "{archive}");
}

/// The live I-frame playlist lists the pictures of the live window's
/// segments (2 s GOPs in 6 s segments: three each) and counts the others
/// in its media sequence; encrypted, each picture is a file of its own,
/// deleted with its segment after the grace period.
#[test]
fn iframe_files_leave_with_their_segment() {
    for encrypted in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut c = config(dir.path(), false);
        c.iframes = true;
        c.encryption = encrypted.then(|| EncryptionConfig {
            rotation: 2,
            ..EncryptionConfig::default()
        });
        let mut s = Segmenter::open(c, T0).expect("open");
        let now = feed(&mut s, &stream(1500, 50, 0, true), T0);
        s.finish(now + 60_000).expect("finish");
        let iframes = read(dir.path(), IFRAMES_PLAYLIST);
        assert!(iframes.is_iframes_only() && iframes.is_ended());
        assert_eq!(iframes.media_sequence(), 21);
        let uris: Vec<&str> = iframes.segments().map(|e| e.uri.as_str()).collect();
        let expected: Vec<String> = (7..=9)
            .flat_map(|n| {
                (0..3).map(move |k| match encrypted {
                    true => format!("seg{n}.i{k}.ts"),
                    false => format!("seg{n}.ts"),
                })
            })
            .collect();
        assert_eq!(uris, expected);
        assert!(iframes
            .segments()
            .all(|e| e.byte_range.is_some() != encrypted));
        let on_disk = files(dir.path());
        let pictures: Vec<&String> = on_disk.iter().filter(|f| f.contains(".i")).collect();
        // A picture's file is on disk while its segment's is.
        for p in &pictures {
            let segment = format!("{}.ts", p.split(".i").next().unwrap_or_default());
            assert!(on_disk.contains(&segment), "{p} outlived {segment}");
        }
        let listed = expected.iter().filter(|e| on_disk.contains(*e)).count();
        assert_eq!(listed, expected.len(), "{on_disk:?}");
        assert_eq!(pictures.len() % 3, 0);
        if !encrypted {
            assert!(pictures.is_empty(), "{on_disk:?}");
        }
        let live = s.live();
        let iframe_time: u64 = iframes.segments().map(|e| e.duration.0).sum();
        assert_eq!(iframe_time, live.total_duration().0);
    }
}

/// A placement opportunity of event 9 as two time_signal sections
/// (segmentation types 0x34 with `planned_secs`, then 0x35), at the
/// presentation of frames `start` and `end`.
fn placement(start: u64, end: u64, planned_secs: u64) -> (Vec<u8>, Vec<u8>) {
    use crate::testmux::cue::{section, segmentation_descriptor, time_signal};
    use crate::testmux::FRAME;
    let signal = |frame: u64, kind: u8, planned: Option<u64>| {
        section(
            0,
            0x06,
            &time_signal(Some(frame * FRAME)),
            &segmentation_descriptor(9, kind, planned),
        )
    };
    (
        signal(start, 0x34, Some(planned_secs * 90_000)),
        signal(end, 0x35, None),
    )
}

/// One run: SCTE-35 sections by the frame they are sent before, the
/// stream's frames, the wall clock at its start.
type CuedRun = (Vec<(u64, Vec<u8>)>, u64, u64);

/// Runs a segmenter per `(cues, frames, t0)` in `c.dir`, one after the
/// other (each resumes the last), over testmux streams with keyframes
/// every second.
fn runs_with_cues(c: &SegmenterConfig, runs: &[CuedRun]) {
    use crate::testmux::stream_with_cues;
    for (cues, frames, t0) in runs {
        let mut s = Segmenter::open(c.clone(), *t0).expect("open");
        let now = feed(&mut s, &stream_with_cues(*frames, 25, 0, cues), *t0);
        s.finish(now).expect("finish");
    }
}

/// A break open when a run stops ends after the restart in its own range:
/// the resumed archive's range gets `DURATION` and `SCTE35-IN` (no lone
/// end range), and the cue tags go on inside it until `CUE-IN`.
#[test]
fn a_break_open_at_a_restart_is_ended_after_it() {
    use crate::scte35::hex_sequence;
    let (out, back) = placement(202, 502, 60);
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), true);
    c.cue_tags = true;
    runs_with_cues(
        &c,
        &[
            (vec![(150, out)], 750, T0),
            (vec![(450, back.clone())], 750, T0 + 100_000),
        ],
    );
    let archive = std::fs::read_to_string(dir.path().join(ARCHIVE_PLAYLIST)).expect("archive");
    let ranges: Vec<&str> = archive
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(ranges.len(), 1, "{archive}");
    assert!(
        ranges[0].contains(&format!("SCTE35-IN={}", hex_sequence(&back))),
        "{archive}"
    );
    assert!(ranges[0].contains(",DURATION="), "{archive}");
    assert_eq!(archive.matches("#EXT-X-CUE-OUT:").count(), 1, "{archive}");
    assert_eq!(archive.matches("#EXT-X-CUE-IN").count(), 1, "{archive}");
    // Every segment between them is inside the break.
    let between = archive
        .split("#EXT-X-CUE-OUT:")
        .nth(1)
        .and_then(|rest| rest.split("#EXT-X-CUE-IN").next())
        .expect("both");
    assert_eq!(
        between.matches("#EXTINF").count(),
        between.matches("#EXT-X-CUE-OUT-CONT").count() + 1,
        "{archive}"
    );
}

/// The cue tags end at a cancel of a break under way, and 10 s after the
/// planned end of a break whose end never comes; each next break gets its
/// own `CUE-OUT`.
#[test]
fn cue_tags_end_at_a_cancel_and_after_a_lost_end() {
    use crate::testmux::cue::{insert, section};
    use crate::testmux::{stream_with_cues, FRAME};
    let at = |frame: u64| frame * FRAME;
    let lost = section(
        0,
        0x05,
        &insert(7, true, Some(at(202)), Some((false, 4 * 90_000))),
        &[],
    );
    let long = section(
        0,
        0x05,
        &insert(8, true, Some(at(702)), Some((false, 30 * 90_000))),
        &[],
    );
    // splice_insert of event 8 with splice_event_cancel_indicator set.
    let cancel = section(0, 0x05, &[0, 0, 0, 8, 0xff], &[]);
    let auto = section(
        0,
        0x05,
        &insert(9, true, Some(at(1202)), Some((true, 2 * 90_000))),
        &[],
    );
    let cues = [(150, lost), (650, long), (900, cancel), (1150, auto)];
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), true);
    c.cue_tags = true;
    let mut s = Segmenter::open(c, T0).expect("open");
    let now = feed(&mut s, &stream_with_cues(1500, 25, 0, &cues), T0);
    s.finish(now).expect("finish");
    let archive = std::fs::read_to_string(dir.path().join(ARCHIVE_PLAYLIST)).expect("archive");
    let tags: Vec<&str> = archive
        .lines()
        .filter(|l| l.starts_with("#EXT-X-CUE-OUT:") || l.starts_with("#EXT-X-CUE-IN"))
        .collect();
    assert_eq!(
        tags,
        [
            "#EXT-X-CUE-OUT:DURATION=4.000",
            "#EXT-X-CUE-IN",
            "#EXT-X-CUE-OUT:DURATION=30.000",
            "#EXT-X-CUE-IN",
            "#EXT-X-CUE-OUT:DURATION=2.000",
            "#EXT-X-CUE-IN"
        ],
        "{archive}"
    );
}

/// A restart in a long break whose start has left the live window (no
/// archive): the cue tags of the last segment say where it started, and
/// the tags go on after the restart until its end.
#[test]
fn cue_tags_go_on_after_a_restart_from_the_last_segments_tags() {
    let (out, back) = placement(202, 452, 120);
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = config(dir.path(), false);
    c.cue_tags = true;
    c.window_secs = 40.0;
    runs_with_cues(
        &c,
        &[
            (vec![(150, out)], 1250, T0),
            (vec![(400, back)], 750, T0 + 100_000),
        ],
    );
    let live = std::fs::read_to_string(dir.path().join(LIVE_PLAYLIST)).expect("live");
    // The restart's segments: inside the break until its end, then out.
    let after = live
        .split("#EXT-X-DISCONTINUITY\n")
        .nth(1)
        .expect("a restart");
    let before_in = after.split("#EXT-X-CUE-IN").next().expect("text");
    assert!(after.contains("#EXT-X-CUE-IN"), "{live}");
    assert_eq!(
        before_in.matches("#EXTINF").count(),
        before_in.matches("#EXT-X-CUE-OUT-CONT").count(),
        "{live}"
    );
    assert!(
        !live.contains("#EXT-X-CUE-OUT:"),
        "the start left the window: {live}"
    );
}
