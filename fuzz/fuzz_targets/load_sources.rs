//! The parsers of sites' statistics (a Prometheus counter summed over its
//! label sets, a number at a JSON path) on arbitrary input: no panic, and
//! on exposition text generated from a model the sum is the model's.
//!
//! The model: samples of the polled metric and of look-alike metrics, with
//! label values holding the characters that trip naive readers (`}`, `,`,
//! `=`, escaped quotes), optional timestamps, comments and blank lines. The
//! sum read must be the sum of the polled metric's finite values.
#![no_main]
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use routecast_server::load::{json_number, prometheus_sum};

const METRIC: &str = "bytes_sent_total";
const LOOK_ALIKES: [&str; 3] = ["bytes_sent_total_created", "bytes_sent", "other_total"];
const LABEL_VALUES: [&str; 6] = ["a", "/x}\"} 9", "a,b=c", "\\\"q\\\"", "", "{}"];

#[derive(Debug, Arbitrary)]
struct Sample {
    metric: u8,
    labels: Vec<(u8, u8)>,
    value: u32,
    timestamp: Option<u32>,
    comment_before: bool,
}

fn exposition(samples: &[Sample]) -> (String, Option<f64>) {
    let mut text = String::new();
    let mut sum: Option<f64> = None;
    for s in samples {
        if s.comment_before {
            text.push_str(&format!("# TYPE {METRIC} counter\n\n"));
        }
        let pick = usize::from(s.metric) % (LOOK_ALIKES.len() + 1);
        let name = if pick == 0 {
            METRIC
        } else {
            LOOK_ALIKES[pick - 1]
        };
        text.push_str(name);
        if !s.labels.is_empty() {
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| {
                    let value = LABEL_VALUES[usize::from(*v) % LABEL_VALUES.len()];
                    format!("l{k}=\"{value}\"")
                })
                .collect();
            text.push_str(&format!("{{{}}}", labels.join(",")));
        }
        text.push_str(&format!(" {}", s.value));
        if let Some(t) = s.timestamp {
            text.push_str(&format!(" {t}"));
        }
        text.push('\n');
        if pick == 0 {
            *sum.get_or_insert(0.0) += f64::from(s.value);
        }
    }
    (text, sum)
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let _ = prometheus_sum(&raw, METRIC);
    let (path, doc) = raw.split_once('\n').unwrap_or(("a.b", &raw));
    if let Some(n) = json_number(doc, path) {
        assert!(n.is_finite() && n >= 0.0, "{n}");
    }
    let mut u = Unstructured::new(data);
    let Ok(samples) = Vec::<Sample>::arbitrary(&mut u) else {
        return;
    };
    let (text, sum) = exposition(&samples);
    assert_eq!(prometheus_sum(&text, METRIC), sum, "{text}");
    // The same number found at a generated JSON path.
    let value = samples.first().map_or(0, |s| s.value);
    let doc = format!("{{\"stats\": {{\"out\": {{\"mbps\": {value}}}, \"x\": [1]}}}}");
    assert_eq!(json_number(&doc, "stats.out.mbps"), Some(f64::from(value)));
});
