//! What a channel sends: one [`Message`] per channel per group of alerts
//! that fired or resolved together, and its words (a title and a text)
//! that every channel type shares.

use app::alerts::{Alert, AlertState};
use serde::{Deserialize, Serialize};

/// Why a message goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reason {
    /// Alerts fired (or fire still, told again after the repeat interval).
    Firing,
    /// Every alert in it resolved.
    Resolved,
    /// A test from the alerts page or `vigil notify-test`.
    Test,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Firing => "firing",
            Reason::Resolved => "resolved",
            Reason::Test => "test",
        }
    }
}

/// One notification, as queued for a channel (and kept in the outbox).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    /// The host Vigil watches (`[host] name`).
    pub(crate) host: String,
    pub(crate) reason: Reason,
    /// Firing ones first; each says its own state.
    pub(crate) alerts: Vec<Alert>,
    /// What else people should know: the checks a down parent mutes.
    #[serde(default)]
    pub(crate) notes: Vec<String>,
    /// Unix ms when it was made.
    pub(crate) ts: i64,
}

impl Message {
    /// A group of alerts for one channel: firing if any fires.
    pub(crate) fn new(host: &str, mut alerts: Vec<Alert>, notes: Vec<String>, ts: i64) -> Message {
        alerts.sort_by_key(Alert::order_key);
        let reason = if alerts.iter().any(|a| a.state != AlertState::Resolved) {
            Reason::Firing
        } else {
            Reason::Resolved
        };
        Message {
            host: host.to_string(),
            reason,
            alerts,
            notes,
            ts,
        }
    }

    /// The test message.
    pub(crate) fn test(host: &str, channel: &str, ts: i64) -> Message {
        Message {
            host: host.to_string(),
            reason: Reason::Test,
            alerts: Vec::new(),
            notes: vec![format!(
                "This is a test of the channel {channel:?}: if you read it, alerts reach you."
            )],
            ts,
        }
    }

    /// How many alerts in it fire.
    pub(crate) fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == AlertState::Firing).count()
    }

    /// One line: `[FIRING] web1: check api is down: HTTP 503`, or, for a
    /// group, `[FIRING:3] web1: check-down ×2, disk-full`.
    pub(crate) fn title(&self) -> String {
        let tag = match self.reason {
            Reason::Test => return format!("[TEST] {}: a test message from Vigil", self.host),
            Reason::Resolved => "RESOLVED".to_string(),
            Reason::Firing if self.alerts.len() == 1 => "FIRING".to_string(),
            Reason::Firing => format!("FIRING:{}", self.firing()),
        };
        if let [one] = self.alerts.as_slice() {
            return format!("[{tag}] {}: {}", self.host, one.message);
        }
        let mut names: Vec<(String, usize)> = Vec::new();
        for a in &self.alerts {
            match names.iter_mut().find(|(n, _)| *n == a.name) {
                Some((_, count)) => *count += 1,
                None => names.push((a.name.clone(), 1)),
            }
        }
        let names: Vec<String> = names
            .into_iter()
            .map(|(n, c)| if c > 1 { format!("{n} ×{c}") } else { n })
            .collect();
        format!("[{tag}] {}: {}", self.host, names.join(", "))
    }

    /// The body as plain text: one line per alert, then the notes.
    pub(crate) fn text(&self) -> String {
        let mut lines: Vec<String> = self.alerts.iter().map(line).collect();
        lines.extend(self.notes.iter().cloned());
        lines.join("\n")
    }
}

/// `FIRING critical disk-full: filesystem_used_percent.root is 96.0 %, above 90.0 % (since 12:03 UTC)`.
pub(crate) fn line(a: &Alert) -> String {
    let when = match a.state {
        AlertState::Resolved => a.resolved_at.map(|t| format!("resolved {}", clock(t))),
        _ => Some(format!("since {}", clock(a.fired_at.unwrap_or(a.since)))),
    }
    .unwrap_or_default();
    format!(
        "{} {} {}: {} ({when})",
        a.state.as_str().to_uppercase(),
        a.severity.as_str(),
        a.name,
        a.message
    )
}

/// A Unix ms time as `2026-12-06 12:03 UTC`.
pub(crate) fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// RFC 3339, as Alertmanager and most JSON APIs want times.
pub(crate) fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use app::alerts::Severity;

    pub(crate) fn alert(name: &str, instance: &str, state: AlertState) -> Alert {
        Alert {
            name: name.into(),
            instance: instance.into(),
            state,
            severity: Severity::Critical,
            value: None,
            threshold: None,
            since: 1_765_000_000_000,
            fired_at: Some(1_765_000_060_000),
            resolved_at: (state == AlertState::Resolved).then_some(1_765_000_120_000),
            message: format!("check {instance} is down: HTTP 503"),
            check: None,
            reason: String::new(),
            silenced: false,
            muted_by: None,
        }
    }

    #[test]
    fn titles_say_one_alert_whole_and_a_group_by_rule() {
        let one = Message::new("web1", vec![alert("check-down", "api", AlertState::Firing)], vec![], 0);
        assert_eq!(one.title(), "[FIRING] web1: check api is down: HTTP 503");
        assert_eq!(
            one.text(),
            "FIRING critical check-down: check api is down: HTTP 503 (since 2025-12-06 05:47 UTC)"
        );
        let group = Message::new(
            "web1",
            vec![
                alert("check-down", "api", AlertState::Firing),
                alert("disk-full", "filesystem_used_percent.root", AlertState::Resolved),
                alert("check-down", "db", AlertState::Firing),
            ],
            vec!["db is down: its children are muted".into()],
            0,
        );
        assert_eq!(group.reason, Reason::Firing);
        assert_eq!(group.title(), "[FIRING:2] web1: check-down ×2, disk-full");
        assert_eq!(group.text().lines().count(), 4);
        assert!(group
            .text()
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("RESOLVED critical disk-full"));
        let back = Message::new(
            "web1",
            vec![alert("check-down", "api", AlertState::Resolved)],
            vec![],
            0,
        );
        assert_eq!(back.reason, Reason::Resolved);
        assert!(back.title().starts_with("[RESOLVED] web1: "));
        assert_eq!(
            Message::test("web1", "mail", 0).title(),
            "[TEST] web1: a test message from Vigil"
        );
    }

    #[test]
    fn messages_read_back_from_the_outbox() {
        let m = Message::new("web1", vec![alert("check-down", "api", AlertState::Firing)], vec![], 5);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
    }
}
