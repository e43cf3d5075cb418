//! Maintenance windows: times during which alerts are still evaluated and
//! shown, but not sent. One-off (`start` + `duration`) or weekly (`days`,
//! `at`, `duration`), in a time zone, so that "Sundays 02:00 in Berlin"
//! stays 02:00 across daylight saving.
//!
//! Zones come from the IANA database built into the binary (jiff's
//! bundled copy): a host without `/usr/share/zoneinfo`, such as a scratch
//! container, reads the same zones.

use std::time::Duration;

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::config::MaintenanceConfig;

/// The longest window: a weekly one may not overlap itself.
const LONGEST_WEEKLY: Duration = Duration::from_secs(7 * 86_400);
/// The longest one-off window.
const LONGEST_ONCE: Duration = Duration::from_secs(366 * 86_400);

/// When a window is open.
#[derive(Clone, Debug)]
enum When {
    Once(Timestamp),
    Weekly { days: Vec<Weekday>, at: Time },
}

/// A maintenance window, ready to ask whether it is open.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub(crate) name: String,
    when: When,
    zone: TimeZone,
    duration: Duration,
    /// The rules it mutes; `None`: every rule.
    rules: Option<Vec<String>>,
    /// The checks it mutes; `None`: as `rules` says.
    checks: Option<Vec<String>>,
}

type Bad = (Option<&'static str>, String);

impl Window {
    /// Reads a `[[maintenance]]` entry (or one made on the alerts page);
    /// the error names the key at fault.
    pub(crate) fn from_config(m: &MaintenanceConfig) -> Result<Window, Bad> {
        if m.name.trim().is_empty() || m.name.len() > 100 {
            return Err((Some("name"), "a name of 1 to 100 bytes".into()));
        }
        let zone = match &m.timezone {
            Some(name) => TimeZone::get(name).map_err(|_| {
                (
                    Some("timezone"),
                    format!("{name:?} is not an IANA time zone (like \"Europe/Berlin\")"),
                )
            })?,
            None => TimeZone::UTC,
        };
        if m.duration.is_zero() {
            return Err((Some("duration"), "must be longer than 0s".into()));
        }
        let when = match (&m.start, &m.days, &m.at) {
            (Some(start), None, None) => {
                if m.duration > LONGEST_ONCE {
                    return Err((Some("duration"), "a one-off window lasts at most 366 days".into()));
                }
                let civil: DateTime = start.parse().map_err(|_| {
                    (
                        Some("start"),
                        format!("{start:?} is not a local date and time (like \"2026-12-24T22:00\")"),
                    )
                })?;
                let at = civil
                    .to_zoned(zone.clone())
                    .map_err(|e| (Some("start"), format!("{start:?}: {e}")))?;
                When::Once(at.timestamp())
            }
            (None, Some(days), Some(at)) => {
                if m.duration > LONGEST_WEEKLY {
                    return Err((Some("duration"), "a weekly window lasts at most 7 days".into()));
                }
                if days.is_empty() {
                    return Err((Some("days"), "name at least one day (\"mon\" to \"sun\")".into()));
                }
                let days = days
                    .iter()
                    .map(|d| {
                        weekday(d).ok_or_else(|| (Some("days"), format!("{d:?} is not a day (\"mon\" to \"sun\")")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let at: Time = at
                    .parse()
                    .map_err(|_| (Some("at"), format!("{at:?} is not a time of day (like \"02:00\")")))?;
                When::Weekly { days, at }
            }
            (None, None, None) => {
                return Err((
                    None,
                    "set start (a one-off window) or days and at (a weekly one)".into(),
                ));
            }
            (Some(_), _, _) => return Err((Some("start"), "set start, or days and at, not both".into())),
            (None, Some(_), None) => return Err((Some("at"), "a weekly window needs at (the time it opens)".into())),
            (None, None, Some(_)) => return Err((Some("days"), "a weekly window needs days".into())),
        };
        for (key, list) in [("rules", &m.rules), ("checks", &m.checks)] {
            if list.as_ref().is_some_and(|l| l.is_empty()) {
                return Err((
                    Some(key),
                    "an empty list mutes nothing: leave it out to mute everything".into(),
                ));
            }
        }
        Ok(Window {
            name: m.name.clone(),
            when,
            zone,
            duration: m.duration,
            rules: m.rules.clone(),
            checks: m.checks.clone(),
        })
    }

    /// The opening that holds `now` (Unix ms) or comes next, as Unix ms
    /// (start, end); `None` for a one-off window that is over.
    pub(crate) fn opening(&self, now: i64) -> Option<(i64, i64)> {
        let length = i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX);
        match &self.when {
            When::Once(start) => {
                let start = start.as_millisecond();
                (now < start + length).then_some((start, start + length))
            }
            When::Weekly { days, at } => {
                let today = Timestamp::from_millisecond(now)
                    .ok()?
                    .to_zoned(self.zone.clone())
                    .date();
                // From a week back (a long window opened then may still be
                // open) to a week ahead (the next opening).
                (-7..=7)
                    .filter_map(|offset| today.checked_add(jiff::Span::new().days(offset)).ok())
                    .filter(|date| days.contains(&date.weekday()))
                    .filter_map(|date| date.to_datetime(*at).to_zoned(self.zone.clone()).ok())
                    .map(|z| z.timestamp().as_millisecond())
                    .map(|start| (start, start + length))
                    .find(|(_, end)| now < *end)
            }
        }
    }

    /// Every opening that overlaps `[from, to)` (Unix ms), oldest first.
    pub(crate) fn openings(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let length = i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX);
        match &self.when {
            When::Once(start) => {
                let start = start.as_millisecond();
                if start < to && start.saturating_add(length) > from {
                    vec![(start, start + length)]
                } else {
                    vec![]
                }
            }
            When::Weekly { days, at } => {
                let day = 86_400_000;
                // A week back: a window opened then may still be open at `from`.
                let Ok(first) = Timestamp::from_millisecond(from.saturating_sub(7 * day)) else {
                    return vec![];
                };
                let mut date = first.to_zoned(self.zone.clone()).date();
                let mut out = Vec::new();
                for _ in 0..=((to - from) / day + 9) {
                    if days.contains(&date.weekday()) {
                        if let Ok(z) = date.to_datetime(*at).to_zoned(self.zone.clone()) {
                            let start = z.timestamp().as_millisecond();
                            if start >= to {
                                break;
                            }
                            if start + length > from {
                                out.push((start, start + length));
                            }
                        }
                    }
                    match date.tomorrow() {
                        Ok(next) => date = next,
                        Err(_) => break,
                    }
                }
                out
            }
        }
    }

    /// The checks it names, if it names any.
    pub(crate) fn checks(&self) -> Option<&[String]> {
        self.checks.as_deref()
    }

    /// Whether status pages and reports count it as maintenance of
    /// `check`: it names the check, or it covers everything.
    pub(crate) fn is_for_check(&self, check: &str) -> bool {
        self.covers_every_check() || self.checks.as_ref().is_some_and(|c| c.iter().any(|n| n == check))
    }

    /// Whether it mutes every rule about every check.
    pub(crate) fn covers_every_check(&self) -> bool {
        self.checks.is_none() && self.rules.is_none()
    }

    /// Whether the window is open at `now` (Unix ms).
    pub(crate) fn open_at(&self, now: i64) -> bool {
        self.opening(now).is_some_and(|(start, _)| start <= now)
    }

    /// Whether the window mutes alerts of rule `rule` about `check` (the
    /// check an alert is about, if any).
    pub(crate) fn covers(&self, rule: &str, check: Option<&str>) -> bool {
        let rule_ok = self.rules.as_ref().is_none_or(|r| r.iter().any(|n| n == rule));
        let check_ok = match &self.checks {
            None => true,
            Some(checks) => check.is_some_and(|c| checks.iter().any(|n| n == c)),
        };
        rule_ok && check_ok
    }

    /// What it mutes, in words, for the alerts page.
    pub(crate) fn mutes(&self) -> String {
        match (&self.rules, &self.checks) {
            (None, None) => "every alert".into(),
            (Some(rules), None) => format!("rules {}", rules.join(", ")),
            (None, Some(checks)) => format!("checks {}", checks.join(", ")),
            (Some(rules), Some(checks)) => format!("rules {} about checks {}", rules.join(", "), checks.join(", ")),
        }
    }

    /// When it opens, in words, for the alerts page.
    pub(crate) fn describe(&self) -> String {
        let zone = self.zone.iana_name().unwrap_or("UTC");
        let length = humantime::format_duration(self.duration);
        match &self.when {
            When::Once(start) => {
                let local = start.to_zoned(self.zone.clone());
                format!("{} ({zone}) for {length}", local.strftime("%Y-%m-%d %H:%M"))
            }
            When::Weekly { days, at } => {
                let days: Vec<&str> = days.iter().map(|d| day_name(*d)).collect();
                format!(
                    "every {} at {} ({zone}) for {length}",
                    days.join(", "),
                    at.strftime("%H:%M")
                )
            }
        }
    }
}

fn weekday(text: &str) -> Option<Weekday> {
    Some(match text.to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> MaintenanceConfig {
        MaintenanceConfig {
            name: name.into(),
            start: None,
            days: None,
            at: None,
            duration: Duration::from_secs(3600),
            timezone: None,
            rules: None,
            checks: None,
        }
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn openings_over_a_range_follow_the_zone_across_daylight_saving() {
        let mut c = config("backup");
        c.days = Some(vec!["sun".into()]);
        c.at = Some("02:30".into());
        c.timezone = Some("Europe/Berlin".into());
        let w = Window::from_config(&c).unwrap();
        // March 2026: Sundays 1, 8, 15, 22, 29; summer time from the 29th.
        let spans = w.openings(ms("2026-03-01T00:00:00Z"), ms("2026-04-01T00:00:00Z"));
        let starts: Vec<i64> = spans.iter().map(|s| s.0).collect();
        assert_eq!(
            starts,
            [
                ms("2026-03-01T01:30:00Z"),
                ms("2026-03-08T01:30:00Z"),
                ms("2026-03-15T01:30:00Z"),
                ms("2026-03-22T01:30:00Z"),
                // 02:30 does not exist that night; jiff moves it forward to 03:30 CEST.
                ms("2026-03-29T01:30:00Z"),
            ]
        );
        assert!(spans.iter().all(|(s, e)| e - s == 3_600_000));
        // One still open at `from` is included; one starting at `to` is not.
        let inside = w.openings(ms("2026-03-08T02:00:00Z"), ms("2026-03-15T01:30:00Z"));
        assert_eq!(inside, [(ms("2026-03-08T01:30:00Z"), ms("2026-03-08T02:30:00Z"))]);

        let mut once = config("upgrade");
        once.start = Some("2026-12-24T22:00".into());
        let w = Window::from_config(&once).unwrap();
        assert_eq!(
            w.openings(ms("2026-12-24T22:30:00Z"), ms("2026-12-25T00:00:00Z")).len(),
            1
        );
        assert!(w
            .openings(ms("2026-12-24T23:00:00Z"), ms("2026-12-25T00:00:00Z"))
            .is_empty());
        assert!(
            w.is_for_check("anything"),
            "a window over everything covers every check"
        );
        once.checks = Some(vec!["api".into()]);
        let w = Window::from_config(&once).unwrap();
        assert!(w.is_for_check("api") && !w.is_for_check("web"));
        once.checks = None;
        once.rules = Some(vec!["disk-full".into()]);
        assert!(
            !Window::from_config(&once).unwrap().is_for_check("api"),
            "a window over rules only is not a check's"
        );
    }

    #[test]
    fn a_one_off_window_is_open_from_its_start_for_its_duration() {
        let mut c = config("upgrade");
        c.start = Some("2026-12-24T22:00".into());
        c.timezone = Some("Europe/Berlin".into());
        let w = Window::from_config(&c).unwrap();
        // 22:00 in Berlin in winter is 21:00 UTC.
        assert!(!w.open_at(ms("2026-12-24T20:59:59Z")));
        assert!(w.open_at(ms("2026-12-24T21:00:00Z")));
        assert!(w.open_at(ms("2026-12-24T21:59:59Z")));
        assert!(!w.open_at(ms("2026-12-24T22:00:00Z")));
        assert_eq!(w.opening(ms("2026-12-25T00:00:00Z")), None, "over");
        assert_eq!(w.describe(), "2026-12-24 22:00 (Europe/Berlin) for 1h");
    }

    #[test]
    fn a_weekly_window_keeps_its_local_time_across_daylight_saving() {
        let mut c = config("backups");
        c.days = Some(vec!["sun".into()]);
        c.at = Some("02:30".into());
        c.timezone = Some("Europe/Berlin".into());
        let w = Window::from_config(&c).unwrap();
        // Sunday 2026-03-22, before the change: 02:30 CET is 01:30 UTC.
        assert!(w.open_at(ms("2026-03-22T01:30:00Z")));
        assert!(!w.open_at(ms("2026-03-22T01:29:00Z")));
        // Sunday 2026-04-05, summer time: 02:30 CEST is 00:30 UTC.
        assert!(w.open_at(ms("2026-04-05T00:45:00Z")));
        assert!(!w.open_at(ms("2026-04-05T01:45:00Z")));
        // Not on a Monday.
        assert!(!w.open_at(ms("2026-04-06T00:45:00Z")));
        let next = w.opening(ms("2026-04-06T12:00:00Z")).unwrap();
        assert_eq!(next, (ms("2026-04-12T00:30:00Z"), ms("2026-04-12T01:30:00Z")));
        assert_eq!(w.describe(), "every Sun at 02:30 (Europe/Berlin) for 1h");
    }

    #[test]
    fn a_long_weekly_window_opened_days_ago_is_still_open() {
        let mut c = config("weekend");
        c.days = Some(vec!["sat".into()]);
        c.at = Some("00:00".into());
        c.duration = Duration::from_secs(2 * 86_400);
        let w = Window::from_config(&c).unwrap();
        // Saturday 2026-12-05 00:00 UTC to Monday 00:00.
        assert!(w.open_at(ms("2026-12-06T23:00:00Z")));
        assert!(!w.open_at(ms("2026-12-07T00:00:00Z")));
    }

    #[test]
    fn windows_cover_their_rules_and_checks() {
        let mut c = config("db");
        c.start = Some("2026-01-01T00:00".into());
        let all = Window::from_config(&c).unwrap();
        assert!(all.covers("disk-full", None) && all.covers("check-down", Some("db")));
        c.checks = Some(vec!["db".into()]);
        let db = Window::from_config(&c).unwrap();
        assert!(db.covers("check-down", Some("db")));
        assert!(!db.covers("check-down", Some("api")));
        assert!(!db.covers("disk-full", None));
        c.checks = None;
        c.rules = Some(vec!["disk-full".into()]);
        let disk = Window::from_config(&c).unwrap();
        assert!(disk.covers("disk-full", None) && !disk.covers("memory-full", None));
    }

    #[test]
    fn bad_windows_say_which_key() {
        type Edit = Box<dyn Fn(&mut MaintenanceConfig)>;
        let cases: Vec<(Edit, Option<&str>)> = vec![
            (Box::new(|_| {}), None),
            (Box::new(|c| c.start = Some("christmas".into())), Some("start")),
            (
                Box::new(|c| {
                    c.start = Some("2026-01-01T00:00".into());
                    c.timezone = Some("Mars/Olympus".into());
                }),
                Some("timezone"),
            ),
            (
                Box::new(|c| {
                    c.days = Some(vec!["funday".into()]);
                    c.at = Some("02:00".into());
                }),
                Some("days"),
            ),
            (
                Box::new(|c| {
                    c.days = Some(vec!["mon".into()]);
                    c.at = Some("25:00".into());
                }),
                Some("at"),
            ),
            (Box::new(|c| c.days = Some(vec!["mon".into()])), Some("at")),
            (
                Box::new(|c| {
                    c.days = Some(vec!["mon".into()]);
                    c.at = Some("02:00".into());
                    c.duration = Duration::from_secs(8 * 86_400);
                }),
                Some("duration"),
            ),
            (
                Box::new(|c| {
                    c.start = Some("2026-01-01T00:00".into());
                    c.rules = Some(Vec::new());
                }),
                Some("rules"),
            ),
        ];
        for (i, (edit, key)) in cases.into_iter().enumerate() {
            let mut c = config("w");
            edit(&mut c);
            let (got, message) = Window::from_config(&c).unwrap_err();
            assert_eq!(got, key, "case {i}: {message}");
        }
    }
}
