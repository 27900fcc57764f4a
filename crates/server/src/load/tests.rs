use super::*;

#[test]
fn prometheus_counters_are_summed_over_label_sets() {
    let text = "# HELP x bytes\n# TYPE x counter\nnginx_bytes_sent_total{server=\"a\"} 1000\nnginx_bytes_sent_total{server=\"b\",x=\"}\"} 500 1700000000\nnginx_bytes_sent_total_created 5\nother 7\n";
    assert_eq!(prometheus_sum(text, "nginx_bytes_sent_total"), Some(1500.0));
    assert_eq!(prometheus_sum("node_tx 2.5e3\n", "node_tx"), Some(2500.0));
    assert_eq!(prometheus_sum("other 1\n", "node_tx"), None);
}

#[test]
fn json_paths_reach_numbers() {
    assert_eq!(
        json_number(r#"{"traffic":{"mbps":150.5}}"#, "traffic.mbps"),
        Some(150.5)
    );
    assert_eq!(
        json_number(r#"{"traffic":{"mbps":"x"}}"#, "traffic.mbps"),
        None
    );
    assert_eq!(json_number("not json", "a"), None);
}

/// What nginx 1.22 answers, byte for byte (with its trailing spaces).
const PAGE: &str = "Active connections: 5 \nserver accepts handled requests\n 17 17 40 \nReading: 0 Writing: 3 Waiting: 2 \n";

#[test]
fn stub_status_gives_the_writing_connections() {
    assert_eq!(stub_status_writing(PAGE), Some(3));
    assert_eq!(stub_status_writing(&PAGE.replace('\n', "\r\n")), Some(3));
    let idle = "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n";
    assert_eq!(stub_status_writing(idle), Some(1));
}

#[test]
fn stub_status_is_strict() {
    for bad in [
        "",
        "Active connections: 5\n",
        // A JSON or Prometheus page, or an HTML error page.
        r#"{"traffic":{"mbps":1}}"#,
        "nginx_connections_writing 3\n",
        "<html><body>502 Bad Gateway</body></html>",
        // Each line altered in turn.
        &PAGE.replace("Active connections", "Idle connections"),
        &PAGE.replace("Active connections: 5", "Active connections: -5"),
        &PAGE.replace("accepts handled", "handled accepts"),
        &PAGE.replace(" 17 17 40", " 17 17"),
        &PAGE.replace(" 17 17 40", " 17 x 40"),
        &PAGE.replace("Writing: 3", "Writing: three"),
        &PAGE.replace("Writing: 3", "Writing: 3.5"),
        &PAGE.replace("Writing: 3 Waiting: 2", "Waiting: 2 Writing: 3"),
        &PAGE.replace("Waiting: 2 ", "Waiting: 2 Closing: 1"),
        &format!("{PAGE}trailing garbage\n"),
        &PAGE.replace("Writing: 3", "Writing: 99999999999999999999999"),
    ] {
        assert_eq!(stub_status_writing(bad), None, "{bad:?}");
    }
}

proptest::proptest! {
    #[test]
    fn stub_status_never_panics(text in "\\PC*") {
        let _ = stub_status_writing(&text);
    }

    #[test]
    fn stub_status_never_panics_on_near_pages(
        cut in 0usize..90,
        insert in "[ -~\n]{0,8}",
    ) {
        let at = PAGE.char_indices().nth(cut).map_or(PAGE.len(), |(i, _)| i);
        let text = format!("{}{insert}{}", &PAGE[..at], &PAGE[at..]);
        let _ = stub_status_writing(&text);
    }

    #[test]
    fn stub_status_reads_back_what_it_is_given(
        counts in proptest::array::uniform7(0u64..u64::MAX),
    ) {
        let [a, b, c, d, r, w, x] = counts;
        let page = format!("Active connections: {a} \nserver accepts handled requests\n {b} {c} {d} \nReading: {r} Writing: {w} Waiting: {x} \n");
        proptest::prop_assert_eq!(stub_status_writing(&page), Some(w));
    }
}

mod polls {
    use std::sync::Mutex;

    use tokio::time::{sleep_until, Instant};

    use super::*;
    use crate::health::Health;
    use crate::testing::{platform, two_sites};
    use routecast_engine::SiteId;

    /// Site `a`'s polls every second, reading answers from `answers` in
    /// turn (`None`: no answer), then failing; the health they keep.
    fn polled(load: &str, answers: Vec<Option<&'static str>>) -> Arc<Health> {
        let line =
            format!("load = {{ url = \"http://127.0.0.1:9/stats\", {load}, interval_ms = 1000 }}");
        let platform = platform(&two_sites(&line));
        let health = Arc::new(Health::new(&platform));
        let source = platform.sites()[0]
            .load_source
            .clone()
            .expect("a has a load source");
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let fetch = move || {
            let next = answers.lock().expect("answers").next().flatten();
            async move { next.map(|body| (200, body.to_string())) }
        };
        let status = health.status(SiteId(0)).expect("a");
        tokio::spawn(poll(source, "a".into(), status, health.clock(), fetch));
        health
    }

    /// Waits until `ms` after `start` (polls are at 0, 1000, 2000, … ms).
    async fn at(start: Instant, ms: u64) {
        sleep_until(start + Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_byte_counter_gives_its_rate_over_the_time_between_polls() {
        let start = Instant::now();
        let health = polled(
            "format = \"prometheus\", metric = \"bytes_total\"",
            vec![
                Some("bytes_total 1000000\n"),
                // 10 MB in one second: 80 Mbit/s.
                Some("bytes_total{a=\"x\"} 6000000\nbytes_total{a=\"y\"} 5000000\n"),
                // Reset: no reading; the next poll counts from here.
                Some("bytes_total 500\n"),
                Some("bytes_total 1250500\n"),
                None,
            ],
        );
        at(start, 10).await;
        assert_eq!(health.polled(SiteId(0)), 0.0, "one reading gives no rate");
        at(start, 1010).await;
        assert_eq!(health.polled(SiteId(0)), 80.0);
        at(start, 2010).await;
        assert_eq!(
            health.polled(SiteId(0)),
            80.0,
            "a reset keeps the last rate"
        );
        at(start, 3010).await;
        assert_eq!(health.polled(SiteId(0)), 10.0, "1.25 MB in one second");
        at(start, 4010).await;
        assert_eq!(health.polled(SiteId(0)), 10.0, "no answer keeps it too");
    }

    #[tokio::test(start_paused = true)]
    async fn a_missed_poll_spans_the_rate_over_both_intervals() {
        let start = Instant::now();
        let health = polled(
            "format = \"prometheus\", metric = \"bytes_total\"",
            vec![Some("bytes_total 0\n"), None, Some("bytes_total 5000000\n")],
        );
        at(start, 2010).await;
        assert_eq!(health.polled(SiteId(0)), 20.0, "5 MB over two seconds");
    }

    #[tokio::test(start_paused = true)]
    async fn recent_sessions_count_until_the_next_poll_includes_them() {
        let start = Instant::now();
        let health = polled(
            "format = \"json\", field = \"traffic.mbps\"",
            vec![
                Some(r#"{"traffic":{"mbps":40}}"#),
                Some(r#"{"traffic":{"mbps":"x"}}"#),
                Some(r#"{"traffic":{"mbps":55.5}}"#),
            ],
        );
        at(start, 10).await;
        assert_eq!(health.load(SiteId(0)), 40.0);
        health.add_session(SiteId(0), None, 5.0);
        health.add_session(SiteId(0), None, 5.0);
        assert_eq!(health.load(SiteId(0)), 50.0, "polled plus two sessions");
        at(start, 1010).await;
        assert_eq!(
            health.load(SiteId(0)),
            50.0,
            "an unreadable answer changes nothing"
        );
        at(start, 2010).await;
        assert_eq!(
            health.load(SiteId(0)),
            55.5,
            "the site's figure includes them now"
        );
        assert_eq!(
            health.load(SiteId(1)),
            0.0,
            "b has no source and no sessions"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stub_status_counts_writing_connections_at_their_rate() {
        let start = Instant::now();
        let page = "Active connections: 5 \nserver accepts handled requests\n 17 17 40 \nReading: 0 Writing: 3 Waiting: 2 \n";
        let health = polled(
            "format = \"stub_status\", mbps_per_connection = 2.5",
            vec![Some(page)],
        );
        at(start, 10).await;
        assert_eq!(health.polled(SiteId(0)), 7.5);
    }
}

mod poll_replaces_estimates {
    use tokio::time::{sleep_until, Instant};

    use super::*;
    use crate::health::Health;
    use crate::testing::{platform, two_sites};
    use routecast_engine::SiteId;

    #[tokio::test(start_paused = true)]
    async fn a_poll_drops_the_estimates_made_before_it_and_keeps_the_later_ones() {
        // Polls at 0 and 10 s; each answer takes 500 ms to come.
        let line = "load = { url = \"http://127.0.0.1:9/stats\", format = \"json\", field = \"mbps\", interval_ms = 10000 }";
        let platform = platform(&two_sites(line));
        let health = Arc::new(Health::new(&platform));
        let source = platform.sites()[0].load_source.clone().expect("a source");
        let answers = Arc::new(std::sync::Mutex::new(
            vec!["{\"mbps\":40}", "{\"mbps\":55.5}"].into_iter(),
        ));
        let fetch = move || {
            let next = answers.lock().expect("answers").next();
            async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                next.map(|body| (200, body.to_string()))
            }
        };
        let start = Instant::now();
        let status = health.status(SiteId(0)).expect("a");
        tokio::spawn(poll(source, "a".into(), status, health.clock(), fetch));
        let at = |ms: u64| sleep_until(start + Duration::from_millis(ms));
        at(600).await;
        assert_eq!(health.load(SiteId(0)), 40.0);
        at(9_500).await;
        health.add_session(SiteId(0), None, 5.0);
        health.add_session(SiteId(0), None, 5.0);
        at(10_200).await;
        // The poll asked at 10 s; this one may not be in its figure.
        health.add_session(SiteId(0), None, 5.0);
        assert_eq!(health.load(SiteId(0)), 55.0);
        at(10_600).await;
        assert_eq!(health.polled(SiteId(0)), 55.5);
        assert_eq!(
            health.load(SiteId(0)),
            60.5,
            "55.5 polled + the one after the poll"
        );
    }
}
