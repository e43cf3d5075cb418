//! Service-level reports: one [`ReportRow`] per check over a range `[from, to)`, counted from the check's announced
//! status history and the maintenance windows that cover it, and the report as CSV.
//!
//! How down is counted: the range is cut at `now` (time to come is not counted) and walked through the check's
//! status changes. Time announced `down` is down; `up` and `degraded` are up; `unknown` time (before the check's
//! first round) is not counted at all, and neither is time in maintenance, whatever the status. What is left is
//! the monitored time. A down spell (consecutive `down`) is an outage if at least 1 ms of it is counted; its repair
//! time runs from its start (even before the range) to its recovery, and MTTR is the mean over the outages that
//! recovered inside the counted range.

use app::health::Status;
use app::status::{Report, ReportRow};

/// A check's announced status over a report's range; times in Unix ms.
pub(crate) struct Timeline {
    /// The last change at or before `from` (its time and the new status); `None` if there was none, when the
    /// check is `unknown` at `from`.
    pub(crate) before: Option<(i64, Status)>,
    /// The changes inside `(from, to)`, oldest first. Changes outside the range are ignored, the list is sorted,
    /// and a change to the status already in force does not start a new spell.
    pub(crate) changes: Vec<(i64, Status)>,
}

/// One check's counts over `[from, to)` as of `now` (Unix ms), with its objective `slo` in percent. A change from
/// `down` to any other status, `unknown` too, ends a down spell. An `slo` outside 0–100 gives no budget figures.
pub(crate) fn row(
    check: &str,
    timeline: &Timeline,
    maintenance: &[(i64, i64)],
    from: i64,
    to: i64,
    now: i64,
    slo: Option<f64>,
) -> ReportRow {
    let end = to.min(now).max(from);
    let spans = merge(maintenance, from, end);
    let mut changes = timeline.changes.clone();
    changes.retain(|&(t, _)| t >= from && t < end);
    changes.sort_by_key(|&(t, _)| t);
    let (mut since, mut status) = timeline
        .before
        .map_or((from, Status::Unknown), |(t, s)| (t.min(from), s));
    let (mut at, mut monitored, mut down, mut outages) = (from, 0i64, 0i64, 0u32);
    let (mut repair_sum, mut repairs) = (0i128, 0i128);
    // Each step closes the segment [at, t) in `status`; the last one (no next status) cuts it at `end`.
    for (t, next) in changes.into_iter().map(|(t, s)| (t, Some(s))).chain([(end, None)]) {
        if next == Some(status) {
            continue;
        }
        let counted = t.saturating_sub(at).saturating_sub(overlap(&spans, at, t));
        if status != Status::Unknown {
            monitored = monitored.saturating_add(counted);
        }
        if status == Status::Down && counted > 0 {
            down = down.saturating_add(counted);
            outages = outages.saturating_add(1);
            if next.is_some() {
                repair_sum += i128::from(t) - i128::from(since);
                repairs += 1;
            }
        }
        if let Some(next) = next {
            (since, status, at) = (t, next, t);
        }
    }
    // Rounded to the nearest ms; a mean of non-negative i64s fits in an i64.
    let mttr_ms = (repairs > 0).then(|| ((2 * repair_sum + repairs) / (2 * repairs)) as i64);
    let objective = slo.filter(|s| (0.0..=100.0).contains(s));
    let budget_ms = objective.map(|s| ((1.0 - s / 100.0) * monitored as f64).round() as i64);
    ReportRow {
        check: check.to_owned(),
        monitored_ms: monitored,
        down_ms: down,
        maintenance_ms: spans.iter().fold(0, |sum, &(s, e)| sum.saturating_add(e - s)),
        uptime_pct: (monitored > 0).then(|| 100.0 * (1.0 - down as f64 / monitored as f64)),
        outages,
        mttr_ms,
        slo,
        budget_ms,
        budget_left_pct: budget_ms
            .filter(|&b| b != 0)
            .map(|b| 100.0 * (1.0 - down as f64 / b as f64)),
        burn_rate: objective
            .filter(|&s| s < 100.0 && monitored > 0)
            .map(|s| down as f64 / monitored as f64 / (1.0 - s / 100.0)),
    }
}

/// The maintenance spans clipped to `[from, end)`, sorted and merged so that none overlap or touch.
fn merge(spans: &[(i64, i64)], from: i64, end: i64) -> Vec<(i64, i64)> {
    let mut clipped: Vec<(i64, i64)> = spans
        .iter()
        .map(|&(s, e)| (s.max(from), e.min(end)))
        .filter(|(s, e)| s < e)
        .collect();
    clipped.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(clipped.len());
    for (s, e) in clipped {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// How much of `[a, b)` the merged `spans` cover, ms.
fn overlap(spans: &[(i64, i64)], a: i64, b: i64) -> i64 {
    spans.iter().fold(0, |sum, &(s, e)| {
        sum.saturating_add(e.min(b).saturating_sub(s.max(a)).max(0))
    })
}

/// The report as CSV (RFC 4180 with `\n` line ends): a header line, then one line per row. Times are RFC 3339
/// UTC, durations minutes, `None` an empty field.
pub(crate) fn csv(report: &Report) -> String {
    let mut out = String::from(
        "check,from,to,monitored_minutes,down_minutes,maintenance_minutes,uptime_percent,outages,mttr_minutes,\
         slo_percent,budget_minutes,budget_left_percent,burn_rate\n",
    );
    let (from, to) = (rfc3339(report.from), rfc3339(report.to));
    for r in &report.rows {
        let (check, outages) = (field(&r.check), r.outages);
        let counted = [r.monitored_ms, r.down_ms, r.maintenance_ms].map(minutes).join(",");
        let [mttr, budget] = [r.mttr_ms, r.budget_ms].map(|ms| ms.map(minutes).unwrap_or_default());
        let [uptime, slo, left, burn] = [r.uptime_pct, r.slo, r.budget_left_pct, r.burn_rate].map(decimal);
        out.push_str(&format!(
            "{check},{from},{to},{counted},{uptime},{outages},{mttr},{slo},{budget},{left},{burn}\n"
        ));
    }
    out
}

/// A text field: an apostrophe before a leading `=`, `+`, `-`, `@`, tab or CR (so spreadsheets do not read it as
/// a formula), then quoted, quotes doubled, if it holds a comma, quote, CR or LF.
fn field(text: &str) -> String {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula { format!("'{text}") } else { text.to_owned() };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Milliseconds as minutes, rounded (half up) to 3 decimals, trailing zeros trimmed: `30`, `0.5`, `1.25`.
fn minutes(ms: i64) -> String {
    let thousandths = (i128::from(ms) + 30).div_euclid(60);
    let sign = if thousandths < 0 { "-" } else { "" };
    let abs = thousandths.unsigned_abs();
    trim(format!("{sign}{}.{:03}", abs / 1000, abs % 1000))
}

/// A number rounded to 4 decimals, trailing zeros trimmed; empty for `None` or a non-finite value.
fn decimal(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => match trim(format!("{v:.4}")) {
            zero if zero == "-0" => "0".to_owned(),
            text => text,
        },
        _ => String::new(),
    }
}

/// `text` (a decimal with a point) without trailing zeros, and without the point if nothing follows it.
fn trim(text: String) -> String {
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Unix ms as RFC 3339 UTC, e.g. `2026-02-01T00:15:00Z`; with `.sss` only when there are milliseconds.
fn rfc3339(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = app::format::civil_from_days(days);
    let (h, min, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    let frac: String = if milli > 0 { format!(".{milli:03}") } else { "".into() };
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}{frac}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::health::Status::{Degraded, Down, Unknown, Up};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    const DEC1: i64 = 1_764_547_200_000; // 2025-12-01T00:00Z
    const JAN1: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z
    const JAN31_2345: i64 = 1_769_903_100_000; // 2026-01-31T23:45Z
    const FEB1: i64 = 1_769_904_000_000; // 2026-02-01T00:00Z
    const FEB1_0015: i64 = 1_769_904_900_000; // 2026-02-01T00:15Z
    const MAR1: i64 = 1_772_323_200_000; // 2026-03-01T00:00Z

    /// `minutes` after 2026-02-01T00:00Z.
    fn m(minutes: i64) -> i64 {
        FEB1 + minutes * MIN
    }

    fn timeline(before: Option<(i64, Status)>, changes: &[(i64, Status)]) -> Timeline {
        let changes = changes.to_vec();
        Timeline { before, changes }
    }

    /// The day 2026-02-01, long past, for a check up since January but for `changes`.
    fn day(changes: &[(i64, Status)], maintenance: &[(i64, i64)]) -> ReportRow {
        let t = timeline(Some((JAN1, Up)), changes);
        row("api", &t, maintenance, FEB1, FEB1 + DAY, MAR1, None)
    }

    /// Monitored, down and maintenance ms, outages, MTTR.
    fn counts(r: &ReportRow) -> (i64, i64, i64, u32, Option<i64>) {
        (r.monitored_ms, r.down_ms, r.maintenance_ms, r.outages, r.mttr_ms)
    }

    fn close(actual: Option<f64>, expected: f64) {
        let value = actual.expect("a value");
        assert!((value - expected).abs() < 1e-9, "{value} != {expected}");
    }

    #[test]
    fn outage_across_a_month_boundary_counts_in_both_months() {
        let jan = timeline(Some((DEC1, Up)), &[(JAN31_2345, Down)]);
        let jan = row("api", &jan, &[], JAN1, FEB1, MAR1, None);
        assert_eq!(counts(&jan), (31 * DAY, 15 * MIN, 0, 1, None));
        close(jan.uptime_pct, 99.966_397_849_462_37);
        let feb = timeline(Some((JAN31_2345, Down)), &[(FEB1_0015, Up)]);
        let feb = row("api", &feb, &[], FEB1, MAR1, MAR1 + DAY, None);
        assert_eq!(counts(&feb), (28 * DAY, 15 * MIN, 0, 1, Some(30 * MIN)));
        close(feb.uptime_pct, 99.962_797_619_047_62);
    }

    #[test]
    fn maintenance_over_part_of_an_outage_is_neither_down_nor_monitored() {
        let r = day(&[(m(600), Down), (m(660), Up)], &[(m(630), m(720))]);
        assert_eq!(counts(&r), (DAY - 90 * MIN, 30 * MIN, 90 * MIN, 1, Some(60 * MIN)));
    }

    #[test]
    fn outage_inside_maintenance_is_no_outage() {
        let inside = [(m(615), Down), (m(645), Up)];
        let r = day(&inside, &[(m(600), m(660))]);
        assert_eq!(counts(&r), (DAY - HOUR, 0, HOUR, 0, None));
        assert_eq!(r.uptime_pct, Some(100.0));
        // Beside a later outage, only that one counts, in the MTTR too.
        let both = [inside[0], inside[1], (m(1200), Down), (m(1210), Degraded)];
        let r = day(&both, &[(m(600), m(660))]);
        assert_eq!(counts(&r), (DAY - HOUR, 10 * MIN, HOUR, 1, Some(10 * MIN)));
    }

    #[test]
    fn unknown_time_is_not_counted() {
        let t = timeline(None, &[(m(60), Up), (m(120), Down), (m(180), Up), (m(1200), Unknown)]);
        let r = row("api", &t, &[], FEB1, FEB1 + DAY, MAR1, None);
        assert_eq!(counts(&r), (19 * HOUR, HOUR, 0, 1, Some(HOUR)));
    }

    #[test]
    fn time_after_now_is_not_counted() {
        let t = timeline(Some((JAN1, Up)), &[(m(660), Down), (m(780), Up)]);
        let maintenance = [(m(360), m(420)), (m(1080), m(1140))];
        let r = row("api", &t, &maintenance, FEB1, FEB1 + DAY, m(720), None);
        assert_eq!(counts(&r), (11 * HOUR, HOUR, HOUR, 1, None));
        let r = row("api", &t, &maintenance, FEB1, FEB1 + DAY, FEB1 - HOUR, None);
        assert_eq!((counts(&r), r.uptime_pct), ((0, 0, 0, 0, None), None));
    }

    #[test]
    fn overlapping_maintenance_spans_are_merged() {
        let mut spans = vec![(m(-60), m(60)), (m(30), m(120)), (m(300), m(360)), (m(310), m(320))];
        spans.extend([(m(360), m(420)), (m(1380), m(1740)), (m(540), m(480))]);
        let r = day(&[], &spans);
        assert_eq!(counts(&r), (19 * HOUR, 0, 5 * HOUR, 0, None));
        assert_eq!(r.uptime_pct, Some(100.0));
    }

    #[test]
    fn slo_budget_and_burn_rate() {
        let thirty_days = |down: i64, slo: Option<f64>| {
            let t = timeline(Some((DEC1, Up)), &[(JAN1 + DAY, Down), (JAN1 + DAY + down, Up)]);
            row("api", &t, &[], JAN1, JAN1 + 30 * DAY, MAR1, slo)
        };
        // 99.9% of 30 days allows 43.2 minutes; 21.6 minutes down spends half.
        let r = thirty_days(1_296_000, Some(99.9));
        assert_eq!(counts(&r), (30 * DAY, 1_296_000, 0, 1, Some(1_296_000)));
        assert_eq!((r.budget_ms, r.budget_left_pct), (Some(2_592_000), Some(50.0)));
        close(r.burn_rate, 0.5);
        close(r.uptime_pct, 99.95);
        let r = thirty_days(5_184_000, Some(99.9));
        assert_eq!((r.budget_ms, r.budget_left_pct), (Some(2_592_000), Some(-100.0)));
        close(r.burn_rate, 2.0);
        let r = thirty_days(MIN, Some(100.0));
        assert_eq!((r.budget_ms, r.budget_left_pct, r.burn_rate), (Some(0), None, None));
        let r = thirty_days(MIN, None);
        assert_eq!((r.budget_ms, r.budget_left_pct, r.burn_rate), (None, None, None));
    }

    #[test]
    fn empty_timeline_has_no_uptime() {
        let r = row("api", &timeline(None, &[]), &[], FEB1, MAR1, MAR1, Some(99.9));
        assert_eq!((counts(&r), r.uptime_pct), ((0, 0, 0, 0, None), None));
        assert_eq!((r.budget_ms, r.budget_left_pct, r.burn_rate), (Some(0), None, None));
    }

    #[test]
    fn changes_are_sorted_and_repeats_and_outsiders_ignored() {
        let mut changes = vec![(m(180), Up), (m(120), Down), (m(60), Down), (m(150), Down)];
        changes.extend([(m(-60), Down), (m(1440), Down)]);
        let r = day(&changes, &[]);
        assert_eq!(counts(&r), (DAY, 2 * HOUR, 0, 1, Some(2 * HOUR)));
    }

    #[test]
    fn csv_formats_quotes_and_guards_formulas() {
        let t = timeline(Some((DEC1, Up)), &[(JAN31_2345, Down)]);
        let jan = row("=cmd", &t, &[], JAN1, FEB1, MAR1, Some(99.9));
        let named = |name: &str| {
            let mut r = jan.clone();
            (r.check, r.slo, r.mttr_ms) = (name.to_owned(), None, Some(90_000));
            r
        };
        let mut rows = vec![jan.clone()];
        rows.extend(["web, eu", "say \"hi\"", "-1,2", "\tx", "@x", "line\nbreak", "ok"].map(named));
        let (from, to) = (JAN1, FEB1);
        let range = "2026-01-01T00:00:00Z,2026-02-01T00:00:00Z";
        let rest = "44640,15,0,99.9664,1,1.5,,44.64,66.3978,0.336";
        let expected = format!(
            "check,from,to,monitored_minutes,down_minutes,maintenance_minutes,uptime_percent,outages,mttr_minutes,\
             slo_percent,budget_minutes,budget_left_percent,burn_rate\n\
             '=cmd,{range},44640,15,0,99.9664,1,,99.9,44.64,66.3978,0.336\n\
             \"web, eu\",{range},{rest}\n\"say \"\"hi\"\"\",{range},{rest}\n\"'-1,2\",{range},{rest}\n\
             '\tx,{range},{rest}\n'@x,{range},{rest}\n\"line\nbreak\",{range},{rest}\nok,{range},{rest}\n"
        );
        assert_eq!(csv(&Report { from, to, rows }), expected);
    }

    #[test]
    fn numbers_and_times_format() {
        let shown = [30 * MIN, 30_000, 75_000, 1, 30, 29, 0].map(minutes);
        assert_eq!(shown, ["30", "0.5", "1.25", "0", "0.001", "0", "0"]);
        let shown = [-0.00001, 99.95, 2.0 / 3.0, f64::NAN].map(|v| decimal(Some(v)));
        assert_eq!(shown, ["0", "99.95", "0.6667", ""]);
        assert_eq!(decimal(None), "");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1000), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(rfc3339(FEB1_0015), "2026-02-01T00:15:00Z");
        assert_eq!(rfc3339(MAR1 - 1), "2026-02-28T23:59:59.999Z");
    }
}
