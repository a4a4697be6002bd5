//! Parser tests: valid v1/v2 headers, LOCAL, TLVs, and garbage, truncated and oversized input.

use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn header(buf: &[u8]) -> (ProxyHeader, usize) {
    match parse(buf).unwrap() {
        Parse::Header(h, n) => (h, n),
        other => panic!("expected a header, got {other:?}"),
    }
}

#[test]
fn v1_tcp4_gives_source_destination_and_length() {
    let buf = b"PROXY TCP4 192.0.2.7 10.0.0.5 51234 443\r\nGET / HTTP/1.1\r\n";
    let (h, n) = header(buf);
    assert_eq!(n, 41);
    assert_eq!(h.version, 1);
    assert_eq!(h.source, Some(sa("192.0.2.7:51234")));
    assert_eq!(h.destination, Some(sa("10.0.0.5:443")));
    assert_eq!(&buf[n..n + 3], b"GET");
}

#[test]
fn v1_tcp6_and_unknown() {
    let (h, _) = header(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
    assert_eq!(h.source, Some(sa("[2001:db8::1]:1")));
    let (h, n) = header(b"PROXY UNKNOWN whatever follows\r\n");
    assert_eq!((h.source, n), (None, 32));
}

#[test]
fn v1_rejects_bad_fields() {
    for bad in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
        b"PROXY TCP4 ::1 ::1 1 2\r\n",
        b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        b"PROXY \xff\xfe\r\n",
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.as_str(), "bad_v1", "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn v1_without_crlf_is_incomplete_until_107_bytes_then_rejected() {
    assert_eq!(parse(b"PROXY TCP4 1.2.3.4").unwrap(), Parse::Incomplete);
    let long = [b"PROXY ".as_slice(), &[b'A'; 200]].concat();
    assert_eq!(parse(&long).unwrap_err().as_str(), "bad_v1");
}

#[test]
fn prefixes_are_incomplete_and_other_bytes_are_not_proxy() {
    assert_eq!(parse(b"").unwrap(), Parse::Incomplete);
    assert_eq!(parse(b"PRO").unwrap(), Parse::Incomplete);
    assert_eq!(parse(&V2_SIGNATURE[..7]).unwrap(), Parse::Incomplete);
    assert_eq!(parse(b"GET / HTTP/1.1\r\n").unwrap(), Parse::NotProxy);
    assert_eq!(parse(b"PROXX").unwrap(), Parse::NotProxy);
    assert_eq!(parse(b"\x16\x03\x01").unwrap(), Parse::NotProxy);
}

#[test]
fn v2_ipv4_with_crc_noop_and_vpce() {
    let vpce = [&[AWS_SUBTYPE_VPCE_ID][..], b"vpce-08d2bf15fac5001c9"].concat();
    let mut buf = encode_v2(
        sa("198.51.100.9:40000"),
        sa("10.0.1.2:8080"),
        &[(TLV_NOOP, vec![0; 5]), (TLV_AWS, vpce)],
        true,
    );
    let len = buf.len();
    buf.extend_from_slice(b"GET /");
    let (h, n) = header(&buf);
    assert_eq!(n, len);
    assert_eq!(h.version, 2);
    assert_eq!(h.command, Command::Proxy);
    assert_eq!(h.source, Some(sa("198.51.100.9:40000")));
    assert_eq!(h.destination, Some(sa("10.0.1.2:8080")));
    assert_eq!(h.vpce_id.as_deref(), Some("vpce-08d2bf15fac5001c9"));
    assert!(h.crc32c_verified);
}

#[test]
fn v2_ipv6() {
    let buf = encode_v2(sa("[2001:db8::7]:1"), sa("[2001:db8::8]:2"), &[], false);
    let (h, n) = header(&buf);
    assert_eq!(n, 16 + 36);
    assert_eq!(h.source, Some(sa("[2001:db8::7]:1")));
    assert!(!h.crc32c_verified);
}

#[test]
fn v2_crc_mismatch_is_rejected() {
    let mut buf = encode_v2(sa("1.2.3.4:1"), sa("5.6.7.8:2"), &[], true);
    buf[16] ^= 1; // flip a bit of the source address
    assert_eq!(parse(&buf).unwrap_err(), ProxyError::CrcMismatch);
}

#[test]
fn v2_local_is_accepted_without_a_client() {
    let mut buf = V2_SIGNATURE.to_vec();
    buf.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    let (h, n) = header(&buf);
    assert_eq!((h.command, h.source, n), (Command::Local, None, 16));
    // LOCAL with an address block (as an NLB health check may send) still has no client.
    let mut with_addr = encode_v2(sa("10.0.0.1:1"), sa("10.0.0.2:2"), &[], false);
    with_addr[12] = 0x20;
    let (h, _) = header(&with_addr);
    assert_eq!((h.command, h.source), (Command::Local, None));
    // LOCAL with a short block for its family: discarded, not an error.
    let mut short = V2_SIGNATURE.to_vec();
    short.extend_from_slice(&[0x20, 0x11, 0x00, 0x02, 0xaa, 0xbb]);
    assert_eq!(header(&short).1, 18);
}

#[test]
fn v2_truncated_at_every_length_is_incomplete() {
    let buf = encode_v2(
        sa("1.2.3.4:1"),
        sa("5.6.7.8:2"),
        &[(TLV_NOOP, vec![1, 2])],
        true,
    );
    for cut in 0..buf.len() {
        assert_eq!(
            parse(&buf[..cut]).unwrap(),
            Parse::Incomplete,
            "cut at {cut}"
        );
    }
}

#[test]
fn v2_bad_version_command_and_lengths() {
    let mut buf = encode_v2(sa("1.2.3.4:1"), sa("5.6.7.8:2"), &[], false);
    buf[12] = 0x11;
    assert_eq!(parse(&buf).unwrap_err().as_str(), "bad_v2_version_command");
    buf[12] = 0x22;
    assert_eq!(parse(&buf).unwrap_err().as_str(), "bad_v2_version_command");
    // PROXY over TCP4 with a block too short for two addresses.
    let mut short = V2_SIGNATURE.to_vec();
    short.extend_from_slice(&[0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]);
    assert_eq!(parse(&short).unwrap_err().as_str(), "bad_v2_length");
    // Oversized: refused from the length field alone, before any buffering.
    let mut huge = V2_SIGNATURE.to_vec();
    huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    assert_eq!(parse(&huge).unwrap_err(), ProxyError::BadV2Length(0xffff));
}

#[test]
fn v2_truncated_tlvs_are_rejected() {
    let mut buf = encode_v2(
        sa("1.2.3.4:1"),
        sa("5.6.7.8:2"),
        &[(TLV_NOOP, vec![0; 4])],
        false,
    );
    // Claim the NOOP is longer than what is left.
    let tlv = 16 + 12;
    buf[tlv + 2] = 40;
    assert_eq!(parse(&buf).unwrap_err(), ProxyError::BadTlv);
    // A CRC TLV of the wrong size.
    let bad_crc = encode_v2(
        sa("1.2.3.4:1"),
        sa("5.6.7.8:2"),
        &[(TLV_CRC32C, vec![1])],
        false,
    );
    assert_eq!(parse(&bad_crc).unwrap_err(), ProxyError::BadTlv);
}

#[test]
fn garbage_never_panics() {
    // A deterministic pseudo-random sweep, plus every prefix of the signature followed by noise.
    let mut x: u32 = 0x1234_5678;
    for round in 0..20_000 {
        let len = (round % 300) as usize;
        let mut buf = Vec::with_capacity(len + 16);
        if round % 3 == 0 {
            buf.extend_from_slice(&V2_SIGNATURE);
        } else if round % 3 == 1 {
            buf.extend_from_slice(b"PROXY ");
        }
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf.push(x as u8);
        }
        let _ = parse(&buf);
    }
}
