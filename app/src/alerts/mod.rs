//! Alerts, as the page and the API see them: rule instances (pending,
//! firing, resolved), the rules with their current values, silences,
//! maintenance windows and the channels' last deliveries.
//!
//! The server (`vigil::alerts`) evaluates every rule on each sample,
//! check round and health rollup, keeps the state in SQLite and sends
//! through the channels. The pending and firing alerts reach the browser
//! as `alerts` frames ([`AlertsLive`]), which also carry the count the
//! header shows.
//!
//! - this file: the wire types, compiled for the server and the browser;
//! - [`query`]: the alerts query trait and its server functions;
//! - [`view`]: the alerts page's parts and the header's count.

mod query;
mod view;

use serde::{Deserialize, Serialize};

pub use query::*;
pub use view::{AlertsBadge, AlertsPage};

/// How bad a firing alert is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Where a rule instance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Past its threshold, for less than the rule's `for` so far.
    Pending,
    /// Past its threshold for the rule's `for`: people are told.
    Firing,
    /// Was firing, is back: people are told once more.
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One rule instance: a rule, and the series instance (or check, or
/// component) it watches. `GET /api/v1/alerts` answers a list of these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's name.
    pub name: String,
    /// What the rule watched: a series instance (`filesystem_used_percent.root`),
    /// a check or a health component.
    pub instance: String,
    pub state: AlertState,
    pub severity: Severity,
    /// The value that last breached (or, resolved, came back); none for
    /// status rules.
    pub value: Option<f64>,
    /// The rule's threshold, for showing the value against it.
    pub threshold: Option<f64>,
    /// Unix ms when the value first breached (pending began).
    pub since: i64,
    /// Unix ms when it fired, if it did.
    pub fired_at: Option<i64>,
    /// Unix ms when it resolved, if it did.
    pub resolved_at: Option<i64>,
    /// What the notification says.
    pub message: String,
    /// The check it is about, if any (for silences, maintenance windows
    /// and dependencies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// A check's or component's own words for why it is down.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A silence, a maintenance window or a parent check that is down
    /// mutes it: shown, not sent.
    pub silenced: bool,
    /// What mutes it, in words (`silence #3: disk swap tonight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_by: Option<String>,
}

impl Alert {
    /// Where the page and the API list it: firing first, critical first,
    /// then the oldest.
    pub fn order_key(&self) -> (u8, std::cmp::Reverse<Severity>, i64) {
        let state = match self.state {
            AlertState::Firing => 0,
            AlertState::Pending => 1,
            AlertState::Resolved => 2,
        };
        (state, std::cmp::Reverse(self.severity), self.since)
    }
}

/// The pending and firing alerts, and the filesystems' forecasts, as
/// `alerts` frames carry them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsLive {
    /// Pending and firing, in [`Alert::order_key`] order.
    pub alerts: Vec<Alert>,
    /// Series that will be full (each filesystem filling up steadily).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forecasts: Vec<Forecast>,
}

/// When a filling series will be full, from a fit over its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The series instance (`filesystem_used_percent.data`).
    pub series: String,
    /// Unix ms when it reaches 100 %.
    pub full_at: i64,
    /// Percentage points per hour.
    pub per_hour: f64,
}

impl Forecast {
    /// "full in ~3 days", as of `now` (Unix ms).
    pub fn full_in(&self, now: i64) -> String {
        format!("full in {}", roughly((self.full_at - now).max(0) as f64 / 3_600_000.0))
    }
}

/// A forecast rule's limit as the config writes it: `2d`, `36h`.
pub fn within(hours: f64) -> String {
    let hours = hours.round().max(1.0) as u64;
    if hours.is_multiple_of(24) {
        format!("{}d", hours / 24)
    } else {
        format!("{hours}h")
    }
}

/// "~3 days", "~5 h", "~40 min": how long, roughly.
pub fn roughly(hours: f64) -> String {
    if hours >= 48.0 {
        format!("~{} days", (hours / 24.0).round())
    } else if hours >= 2.0 {
        format!("~{} h", hours.round())
    } else {
        format!("~{} min", (hours * 60.0).round().max(1.0))
    }
}

impl AlertsLive {
    /// How many fire and are not muted: what the header shows.
    pub fn firing(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing && !a.silenced)
            .count()
    }
}

/// One rule, with what it reads now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub name: String,
    /// What it watches, in words (`filesystem_used_percent above 90`).
    pub watches: String,
    pub severity: Severity,
    /// `for`, in ms.
    pub hold_ms: u64,
    /// The threshold; for `full within`, hours.
    pub threshold: Option<f64>,
    /// `"above"`, `"below"` or `"full within"` (a fill forecast); for
    /// fleet rules when they fire (`"while silent"`, `"while returned"`);
    /// none for check and component rules.
    pub side: Option<String>,
    /// The channels it goes to (the route, when the rule names none).
    pub notify: Vec<String>,
    /// Each instance it reads and its latest value (or status), worst first.
    pub readings: Vec<Reading>,
}

/// One instance a rule reads, and its latest value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub instance: String,
    /// The value, in its series' unit, in words (`93.2 %`); a status
    /// rule's is `up` or `down`.
    pub shown: String,
    /// Whether it is past the threshold.
    pub breaching: bool,
}

/// A silence: mutes the alerts it matches until it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: i64,
    /// Match one rule by name...
    pub rule: Option<String>,
    /// ... and/or one instance ...
    pub instance: Option<String>,
    /// ... and/or the alerts about one check. At least one is set.
    pub check: Option<String>,
    pub comment: String,
    pub created_by: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

impl Silence {
    /// Whether it mutes an alert of `rule` on `instance` about `check`.
    pub fn matches(&self, rule: &str, instance: &str, check: Option<&str>) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self.instance.as_deref().is_none_or(|i| i == instance)
            && self.check.as_deref().is_none_or(|c| Some(c) == check)
    }

    /// What it matches, in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.rule {
            parts.push(format!("rule {r}"));
        }
        if let Some(i) = &self.instance {
            parts.push(format!("instance {i}"));
        }
        if let Some(c) = &self.check {
            parts.push(format!("check {c}"));
        }
        parts.join(", ")
    }
}

/// A maintenance window, from the config file or made on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowView {
    /// Set for windows made on the page (they can be ended there); the
    /// config file's have none.
    pub id: Option<i64>,
    pub name: String,
    /// When it opens, in words.
    pub when: String,
    /// What it mutes, in words.
    pub mutes: String,
    pub open: bool,
    /// The opening that holds now or comes next (Unix ms).
    pub next_start: Option<i64>,
    pub next_end: Option<i64>,
}

/// The outcome of one delivery to a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Unix ms when it ended.
    pub ts: i64,
    pub ok: bool,
    /// `HTTP 204 in 12 ms`, or why it failed.
    pub detail: String,
    pub attempts: u32,
}

/// A notification channel and how its deliveries went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub name: String,
    /// `webhook`, `email`, ...
    pub kind: String,
    /// Where it goes, without secrets (a host, or an address).
    pub target: String,
    /// Messages waiting (or being retried).
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub last: Option<Delivery>,
}

/// Everything the alerts page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsBoard {
    /// Pending and firing.
    pub live: AlertsLive,
    /// Resolved, newest first.
    pub history: Vec<Alert>,
    pub rules: Vec<RuleView>,
    pub channels: Vec<ChannelView>,
    /// Active and upcoming silences.
    pub silences: Vec<Silence>,
    pub windows: Vec<WindowView>,
    /// Set when a reload of the config file failed: the running config
    /// stays, and admins are told why.
    pub config_error: Option<String>,
    /// Whether the reader may add and end silences and windows and send
    /// tests (an admin).
    pub can_edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_left_read_roughly_and_limits_as_written() {
        let f = Forecast {
            series: "filesystem_used_percent.data".into(),
            full_at: 3 * 86_400_000,
            per_hour: 0.5,
        };
        assert_eq!(f.full_in(0), "full in ~3 days");
        assert_eq!(f.full_in(3 * 86_400_000 - 5 * 3_600_000), "full in ~5 h");
        assert_eq!(f.full_in(3 * 86_400_000 - 40 * 60_000), "full in ~40 min");
        assert_eq!(f.full_in(4 * 86_400_000), "full in ~1 min", "past due reads as now");
        assert_eq!(
            (within(24.0), within(36.0), within(2160.0)),
            ("1d".into(), "36h".into(), "90d".into())
        );
    }
}
