//! Numbers as people read them. Used by the server render and the browser
//! alike, so both produce the same text and hydration matches.

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    scaled(n as f64, "")
}

/// A byte rate: `0 B/s`, `12.0 KiB/s`.
pub fn rate(bytes_per_s: f64) -> String {
    scaled(bytes_per_s.max(0.0), "/s")
}

/// A percentage with one decimal: `12.3%`.
pub fn percent(p: f64) -> String {
    format!("{:.1}%", if p.is_finite() { p } else { 0.0 })
}

/// Operations per second: `0`, `12`, `1.2k`.
pub fn per_second(n: f64) -> String {
    if n >= 1000.0 {
        format!("{:.1}k", n / 1000.0)
    } else {
        format!("{:.0}", n.max(0.0))
    }
}

/// A duration in milliseconds as people say it: `45 s`, `12 min`,
/// `3 h 5 min`, `2 d 4 h`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s / 60 % 60),
        _ => format!("{} d {} h", s / 86_400, s / 3600 % 24),
    }
}

fn scaled(mut value: f64, suffix: &str) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !value.is_finite() {
        value = 0.0;
    }
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B{suffix}")
    } else {
        format!("{value:.1} {}{suffix}", UNITS[unit])
    }
}

/// `HH:MM:SS UTC` for a Unix time in milliseconds. UTC on both sides keeps
/// the server render and the hydrated page identical.
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `YYYY-MM-DD` (UTC) for a Unix time in milliseconds.
pub fn date(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// published algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01: the
/// inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A latency in milliseconds: `0.42 ms`, `12 ms`, `1.25 s`.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "–".into()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Unix time in ms now: the browser's clock in the browser, the system
/// clock on the server.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_date_are_utc() {
        assert_eq!(clock(0), "00:00:00 UTC");
        assert_eq!(clock(86_399_999), "23:59:59 UTC");
        assert_eq!(clock(3_723_000), "01:02:03 UTC");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(date(1_795_824_000_000), "2026-11-28");
    }

    #[test]
    fn latencies_keep_two_or_three_figures() {
        assert_eq!(millis(0.421), "0.42 ms");
        assert_eq!(millis(12.4), "12 ms");
        assert_eq!(millis(1250.0), "1.25 s");
        assert_eq!(millis(f64::NAN), "–");
    }

    #[test]
    fn bytes_pick_the_largest_whole_unit() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 + 200 * 1024 * 1024), "3.2 GiB");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(-5), "0 s");
        assert_eq!(age(45_000), "45 s");
        assert_eq!(age(12 * 60_000 + 5_000), "12 min");
        assert_eq!(age((3 * 3600 + 5 * 60) * 1000), "3 h 5 min");
        assert_eq!(age((2 * 86_400 + 4 * 3600) * 1000), "2 d 4 h");
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(rate(2048.0), "2.0 KiB/s");
        assert_eq!(rate(-5.0), "0 B/s");
        assert_eq!(rate(f64::NAN), "0 B/s");
        assert_eq!(percent(12.345), "12.3%");
        assert_eq!(percent(f64::INFINITY), "0.0%");
        assert_eq!(per_second(3.4), "3");
        assert_eq!(per_second(1500.0), "1.5k");
    }
}
