//! Every combined-family parser on arbitrary bytes: typed errors, no panic;
//! and the fast parser of each named format agrees with the general one.
//!
//! The oracle is the `--log-format` compiler's parser (`LogFormat`), an
//! independent reading of the same layout: it finds fields by the literal
//! text between them, one byte at a time, with none of the fast parser's
//! fixed places, word-at-a-time address reading or caches. Where both accept
//! a line, they must read the same request. (Their accepted sets differ on
//! purpose at the edges, e.g. the fast parser takes any ident where the
//! nginx layout writes a literal `-`, so only agreement is checked.)
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_accesslog::{Format, LineParser, LogFormat, Request};

const NGINX: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const APACHE: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i""#;
const COMMON: &str = r#"%h %l %u %t "%r" %>s %b"#;

/// Each fast format with the layout string that says the same.
fn pairs() -> Vec<(Format, LogFormat)> {
    let compile = |spec: String| LogFormat::compile(&spec).expect("a valid layout");
    vec![
        (Format::Nginx, compile(format!("{NGINX} $request_time"))),
        (Format::NginxCombined, compile(NGINX.to_string())),
        (Format::ApacheMicros, compile(format!("{APACHE} %D"))),
        (Format::ApacheSeconds, compile(format!("{APACHE} %T"))),
        (Format::Combined, compile(APACHE.to_string())),
        (Format::Common, compile(COMMON.to_string())),
    ]
}

fn same(fast: &Request<'_>, general: &Request<'_>) -> bool {
    // A request line with more than two spaces ("GET /a b HTTP/1.1", which
    // nginx answers 400 and logs as received) has no one right target: the
    // fast parser takes all between the method and the last word, the
    // layout the first word. Targets are compared when neither has a space.
    let spaced = |r: &Request<'_>| r.path.contains(&b' ');
    (spaced(fast) || spaced(general) || fast.path == general.path)
        && (
            fast.client,
            fast.logged_ms,
            fast.time_is,
            fast.duration_ms,
            fast.method,
            fast.status,
            fast.bytes,
        ) == (
            general.client,
            general.logged_ms,
            general.time_is,
            general.duration_ms,
            general.method,
            general.status,
            general.bytes,
        )
}

fuzz_target!(|line: &[u8]| {
    for f in Format::ALL {
        if let Ok(r) = f.parser().parse(line) {
            // The interval never panics either, whatever the numbers.
            let _ = r.interval(u64::MAX / 4);
        }
    }
    for (format, mut general) in pairs() {
        let LineParser::Combined(mut fast) = format.parser() else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (fast.parse(line), general.parse(line)) {
            assert!(same(&a, &b), "{format:?} reads {a:?}, the layout {b:?}");
        }
    }
});
