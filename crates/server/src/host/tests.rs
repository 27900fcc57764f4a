use super::*;

#[test]
fn hosts_of_rfc_3986_are_accepted_as_written() {
    for host in [
        "tr.example.net",
        "tr.example.net:8080",
        "TR.Example.NET:0",
        "192.0.2.1",
        "192.0.2.1:65535",
        "[::1]",
        "[2001:db8::1]:443",
        "[::ffff:192.0.2.1]",
        "xn--bcher-kva.example",
        "a_b~c-d.e",
        "%41bc.example",
        "a!$&'()*+,;=b",
        "999.1.1.1",
    ] {
        assert_eq!(check(host.as_bytes()), Ok(host), "{host}");
    }
}

#[test]
fn anything_else_is_refused_saying_why() {
    use BadHost::*;
    for (host, why) in [
        (&b""[..], Empty),
        (b":80", Empty),
        (b"a b", Forbidden { offset: 1 }),
        (b"a\"b", Forbidden { offset: 1 }),
        (b"a\\b", Forbidden { offset: 1 }),
        (b"a\tb", Forbidden { offset: 1 }),
        (b"a/b", Forbidden { offset: 1 }),
        (b"user@a", Forbidden { offset: 4 }),
        (b"\xc3\xa9.example", Forbidden { offset: 0 }),
        (b"a\x7f", Forbidden { offset: 1 }),
        (b"a%2", Forbidden { offset: 1 }),
        (b"a%zz", Forbidden { offset: 1 }),
        (b"a:", Port),
        (b"a:99999", Port),
        (b"a:123456", Port),
        (b"a:8o", Port),
        (b"a:-1", Port),
        (b"a:80:80", Forbidden { offset: 1 }),
        (b"[::1", IpLiteral),
        (b"[::1]x", IpLiteral),
        (b"[::1]:", Port),
        (b"[v1.x]", IpLiteral),
        (b"[192.0.2.1]", IpLiteral),
        (b"::1", Forbidden { offset: 0 }),
        (b"a]:80", Forbidden { offset: 1 }),
    ] {
        assert_eq!(check(host), Err(why), "{:?}", String::from_utf8_lossy(host));
    }
}

#[test]
fn the_reg_name_table_is_rfc_3986s_unreserved_and_sub_delims() {
    for b in 0..=255u8 {
        let rfc = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
        assert_eq!(super::REG_NAME[usize::from(b)], rfc, "byte {b:#04x}");
    }
}
