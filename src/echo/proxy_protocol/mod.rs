//! PROXY protocol v1 (text) and v2 (binary) header parsing. Pure functions over byte slices:
//! no I/O, never panics, whatever the bytes. The server feeds it what it has read so far and
//! reads more while the answer is [`Parse::Incomplete`].
//!
//! Spec: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>. AWS NLBs send v2 with
//! TLVs CRC32C (0x03), NOOP (0x04) and, through a VPC endpoint, 0xEA (subtype 0x01 = the
//! `vpce-...` id).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

use super::crc32c::crc32c;

/// The 12-byte signature that opens every v2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// A v1 header is at most 107 bytes, CRLF included.
pub const V1_MAX_LEN: usize = 107;
/// Largest v2 header accepted (16-byte prefix + address block + TLVs). The spec allows 64 KiB;
/// an NLB header is well under 1 KiB, so anything larger is refused rather than buffered.
pub const V2_MAX_LEN: usize = 4096;

const TLV_CRC32C: u8 = 0x03;
const TLV_NOOP: u8 = 0x04;
const TLV_AWS: u8 = 0xEA;
const AWS_SUBTYPE_VPCE_ID: u8 = 0x01;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyHeader {
    /// 1 or 2.
    pub version: u8,
    /// `proxy` (carries the client's address) or `local` (a health check: no client).
    pub command: Command,
    /// The original client's address (absent for LOCAL, UNKNOWN and unsupported families).
    pub source: Option<SocketAddr>,
    /// The address the client connected to.
    pub destination: Option<SocketAddr>,
    /// The VPC endpoint id from AWS TLV 0xEA/0x01, when the connection came through PrivateLink.
    pub vpce_id: Option<String>,
    /// Whether a CRC32C TLV was present (it is verified: a wrong one rejects the header).
    pub crc32c_verified: bool,
}

/// The v2 command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// A relayed connection.
    Proxy,
    /// A connection the proxy made itself (health check).
    Local,
}

/// The result of looking at the first bytes of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// Not enough bytes to decide: read more.
    Incomplete,
    /// The bytes do not start with a PROXY header.
    NotProxy,
    /// A header, and how many bytes it took.
    Header(ProxyHeader, usize),
}

/// Why bytes that start like a PROXY header are not a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// A v1 line is malformed (missing fields, bad address or port, no CRLF within 107 bytes).
    #[error("malformed PROXY v1 header: {0}")]
    BadV1(String),
    /// A v2 header has an unknown version or command nibble.
    #[error("unsupported PROXY v2 version/command byte 0x{0:02x}")]
    BadV2VersionCommand(u8),
    /// A v2 header's length field is too short for its address family or over the limit.
    #[error("bad PROXY v2 length {0}")]
    BadV2Length(usize),
    /// A TLV runs past the end of the header.
    #[error("truncated PROXY v2 TLV")]
    BadTlv,
    /// The CRC32C TLV does not match the header.
    #[error("PROXY v2 CRC32C mismatch")]
    CrcMismatch,
}

impl ProxyError {
    /// Stable short name for logs and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProxyError::BadV1(_) => "bad_v1",
            ProxyError::BadV2VersionCommand(_) => "bad_v2_version_command",
            ProxyError::BadV2Length(_) => "bad_v2_length",
            ProxyError::BadTlv => "bad_tlv",
            ProxyError::CrcMismatch => "crc32c_mismatch",
        }
    }
}

/// Looks for a PROXY header (v1 or v2) at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<Parse, ProxyError> {
    if buf.is_empty() {
        return Ok(Parse::Incomplete);
    }
    let v2_prefix = buf.len().min(V2_SIGNATURE.len());
    if buf[..v2_prefix] == V2_SIGNATURE[..v2_prefix] {
        return if buf.len() < V2_SIGNATURE.len() {
            Ok(Parse::Incomplete)
        } else {
            parse_v2(buf)
        };
    }
    let v1_prefix = buf.len().min(6);
    if buf[..v1_prefix] == b"PROXY "[..v1_prefix] {
        return if buf.len() < 6 {
            Ok(Parse::Incomplete)
        } else {
            parse_v1(buf)
        };
    }
    Ok(Parse::NotProxy)
}

fn parse_v1(buf: &[u8]) -> Result<Parse, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX_LEN {
            Err(ProxyError::BadV1("no CRLF within 107 bytes".into()))
        } else {
            Ok(Parse::Incomplete)
        };
    };
    let line =
        std::str::from_utf8(&buf[..end]).map_err(|_| ProxyError::BadV1("not ASCII".into()))?;
    let fields: Vec<&str> = line.split(' ').collect();
    let bad = |m: &str| ProxyError::BadV1(m.to_string());
    let header = match fields.get(1).copied() {
        Some("UNKNOWN") => ProxyHeader {
            version: 1,
            command: Command::Proxy,
            source: None,
            destination: None,
            vpce_id: None,
            crc32c_verified: false,
        },
        Some(proto @ ("TCP4" | "TCP6")) => {
            let [_, _, src, dst, sport, dport] = fields[..] else {
                return Err(bad("expected PROXY TCPx SRC DST SPORT DPORT"));
            };
            let ip = |s: &str| -> Result<IpAddr, ProxyError> {
                let ip: IpAddr = s.parse().map_err(|_| bad("bad address"))?;
                match (proto, ip) {
                    ("TCP4", IpAddr::V4(_)) | ("TCP6", IpAddr::V6(_)) => Ok(ip),
                    _ => Err(bad("address family does not match the protocol")),
                }
            };
            let port = |s: &str| -> Result<u16, ProxyError> {
                // The spec forbids leading zeros and signs; `parse` would accept "+1".
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("bad port"));
                }
                s.parse().map_err(|_| bad("bad port"))
            };
            ProxyHeader {
                version: 1,
                command: Command::Proxy,
                source: Some(SocketAddr::new(ip(src)?, port(sport)?)),
                destination: Some(SocketAddr::new(ip(dst)?, port(dport)?)),
                vpce_id: None,
                crc32c_verified: false,
            }
        }
        _ => return Err(bad("protocol must be TCP4, TCP6 or UNKNOWN")),
    };
    Ok(Parse::Header(header, end + 2))
}

fn parse_v2(buf: &[u8]) -> Result<Parse, ProxyError> {
    if buf.len() < 16 {
        return Ok(Parse::Incomplete);
    }
    let ver_cmd = buf[12];
    let command = match ver_cmd {
        0x20 => Command::Local,
        0x21 => Command::Proxy,
        other => return Err(ProxyError::BadV2VersionCommand(other)),
    };
    let family = buf[13];
    let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    let total = 16 + len;
    if total > V2_MAX_LEN {
        return Err(ProxyError::BadV2Length(len));
    }
    if buf.len() < total {
        return Ok(Parse::Incomplete);
    }
    let block = &buf[16..total];
    // High nibble: address family; low nibble: transport. Only the address matters here.
    let (addresses, tlv_start) = match family >> 4 {
        0x1 if block.len() >= 12 => {
            let src = Ipv4Addr::new(block[0], block[1], block[2], block[3]);
            let dst = Ipv4Addr::new(block[4], block[5], block[6], block[7]);
            let (sp, dp) = ports(&block[8..12]);
            (Some((IpAddr::V4(src), sp, IpAddr::V4(dst), dp)), 12)
        }
        0x2 if block.len() >= 36 => {
            let src: [u8; 16] = block[0..16].try_into().map_err(|_| ProxyError::BadTlv)?;
            let dst: [u8; 16] = block[16..32].try_into().map_err(|_| ProxyError::BadTlv)?;
            let (sp, dp) = ports(&block[32..36]);
            let (s, d) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            (Some((IpAddr::V6(s), sp, IpAddr::V6(d), dp)), 36)
        }
        0x3 if block.len() >= 216 => (None, 216),
        0x0 => (None, 0),
        // LOCAL: the receiver must discard the address block, whatever it holds.
        0x1..=0x3 if command == Command::Local => (None, block.len()),
        0x1..=0x3 => return Err(ProxyError::BadV2Length(len)),
        // Unknown family: the spec says accept and ignore the address block.
        _ => (None, block.len()),
    };
    let mut header = ProxyHeader {
        version: 2,
        command,
        source: None,
        destination: None,
        vpce_id: None,
        crc32c_verified: false,
    };
    if let (Command::Proxy, Some((s, sp, d, dp))) = (command, addresses) {
        header.source = Some(SocketAddr::new(s, sp));
        header.destination = Some(SocketAddr::new(d, dp));
    }
    read_tlvs(&buf[..total], 16 + tlv_start, &mut header)?;
    Ok(Parse::Header(header, total))
}

fn ports(b: &[u8]) -> (u16, u16) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

fn read_tlvs(header_bytes: &[u8], mut at: usize, out: &mut ProxyHeader) -> Result<(), ProxyError> {
    while at < header_bytes.len() {
        let rest = &header_bytes[at..];
        if rest.len() < 3 {
            return Err(ProxyError::BadTlv);
        }
        let kind = rest[0];
        let len = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        let value = rest.get(3..3 + len).ok_or(ProxyError::BadTlv)?;
        match kind {
            TLV_CRC32C => {
                let expected: [u8; 4] = value.try_into().map_err(|_| ProxyError::BadTlv)?;
                // The checksum covers the whole header with the checksum field zeroed.
                let mut copy = header_bytes.to_vec();
                copy[at + 3..at + 7].fill(0);
                if crc32c(&copy) != u32::from_be_bytes(expected) {
                    return Err(ProxyError::CrcMismatch);
                }
                out.crc32c_verified = true;
            }
            TLV_AWS if value.first() == Some(&AWS_SUBTYPE_VPCE_ID) => {
                out.vpce_id = Some(String::from_utf8_lossy(&value[1..]).into_owned());
            }
            TLV_NOOP => {}
            _ => {}
        }
        at += 3 + len;
    }
    Ok(())
}

/// Encodes a v2 PROXY header for a TCP connection from `source` to `destination` (same family),
/// with `tlvs` (type, value) and, when `crc` is set, a correct CRC32C TLV last. For tests and
/// tools that play the load balancer.
pub fn encode_v2(
    source: SocketAddr,
    destination: SocketAddr,
    tlvs: &[(u8, Vec<u8>)],
    crc: bool,
) -> Vec<u8> {
    let mut block = Vec::new();
    let family = match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
            0x11
        }
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            block.extend_from_slice(&v6(s).octets());
            block.extend_from_slice(&v6(d).octets());
            0x21
        }
    };
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&destination.port().to_be_bytes());
    for (kind, value) in tlvs {
        block.push(*kind);
        block.extend_from_slice(&(value.len() as u16).to_be_bytes());
        block.extend_from_slice(value);
    }
    let crc_at = block.len() + 16 + 3;
    if crc {
        block.extend_from_slice(&[TLV_CRC32C, 0, 4, 0, 0, 0, 0]);
    }
    let mut out = V2_SIGNATURE.to_vec();
    out.push(0x21);
    out.push(family);
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(&block);
    if crc {
        let sum = crc32c(&out);
        out[crc_at..crc_at + 4].copy_from_slice(&sum.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
