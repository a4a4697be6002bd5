//! One line of the text exposition, written with plain appends.
//!
//! A scrape of 100,000 targets writes about two million lines; `write!` runs each through the
//! formatting machinery (argument tables, `Display` per piece, `Formatter::pad`), which made up
//! most of a scrape's CPU. Label values here are already escaped by the caller.

use std::net::IpAddr;

use super::per_target::Address;

/// A line being written: `name{labels} value\n`.
pub struct Line<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Line<'a> {
    /// Starts the line of metric `name`.
    pub fn start(out: &'a mut String, name: &str) -> Self {
        out.push_str(name);
        out.push('{');
        Line { out, first: true }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// Adds `key="value"` (`value` already escaped).
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.comma();
        self.out.push_str(key);
        self.out.push_str("=\"");
        self.out.push_str(value);
        self.out.push('"');
        self
    }

    /// Adds `address="<ip>"` (empty for a target-level series).
    pub fn address(mut self, address: Address) -> Self {
        self.comma();
        self.out.push_str("address=\"");
        if let Some(ip) = address.0 {
            push_ip(self.out, ip);
        }
        self.out.push('"');
        self
    }

    /// Ends the line with its value.
    pub fn value(self, v: f64) {
        self.out.push_str("} ");
        push_f64(self.out, v);
        self.out.push('\n');
    }
}

fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        // Rare enough to keep std's formatting (zero compression rules).
        IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Whole numbers below 2^53 are exact as integers and are written as such (`1`, `1830297600`);
/// the rest in the shortest form that reads back to the same `f64`.
fn push_f64(out: &mut String, v: f64) {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < EXACT {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(build: impl FnOnce(Line<'_>) -> Line<'_>, v: f64) -> String {
        let mut out = String::new();
        build(Line::start(&mut out, "m")).value(v);
        out
    }

    #[test]
    fn labels_are_joined_with_commas_and_values_read_back_exactly() {
        let l = line(
            |l| {
                l.address(Address(Some([127, 0, 0, 2].into())))
                    .label("check", "dns")
                    .label("namespace", "ns")
            },
            1.0,
        );
        assert_eq!(
            l,
            "m{address=\"127.0.0.2\",check=\"dns\",namespace=\"ns\"} 1\n"
        );
        assert_eq!(line(|l| l, 0.5), "m{} 0.5\n");
        assert_eq!(line(|l| l, -2.0), "m{} -2\n");
        for v in [
            1796066029.8747602,
            0.002270155,
            1e-9,
            1e300,
            -0.25,
            9_007_199_254_740_993.0,
        ] {
            let text = line(|l| l, v);
            let written = text.trim_start_matches("m{} ").trim_end();
            assert_eq!(written.parse::<f64>().unwrap(), v, "{text}");
        }
        assert_eq!(line(|l| l, f64::NAN), "m{} NaN\n");
        assert_eq!(line(|l| l, f64::INFINITY), "m{} +Inf\n");
        assert_eq!(line(|l| l, f64::NEG_INFINITY), "m{} -Inf\n");
    }

    #[test]
    fn addresses_are_written_as_std_writes_them() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.12.7",
            "::1",
            "2001:db8::a:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let l = line(|l| l.address(Address(Some(ip))), 1.0);
            assert_eq!(l, format!("m{{address=\"{ip}\"}} 1\n"));
        }
        assert_eq!(
            line(|l| l.address(Address(None)), 1.0),
            "m{address=\"\"} 1\n"
        );
    }
}
