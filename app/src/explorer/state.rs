//! What the explorer shows, and its URL form. The URL query is the only
//! place the view lives, so a link or a reload shows the same chart:
//!
//! - `series=a,b`: the series, comma-separated (repeated `series=`
//!   parameters, as a plain HTML form sends them, are merged). Missing:
//!   the default pair; present but empty: nothing selected.
//! - `range=1h`: a preset ending now (`5m`, `1h`, `24h`, `7d`, `30d`); the
//!   chart follows the clock. Or `from=MS&to=MS`: a fixed window in Unix
//!   ms (a `YYYY-MM-DDTHH:MM` value, as a form without JavaScript sends it,
//!   is read as UTC).
//! - `base=1h` or `base=FROM-TO`: after a drag-zoom, the range before the
//!   first zoom, which "Reset zoom" goes back to.
//! - `host=NAME`: another host's series, read from the fleet's engine
//!   (`/hosts` links here); missing: this Vigil's own host.

use std::fmt::Write as _;

/// Where the explorer page lives.
pub const PATH: &str = "/explore";
/// The series shown when the URL names none.
pub const DEFAULT_SERIES: [&str; 2] = ["cpu_usage_percent", "memory_used_percent"];
/// Most series one view draws; more would be unreadable (and each is a query).
pub const MAX_SERIES: usize = 8;
/// The narrowest window a zoom may ask for.
pub const MIN_SPAN_MS: i64 = 5_000;

/// A range that ends now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    Minutes5,
    Hour1,
    Hours24,
    Days7,
    Days30,
}

impl Preset {
    /// In the order the range buttons show them.
    pub const ALL: [Preset; 5] = [
        Preset::Minutes5,
        Preset::Hour1,
        Preset::Hours24,
        Preset::Days7,
        Preset::Days30,
    ];

    /// The URL form, also used in test ids (`range-preset-5m`).
    pub fn key(self) -> &'static str {
        match self {
            Preset::Minutes5 => "5m",
            Preset::Hour1 => "1h",
            Preset::Hours24 => "24h",
            Preset::Days7 => "7d",
            Preset::Days30 => "30d",
        }
    }

    /// What a person reads: "last 5 min".
    pub fn label(self) -> &'static str {
        match self {
            Preset::Minutes5 => "5 min",
            Preset::Hour1 => "1 h",
            Preset::Hours24 => "24 h",
            Preset::Days7 => "7 d",
            Preset::Days30 => "30 d",
        }
    }

    pub fn span_ms(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            Preset::Minutes5 => 5 * MIN,
            Preset::Hour1 => 60 * MIN,
            Preset::Hours24 => 24 * 60 * MIN,
            Preset::Days7 => 7 * 24 * 60 * MIN,
            Preset::Days30 => 30 * 24 * 60 * MIN,
        }
    }

    pub fn parse(key: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// The time window of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Span {
    /// The last stretch of time up to now; the chart follows the clock.
    Last(Preset),
    /// A fixed window, Unix ms, `from < to`.
    Between { from: i64, to: i64 },
}

impl Span {
    /// The window in Unix ms at time `now`.
    pub fn window(self, now: i64) -> (i64, i64) {
        match self {
            Span::Last(p) => (now - p.span_ms(), now),
            Span::Between { from, to } => (from, to),
        }
    }

    /// Whether the window ends now and so moves with the clock.
    pub fn is_live(self) -> bool {
        matches!(self, Span::Last(_))
    }

    /// `1h` or `FROM-TO`, the form of the `base` parameter.
    fn key(self) -> String {
        match self {
            Span::Last(p) => p.key().to_string(),
            Span::Between { from, to } => format!("{from}-{to}"),
        }
    }

    fn parse_key(key: &str) -> Option<Span> {
        if let Some(p) = Preset::parse(key) {
            return Some(Span::Last(p));
        }
        let (from, to) = key.split_once('-')?;
        between(from.parse().ok()?, to.parse().ok()?)
    }
}

/// A fixed span, if the window is sane.
fn between(from: i64, to: i64) -> Option<Span> {
    (0 <= from && from < to).then_some(Span::Between { from, to })
}

/// Everything the explorer shows: which series, over which time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub series: Vec<String>,
    pub span: Span,
    /// The span before the first drag-zoom; `None` when not zoomed.
    pub base: Option<Span>,
    /// Whose series: another host's, read from the fleet's engine; `None`
    /// for this Vigil's own host.
    pub host: Option<String>,
}

impl Default for View {
    fn default() -> Self {
        View {
            series: DEFAULT_SERIES.iter().map(|s| s.to_string()).collect(),
            span: Span::Last(Preset::Hour1),
            base: None,
            host: None,
        }
    }
}

impl View {
    /// Reads a view from URL query parameters; `all(key)` returns every
    /// value of `key`. Anything missing or malformed falls back to the
    /// default, so any URL shows something.
    pub fn from_query(all: impl Fn(&str) -> Vec<String>) -> View {
        let mut view = View::default();
        let given = all("series");
        if !given.is_empty() {
            view.series.clear();
            for name in given.iter().flat_map(|v| v.split(',')) {
                let name = name.trim();
                if !name.is_empty() && !view.series.iter().any(|s| s == name) && view.series.len() < MAX_SERIES {
                    view.series.push(name.to_string());
                }
            }
        }
        let first = |key: &str| all(key).into_iter().find(|v| !v.trim().is_empty());
        let fixed = match (first("from"), first("to")) {
            (Some(from), Some(to)) => parse_time(&from).zip(parse_time(&to)).and_then(|(f, t)| between(f, t)),
            _ => None,
        };
        if let Some(span) = fixed {
            view.span = span;
        } else if let Some(preset) = first("range").and_then(|r| Preset::parse(r.trim())) {
            view.span = Span::Last(preset);
        }
        view.base = first("base")
            .and_then(|b| Span::parse_key(b.trim()))
            .filter(|b| *b != view.span);
        view.host = first("host")
            .map(|h| h.trim().to_string())
            .filter(|h| h.len() <= crate::metrics::MAX_HOST_NAME_BYTES);
        view
    }

    /// The query string (without `?`) that [`View::from_query`] reads back.
    pub fn to_query(&self) -> String {
        let mut q = String::from("series=");
        for (i, name) in self.series.iter().enumerate() {
            if i > 0 {
                q.push(',');
            }
            push_escaped(&mut q, name);
        }
        match self.span {
            Span::Last(p) => {
                let _ = write!(q, "&range={}", p.key());
            }
            Span::Between { from, to } => {
                let _ = write!(q, "&from={from}&to={to}");
            }
        }
        if let Some(base) = self.base {
            let _ = write!(q, "&base={}", base.key());
        }
        if let Some(host) = &self.host {
            q.push_str("&host=");
            push_escaped(&mut q, host);
        }
        q
    }

    /// The page URL of this view.
    pub fn to_url(&self) -> String {
        format!("{PATH}?{}", self.to_query())
    }

    /// This view over another span (a preset or a custom range): not zoomed.
    pub fn with_span(&self, span: Span) -> View {
        View {
            span,
            base: None,
            ..self.clone()
        }
    }

    /// This view with `name` added or removed; the time stays as it is.
    pub fn toggled(&self, name: &str) -> View {
        let mut next = self.clone();
        if let Some(i) = next.series.iter().position(|s| s == name) {
            next.series.remove(i);
        } else if next.series.len() < MAX_SERIES {
            next.series.push(name.to_string());
        }
        next
    }

    /// This view zoomed into `from..to` (a drag on the chart). The window
    /// is widened around its middle to at least [`MIN_SPAN_MS`]; the span
    /// before the first zoom is kept for "Reset zoom".
    pub fn zoomed(&self, from: i64, to: i64) -> View {
        let (mut from, mut to) = (from.min(to), from.max(to));
        if to - from < MIN_SPAN_MS {
            let mid = from + (to - from) / 2;
            from = mid - MIN_SPAN_MS / 2;
            to = from + MIN_SPAN_MS;
        }
        from = from.max(0);
        View {
            series: self.series.clone(),
            span: Span::Between {
                from,
                to: to.max(from + 1),
            },
            base: Some(self.base.unwrap_or(self.span)),
            host: self.host.clone(),
        }
    }

    /// The view before any zoom.
    pub fn reset_zoom(&self) -> View {
        self.with_span(self.base.unwrap_or(self.span))
    }

    pub fn is_zoomed(&self) -> bool {
        self.base.is_some()
    }
}

/// Percent-encodes everything but unreserved URL characters.
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Unix ms from a URL value: digits, or a `YYYY-MM-DDTHH:MM[:SS]` date-time
/// read as UTC.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    parse_datetime_utc(s)
}

/// `YYYY-MM-DDTHH:MM[:SS]` (the value of an `<input type="datetime-local">`)
/// as UTC Unix ms.
pub fn parse_datetime_utc(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    // Seconds may carry a fraction ("05.250"): whole seconds are enough.
    let mut t = time
        .splitn(3, ':')
        .map(|p| p.split('.').next().and_then(|w| w.parse::<i64>().ok()));
    let (h, min) = (t.next()??, t.next()??);
    let sec = t.next().flatten().unwrap_or(0);
    let valid = (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0..61).contains(&sec);
    if !valid {
        return None;
    }
    let days = days_from_civil(y, m, day);
    Some(days * 86_400_000 + (h * 3600 + min * 60 + sec) * 1000)
}

/// `YYYY-MM-DDTHH:MM` in UTC, the value format of `datetime-local` inputs.
pub fn format_datetime_utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}", secs / 3600, secs / 60 % 60)
}

pub use crate::format::now_ms;
use crate::format::{civil_from_days, days_from_civil};

/// Whether the chart is drawn, and if not, why. Set only in the browser.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) enum ChartStatus {
    Loading,
    Drawn,
    NoSeries,
    NoData,
    Failed(String),
}

impl ChartStatus {
    /// What the page says in the chart's place (nothing once it is drawn).
    pub(crate) fn text(&self) -> String {
        match self {
            ChartStatus::Loading => "The chart draws once the page’s script has loaded.".into(),
            ChartStatus::Drawn => String::new(),
            ChartStatus::NoSeries => "Pick at least one series to chart.".into(),
            ChartStatus::NoData => "No data in this window.".into(),
            ChartStatus::Failed(why) => format!("No chart: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a query string the way the router does (no percent-decoding
    /// needed for these cases but `%2C`).
    fn view(query: &str) -> View {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%2C", ",")))
            .collect();
        View::from_query(|key| pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect())
    }

    #[test]
    fn no_state_means_cpu_and_memory_over_the_last_hour() {
        let v = view("");
        assert_eq!(v.series, ["cpu_usage_percent", "memory_used_percent"]);
        assert_eq!(v.span, Span::Last(Preset::Hour1));
        assert_eq!(v.base, None);
        assert_eq!(v.to_query(), "series=cpu_usage_percent,memory_used_percent&range=1h");
    }

    #[test]
    fn views_survive_the_round_trip() {
        let views = [
            View::default(),
            View {
                series: vec!["filesystem_used_percent.root".into(), "load_average.15m".into()],
                span: Span::Last(Preset::Days30),
                base: None,
                host: Some("web-1.example".into()),
            },
            View {
                series: vec!["network_receive_bytes_per_second.eth0".into()],
                span: Span::Between {
                    from: 1_700_000_000_000,
                    to: 1_700_000_600_000,
                },
                base: Some(Span::Last(Preset::Hours24)),
                host: None,
            },
            View {
                series: vec![],
                span: Span::Between { from: 10, to: 20 },
                base: Some(Span::Between { from: 0, to: 100 }),
                host: Some("beta".into()),
            },
        ];
        for v in views {
            assert_eq!(view(&v.to_query()), v, "{}", v.to_query());
        }
    }

    #[test]
    fn series_lists_are_merged_trimmed_deduplicated_and_capped() {
        assert_eq!(view("series=a,b&series=c,a,, ").series, ["a", "b", "c"]);
        assert!(view("series=").series.is_empty(), "an empty list is a choice");
        let many: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        assert_eq!(view(&format!("series={}", many.join(","))).series.len(), MAX_SERIES);
    }

    #[test]
    fn odd_names_are_escaped_in_the_url() {
        let v = View {
            series: vec!["a b&c=d".into()],
            ..View::default()
        };
        assert!(v.to_query().starts_with("series=a%20b%26c%3Dd&"), "{}", v.to_query());
    }

    #[test]
    fn fixed_windows_win_over_presets_and_bad_ones_fall_back() {
        assert_eq!(
            view("range=5m&from=1000&to=2000").span,
            Span::Between { from: 1000, to: 2000 }
        );
        assert_eq!(view("range=7d&from=2000&to=1000").span, Span::Last(Preset::Days7));
        assert_eq!(view("range=7d&from=abc&to=1000").span, Span::Last(Preset::Days7));
        assert_eq!(view("range=2y").span, Span::Last(Preset::Hour1));
        assert_eq!(view("from=-5&to=10").span, Span::Last(Preset::Hour1));
        // What a form without JavaScript sends: datetime-local values, read as UTC.
        assert_eq!(
            view("from=2023-11-14T22:13&to=2023-11-14T23:13").span,
            Span::Between {
                from: 1_699_999_980_000,
                to: 1_700_003_580_000
            }
        );
    }

    #[test]
    fn zooming_keeps_the_first_base_and_reset_returns_to_it() {
        let v = View::default();
        let z1 = v.zoomed(2_000_000, 1_000_000);
        assert_eq!(
            z1.span,
            Span::Between {
                from: 1_000_000,
                to: 2_000_000
            }
        );
        assert_eq!(z1.base, Some(Span::Last(Preset::Hour1)));
        assert!(
            z1.to_query().ends_with("&from=1000000&to=2000000&base=1h"),
            "{}",
            z1.to_query()
        );
        let z2 = z1.zoomed(1_200_000, 1_201_000);
        assert_eq!(
            z2.span.window(0).1 - z2.span.window(0).0,
            MIN_SPAN_MS,
            "narrow zooms widen"
        );
        assert_eq!(z2.base, Some(Span::Last(Preset::Hour1)));
        assert_eq!(z2.reset_zoom(), View::default());
        assert!(!View::default().is_zoomed() && z2.is_zoomed());
        // Picking a preset or toggling a series: zoom state as expected.
        assert_eq!(z2.with_span(Span::Last(Preset::Days7)).base, None);
        assert_eq!(z2.toggled("x").base, z2.base);
        assert_eq!(z2.toggled("cpu_usage_percent").series, ["memory_used_percent"]);
    }

    #[test]
    fn a_base_equal_to_the_span_is_no_zoom() {
        assert_eq!(view("range=1h&base=1h").base, None);
        assert_eq!(view("from=1&to=9&base=1-9").base, None);
        assert_eq!(view("from=1&to=9&base=24h").base, Some(Span::Last(Preset::Hours24)));
        assert_eq!(
            view("from=1&to=9&base=0-100").base,
            Some(Span::Between { from: 0, to: 100 })
        );
        assert_eq!(view("from=1&to=9&base=junk").base, None);
    }

    #[test]
    fn presets_end_now() {
        assert_eq!(Span::Last(Preset::Minutes5).window(1_000_000), (700_000, 1_000_000));
        assert!(Span::Last(Preset::Days30).is_live());
        assert!(!Span::Between { from: 1, to: 2 }.is_live());
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.key()), Some(p));
        }
    }

    #[test]
    fn datetime_inputs_are_utc_and_round_trip() {
        assert_eq!(format_datetime_utc(0), "1970-01-01T00:00");
        assert_eq!(format_datetime_utc(1_700_000_000_000), "2023-11-14T22:13");
        assert_eq!(parse_datetime_utc("2023-11-14T22:13:20"), Some(1_700_000_000_000));
        assert_eq!(parse_datetime_utc("2024-02-29T12:00"), Some(1_709_208_000_000));
        for ms in [0, 951_782_400_000, 1_709_208_000_000, 4_102_444_800_000] {
            assert_eq!(parse_datetime_utc(&format_datetime_utc(ms)), Some(ms));
        }
        assert_eq!(parse_datetime_utc("2024-13-01T00:00"), None);
        assert_eq!(parse_datetime_utc("yesterday"), None);
        assert_eq!(parse_time("1700000000000"), Some(1_700_000_000_000));
    }
}
