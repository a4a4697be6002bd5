//! Time formatting shared by every stage: RFC 3339 timestamps and durations as milliseconds.
//! It sits below the judges and the exporters so that neither imports the other for it.

use std::time::{Duration, UNIX_EPOCH};

/// Milliseconds as f64, rounded to the microsecond, for reports.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Serialises a duration as milliseconds (f64).
pub fn serialize_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(millis(*d))
}

/// Serialises a timeout as `{"timeout_ms": 3000}`: whole milliseconds, named like the other
/// `_ms` fields of the JSON document (not serde's `{"secs", "nanos"}`).
pub fn serialize_timeout_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(
        "timeout_ms",
        &u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
    )?;
    map.end()
}

/// RFC 3339 (UTC, seconds) for Unix seconds; out-of-range values are shown as numbers.
pub fn rfc3339(unix: i64) -> String {
    match u64::try_from(unix) {
        Ok(secs) => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
        }
        Err(_) => format!("@{unix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_rounds_to_microseconds() {
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
    }

    #[test]
    fn timeouts_serialise_as_whole_milliseconds() {
        #[derive(serde::Serialize)]
        struct Failure(#[serde(serialize_with = "serialize_timeout_ms")] Duration);
        let json = serde_json::to_string(&Failure(Duration::from_secs(3))).unwrap();
        assert_eq!(json, r#"{"timeout_ms":3000}"#);
    }

    #[test]
    fn rfc3339_shows_out_of_range_seconds_as_numbers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-5), "@-5");
    }
}
