//! Property tests (proptest, bounded cases, run with the unit tests): whatever the bytes, the
//! parser never panics, never claims more bytes than it was given, and decides the same way when
//! more bytes arrive; headers it encodes parse back to the same addresses whatever follows them;
//! a CRC-protected header with any one byte changed is never accepted with other addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::*;

fn socket_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| (
                SocketAddr::new(IpAddr::V4(Ipv4Addr::from(s)), sp),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::from(d)), dp),
            )),
        (
            any::<[u8; 16]>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| (
                SocketAddr::new(IpAddr::V6(Ipv6Addr::from(s)), sp),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::from(d)), dp),
            )),
    ]
}

/// TLVs an NLB sends besides the CRC: NOOP padding and the PrivateLink endpoint id.
fn tlvs() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..32).prop_map(|v| (TLV_NOOP, v)),
            "vpce-[0-9a-f]{8,17}".prop_map(|id| {
                let mut v = vec![AWS_SUBTYPE_VPCE_ID];
                v.extend_from_slice(id.as_bytes());
                (TLV_AWS, v)
            }),
        ],
        0..4,
    )
}

/// Bytes that start like a header often enough to reach the parser's deeper paths.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(any::<u8>(), 0..600);
    prop_oneof![
        body.clone(),
        body.clone().prop_map(|b| [&V2_SIGNATURE[..], &b].concat()),
        body.clone().prop_map(|b| [&b"PROXY "[..], &b].concat()),
        (body, any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(b, vc, fam, len)| {
            let mut v = V2_SIGNATURE.to_vec();
            v.extend_from_slice(&[vc, fam]);
            v.extend_from_slice(&len.to_be_bytes());
            v.extend_from_slice(&b);
            v
        }),
    ]
}

/// The v2 header's address family and transport byte (after the 12-byte signature and the
/// version and command byte).
const FAMILY_BYTE: usize = 13;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_parse_without_panic_within_the_buffer(buf in hostile_bytes()) {
        if let Ok(Parse::Header(_, used)) = parse(&buf) {
            prop_assert!(used > 0 && used <= buf.len());
            prop_assert!(used <= V2_MAX_LEN.max(V1_MAX_LEN));
        }
    }

    /// A decision made on some bytes holds when more arrive: the server may stop reading as
    /// soon as the parser decides.
    #[test]
    fn a_decision_does_not_change_when_more_bytes_arrive(
        buf in hostile_bytes(),
        more in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let first = parse(&buf);
        let longer = parse(&[&buf[..], &more].concat());
        match first {
            Ok(Parse::Incomplete) => {}
            Ok(decided @ (Parse::NotProxy | Parse::Header(..))) => {
                prop_assert_eq!(longer, Ok(decided));
            }
            Err(_) => prop_assert!(longer.is_err(), "{:?}", longer),
        }
    }

    #[test]
    fn encoded_v2_headers_parse_back_whatever_follows(
        (source, destination) in socket_pair(),
        tlvs in tlvs(),
        crc in any::<bool>(),
        rest in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = encode_v2(source, destination, &tlvs, crc);
        let buf = [&header[..], &rest].concat();
        let Ok(Parse::Header(h, used)) = parse(&buf) else {
            return Err(TestCaseError::fail(format!("{:?}", parse(&buf))));
        };
        prop_assert_eq!(used, header.len());
        prop_assert_eq!((h.version, h.command), (2, Command::Proxy));
        prop_assert_eq!((h.source, h.destination), (Some(source), Some(destination)));
        prop_assert_eq!(h.crc32c_verified, crc);
        let vpce = tlvs.iter().rev().find(|(t, _)| *t == TLV_AWS)
            .map(|(_, v)| String::from_utf8(v[1..].to_vec()).unwrap());
        if vpce.is_some() {
            prop_assert!(h.vpce_id.is_some());
        }
        // Every strict prefix is just not there yet.
        for cut in 0..header.len() {
            prop_assert_eq!(parse(&header[..cut]), Ok(Parse::Incomplete), "cut at {}", cut);
        }
    }

    #[test]
    fn v1_lines_parse_back(
        (source, destination) in socket_pair(),
        rest in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
        let line = format!(
            "PROXY {family} {} {} {} {}\r\n",
            source.ip(), destination.ip(), source.port(), destination.port()
        );
        let buf = [line.as_bytes(), &rest].concat();
        let Ok(Parse::Header(h, used)) = parse(&buf) else {
            return Err(TestCaseError::fail(format!("{line:?}: {:?}", parse(&buf))));
        };
        prop_assert_eq!(used, line.len());
        prop_assert_eq!((h.source, h.destination), (Some(source), Some(destination)));
    }

    /// The CRC32C TLV is there to catch corruption: with one byte changed anywhere, the header
    /// is refused, not a header at all, or still says the same addresses (or none).
    #[test]
    fn a_corrupted_crc_protected_header_never_yields_other_addresses(
        (source, destination) in socket_pair(),
        tlvs in tlvs(),
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let mut header = encode_v2(source, destination, &tlvs, true);
        let i = at.index(header.len());
        header[i] ^= flip;
        // An unknown family byte is accepted without addresses (the spec's rule: use the TCP
        // peer), which claims nothing.
        if let Ok(Parse::Header(h, _)) = parse(&header) {
            // The one corruption no CRC can catch: a family byte turned from IPv4 to IPv6 when
            // the TLVs after the IPv4 addresses are exactly 24 bytes long. The IPv6 address
            // block then swallows every TLV, the CRC's with them, and what is left is a valid
            // header with nothing to verify (the CRC TLV is optional). Such a header is never
            // reported as verified.
            if i == FAMILY_BYTE && !h.crc32c_verified {
                return Ok(());
            }
            let addresses = (h.source, h.destination);
            prop_assert!(
                addresses == (Some(source), Some(destination)) || addresses == (None, None),
                "byte {} ^ {:#04x} accepted with other addresses {:?}", i, flip, addresses
            );
        }
    }
}
