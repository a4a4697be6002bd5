use super::*;

#[test]
fn specs_in_all_three_forms() {
    assert_eq!(
        parse_spec("Example.com").unwrap(),
        ("example.com".into(), None, None)
    );
    assert_eq!(
        parse_spec("example.com:8443").unwrap(),
        ("example.com".into(), Some(8443), None)
    );
    assert_eq!(
        parse_spec("https://example.com:8443/healthz").unwrap(),
        ("example.com".into(), Some(8443), Some("/healthz".into()))
    );
}

#[test]
fn bad_specs_name_the_problem() {
    assert!(
        parse_spec("http://x.com")
            .unwrap_err()
            .to_string()
            .contains("http://")
    );
    assert!(
        parse_spec("x.com:99999")
            .unwrap_err()
            .to_string()
            .contains("99999")
    );
    assert!(
        parse_spec("bad host")
            .unwrap_err()
            .to_string()
            .contains("not a valid DNS name")
    );
    assert!(
        parse_spec("x.com/path")
            .unwrap_err()
            .to_string()
            .contains("https://")
    );
}

#[test]
fn acm_arns_are_checked() {
    assert!(
        check_acm_arn(
            "arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e"
        )
        .is_ok()
    );
    assert!(check_acm_arn("arn:aws:iam::1:role/x").is_err());
    assert!(check_acm_arn("arn:aws:acm:us-east-2:1:certificate/").is_err());
}

#[test]
fn sha256_accepts_colons_and_rejects_wrong_length() {
    let hex64 = "ab".repeat(32);
    assert_eq!(parse_sha256(&hex64).unwrap(), [0xab; 32]);
    let colons: Vec<&str> = std::iter::repeat_n("AB", 32).collect();
    assert_eq!(parse_sha256(&colons.join(":")).unwrap(), [0xab; 32]);
    assert!(
        parse_sha256("abcd")
            .unwrap_err()
            .to_string()
            .contains("32 bytes")
    );
}

#[test]
fn client_ip_modes() {
    assert_eq!(parse_client_ip("echo").unwrap(), ClientIpSpec::Echo);
    assert_eq!(
        parse_client_ip("json_pointer:/origin").unwrap(),
        ClientIpSpec::JsonPointer("/origin".into())
    );
    assert_eq!(
        parse_client_ip("header:X-Client-IP").unwrap(),
        ClientIpSpec::Header("x-client-ip".into())
    );
    assert!(parse_client_ip("maybe").is_err());
}

#[test]
fn ipv6_literals_with_and_without_port_and_scheme() {
    assert_eq!(
        parse_spec("[::1]:18700").unwrap(),
        ("::1".into(), Some(18700), None)
    );
    assert_eq!(
        parse_spec("[2001:DB8::1]:443").unwrap(),
        ("2001:db8::1".into(), Some(443), None)
    );
    assert_eq!(parse_spec("[::1]").unwrap(), ("::1".into(), None, None));
    assert_eq!(parse_spec("::1").unwrap(), ("::1".into(), None, None));
    assert_eq!(
        parse_spec("https://[::1]:8443/healthz").unwrap(),
        ("::1".into(), Some(8443), Some("/healthz".into()))
    );
    assert_eq!(
        parse_spec("127.0.0.1:8443").unwrap(),
        ("127.0.0.1".into(), Some(8443), None)
    );
}

#[test]
fn malformed_ipv6_specs_say_what_is_wrong() {
    let err = |spec: &str| parse_spec(spec).unwrap_err().to_string();
    assert_eq!(err("[::1:443"), "`[::1:443`: `[` without a closing `]`");
    assert_eq!(err("[nope]:443"), "`nope` is not an IPv6 address");
    assert_eq!(
        err("2001:db8::1:99999"),
        "`2001:db8::1:99999`: write an IPv6 address with a port as [address]:port"
    );
    assert_eq!(err("[::1]:0"), "`0` is not a port number (1-65535)");
}
