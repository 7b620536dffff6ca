//! The current time. Core logic never reads a clock; the edge passes `now` down.

/// Milliseconds since the Unix epoch: `Date.now()`, one call and no `Date` object (workers-rs'
/// `Date::now()` made one per call, and a payment reads the clock a few dozen times).
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn now_s() -> i64 {
    now_ms() / 1000
}

/// `unix_s` as a UTC time; times out of chrono's range (about ±262,000 years) clamp to its ends.
pub fn utc(unix_s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix_s, 0).unwrap_or(if unix_s < 0 {
        chrono::DateTime::<chrono::Utc>::MIN_UTC
    } else {
        chrono::DateTime::<chrono::Utc>::MAX_UTC
    })
}

/// The UTC calendar date of `unix_s`, as `YYYY-MM-DD`.
pub fn utc_date(unix_s: i64) -> String {
    utc(unix_s).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(super::utc_date(0), "1970-01-01");
        assert_eq!(super::utc_date(951_782_399), "2000-02-28");
        assert_eq!(super::utc_date(951_782_400), "2000-02-29");
        assert_eq!(super::utc_date(1_795_392_000), "2026-11-23");
        assert_eq!(super::utc_date(-1), "1969-12-31");
        // Out of the calendar's range: clamped, never a panic.
        assert!(super::utc_date(i64::MAX).starts_with('+'));
    }
}
