//! Delivery directives (RFC 8216bis §6.2.5): the query of a playlist
//! request in, a decision out — answer now, hold, or refuse — from the
//! published state alone. No IO, no clock.

use super::Published;

/// The delivery directives of one playlist request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    /// `_HLS_msn=M`: hold until segment `M` (or a later one) is listed.
    pub msn: Option<u64>,
    /// `_HLS_part=N` (with `_HLS_msn`): hold until part `N` of segment `M`
    /// (or a later part) is listed.
    pub part: Option<u64>,
    /// `_HLS_skip=YES` or `_HLS_skip=v2`: answer the delta update.
    pub skip: bool,
}

/// Why a playlist request is refused with 400 (RFC 8216bis §6.2.5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// A directive whose value is not a decimal-integer.
    #[error("{name} is not a decimal-integer")]
    NotAnInteger {
        /// The directive.
        name: &'static str,
    },
    /// A directive given twice.
    #[error("{name} is given more than once")]
    Repeated {
        /// The directive.
        name: &'static str,
    },
    /// `_HLS_part` without `_HLS_msn` (a MUST).
    #[error("_HLS_part needs _HLS_msn")]
    PartWithoutMsn,
    /// `_HLS_msn` more than two beyond the last segment (a SHOULD).
    #[error("_HLS_msn={msn} is more than two segments beyond the last one")]
    MsnTooFar {
        /// What was asked.
        msn: u64,
    },
    /// `_HLS_part` beyond the last part by more than the Advance Part Limit.
    #[error("_HLS_part={part} of segment {msn} is more than {limit} parts beyond the last part")]
    PartTooFar {
        /// The segment asked for.
        msn: u64,
        /// The part asked for.
        part: u64,
        /// The Advance Part Limit.
        limit: u64,
    },
}

/// What a playlist request gets, given the state published when it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reload {
    /// Answer at once; `blocking` tells the cache lifetime apart.
    Now {
        /// Answer the delta update if there is one.
        skip: bool,
        /// The request carried `_HLS_msn` (Appendix B.1 caches it longer).
        blocking: bool,
    },
    /// Hold until [`satisfied`] (or the stream ends).
    Hold(Directives),
    /// 400.
    Refuse(Refusal),
}

/// Reads the delivery directives from a query string. Parameters other than
/// `_HLS_msn`, `_HLS_part` and `_HLS_skip` are ignored, and so is an
/// `_HLS_skip` value other than `YES` and `v2`.
pub(crate) fn parse(query: Option<&str>) -> Result<Directives, Refusal> {
    let mut d = Directives::default();
    let mut skip_seen = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "_HLS_msn" => once(&mut d.msn, "_HLS_msn", value)?,
            "_HLS_part" => once(&mut d.part, "_HLS_part", value)?,
            "_HLS_skip" if skip_seen => return Err(Refusal::Repeated { name: "_HLS_skip" }),
            "_HLS_skip" => {
                skip_seen = true;
                d.skip = matches!(value, "YES" | "v2");
            }
            _ => {}
        }
    }
    if d.part.is_some() && d.msn.is_none() {
        return Err(Refusal::PartWithoutMsn);
    }
    Ok(d)
}

fn once(slot: &mut Option<u64>, name: &'static str, value: &str) -> Result<(), Refusal> {
    if slot.is_some() {
        return Err(Refusal::Repeated { name });
    }
    // decimal-integer (RFC 8216bis §4.2): digits only, at most 2^64 − 1.
    let n = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse().ok())
        .flatten()
        .ok_or(Refusal::NotAnInteger { name })?;
    *slot = Some(n);
    Ok(())
}

/// The decision for a playlist request with `query`, against `p`.
///
/// Once the input ended the directives are ignored altogether, malformed
/// ones included (§6.2.5.1 and §6.2.5.2: a server MUST ignore them when the
/// playlist has `EXT-X-ENDLIST`).
pub(crate) fn decide(query: Option<&str>, p: &Published) -> Reload {
    if p.ended {
        return Reload::Now {
            skip: false,
            blocking: false,
        };
    }
    let d = match parse(query) {
        Ok(d) => d,
        Err(r) => return Reload::Refuse(r),
    };
    let Some(msn) = d.msn else {
        return Reload::Now {
            skip: d.skip,
            blocking: false,
        };
    };
    if let Err(r) = within_reach(msn, d.part, p) {
        return Reload::Refuse(r);
    }
    if satisfied(&d, p) {
        Reload::Now {
            skip: d.skip,
            blocking: true,
        }
    } else {
        Reload::Hold(d)
    }
}

/// Whether `p` answers a blocking request (§6.2.5.2):
///
/// * `_HLS_msn=M` alone: segment `M` or a later one is complete.
/// * `_HLS_msn=M&_HLS_part=N`: the last part is `(M, N)` or later, compared
///   as (segment, part) pairs. A part index beyond the last part of a
///   complete segment `M` so waits for part 0 of segment `M + 1`, as the
///   draft asks, since parts are published in order. Without low latency
///   (no parts at all) segment `M` being complete is enough.
/// * The input ended: always.
pub(crate) fn satisfied(d: &Directives, p: &Published) -> bool {
    let Some(msn) = d.msn else { return true };
    let complete = |m: u64| p.last_segment.is_some_and(|s| s >= m);
    p.ended
        || match (d.part, p.last_part) {
            (None, _) | (Some(_), None) => complete(msn),
            (Some(n), Some(last)) => last >= (msn, n) || complete(msn.saturating_add(1)),
        }
}

/// The 400 rules for a request that would block (§6.2.5.2, SHOULD):
/// `_HLS_msn` more than the last segment plus two, or `_HLS_part` more than
/// the Advance Part Limit beyond the last part.
///
/// With no complete segment yet, the segment whose parts are being
/// published counts as last + 1 (else segment 0 does). Parts ahead are
/// counted as exactly as the state allows and otherwise undercounted (parts
/// per segment are not fixed), so a valid request is never refused.
fn within_reach(msn: u64, part: Option<u64>, p: &Published) -> Result<(), Refusal> {
    let furthest = match (p.last_segment, p.last_part) {
        (Some(s), _) => s.saturating_add(2),
        (None, Some((m, _))) => m.saturating_add(1),
        (None, None) => 1,
    };
    if msn > furthest {
        return Err(Refusal::MsnTooFar { msn });
    }
    let (Some(n), Some((pm, pi)), Some(limit)) = (
        part,
        p.last_part,
        part_target(&p.playlist).map(advance_part_limit),
    ) else {
        return Ok(());
    };
    let ahead = match msn.cmp(&pm) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Equal => n.saturating_sub(pi),
        // At least the parts of segment `msn` up to `n`.
        std::cmp::Ordering::Greater => n.saturating_add(1),
    };
    if ahead > limit {
        return Err(Refusal::PartTooFar {
            msn,
            part: n,
            limit,
        });
    }
    Ok(())
}

/// The Advance Part Limit (§6.2.5.2): 3 ÷ the Part Target Duration when that
/// is under a second, else 3.
fn advance_part_limit(part_target: f64) -> u64 {
    if part_target < 1.0 {
        // The epsilon keeps 3 ÷ 0.3 at 10, not 9.999….
        (3.0 / part_target + 1e-6).floor() as u64
    } else {
        3
    }
}

/// `PART-TARGET` of the playlist's `EXT-X-PART-INF` (looked for in the
/// header only, before the first segment or part).
pub(crate) fn part_target(playlist: &str) -> Option<f64> {
    playlist
        .lines()
        .take_while(|l| !l.starts_with("#EXTINF") && !l.starts_with("#EXT-X-PART:"))
        .find_map(|l| l.strip_prefix("#EXT-X-PART-INF:"))
        .and_then(|attributes| {
            attributes
                .split(',')
                .find_map(|a| a.trim().strip_prefix("PART-TARGET="))
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000,\nseg0.ts\n";

    fn at(last_segment: Option<u64>, last_part: Option<(u64, u64)>) -> Published {
        Published {
            playlist: HEADER.to_owned(),
            last_segment,
            last_part,
            target_duration: 2,
            ..Published::default()
        }
    }

    fn msn(m: u64, part: Option<u64>) -> Directives {
        Directives {
            msn: Some(m),
            part,
            skip: false,
        }
    }

    #[test]
    fn parses_the_three_directives() {
        assert_eq!(
            parse(Some("_HLS_msn=5&_HLS_part=2&_HLS_skip=YES")),
            Ok(Directives {
                msn: Some(5),
                part: Some(2),
                skip: true
            })
        );
        assert_eq!(parse(Some("_HLS_skip=v2")).map(|d| d.skip), Ok(true));
        assert_eq!(parse(Some("_HLS_skip=NO")).map(|d| d.skip), Ok(false));
        assert_eq!(parse(None), Ok(Directives::default()));
        assert_eq!(
            parse(Some("token=a&_HLS_future=1&&_HLS_msn=0")).map(|d| d.msn),
            Ok(Some(0))
        );
    }

    #[test]
    fn refuses_malformed_directives() {
        assert_eq!(parse(Some("_HLS_part=1")), Err(Refusal::PartWithoutMsn));
        for bad in [
            "_HLS_msn=",
            "_HLS_msn",
            "_HLS_msn=-1",
            "_HLS_msn=1.0",
            "_HLS_msn=+1",
            "_HLS_msn=18446744073709551616",
        ] {
            assert_eq!(
                parse(Some(bad)),
                Err(Refusal::NotAnInteger { name: "_HLS_msn" }),
                "{bad}"
            );
        }
        assert_eq!(
            parse(Some("_HLS_msn=1&_HLS_msn=2")),
            Err(Refusal::Repeated { name: "_HLS_msn" })
        );
        assert_eq!(
            parse(Some("_HLS_skip=YES&_HLS_skip=YES")),
            Err(Refusal::Repeated { name: "_HLS_skip" })
        );
    }

    #[test]
    fn segment_directive_waits_for_a_complete_segment() {
        let d = msn(6, None);
        assert!(
            !satisfied(&d, &at(Some(5), Some((6, 3)))),
            "parts of 6 are not segment 6"
        );
        assert!(satisfied(&d, &at(Some(6), Some((6, 3)))));
        assert!(satisfied(&d, &at(Some(9), None)));
        assert!(!satisfied(&d, &at(None, None)));
    }

    #[test]
    fn part_directive_compares_segment_then_part() {
        let d = msn(6, Some(2));
        assert!(!satisfied(&d, &at(Some(5), Some((6, 1)))));
        assert!(satisfied(&d, &at(Some(5), Some((6, 2)))));
        assert!(satisfied(&d, &at(Some(6), Some((7, 0)))));
        // Segment 6 closed after part 1: part 2 of 6 means part 0 of 7.
        assert!(!satisfied(&d, &at(Some(6), Some((6, 1)))));
        // No low latency: the complete segment.
        assert!(satisfied(&d, &at(Some(6), None)));
        assert!(!satisfied(&d, &at(Some(5), None)));
    }

    #[test]
    fn decides_now_hold_or_refuse() {
        let p = at(Some(5), Some((6, 1)));
        let now = |blocking| Reload::Now {
            skip: false,
            blocking,
        };
        assert_eq!(decide(None, &p), now(false));
        assert_eq!(decide(Some("_HLS_msn=5"), &p), now(true));
        assert_eq!(decide(Some("_HLS_msn=6"), &p), Reload::Hold(msn(6, None)));
        assert_eq!(decide(Some("_HLS_msn=7"), &p), Reload::Hold(msn(7, None)));
        assert_eq!(
            decide(Some("_HLS_msn=8"), &p),
            Reload::Refuse(Refusal::MsnTooFar { msn: 8 })
        );
        // Part target 0.5 s: the Advance Part Limit is 6 parts.
        assert_eq!(
            decide(Some("_HLS_msn=6&_HLS_part=7"), &p),
            Reload::Hold(msn(6, Some(7)))
        );
        assert_eq!(
            decide(Some("_HLS_msn=6&_HLS_part=8"), &p),
            Reload::Refuse(Refusal::PartTooFar {
                msn: 6,
                part: 8,
                limit: 6
            })
        );
        assert_eq!(
            decide(Some("_HLS_msn=7&_HLS_part=6"), &p),
            Reload::Refuse(Refusal::PartTooFar {
                msn: 7,
                part: 6,
                limit: 6
            })
        );
        assert_eq!(
            decide(Some("_HLS_part=1"), &p),
            Reload::Refuse(Refusal::PartWithoutMsn)
        );
        let ended = Published { ended: true, ..p };
        assert_eq!(
            decide(Some("_HLS_msn=99&_HLS_skip=YES"), &ended),
            now(false)
        );
        assert_eq!(decide(Some("_HLS_part=1"), &ended), now(false));
    }

    #[test]
    fn reach_before_the_first_segment() {
        let empty = at(None, None);
        assert_eq!(
            decide(Some("_HLS_msn=1"), &empty),
            Reload::Hold(msn(1, None))
        );
        assert_eq!(
            decide(Some("_HLS_msn=2"), &empty),
            Reload::Refuse(Refusal::MsnTooFar { msn: 2 })
        );
        let parts = at(None, Some((0, 2)));
        assert_eq!(
            decide(Some("_HLS_msn=1"), &parts),
            Reload::Hold(msn(1, None))
        );
        assert!(matches!(
            decide(Some("_HLS_msn=2"), &parts),
            Reload::Refuse(_)
        ));
    }

    #[test]
    fn part_target_and_limit() {
        assert_eq!(part_target(HEADER), Some(0.5));
        assert_eq!(
            part_target("#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=0.33334\n"),
            Some(0.33334)
        );
        assert_eq!(
            part_target("#EXTM3U\n#EXTINF:2,\n#EXT-X-PART-INF:PART-TARGET=1\n"),
            None
        );
        assert_eq!(part_target("#EXT-X-PART-INF:PART-TARGET=0\n"), None);
        assert_eq!(advance_part_limit(0.5), 6);
        assert_eq!(advance_part_limit(0.3), 10);
        assert_eq!(advance_part_limit(1.0), 3);
        assert_eq!(advance_part_limit(2.0), 3);
    }

    proptest! {
        /// Once a request is answered, every later state answers it too:
        /// a held request never misses the state it waited for.
        #[test]
        fn satisfied_stays_satisfied(
            m in 0u64..20, n in proptest::option::of(0u64..8),
            s in 0u64..20, i in 0u64..8, step_s in 0u64..3, step_i in 0u64..8,
        ) {
            let d = msn(m, n);
            let before = at(Some(s), Some((s + 1, i)));
            // The next state: more segments, or more parts of the same one.
            let after = if step_s == 0 {
                at(Some(s), Some((s + 1, i + step_i)))
            } else {
                at(Some(s + step_s), Some((s + step_s + 1, step_i)))
            };
            prop_assert!(!satisfied(&d, &before) || satisfied(&d, &after));
        }

        #[test]
        fn parse_never_panics(query in "\\PC{0,80}") {
            let _ = decide(Some(&query), &at(Some(3), Some((4, 1))));
        }
    }
}
