//! What "hls.js plays the live stream" means, checked on the samples that
//! `play.mjs` takes from the page once playback has started: the media
//! clock advances with the wall clock (≈ 1 s per second over the run, no
//! stall longer than a few seconds, never backwards), the player stays
//! near the live edge, and it decodes real video frames all along.

/// One look at the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The page's monotonic clock (`performance.now()`), seconds.
    pub wall: f64,
    /// `video.currentTime`, seconds.
    pub current_time: f64,
    /// `hls.latency`: seconds behind the live edge of the playlist.
    pub latency: f64,
    /// Wall-clock seconds behind the EXT-X-PROGRAM-DATE-TIME of what is
    /// on screen (`Date.now() − hls.playingDate`), when known; unknown
    /// after the settling time fails the check.
    pub date_latency: Option<f64>,
    /// Video frames decoded so far.
    pub frames: u64,
}

/// What the samples must show.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Seconds of playback to see at least.
    pub min_span: f64,
    /// Media seconds per wall second over the run must be within
    /// `1 ± rate_tolerance`.
    pub rate_tolerance: f64,
    /// The longest the media clock may stand still, seconds.
    pub max_stall: f64,
    /// The most `hls.latency` and the date latency may reach, seconds…
    pub max_latency: f64,
    /// …from this many seconds after the first sample on (the player's
    /// catch-up after joining; 0: all along).
    pub settle: f64,
    /// The least decoded frames per wall second over the run.
    pub min_fps: f64,
}

/// Figures of a run that passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Wall seconds between the first and last sample.
    pub span: f64,
    /// Media seconds per wall second.
    pub rate: f64,
    /// The longest standstill of the media clock, seconds.
    pub longest_stall: f64,
    /// The least and most `hls.latency` seen, seconds.
    pub latency: (f64, f64),
    /// The most date latency seen after settling, seconds (every sample
    /// then has one).
    pub max_date_latency: f64,
    /// The most latency of either kind seen while settling, seconds (0
    /// without a settling time).
    pub settling_latency: f64,
    /// Decoded frames per wall second.
    pub fps: f64,
}

/// Checks `samples` against `bounds`; an error says which bound broke.
pub fn check(samples: &[Sample], bounds: &Bounds) -> Result<Figures, String> {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Err("no samples: playback never started".into());
    };
    let broken = |s: &Sample| {
        let numbers = [s.wall, s.current_time, s.latency];
        !numbers.iter().all(|x| x.is_finite())
    };
    if let Some(s) = samples.iter().find(|s| broken(s)) {
        return Err(format!("a sample without its numbers: {s:?}"));
    }
    let span = last.wall - first.wall;
    if span < bounds.min_span {
        return Err(format!(
            "{span:.1} s of playback sampled, {} needed",
            bounds.min_span
        ));
    }
    let rate = (last.current_time - first.current_time) / span;
    if (rate - 1.0).abs() > bounds.rate_tolerance {
        return Err(format!(
            "currentTime advanced {rate:.3} s per wall second over {span:.1} s"
        ));
    }
    let longest_stall = longest_stall(samples)?;
    if longest_stall > bounds.max_stall {
        return Err(format!(
            "currentTime stood still for {longest_stall:.1} s (at most {} allowed)",
            bounds.max_stall
        ));
    }
    let settled = first.wall + bounds.settle;
    let (early, held): (Vec<&Sample>, Vec<&Sample>) =
        samples.iter().partition(|s| s.wall < settled);
    let latency = held.iter().fold((f64::MAX, 0f64), |(lo, hi), s| {
        (lo.min(s.latency), hi.max(s.latency))
    });
    // A frame on screen without a PROGRAM-DATE-TIME has no wall-clock
    // latency to check: that fails, it never counts as 0.
    if let Some(s) = held.iter().find(|s| s.date_latency.is_none()) {
        return Err(format!(
            "no EXT-X-PROGRAM-DATE-TIME for what was on screen at {:.1} s (hls.playingDate unknown)",
            s.wall
        ));
    }
    let max_date_latency = held
        .iter()
        .filter_map(|s| s.date_latency)
        .fold(0f64, f64::max);
    if latency.1 > bounds.max_latency || max_date_latency > bounds.max_latency {
        return Err(format!(
            "live latency up to {:.1} s (date latency {max_date_latency:.1} s), at most {} allowed",
            latency.1, bounds.max_latency
        ));
    }
    let settling_latency = early
        .iter()
        .map(|s| s.latency.max(s.date_latency.unwrap_or(0.0)))
        .fold(0f64, f64::max);
    let fps = (last.frames - first.frames.min(last.frames)) as f64 / span;
    if fps < bounds.min_fps {
        return Err(format!(
            "{fps:.1} frames decoded per second, {} expected",
            bounds.min_fps
        ));
    }
    Ok(Figures {
        span,
        rate,
        longest_stall,
        latency,
        max_date_latency,
        settling_latency,
        fps,
    })
}

/// The longest wall time between two advances of the media clock; an error
/// if it ever went back.
fn longest_stall(samples: &[Sample]) -> Result<f64, String> {
    let mut since = &samples[0];
    let mut longest = 0f64;
    for pair in samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.current_time < a.current_time {
            return Err(format!(
                "currentTime went back from {:.3} to {:.3} at {:.1} s",
                a.current_time, b.current_time, b.wall
            ));
        }
        if b.current_time > a.current_time {
            since = b;
        }
        longest = longest.max(b.wall - since.wall);
    }
    Ok(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        min_span: 60.0,
        rate_tolerance: 0.05,
        max_stall: 3.0,
        max_latency: 10.0,
        settle: 0.0,
        min_fps: 20.0,
    };

    /// One sample a second for `n` seconds at `rate`, 7 s behind the edge.
    fn run(n: usize, rate: f64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                wall: 100.0 + i as f64,
                current_time: 3.0 + rate * i as f64,
                latency: 7.0,
                date_latency: Some(8.0),
                frames: 25 * i as u64,
            })
            .collect()
    }

    #[test]
    fn steady_playback_passes_with_its_figures() {
        let f = check(&run(62, 1.0), &BOUNDS).expect("plays");
        assert_eq!((f.span, f.rate, f.longest_stall), (61.0, 1.0, 0.0));
        assert_eq!(
            (f.latency, f.max_date_latency, f.fps),
            ((7.0, 7.0), 8.0, 25.0)
        );
    }

    #[test]
    fn the_latency_bound_holds_from_the_settling_time_on() {
        let mut s = run(62, 1.0);
        s[4].latency = 12.0;
        let settling = Bounds {
            settle: 5.0,
            ..BOUNDS
        };
        let f = check(&s, &settling).expect("within the settling time");
        assert_eq!((f.latency, f.settling_latency), ((7.0, 7.0), 12.0));
        assert!(check(&s, &BOUNDS).is_err());
        s[5].latency = 12.0;
        let e = check(&s, &settling).expect_err("after it");
        assert!(e.contains("live latency up to 12.0 s"), "{e}");
    }

    #[test]
    fn too_short_too_slow_or_never_started_playback_fails() {
        assert!(check(&[], &BOUNDS)
            .expect_err("must fail")
            .contains("never started"));
        assert!(check(&run(30, 1.0), &BOUNDS)
            .expect_err("must fail")
            .contains("29.0 s"));
        let e = check(&run(62, 0.9), &BOUNDS).expect_err("must fail");
        assert!(e.contains("advanced 0.900 s per wall second"), "{e}");
    }

    #[test]
    fn a_stall_longer_than_allowed_fails_even_when_the_rate_is_fine() {
        let mut s = run(62, 1.0);
        // Frozen for 4 s at 20 s, then a jump that keeps the average.
        let frozen = s[19].current_time;
        for x in &mut s[20..24] {
            x.current_time = frozen;
        }
        let e = check(&s, &BOUNDS).expect_err("must fail");
        assert!(e.contains("stood still for 4.0 s"), "{e}");
    }

    #[test]
    fn a_sample_without_a_program_date_time_after_settling_fails() {
        let mut s = run(62, 1.0);
        s[30].date_latency = None;
        let e = check(&s, &BOUNDS).expect_err("no PDT: no wall-clock latency");
        assert!(
            e.contains("no EXT-X-PROGRAM-DATE-TIME for what was on screen at 130.0 s"),
            "{e}"
        );
        // While settling the player may not have placed its first frame.
        let mut s = run(62, 1.0);
        s[2].date_latency = None;
        let settling = Bounds {
            settle: 5.0,
            ..BOUNDS
        };
        check(&s, &settling).expect("within the settling time");
    }

    #[test]
    fn going_back_too_far_behind_live_or_not_decoding_fails() {
        let mut s = run(62, 1.0);
        s[30].current_time = 1.0;
        assert!(check(&s, &BOUNDS)
            .expect_err("must fail")
            .contains("went back"));
        let mut s = run(62, 1.0);
        s[40].latency = 12.0;
        assert!(check(&s, &BOUNDS)
            .expect_err("must fail")
            .contains("live latency up to 12.0 s"));
        let mut s = run(62, 1.0);
        s[40].date_latency = Some(11.0);
        assert!(check(&s, &BOUNDS)
            .expect_err("must fail")
            .contains("date latency 11.0 s"));
        let mut s = run(62, 1.0);
        s.iter_mut().for_each(|x| x.frames = 3);
        assert!(check(&s, &BOUNDS)
            .expect_err("must fail")
            .contains("0.0 frames decoded"));
        let mut s = run(62, 1.0);
        s[7].latency = f64::NAN;
        assert!(check(&s, &BOUNDS)
            .expect_err("must fail")
            .contains("without its numbers"));
    }
}
