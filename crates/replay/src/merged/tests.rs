use super::*;
use crate::parallel::tests::{log, log_text, replay, rules};
use crate::parallel::{replay_parallel, Parallel};

/// The example log's lines split over two logs, alternately (each still in
/// time order), with the malformed and empty lines.
fn halves() -> (String, String) {
    let (mut a, mut b) = (String::new(), String::new());
    for (i, line) in log_text().split_inclusive('\n').enumerate() {
        if i % 2 == 0 { &mut a } else { &mut b }.push_str(line);
    }
    (a, b)
}

#[test]
fn two_logs_merged_replay_as_the_one_log_they_were_cut_from() {
    // The oracle: the whole log, in time order, replayed alone.
    let mut whole = log("t.log", log_text());
    let mut want = [replay()];
    let alone = replay_parallel(
        &mut whole,
        &mut want,
        rules(false),
        Parallel::new(1),
        |_| {},
    )
    .expect("replays");
    let (a, b) = halves();
    let mut logs = [log("a.log", a), log("b.log", b)];
    let mut got = [replay()];
    let mut told = 0;
    let read =
        replay_merged(&mut logs, &mut got, rules(false), |p| told = p.lines).expect("replays");
    assert_eq!(read.lines, 3000);
    assert_eq!(read.rejected.count, alone.rejected.count);
    assert_eq!(told, 3000 - 31 - 23, "every request, told by batch");
    // Line 6 of the whole is line 3 of the second half.
    assert_eq!(
        read.rejected.first[0].to_string(),
        "b.log:3: client is neither an IP address nor a host name (format nginx)"
    );
    let [want] = want;
    let [got] = got;
    assert_eq!(got.finish(), want.finish());
}

#[test]
fn strict_stops_at_the_first_malformed_line_met() {
    let (a, b) = halves();
    let mut logs = [log("a.log", a), log("b.log", b)];
    let e = replay_merged(&mut logs, &mut [replay()], rules(true), |_| {}).expect_err("stops");
    assert_eq!(
        e.to_string(),
        "b.log:3: client is neither an IP address nor a host name (format nginx)"
    );
}
