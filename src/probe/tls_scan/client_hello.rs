//! A ClientHello built by hand, offering exactly what one scan step asks about: one protocol
//! version (TLS 1.0-1.2 through `legacy_version`, TLS 1.3 through `supported_versions`) and a
//! given list of suites. rustls cannot offer TLS 1.0/1.1, non-forward-secret or CBC suites, so
//! it cannot show that a listener accepts them; these bytes can. No key exchange is ever
//! finished, so the TLS 1.3 key share only has to be well-formed.

use super::TlsProtocol;

/// Record content type of a handshake.
const HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;

/// Named groups offered: x25519, secp256r1, secp384r1 (what ELB listeners support).
const GROUPS: [u16; 3] = [0x001d, 0x0017, 0x0018];
/// Signature schemes offered (TLS 1.2+): ECDSA P-256/P-384, RSA-PSS, RSA PKCS#1, Ed25519.
const SIG_SCHEMES: [u16; 9] = [
    0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807,
];
/// A valid x25519 public key (the curve's base point, u = 9). A real server computes a shared
/// secret from it without complaint (an all-zero share would be refused as low-order).
const X25519_SHARE: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 9;
    k
};

/// The ClientHello record offering `version` and `suites` (code points), with SNI `server_name`
/// when it is a DNS name (an IP literal is not sent as SNI, as browsers do). `random` fills the
/// client random and the legacy session id, so servers that key anything on them see
/// distinct hellos.
pub fn build(version: TlsProtocol, suites: &[u16], server_name: &str, random: [u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    // TLS 1.3 hides in a 1.2-looking hello (RFC 8446 4.1.2).
    let legacy = if version == TlsProtocol::Tls13 {
        TlsProtocol::Tls12
    } else {
        version
    };
    body.extend_from_slice(&legacy.wire().to_be_bytes());
    body.extend_from_slice(&random);
    // A 32-byte legacy session id: middlebox-compatibility mode for TLS 1.3, harmless below.
    body.push(32);
    body.extend_from_slice(&random);
    put_u16(&mut body, (suites.len() * 2) as u16);
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression methods: null only

    let mut ext = Vec::with_capacity(160);
    if is_dns_name(server_name) {
        let name = server_name.as_bytes();
        let mut sni = Vec::with_capacity(name.len() + 5);
        put_u16(&mut sni, (name.len() + 3) as u16);
        sni.push(0); // host_name
        put_u16(&mut sni, name.len() as u16);
        sni.extend_from_slice(name);
        extension(&mut ext, 0x0000, &sni);
    }
    extension(&mut ext, 0x000a, &u16_list(&GROUPS));
    extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    if version >= TlsProtocol::Tls12 {
        extension(&mut ext, 0x000d, &u16_list(&SIG_SCHEMES));
    }
    extension(&mut ext, 0x0017, &[]); // extended_master_secret
    extension(&mut ext, 0xff01, &[0]); // renegotiation_info: initial handshake
    if version == TlsProtocol::Tls13 {
        extension(&mut ext, 0x002b, &[2, 0x03, 0x04]); // supported_versions: TLS 1.3 only
        extension(&mut ext, 0x002d, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
        let mut share = Vec::with_capacity(38);
        put_u16(&mut share, 36);
        put_u16(&mut share, 0x001d);
        put_u16(&mut share, 32);
        share.extend_from_slice(&X25519_SHARE);
        extension(&mut ext, 0x0033, &share);
    }
    put_u16(&mut body, ext.len() as u16);
    body.extend_from_slice(&ext);

    let mut record = Vec::with_capacity(body.len() + 9);
    record.push(HANDSHAKE);
    // Record version 1.0 for the first flight: what every client sends, so old servers parse it.
    put_u16(&mut record, TlsProtocol::Tls10.wire());
    put_u16(&mut record, (body.len() + 4) as u16);
    record.push(CLIENT_HELLO);
    record.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    record.extend_from_slice(&body);
    record
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 2 + 2);
    put_u16(&mut out, (items.len() * 2) as u16);
    for i in items {
        put_u16(&mut out, *i);
    }
    out
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(out, kind);
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

/// SNI carries DNS names only (RFC 6066), at most 253 bytes (also keeps lengths in range).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.parse::<std::net::IpAddr>().is_err()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extension types present, in order, after walking the hello's fields.
    fn extensions(record: &[u8]) -> Vec<(u16, Vec<u8>)> {
        assert_eq!(record[0], 22);
        let len = u16::from_be_bytes([record[3], record[4]]) as usize;
        assert_eq!(record.len(), 5 + len, "record length");
        let hs = &record[5..];
        assert_eq!(hs[0], 1);
        let body_len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
        assert_eq!(hs.len(), 4 + body_len, "handshake length");
        let b = &hs[4..];
        let mut i = 2 + 32;
        i += 1 + b[i] as usize;
        i += 2 + u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        i += 1 + b[i] as usize;
        let ext_len = u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        i += 2;
        assert_eq!(b.len(), i + ext_len, "extensions length");
        let mut out = Vec::new();
        while i < b.len() {
            let kind = u16::from_be_bytes([b[i], b[i + 1]]);
            let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            out.push((kind, b[i + 4..i + 4 + len].to_vec()));
            i += 4 + len;
        }
        out
    }

    #[test]
    fn tls10_hello_offers_one_suite_without_tls13_extensions() {
        let r = build(TlsProtocol::Tls10, &[0xc013], "app.example.com", [7; 32]);
        // record header, handshake header, legacy_version 1.0
        assert_eq!(&r[..3], &[22, 3, 1]);
        assert_eq!(&r[9..11], &[3, 1]);
        // suites: length 2, then 0xc013
        let suites_at = 9 + 2 + 32 + 1 + 32;
        assert_eq!(&r[suites_at..suites_at + 4], &[0, 2, 0xc0, 0x13]);
        let kinds: Vec<u16> = extensions(&r).into_iter().map(|e| e.0).collect();
        assert_eq!(kinds, [0x0000, 0x000a, 0x000b, 0x0017, 0xff01]);
    }

    #[test]
    fn tls13_hello_has_supported_versions_and_an_x25519_share() {
        let r = build(TlsProtocol::Tls13, &[0x1301], "app.example.com", [1; 32]);
        assert_eq!(&r[9..11], &[3, 3], "legacy_version stays 1.2");
        let ext = extensions(&r);
        let get = |k: u16| ext.iter().find(|e| e.0 == k).map(|e| e.1.clone());
        assert_eq!(get(0x002b).unwrap(), [2, 3, 4]);
        let share = get(0x0033).unwrap();
        assert_eq!(&share[..6], &[0, 36, 0, 0x1d, 0, 32]);
        assert_eq!(share.len(), 38);
        let sni = get(0x0000).unwrap();
        assert_eq!(&sni[5..], b"app.example.com");
    }

    #[test]
    fn ip_literals_and_odd_names_are_not_sent_as_sni() {
        let r = build(TlsProtocol::Tls12, &[0xc02f], "127.0.0.1", [0; 32]);
        assert!(extensions(&r).iter().all(|e| e.0 != 0));
        let r = build(TlsProtocol::Tls12, &[0xc02f], "bad name\n", [0; 32]);
        assert!(extensions(&r).iter().all(|e| e.0 != 0));
    }
}
