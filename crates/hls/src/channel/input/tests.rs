use super::*;

#[test]
fn input_specs() {
    assert_eq!(InputSpec::parse("-"), Ok(InputSpec::Stdin));
    assert_eq!(InputSpec::parse("a.ts"), Ok(InputSpec::File("a.ts".into())));
    assert_eq!(
        InputSpec::parse("udp://@239.1.1.1:5000"),
        Ok(InputSpec::Udp("239.1.1.1:5000".parse().expect("addr")))
    );
    assert!(InputSpec::parse("rtmp://h/x").is_err());
    assert!(InputSpec::parse("udp://nonsense").is_err());
}

#[cfg(feature = "http-input")]
#[test]
fn http_input_specs() {
    assert_eq!(
        InputSpec::parse("http://127.0.0.1:8080/live.ts?x=1"),
        Ok(InputSpec::Http(HttpUrl {
            host: "127.0.0.1".into(),
            port: 8080,
            path: "/live.ts?x=1".into()
        }))
    );
    assert_eq!(
        InputSpec::parse("http://example.net"),
        Ok(InputSpec::Http(HttpUrl {
            host: "example.net".into(),
            port: 80,
            path: "/".into()
        }))
    );
    assert!(InputSpec::parse("http://h:99999/").is_err());
}

#[test]
fn input_errors_say_what_was_expected() {
    let message = |s: &str| InputSpec::parse(s).map_err(|e| e.to_string()).err();
    assert_eq!(
        message("rtmp://h/x").as_deref(),
        Some("rtmp://h/x: unsupported scheme (file, -, udp:// or http://)")
    );
    assert_eq!(
        message("udp://nonsense").as_deref(),
        Some("udp://nonsense: expected udp://HOST:PORT with a numeric address: invalid socket address syntax")
    );
}

#[cfg(feature = "http-input")]
#[test]
fn http_input_errors_say_what_was_expected() {
    let message = |s: &str| InputSpec::parse(s).map_err(|e| e.to_string()).err();
    assert_eq!(
        message("http://h:99999/").as_deref(),
        Some("http://h:99999/: bad port \"99999\"")
    );
    assert_eq!(
        message("http:///x").as_deref(),
        Some("http:///x: expected http://HOST[:PORT]/PATH")
    );
}

#[cfg(not(feature = "http-input"))]
#[test]
fn without_the_feature_http_inputs_are_refused_as_such() {
    for input in ["http://127.0.0.1:8080/live.ts", "http:///x"] {
        assert_eq!(
            InputSpec::parse(input).map_err(|e| e.to_string()),
            Err(format!(
                "{input}: built without HTTP input (cargo feature http-input)"
            ))
        );
    }
}
