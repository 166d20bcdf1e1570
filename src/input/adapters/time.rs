//! Vendor times → `DateTime<FixedOffset>`: RFC 3339 (any offset; `+0000` without a colon is
//! accepted too), Unix epoch seconds or milliseconds (UTC), or a strftime pattern read in a
//! stated zone. A time is never guessed: a pattern without a zone is a mapping error.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// How a time field is written.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeFormat {
    /// `2025-03-04T08:15:02.114Z`, `…+08:00`, `…+0800`.
    Rfc3339,
    /// Unix time in seconds (a number or a numeric string; fractions allowed).
    EpochSeconds,
    /// Unix time in milliseconds.
    EpochMillis,
    /// A strftime pattern (`%Y-%m-%d %H:%M:%S`) without an offset, read in `zone`.
    Pattern { pattern: String, zone: Zone },
}

/// The zone a zone-less pattern is read in.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Fixed(FixedOffset),
    /// An IANA name (`Asia/Shanghai`, `America/New_York`), daylight saving applied.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `UTC`, `Z`, `+08:00`, `-0500` or an IANA zone name.
    pub fn parse(s: &str) -> Result<Zone, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Zone::Fixed(FixedOffset::east_opt(0).expect("0 is a valid offset")));
        }
        if let Some(offset) = parse_offset(s) {
            return Ok(Zone::Fixed(offset));
        }
        s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!("unknown zone {s:?}: write UTC, an offset such as +08:00, or an IANA name such as Asia/Shanghai")
        })
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl TimeFormat {
    /// `rfc3339`, `epoch_seconds`, `epoch_millis`, or a strftime pattern (needs `zone`).
    pub fn parse(format: &str, zone: Option<&str>) -> Result<TimeFormat, String> {
        match format {
            "rfc3339" => Ok(TimeFormat::Rfc3339),
            "epoch_seconds" | "epoch_s" => Ok(TimeFormat::EpochSeconds),
            "epoch_millis" | "epoch_ms" => Ok(TimeFormat::EpochMillis),
            pattern if pattern.contains('%') => {
                let zone = zone.ok_or_else(|| {
                    format!(
                        "the time pattern {pattern:?} has no zone: add zone = \"UTC\", an offset such as \"+08:00\", or an IANA name"
                    )
                })?;
                Ok(TimeFormat::Pattern { pattern: pattern.to_string(), zone: Zone::parse(zone)? })
            }
            other => Err(format!(
                "unknown time format {other:?}: use \"rfc3339\", \"epoch_seconds\", \"epoch_millis\" or a strftime pattern such as \"%Y-%m-%d %H:%M:%S\""
            )),
        }
    }

    /// Reads one time value; the error says what was expected.
    pub fn read(&self, v: &Value) -> Result<DateTime<FixedOffset>, String> {
        match self {
            TimeFormat::Rfc3339 => {
                let s = v.as_str().ok_or_else(|| format!("expected an RFC 3339 time, got {v}"))?;
                rfc3339(s)
            }
            TimeFormat::EpochSeconds => epoch(v, 1_000.0),
            TimeFormat::EpochMillis => epoch(v, 1.0),
            TimeFormat::Pattern { pattern, zone } => {
                let s = v.as_str().ok_or_else(|| format!("expected a time text, got {v}"))?;
                let naive = NaiveDateTime::parse_from_str(s.trim(), pattern)
                    .map_err(|e| format!("{s:?} does not match the pattern {pattern:?}: {e}"))?;
                let local = match zone {
                    Zone::Fixed(off) => off.from_local_datetime(&naive).single(),
                    Zone::Named(tz) => {
                        tz.from_local_datetime(&naive).earliest().map(|t| t.fixed_offset())
                    }
                };
                local.ok_or_else(|| {
                    format!("{s:?} does not exist in the zone (a daylight-saving gap)")
                })
            }
        }
    }
}

/// An RFC 3339 time, or the same with a `+0000`-style offset (Salesforce and others).
pub fn rfc3339(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map_err(|_| {
            format!(
                "expected an RFC 3339 time with offset such as \"2025-03-04T08:15:02Z\", got {s:?}"
            )
        })
}

/// `v[key]` read in `format`; the error names the field.
pub(crate) fn read_at(
    v: &Value,
    key: &str,
    field: &str,
    format: &TimeFormat,
) -> Result<DateTime<FixedOffset>, super::RejectReason> {
    match v.get(key) {
        None | Some(Value::Null) => Err(super::missing(field)),
        Some(x) => format.read(x).map_err(|m| super::invalid(field, m)),
    }
}

/// `v[key]` read as an RFC 3339 time; the error names the field.
pub(crate) fn rfc3339_at(
    v: &Value,
    key: &str,
    field: &str,
) -> Result<DateTime<FixedOffset>, super::RejectReason> {
    read_at(v, key, field, &TimeFormat::Rfc3339)
}

/// `v[key]` read as Unix seconds; the error names the field.
pub(crate) fn epoch_seconds_at(
    v: &Value,
    key: &str,
    field: &str,
) -> Result<DateTime<FixedOffset>, super::RejectReason> {
    read_at(v, key, field, &TimeFormat::EpochSeconds)
}

/// `v[key]` read as Unix milliseconds; the error names the field.
pub(crate) fn epoch_millis_at(
    v: &Value,
    key: &str,
    field: &str,
) -> Result<DateTime<FixedOffset>, super::RejectReason> {
    read_at(v, key, field, &TimeFormat::EpochMillis)
}

fn epoch(v: &Value, to_millis: f64) -> Result<DateTime<FixedOffset>, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("expected a Unix time (number), got {v}"))?;
    let millis = (n * to_millis).round();
    if !millis.is_finite() || millis.abs() > 1e15 {
        return Err(format!("{v} is not a plausible Unix time"));
    }
    Utc.timestamp_millis_opt(millis as i64)
        .single()
        .map(|t| t.fixed_offset())
        .ok_or_else(|| format!("{v} is not a plausible Unix time"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(v: Value, f: &TimeFormat) -> String {
        f.read(&v).unwrap().with_timezone(&Utc).fixed_offset().to_rfc3339()
    }

    #[test]
    fn each_encoding_reads_to_the_same_instant() {
        let want = "2025-03-04T08:15:02.114+00:00";
        assert_eq!(utc(json!("2025-03-04T08:15:02.114Z"), &TimeFormat::Rfc3339), want);
        assert_eq!(utc(json!("2025-03-04T16:15:02.114+0800"), &TimeFormat::Rfc3339), want);
        assert_eq!(utc(json!(1741076102.114), &TimeFormat::EpochSeconds), want);
        assert_eq!(utc(json!("1741076102114"), &TimeFormat::EpochMillis), want);
    }

    #[test]
    fn a_pattern_is_read_in_its_stated_zone_with_daylight_saving() {
        let f = TimeFormat::parse("%Y-%m-%d %H:%M:%S", Some("Asia/Shanghai")).unwrap();
        assert_eq!(
            f.read(&json!("2025-03-04 16:15:02")).unwrap().to_rfc3339(),
            "2025-03-04T16:15:02+08:00"
        );
        let ny = TimeFormat::parse("%Y-%m-%d %H:%M", Some("America/New_York")).unwrap();
        assert_eq!(
            ny.read(&json!("2025-07-01 09:00")).unwrap().offset().local_minus_utc(),
            -4 * 3600
        );
        assert_eq!(
            ny.read(&json!("2025-01-02 09:00")).unwrap().offset().local_minus_utc(),
            -5 * 3600
        );
        let fixed = TimeFormat::parse("%d/%m/%Y %H:%M", Some("+05:30")).unwrap();
        assert_eq!(
            fixed.read(&json!("04/03/2025 10:00")).unwrap().to_rfc3339(),
            "2025-03-04T10:00:00+05:30"
        );
    }

    #[test]
    fn a_pattern_without_zone_and_bad_values_say_what_to_write() {
        let e = TimeFormat::parse("%Y-%m-%d %H:%M:%S", None).unwrap_err();
        assert!(e.contains("has no zone"), "{e}");
        assert!(Zone::parse("Mars/Olympus").unwrap_err().contains("IANA"));
        assert!(TimeFormat::Rfc3339.read(&json!("yesterday")).unwrap_err().contains("RFC 3339"));
        assert!(TimeFormat::EpochSeconds.read(&json!("soon")).is_err());
    }
}
