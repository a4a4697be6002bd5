//! How the file's typed values are read: each kind of value (duration, port, count, address)
//! says in words what it must be and what it got ("must be a duration like 30s or 5m (got
//! -5s)"), instead of serde's words ("invalid value: string, expected u16"). Ranges beyond the
//! type are `validate`'s.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Excerpt;

/// One kind of value: how it is written, and how it is read from text or a number.
struct Kind<T> {
    /// What the value must be, after "must be ".
    what: &'static str,
    from_str: fn(&str) -> Option<T>,
    from_int: fn(i128) -> Option<T>,
}

struct KindVisitor<T>(Kind<T>, PhantomData<T>);

impl<T> KindVisitor<T> {
    fn refuse<E: de::Error>(&self, got: impl fmt::Display) -> E {
        E::custom(format_args!("must be {} (got {got})", self.0.what))
    }
}

impl<'de, T> Visitor<'de> for KindVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.what)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match (self.0.from_str)(v.trim()) {
            Some(t) => Ok(Some(t)),
            None => Err(self.refuse(Excerpt(v))),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_i128(i128::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_i128(i128::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        match (self.0.from_int)(v) {
            Some(t) => Ok(Some(t)),
            None => Err(self.refuse(v)),
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        match i128::try_from(v) {
            Ok(v) => self.visit_i128(v),
            Err(_) => Err(self.refuse(v)),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(self.refuse(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(self.refuse(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Err(self.refuse("a list"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Err(self.refuse("a mapping"))
    }
}

fn read<'de, D: Deserializer<'de>, T>(d: D, kind: Kind<T>) -> Result<Option<T>, D::Error> {
    d.deserialize_any(KindVisitor(kind, PhantomData))
}

fn no_int<T>(_: i128) -> Option<T> {
    None
}

/// A duration written like `30s`, `5m`, `1h30m`.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let kind = Kind {
        what: "a duration like 30s or 5m",
        from_str: |s| humantime::parse_duration(s).ok(),
        from_int: no_int,
    };
    read(d, kind)
}

/// A TCP port, 1-65535.
pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let kind = Kind {
        what: "1-65535",
        from_str: |_| None,
        from_int: |v| u16::try_from(v).ok().filter(|p| *p != 0),
    };
    read(d, kind)
}

/// A whole number (its range is checked by `validate`).
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let kind = Kind {
        what: "a whole number",
        from_str: |_| None,
        from_int: |v| u64::try_from(v).ok(),
    };
    read(d, kind)
}

/// An IP address.
pub fn ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    let kind = Kind {
        what: "an IP address like 10.0.0.7 or fd00::7",
        from_str: |s| s.parse().ok(),
        from_int: no_int,
    };
    read(d, kind)
}

/// `listen:`, an `ip:port` address.
pub fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let kind = Kind {
        what: "ip:port, like 0.0.0.0:9815 or [::]:9815",
        from_str: |s| s.parse().ok(),
        from_int: no_int,
    };
    read(d, kind)
}

/// One nameserver: `ip:port`, the port is required.
#[derive(Debug, Clone, Copy)]
pub struct Nameserver(pub SocketAddr);

impl<'de> de::Deserialize<'de> for Nameserver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kind = Kind {
            what: "ip:port, like 10.0.0.2:53 or [fd00::2]:53",
            from_str: |s| s.parse().ok(),
            from_int: no_int,
        };
        match read(d, kind)? {
            Some(addr) => Ok(Nameserver(addr)),
            None => Err(de::Error::custom(
                "must be ip:port, like 10.0.0.2:53 or [fd00::2]:53 (got nothing)",
            )),
        }
    }
}

/// `resolver.nameservers`: a list of `ip:port`.
pub fn nameservers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    let list: Option<Vec<Nameserver>> = de::Deserialize::deserialize(d)?;
    Ok(list.unwrap_or_default().into_iter().map(|n| n.0).collect())
}
