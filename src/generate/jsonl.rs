//! Writing one conversation as one JSON line, without allocating per turn: JSON strings and
//! RFC 3339 timestamps written straight into a reused byte buffer.

/// Appends `s` as a JSON string (quoted, escaped).
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `"key":` (keys are plain ASCII).
pub fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn two(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Civil date (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Appends `unix` seconds as a quoted RFC 3339 time shown at `offset_secs` east of UTC
/// (`…T09:14:03+08:00`, or `…Z` for offset 0). Offsets are whole minutes.
pub fn timestamp(out: &mut Vec<u8>, unix: i64, offset_secs: i32) {
    let local = unix + i64::from(offset_secs);
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400) as u32;
    out.push(b'"');
    let y = y.clamp(0, 9999) as u32;
    two(out, y / 100);
    two(out, y % 100);
    out.push(b'-');
    two(out, m);
    out.push(b'-');
    two(out, d);
    out.push(b'T');
    two(out, secs / 3600);
    out.push(b':');
    two(out, secs / 60 % 60);
    out.push(b':');
    two(out, secs % 60);
    if offset_secs == 0 {
        out.push(b'Z');
    } else {
        out.push(if offset_secs < 0 { b'-' } else { b'+' });
        let mins = offset_secs.unsigned_abs() / 60;
        two(out, mins / 60);
        out.push(b':');
        two(out, mins % 60);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset, SecondsFormat};

    #[test]
    fn timestamps_match_chrono_at_any_offset() {
        for &unix in &[0i64, 951_782_400, 1_793_582_043, 1_798_761_599, 4_102_444_800] {
            for &off in &[0i32, 8 * 3600, -5 * 3600, 5 * 3600 + 1800] {
                let mut out = Vec::new();
                timestamp(&mut out, unix, off);
                let tz = FixedOffset::east_opt(off).unwrap();
                let want = DateTime::from_timestamp(unix, 0)
                    .unwrap()
                    .with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Secs, true);
                assert_eq!(String::from_utf8(out).unwrap(), format!("\"{want}\""));
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for s in ["plain", "引号\"和\\反斜杠", "tab\tnew\nline\r", "\u{1}ctl", "J&T 😊"] {
            let mut out = Vec::new();
            string(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
