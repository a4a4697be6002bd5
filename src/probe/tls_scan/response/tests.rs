use super::*;

/// A ServerHello record as OpenSSL 3 sends it for TLS 1.0 with ECDHE-RSA-AES256-SHA (recorded
/// from `openssl s_server -tls1 -cipher ECDHE-RSA-AES256-SHA@SECLEVEL=0`, random zeroed).
fn tls10_hello() -> Vec<u8> {
    let mut body = vec![3, 1];
    body.extend_from_slice(&[0; 32]);
    body.push(0); // no session id
    body.extend_from_slice(&[0xc0, 0x14, 0]);
    body.extend_from_slice(&[0, 5, 0xff, 0x01, 0, 1, 0]); // renegotiation_info
    record(22, &handshake(2, &body))
}

fn tls13_hello(random: [u8; 32]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(&[0xaa; 32]);
    body.extend_from_slice(&[0x13, 0x02, 0]);
    let ext = [0x00, 0x2b, 0, 2, 3, 4];
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    record(22, &handshake(2, &body))
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, 3, 3];
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn tls10_server_hello_without_supported_versions_is_accepted_at_its_legacy_version() {
    assert_eq!(
        parse(&tls10_hello()),
        Parse::Reply(ServerReply::Hello {
            version: 0x0301,
            suite: 0xc014,
            retry: false
        })
    );
}

#[test]
fn tls13_is_told_by_supported_versions_and_hrr_counts_as_accepted() {
    let hello = |r| parse(&tls13_hello(r));
    assert_eq!(
        hello([5; 32]),
        Parse::Reply(ServerReply::Hello {
            version: 0x0304,
            suite: 0x1302,
            retry: false
        })
    );
    assert_eq!(
        hello(HRR_RANDOM),
        Parse::Reply(ServerReply::Hello {
            version: 0x0304,
            suite: 0x1302,
            retry: true
        })
    );
}

#[test]
fn alerts_are_refusals_with_their_description() {
    // What OpenSSL sends to a TLS 1.0 hello when it only speaks 1.2+: fatal protocol_version.
    let bytes = [21, 3, 1, 0, 2, 2, 70];
    assert_eq!(
        parse(&bytes),
        Parse::Reply(ServerReply::Alert { description: 70 })
    );
    assert_eq!(alert_name(70), "protocol_version");
    assert_eq!(alert_name(40), "handshake_failure");
}

#[test]
fn every_prefix_of_a_hello_needs_more_and_fragments_are_joined() {
    let whole = tls13_hello([5; 32]);
    for n in 0..whole.len() {
        assert_eq!(parse(&whole[..n]), Parse::NeedMore, "prefix {n}");
    }
    // The same handshake message split over two records.
    let hs = &whole[5..];
    let mut split = record(22, &hs[..10]);
    split.extend_from_slice(&record(22, &hs[10..]));
    assert_eq!(parse(&split), parse(&whole));
}

#[test]
fn garbage_is_not_tls() {
    assert!(matches!(
        parse(b"HTTP/1.1 400 Bad Request\r\n"),
        Parse::Reply(ServerReply::NotTls(_))
    ));
    assert!(matches!(
        parse(&record(23, &[1, 2, 3])),
        Parse::Reply(ServerReply::NotTls(_))
    ));
    assert!(matches!(
        parse(&record(22, &handshake(11, &[0; 4]))),
        Parse::Reply(ServerReply::NotTls(_))
    ));
    // A ServerHello whose session id runs past its end.
    let bad = record(22, &handshake(2, &[3, 3, 0, 0]));
    assert_eq!(
        parse(&bad),
        Parse::Reply(ServerReply::NotTls("malformed ServerHello"))
    );
}

/// xorshift64*: deterministic pseudo-random bytes, so a failure can be replayed.
fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 24) as u8
        })
        .collect()
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20_000 {
        let n = (i % 300) as usize;
        let _ = parse(&bytes(&mut seed, n));
        // Valid headers with random payloads reach the deeper parsers.
        let mut hello = tls13_hello([5; 32]);
        let flips = bytes(&mut seed, 4);
        let at = 5 + (flips[0] as usize * 256 + flips[1] as usize) % (hello.len() - 5);
        hello[at] = flips[2];
        hello.truncate(hello.len() - (flips[3] as usize % 8));
        let _ = parse(&hello);
    }
}
