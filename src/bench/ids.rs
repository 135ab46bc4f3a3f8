//! Per-delivery header values: the ids and timestamp Shopify puts on each delivery.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderValue;

/// A random version-4 UUID in its usual hex form, the shape of Shopify's webhook and event ids.
pub fn uuid_like() -> HeaderValue {
    // Version 4 in the third group, RFC 4122 variant in the fourth, like Shopify's ids.
    let n = fastrand::u128(..) & !(0xf000u128 << 64) & !(0xcu128 << 60) | (0x4000u128 << 64) | (0x8u128 << 60);
    let s = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (n >> 96) as u32,
        (n >> 80) as u16,
        (n >> 64) as u16,
        (n >> 48) as u16,
        n & 0xffff_ffff_ffff
    );
    HeaderValue::from_str(&s).expect("hex is a valid header value")
}

/// `X-Shopify-Triggered-At`: RFC 3339 in UTC with milliseconds, e.g. `2026-03-14T16:27:41.123Z`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count since 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ids_look_like_uuids_and_timestamps_like_rfc3339() {
        let (a, b) = (uuid_like(), uuid_like());
        assert_ne!(a, b);
        let s = a.to_str().unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(s.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'));
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_250);
        assert_eq!(rfc3339_utc(t), "2024-02-29T23:59:59.250Z");
    }
}
