//! Reading a server's first answer to a hand-built ClientHello: a ServerHello (the offer was
//! accepted: which version and suite it picked, TLS 1.3 told by its `supported_versions`
//! extension; a HelloRetryRequest counts too), an alert (refused, and why), or something that is
//! not TLS. Pure, bounded and total: any bytes give an answer, never a panic.

/// HelloRetryRequest's fixed `random` (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Most bytes read while waiting for the ServerHello (it is ~100 bytes; a huge handshake
/// message first is not a TLS server answering a hello).
pub const MAX_READ: usize = 16 * 1024;

/// What the bytes so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// Not enough bytes yet to tell.
    NeedMore,
    /// The server's answer.
    Reply(ServerReply),
}

/// The server's first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerReply {
    /// A ServerHello (or HelloRetryRequest): the server accepted the offer.
    Hello {
        /// The version it picked (wire code; `supported_versions` wins over `legacy_version`).
        version: u16,
        /// The suite it picked (code point).
        suite: u16,
        /// It was a HelloRetryRequest (TLS 1.3 asking for another key share).
        retry: bool,
    },
    /// A TLS alert: refused.
    Alert {
        /// Alert description code (40 handshake_failure, 70 protocol_version, ...).
        description: u8,
    },
    /// The bytes are not a TLS answer (or break the protocol), with what was wrong.
    NotTls(&'static str),
}

/// The standard name of an alert description, e.g. `handshake_failure`.
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        120 => "no_application_protocol",
        _ => "other",
    }
}

/// Parses the bytes received so far.
pub fn parse(buf: &[u8]) -> Parse {
    // The handshake message may span records: gather handshake payloads until it is whole.
    let mut handshake: Vec<u8> = Vec::new();
    let mut at = 0;
    loop {
        let Some(header) = buf.get(at..at + 5) else {
            return Parse::NeedMore;
        };
        let (kind, major) = (header[0], header[1]);
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if major != 3 {
            return reply(ServerReply::NotTls("not a TLS record"));
        }
        if len == 0 || len > 16384 + 256 {
            return reply(ServerReply::NotTls("bad record length"));
        }
        let Some(payload) = buf.get(at + 5..at + 5 + len) else {
            return Parse::NeedMore;
        };
        at += 5 + len;
        match kind {
            21 if handshake.is_empty() => {
                return match payload {
                    [_level, description, ..] => reply(ServerReply::Alert {
                        description: *description,
                    }),
                    _ => reply(ServerReply::NotTls("truncated alert")),
                };
            }
            22 => {
                handshake.extend_from_slice(payload);
                if let Some(parsed) = server_hello(&handshake) {
                    return parsed;
                }
            }
            _ => return reply(ServerReply::NotTls("unexpected record type")),
        }
    }
}

fn reply(r: ServerReply) -> Parse {
    Parse::Reply(r)
}

/// `None` while the first handshake message is incomplete.
fn server_hello(hs: &[u8]) -> Option<Parse> {
    let header = hs.get(..4)?;
    if header[0] != 2 {
        return Some(reply(ServerReply::NotTls(
            "first handshake message is not a ServerHello",
        )));
    }
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    if len > MAX_READ {
        return Some(reply(ServerReply::NotTls("ServerHello too long")));
    }
    let body = hs.get(4..4 + len)?;
    Some(reply(
        read_hello(body).unwrap_or(ServerReply::NotTls("malformed ServerHello")),
    ))
}

/// A cursor over a byte slice whose reads fail (None) instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

fn read_hello(body: &[u8]) -> Option<ServerReply> {
    let mut r = Reader(body);
    let mut version = r.u16()?;
    let random = r.take(32)?;
    let sid_len = r.u8()? as usize;
    r.take(sid_len)?;
    let suite = r.u16()?;
    let _compression = r.u8()?;
    // TLS 1.0/1.1 ServerHellos may end here, without extensions.
    if let Some(ext_len) = r.u16() {
        let mut ext = Reader(r.take(ext_len as usize)?);
        while let Some(kind) = ext.u16() {
            let len = ext.u16()? as usize;
            let data = ext.take(len)?;
            if kind == 0x002b {
                version = Reader(data).u16()?;
            }
        }
    }
    Some(ServerReply::Hello {
        version,
        suite,
        retry: random == HRR_RANDOM,
    })
}

#[cfg(test)]
mod tests;
