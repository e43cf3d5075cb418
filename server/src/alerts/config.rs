//! The alerting sections of the config file: `[[alerts]]` (rules),
//! `[[notify]]` (channels), `[alerting]` (routing, grouping, repeats, the
//! built-in rules) and `[[maintenance]]` (windows that mute without
//! hiding), and the rules each entry must follow beyond its types.
//!
//! Secrets (tokens, passwords) are never written in the file: each comes
//! from a file (`token_file`) or an environment variable (`token_env`),
//! read once at start, never logged and never shown.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use app::alerts::Severity;
use serde::{Deserialize, Serialize};

use super::rules::{default_recovery, Bound, Rule, Watch};
use crate::entries::{check_url, Invalid};

/// One `[[alerts]]` rule.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Unique, `[a-z0-9_-]`. The name of a built-in rule changes or (with
    /// `enabled = false`) turns off that rule.
    pub name: String,
    /// A stored series: a metric (every instance: `filesystem_used_percent`)
    /// or one instance (`filesystem_used_percent.root`).
    pub series: Option<String>,
    /// A check's announced status (`"*"`: every check); fires while down.
    pub check: Option<String>,
    /// One of Vigil's own health components (`store`, `memory`, ...);
    /// fires while down.
    pub component: Option<String>,
    /// With `[fleet]`: a fleet host (`"*"`: every one) by name; fires
    /// while it sends nothing for the fleet's `stale_after`.
    pub host: Option<String>,
    /// With `[fleet]`: a PromQL expression the engine evaluates for the
    /// fleet; each series it returns is an instance, breaching while
    /// returned (`vigil_filesystem_used_percent{job="vigil"} > 90`).
    pub promql: Option<String>,
    pub above: Option<f64>,
    pub below: Option<f64>,
    /// Fires when a filesystem's fill forecast says it will be full within
    /// this long (`filesystem_used_percent` only, instead of above/below).
    #[serde(default, with = "humantime_serde")]
    pub full_within: Option<Duration>,
    /// Where a firing series instance resolves; default 2 % of the
    /// threshold inside it, so a value at the line does not flap.
    pub recovery: Option<f64>,
    /// How long the breach must hold first.
    #[serde(default, rename = "for", with = "humantime_serde")]
    pub hold: Option<Duration>,
    /// `warning` (default) or `critical`.
    pub severity: Option<String>,
    /// `[[notify]]` names; unset: the route for the severity.
    pub notify: Option<Vec<String>>,
    /// The notification's text: `{name}`, `{instance}`, `{value}`,
    /// `{threshold}`, `{reason}`, `{state}`.
    pub message: Option<String>,
    /// `false` turns the rule (a built-in one, by its name) off.
    pub enabled: Option<bool>,
}

/// Where notifications go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// A JSON POST (or the `body` template) to `url`.
    Webhook,
    /// An email over SMTP.
    Email,
    Ntfy,
    Telegram,
    Discord,
    Slack,
    /// A Microsoft Teams workflow webhook (an Adaptive Card).
    Teams,
    Gotify,
    Matrix,
    Pushover,
    /// Prometheus Alertmanager, API v2.
    Alertmanager,
}

impl NotifyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Webhook => "webhook",
            NotifyKind::Email => "email",
            NotifyKind::Ntfy => "ntfy",
            NotifyKind::Telegram => "telegram",
            NotifyKind::Discord => "discord",
            NotifyKind::Slack => "slack",
            NotifyKind::Teams => "teams",
            NotifyKind::Gotify => "gotify",
            NotifyKind::Matrix => "matrix",
            NotifyKind::Pushover => "pushover",
            NotifyKind::Alertmanager => "alertmanager",
        }
    }
}

/// How an email channel talks to its server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay).
    None,
    /// Plain, then upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// One `[[notify]]` channel. Keys that belong to one type only are
/// options, so that setting one on another type is reported.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Unique; rules name channels by it. Unset: `<type>` (or `<type>-N`
    /// when several of a type have none).
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: NotifyKind,
    /// The endpoint: the webhook, the server or the API root, by type.
    pub url: Option<String>,
    /// Longest one delivery attempt may take.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts after the first, with backoff (1 s doubling to at most
    /// 5 min apart), before a message is given up: the default spans
    /// about half an hour.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Whether resolved alerts are told too.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// webhook: a minijinja template for the body (JSON by default).
    pub body: Option<String>,
    /// email: the SMTP server.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<SmtpTls>,
    pub username: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    /// ntfy: the topic.
    pub topic: Option<String>,
    /// telegram: the chat.
    pub chat_id: Option<String>,
    /// matrix: the room id (`!abc:example.org`).
    pub room: Option<String>,
    /// pushover: the user (or group) key.
    pub user: Option<String>,
    /// ntfy, gotify, pushover: a priority as the service counts them.
    pub priority: Option<i64>,
    /// The secret (bot token, app token, access token, SMTP password) in
    /// a file...
    pub secret_file: Option<PathBuf>,
    /// ... or an environment variable.
    pub secret_env: Option<String>,
    /// email: a PEM file of the CA that signed the server's certificate
    /// (a private CA), trusted besides the public roots.
    pub ca_file: Option<PathBuf>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Attempts after the first before a message is given up.
pub(crate) const DEFAULT_RETRIES: u32 = 12;

fn default_retries() -> u32 {
    DEFAULT_RETRIES
}

fn yes() -> bool {
    true
}

impl NotifyConfig {
    /// A webhook with the defaults.
    pub fn webhook(url: &str) -> NotifyConfig {
        NotifyConfig::new(NotifyKind::Webhook, Some(url))
    }

    /// A channel of `kind` with the defaults.
    pub fn new(kind: NotifyKind, url: Option<&str>) -> NotifyConfig {
        NotifyConfig {
            name: None,
            kind,
            url: url.map(str::to_string),
            timeout: default_timeout(),
            retries: default_retries(),
            send_resolved: true,
            body: None,
            host: None,
            port: None,
            tls: None,
            username: None,
            from: None,
            to: None,
            topic: None,
            chat_id: None,
            room: None,
            user: None,
            priority: None,
            secret_file: None,
            secret_env: None,
            ca_file: None,
        }
    }
}

/// `[alerting]`: routing, grouping, repeats, the built-in rules.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingConfig {
    /// What fires (or resolves) within this goes out as one message per
    /// channel.
    #[serde(with = "humantime_serde")]
    pub group_wait: Duration,
    /// A still-firing alert is told again this often (0: never). An
    /// Alertmanager channel is re-posted every minute regardless, so the
    /// alert does not expire there.
    #[serde(with = "humantime_serde")]
    pub repeat: Duration,
    /// Where warnings and criticals go when a rule names no channel;
    /// unset: every channel.
    pub route_warning: Option<Vec<String>>,
    pub route_critical: Option<Vec<String>>,
    /// The built-in rules (each filesystem and memory filling up, the
    /// store down, a check down, a fleet host silent).
    pub defaults: bool,
    /// With `[fleet]`: how often fleet hosts and `promql` rules are read
    /// from the engine.
    #[serde(with = "humantime_serde")]
    pub fleet_every: Duration,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            group_wait: Duration::from_secs(1),
            repeat: Duration::from_secs(4 * 3600),
            route_warning: None,
            route_critical: None,
            defaults: true,
            fleet_every: Duration::from_secs(15),
        }
    }
}

/// One `[[maintenance]]` window: alerts are still evaluated and shown,
/// but not sent. Windows made on the alerts page are stored in this shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    pub name: String,
    /// A one-off window's start, local to `timezone` (`2026-12-24T22:00`)...
    pub start: Option<String>,
    /// ... or a weekly one: the days (`["sat", "sun"]`) and the time
    /// (`"02:00"`).
    pub days: Option<Vec<String>>,
    pub at: Option<String>,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// An IANA zone (`Europe/Berlin`); default UTC.
    pub timezone: Option<String>,
    /// The rules it mutes (names); unset: every rule.
    pub rules: Option<Vec<String>>,
    /// The checks it mutes (alerts whose instance is one of them); unset:
    /// as `rules` says.
    pub checks: Option<Vec<String>>,
}

/// Vigil's own health components a rule may watch.
const COMPONENTS: [&str; 5] = ["store", "memory", "storage", "collector", "websocket hub"];

/// The one metric fill forecasts are made for.
pub(crate) const FORECAST_METRIC: &str = "filesystem_used_percent";

/// The longest `full_within`: forecasts look no further (see
/// [`super::forecast::Guard::horizon`]).
const MAX_FULL_WITHIN: Duration = Duration::from_secs(90 * 86_400);

/// The built-in rules: each filesystem at 90 % for 5 min (warning) and
/// 97 % (critical), memory at 95 % for 5 min, the store down, a check
/// down. A `[[alerts]]` entry of the same name replaces one.
pub(crate) fn builtin(fleet: bool) -> Vec<AlertConfig> {
    let five = Some(Duration::from_secs(300));
    let mut all = vec![
        AlertConfig {
            name: "disk-full".into(),
            series: Some("filesystem_used_percent".into()),
            above: Some(90.0),
            hold: five,
            severity: Some("warning".into()),
            ..Default::default()
        },
        AlertConfig {
            name: "disk-full-critical".into(),
            series: Some("filesystem_used_percent".into()),
            above: Some(97.0),
            hold: five,
            severity: Some("critical".into()),
            ..Default::default()
        },
        AlertConfig {
            name: "memory-full".into(),
            series: Some("memory_used_percent".into()),
            above: Some(95.0),
            hold: five,
            severity: Some("critical".into()),
            ..Default::default()
        },
        AlertConfig {
            name: "store-down".into(),
            component: Some("store".into()),
            severity: Some("critical".into()),
            ..Default::default()
        },
        AlertConfig {
            name: "check-down".into(),
            check: Some("*".into()),
            severity: Some("critical".into()),
            ..Default::default()
        },
    ];
    if fleet {
        all.push(AlertConfig {
            name: "host-silent".into(),
            host: Some("*".into()),
            severity: Some("critical".into()),
            ..Default::default()
        });
    }
    all
}

/// The rules in force: the built-in ones (unless turned off as a whole),
/// each replaced by a configured rule of its name, then the others.
pub(crate) fn rules(configured: &[AlertConfig], alerting: &AlertingConfig, fleet: bool) -> Vec<Rule> {
    let mut all: Vec<AlertConfig> = if alerting.defaults { builtin(fleet) } else { Vec::new() };
    for c in configured {
        match all.iter_mut().find(|b| b.name == c.name) {
            Some(b) => *b = c.clone(),
            None => all.push(c.clone()),
        }
    }
    all.iter()
        .filter(|c| c.enabled != Some(false))
        .filter_map(rule_of)
        .collect()
}

/// How many rules are in force (for `vigil check-config`).
pub fn rule_count(configured: &[AlertConfig], alerting: &AlertingConfig, fleet: bool) -> usize {
    rules(configured, alerting, fleet).len()
}

/// A valid entry as a rule.
fn rule_of(c: &AlertConfig) -> Option<Rule> {
    let watch = if let Some(series) = &c.series {
        let (metric, instance) = match series.split_once('.') {
            Some((metric, _)) => (metric.to_string(), Some(series.clone())),
            None => (series.clone(), None),
        };
        Watch::Series { metric, instance }
    } else if let Some(check) = &c.check {
        Watch::Check((check != "*").then(|| check.clone()))
    } else if let Some(host) = &c.host {
        Watch::Host((host != "*").then(|| host.clone()))
    } else if let Some(expr) = &c.promql {
        Watch::Promql(expr.clone())
    } else {
        Watch::Component(c.component.clone()?)
    };
    let bound = match (c.above, c.below, c.full_within) {
        (_, _, Some(within)) => Some(Bound::FullWithin(within.as_secs_f64() / 3600.0)),
        (Some(t), None, None) => Some(Bound::Above(t)),
        (None, Some(t), None) => Some(Bound::Below(t)),
        _ => None,
    };
    Some(Rule {
        name: c.name.clone(),
        watch,
        bound,
        recovery: c.recovery.or_else(|| bound.map(default_recovery)),
        hold: c.hold.unwrap_or_default(),
        severity: c.severity.as_deref().and_then(Severity::parse).unwrap_or_default(),
        notify: c.notify.clone(),
        message: c.message.clone(),
    })
}

/// An above/below series rule's threshold and recovery line.
fn threshold_rules(a: &AlertConfig) -> Result<(), (Option<&'static str>, String)> {
    let bound = match (a.above, a.below) {
        (Some(_), Some(_)) => return Err((Some("below"), "set above or below, not both".into())),
        (None, None) => return Err((None, "a series rule needs above, below or full_within".into())),
        (Some(t), None) => Bound::Above(t),
        (None, Some(t)) => Bound::Below(t),
    };
    let inside = match (a.recovery, bound) {
        (Some(recovery), Bound::Above(t)) => recovery <= t,
        (Some(recovery), Bound::Below(t)) => recovery >= t,
        _ => true,
    };
    if !inside {
        return Err((
            Some("recovery"),
            "must be on the threshold's inside (below an above threshold, above a below one)".into(),
        ));
    }
    Ok(())
}

/// The channel names of `notify`, in order: given, or the type's (with a
/// number when several of a type have none).
pub(crate) fn channel_names(notify: &[NotifyConfig]) -> Vec<String> {
    let mut unnamed: HashMap<NotifyKind, usize> = HashMap::new();
    for n in notify.iter().filter(|n| n.name.is_none()) {
        *unnamed.entry(n.kind).or_default() += 1;
    }
    let mut counters: HashMap<NotifyKind, usize> = HashMap::new();
    notify
        .iter()
        .map(|n| match &n.name {
            Some(name) => name.clone(),
            None if unnamed[&n.kind] == 1 => n.kind.as_str().to_string(),
            None => {
                let k = counters.entry(n.kind).or_default();
                *k += 1;
                format!("{}-{}", n.kind.as_str(), k)
            }
        })
        .collect()
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks `[alerting]`: its routes name channels, its times are sane.
pub(crate) fn validate_alerting(
    alerting: &AlertingConfig,
    notify: &[NotifyConfig],
) -> Result<(), (&'static str, String)> {
    let names = channel_names(notify);
    for (key, route) in [
        ("alerting.route_warning", &alerting.route_warning),
        ("alerting.route_critical", &alerting.route_critical),
    ] {
        for name in route.iter().flatten() {
            if !names.contains(name) {
                return Err((key, format!("no [[notify]] channel is named {name:?}")));
            }
        }
    }
    if alerting.group_wait > Duration::from_secs(300) {
        return Err(("alerting.group_wait", "at most 5 minutes".into()));
    }
    if !alerting.repeat.is_zero() && alerting.repeat < Duration::from_secs(60) {
        return Err(("alerting.repeat", "at least 1 minute (or 0s: never)".into()));
    }
    if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&alerting.fleet_every) {
        return Err(("alerting.fleet_every", "from 1s to 1h".into()));
    }
    Ok(())
}

/// Checks the arrays of the alerting sections: rules, channels, windows.
pub(crate) fn validate(
    alerts: &[AlertConfig],
    notify: &[NotifyConfig],
    maintenance: &[MaintenanceConfig],
    checks: &[&str],
    fleet: bool,
) -> Result<(), Invalid> {
    let names = channel_names(notify);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, n) in notify.iter().enumerate() {
        let fail = |field: Option<&'static str>, message: String| Invalid {
            section: "notify",
            index,
            field,
            message,
        };
        if let Some(first) = seen.insert(&names[index], index) {
            return Err(fail(
                Some("name"),
                format!("duplicate channel name {:?} (notify[{first}] has it too)", names[index]),
            ));
        }
        if !plain_name(&names[index]) {
            return Err(fail(Some("name"), "names are 1 to 64 of a-z, 0-9, '-' and '_'".into()));
        }
        validate_channel(n).map_err(|(field, message)| fail(Some(field), message))?;
    }
    let known = |list: &Option<Vec<String>>| -> Result<(), String> {
        for name in list.iter().flatten() {
            if !names.contains(name) {
                return Err(format!("no [[notify]] channel is named {name:?}"));
            }
        }
        Ok(())
    };
    let mut rule_names: HashMap<&str, usize> = HashMap::new();
    for (index, a) in alerts.iter().enumerate() {
        let fail = |field: Option<&'static str>, message: String| Invalid {
            section: "alerts",
            index,
            field,
            message: format!("alert {:?}: {message}", a.name),
        };
        if !plain_name(&a.name) {
            return Err(fail(Some("name"), "names are 1 to 64 of a-z, 0-9, '-' and '_'".into()));
        }
        if let Some(first) = rule_names.insert(&a.name, index) {
            return Err(fail(
                Some("name"),
                format!("duplicate name (alerts[{first}] has it too)"),
            ));
        }
        known(&a.notify).map_err(|m| fail(Some("notify"), m))?;
        if a.enabled == Some(false) {
            continue;
        }
        let sources = [
            a.series.is_some(),
            a.check.is_some(),
            a.component.is_some(),
            a.host.is_some(),
            a.promql.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            let builtin = builtin(true).into_iter().any(|b| b.name == a.name);
            let why = if builtin {
                "replaces a built-in rule, so it needs all of it: one of series, check, component, host or promql"
            } else {
                "set one of series, check, component, host or promql"
            };
            return Err(fail(None, why.into()));
        }
        for (key, set) in [("host", a.host.is_some()), ("promql", a.promql.is_some())] {
            if set && !fleet {
                return Err(fail(
                    Some(key),
                    "reads the fleet: needs a [fleet] section naming the engine".into(),
                ));
            }
        }
        if let Some(expr) = &a.promql {
            if expr.trim().is_empty() || expr.len() > 4096 || expr.chars().any(char::is_control) {
                return Err(fail(
                    Some("promql"),
                    "a PromQL expression of 1 to 4096 characters on one line".into(),
                ));
            }
        }
        if let Some(series) = &a.series {
            let metric = series.split('.').next().unwrap_or_default();
            if crate::catalog::metric_of(metric).is_none() {
                return Err(fail(
                    Some("series"),
                    format!("{series:?} is not a stored series (GET /api/v1/series lists them)"),
                ));
            }
            if let Some(within) = a.full_within {
                if metric != FORECAST_METRIC {
                    return Err(fail(
                        Some("full_within"),
                        format!("forecasts are made for {FORECAST_METRIC} only, not {metric:?}"),
                    ));
                }
                if a.above.is_some() || a.below.is_some() || a.recovery.is_some() {
                    return Err(fail(
                        Some("full_within"),
                        "set full_within or above/below, not both (a forecast rule has no recovery value)".into(),
                    ));
                }
                if !(Duration::from_secs(3600)..=MAX_FULL_WITHIN).contains(&within) {
                    return Err(fail(Some("full_within"), "from 1h to 90d".into()));
                }
            } else {
                threshold_rules(a).map_err(|(field, message)| fail(field, message))?;
            }
        } else {
            if let Some(component) = &a.component {
                if !COMPONENTS.contains(&component.as_str()) {
                    return Err(fail(
                        Some("component"),
                        format!("{component:?} is not one of {}", COMPONENTS.join(", ")),
                    ));
                }
            }
            if let Some(check) = a.check.as_deref().filter(|c| *c != "*") {
                if !checks.contains(&check) {
                    return Err(fail(
                        Some("check"),
                        format!("no [[checks]] entry is named {check:?} (\"*\": every check)"),
                    ));
                }
            }
            for (key, set) in [
                ("above", a.above.is_some()),
                ("below", a.below.is_some()),
                ("recovery", a.recovery.is_some()),
                ("full_within", a.full_within.is_some()),
            ] {
                if set {
                    return Err(fail(
                        Some(key),
                        "only a series rule has a threshold (a check, component or host fires while down; a promql rule's expression holds its comparison)".into(),
                    ));
                }
            }
        }
        if let Some(severity) = &a.severity {
            if Severity::parse(severity).is_none() {
                return Err(fail(Some("severity"), format!("{severity:?}: warning or critical")));
            }
        }
        if a.hold.is_some_and(|h| h > Duration::from_secs(7 * 86_400)) {
            return Err(fail(Some("for"), "at most 7 days".into()));
        }
    }
    for (index, m) in maintenance.iter().enumerate() {
        let fail = |field: Option<&'static str>, message: String| Invalid {
            section: "maintenance",
            index,
            field,
            message: format!("window {:?}: {message}", m.name),
        };
        super::maintenance::Window::from_config(m).map_err(|(field, message)| fail(field, message))?;
    }
    Ok(())
}

/// What each channel type needs and takes.
fn validate_channel(n: &NotifyConfig) -> Result<(), (&'static str, String)> {
    use NotifyKind as K;
    let needs_url = !matches!(n.kind, K::Email | K::Telegram | K::Pushover | K::Ntfy);
    match &n.url {
        Some(url) => check_url(url, &["http", "https"]).map_err(|m| ("url", m))?,
        None if needs_url => return Err(("url", format!("a {} channel needs url", n.kind.as_str()))),
        None => {}
    }
    let only = |key: &'static str, set: bool, kinds: &[NotifyKind]| -> Result<(), (&'static str, String)> {
        if set && !kinds.contains(&n.kind) {
            return Err((key, format!("not a key of a {} channel", n.kind.as_str())));
        }
        Ok(())
    };
    only("body", n.body.is_some(), &[K::Webhook])?;
    for (key, set) in [
        ("host", n.host.is_some()),
        ("port", n.port.is_some()),
        ("tls", n.tls.is_some()),
        ("username", n.username.is_some()),
        ("from", n.from.is_some()),
        ("to", n.to.is_some()),
    ] {
        only(key, set, &[K::Email])?;
    }
    only("topic", n.topic.is_some(), &[K::Ntfy])?;
    only("chat_id", n.chat_id.is_some(), &[K::Telegram])?;
    only("room", n.room.is_some(), &[K::Matrix])?;
    only("user", n.user.is_some(), &[K::Pushover])?;
    only("ca_file", n.ca_file.is_some(), &[K::Email])?;
    only("priority", n.priority.is_some(), &[K::Ntfy, K::Gotify, K::Pushover])?;
    let secret = n.secret_file.is_some() || n.secret_env.is_some();
    if n.secret_file.is_some() && n.secret_env.is_some() {
        return Err(("secret_env", "set secret_file or secret_env, not both".into()));
    }
    let needs_secret = matches!(n.kind, K::Telegram | K::Gotify | K::Matrix | K::Pushover);
    if needs_secret && !secret {
        return Err((
            "secret_file",
            format!(
                "a {} channel needs its token in secret_file or secret_env",
                n.kind.as_str()
            ),
        ));
    }
    only(
        "secret_file",
        n.secret_file.is_some(),
        &[
            K::Email,
            K::Ntfy,
            K::Telegram,
            K::Gotify,
            K::Matrix,
            K::Pushover,
            K::Webhook,
            K::Alertmanager,
        ],
    )?;
    match n.kind {
        K::Email => {
            if n.host.as_deref().is_none_or(str::is_empty) {
                return Err(("host", "an email channel needs host (the SMTP server)".into()));
            }
            let from = n.from.as_deref().unwrap_or_default();
            if from.parse::<lettre::Address>().is_err() && from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(("from", format!("{from:?} is not an email address")));
            }
            let to = n.to.as_deref().unwrap_or_default();
            if to.is_empty() {
                return Err(("to", "an email channel needs at least one address in to".into()));
            }
            for addr in to {
                if addr.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(("to", format!("{addr:?} is not an email address")));
                }
            }
            if n.username.is_some() != secret {
                return Err((
                    "username",
                    "SMTP auth needs both username and the password (secret_file or secret_env)".into(),
                ));
            }
        }
        K::Ntfy if n.topic.as_deref().is_none_or(str::is_empty) => {
            return Err(("topic", "an ntfy channel needs topic".into()));
        }
        K::Telegram if n.chat_id.as_deref().is_none_or(str::is_empty) => {
            return Err(("chat_id", "a telegram channel needs chat_id".into()));
        }
        K::Matrix if n.room.as_deref().is_none_or(str::is_empty) => {
            return Err(("room", "a matrix channel needs room (a room id)".into()));
        }
        K::Pushover if n.user.as_deref().is_none_or(str::is_empty) => {
            return Err(("user", "a pushover channel needs user (the user key)".into()));
        }
        K::Webhook => {
            if let Some(body) = &n.body {
                minijinja::Environment::new()
                    .template_from_str(body)
                    .map_err(|e| ("body", format!("not a template: {e}")))?;
            }
        }
        _ => {}
    }
    if n.timeout < Duration::from_millis(100) || n.timeout > Duration::from_secs(60) {
        return Err(("timeout", format!("{:?} is out of range (100ms to 60s)", n.timeout)));
    }
    if n.retries > 20 {
        return Err(("retries", format!("{} is more than 20", n.retries)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_are_replaced_by_name_or_turned_off() {
        let alerting = AlertingConfig::default();
        let names = |rules: Vec<Rule>| rules.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(
            names(rules(&[], &alerting, false)),
            [
                "disk-full",
                "disk-full-critical",
                "memory-full",
                "store-down",
                "check-down"
            ]
        );
        assert_eq!(names(rules(&[], &alerting, true)).last().unwrap(), "host-silent");
        let off = AlertConfig {
            name: "memory-full".into(),
            enabled: Some(false),
            ..Default::default()
        };
        let mine = AlertConfig {
            name: "disk-full".into(),
            series: Some("filesystem_used_percent".into()),
            above: Some(80.0),
            ..Default::default()
        };
        let all = rules(&[off, mine], &alerting, false);
        assert_eq!(
            names(all.clone()),
            ["disk-full", "disk-full-critical", "store-down", "check-down"]
        );
        assert_eq!(all[0].bound, Some(Bound::Above(80.0)));
        assert_eq!(all[0].recovery, Some(78.4));
        let none = AlertingConfig {
            defaults: false,
            ..AlertingConfig::default()
        };
        assert!(rules(&[], &none, true).is_empty());
    }

    #[test]
    fn unnamed_channels_are_named_by_type() {
        let n = [
            NotifyConfig::webhook("http://a/"),
            NotifyConfig::webhook("http://b/"),
            NotifyConfig::new(NotifyKind::Slack, Some("http://c/")),
        ];
        assert_eq!(channel_names(&n), ["webhook-1", "webhook-2", "slack"]);
    }
}
