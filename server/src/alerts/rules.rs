//! Alert rules and the life of their instances, without I/O or a clock of
//! their own (the caller passes `now`), so every path is tested on made-up
//! times.
//!
//! A rule watches a series of the catalog (every instance of a metric, or
//! one), the announced status of checks, or one of Vigil's own health
//! components. Each thing it watches is an instance with a phase:
//!
//! ```text
//! (none) --breach--> pending --held for `for`--> firing --back past the recovery line--> resolved
//!          pending --no longer breaching--> (none, nothing told)
//! ```
//!
//! A series rule breaches above (or below) its threshold and recovers only
//! once the value is back past its recovery line, a little inside the
//! threshold (2 % of it unless set), so a value hovering at the line fires
//! once, not on every wobble. A status rule breaches while the check or
//! component is down, and recovers when it is up again.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use app::alerts::{Alert, AlertState, Severity};
use app::checks::CheckState;
use app::health::{HealthReport, Status};
use app::metrics::{Sample, Unit};

use super::fleet::FleetHost;
use crate::catalog;

/// What a rule watches.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Watch {
    /// A catalog metric: every instance (`filesystem_used_percent`) or one
    /// (`filesystem_used_percent.root`). Check series (`check_latency_seconds.api`)
    /// are read from check rounds.
    Series { metric: String, instance: Option<String> },
    /// The announced status of one check, or of every check (`None`).
    Check(Option<String>),
    /// One of Vigil's own health components (`store`, `memory`, ...).
    Component(String),
    /// Whether a fleet host (or every one, `None`) has gone silent.
    Host(Option<String>),
    /// A PromQL expression over the fleet: each series it returns breaches.
    Promql(String),
}

/// Which side of the threshold breaches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Bound {
    Above(f64),
    Below(f64),
    /// The fill forecast says full within this many hours (read from
    /// forecasts, not samples: the value is hours left).
    FullWithin(f64),
}

impl Bound {
    /// The threshold (hours for a forecast).
    pub(crate) fn threshold(self) -> f64 {
        match self {
            Bound::Above(t) | Bound::Below(t) | Bound::FullWithin(t) => t,
        }
    }
}

/// One rule, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    pub(crate) name: String,
    pub(crate) watch: Watch,
    /// Series rules only.
    pub(crate) bound: Option<Bound>,
    /// Where a firing series instance resolves (the threshold's side of it
    /// is still firing).
    pub(crate) recovery: Option<f64>,
    /// How long a breach must hold before it fires.
    pub(crate) hold: Duration,
    pub(crate) severity: Severity,
    /// Channel names; `None` for the default route.
    pub(crate) notify: Option<Vec<String>>,
    /// A message template (`{instance}`, `{value}`, `{threshold}`, `{name}`,
    /// `{reason}`); `None` for the default wording.
    pub(crate) message: Option<String>,
}

/// The default recovery line: 2 % of the threshold inside it; a forecast
/// resolves once full is a quarter further off than its limit (or not in
/// sight), since forecasts move more than values.
pub(crate) fn default_recovery(bound: Bound) -> f64 {
    match bound {
        Bound::Above(t) => t - t.abs() * 0.02,
        Bound::Below(t) => t + t.abs() * 0.02,
        Bound::FullWithin(t) => t * 1.25,
    }
}

impl Rule {
    /// Whether `value` is past the threshold.
    pub(crate) fn breaches(&self, value: f64) -> bool {
        match self.bound {
            Some(Bound::Above(t)) => value > t,
            Some(Bound::Below(t)) | Some(Bound::FullWithin(t)) => value < t,
            None => false,
        }
    }

    /// Whether a firing instance at `value` is back (past the recovery line).
    fn recovered(&self, value: f64) -> bool {
        let line = self.recovery.or_else(|| self.bound.map(default_recovery));
        match (self.bound, line) {
            (Some(Bound::Above(_)), Some(line)) => value <= line,
            (Some(Bound::Below(_) | Bound::FullWithin(_)), Some(line)) => value >= line,
            _ => true,
        }
    }

    /// The check an instance of this rule is about, if any.
    pub(crate) fn check_of(&self, instance: &str) -> Option<String> {
        match &self.watch {
            Watch::Check(_) => Some(instance.to_string()),
            Watch::Series { metric, .. } if metric.starts_with("check_") => {
                instance.split_once('.').map(|(_, check)| check.to_string())
            }
            _ => None,
        }
    }

    /// What it watches, in words.
    pub(crate) fn watches(&self) -> String {
        match &self.watch {
            Watch::Series { metric, instance } => instance.clone().unwrap_or_else(|| metric.clone()),
            Watch::Check(None) => "every check".into(),
            Watch::Check(Some(name)) => format!("check {name}"),
            Watch::Component(name) => format!("component {name}"),
            Watch::Host(None) => "every fleet host".into(),
            Watch::Host(Some(name)) => format!("host {name}"),
            Watch::Promql(expr) => expr.clone(),
        }
    }

    /// The fleet host an instance of this rule is about (a `promql` rule's
    /// `instance` label), whose silence mutes it.
    pub(crate) fn host_of<'a>(&self, instance: &'a str) -> Option<&'a str> {
        match self.watch {
            Watch::Promql(_) => Some(instance.split_once('{').map_or(instance, |(host, _)| host)),
            _ => None,
        }
    }

    /// `above`, `below` or `full within` for series rules; when a host or
    /// promql rule fires, in words.
    pub(crate) fn side(&self) -> Option<&'static str> {
        match self.watch {
            Watch::Host(_) => return Some("while silent"),
            Watch::Promql(_) => return Some("while returned"),
            _ => {}
        }
        match self.bound? {
            Bound::Above(_) => Some("above"),
            Bound::Below(_) => Some("below"),
            Bound::FullWithin(_) => Some("full within"),
        }
    }

    /// The threshold, for above and below rules.
    pub(crate) fn threshold(&self) -> Option<f64> {
        self.bound
            .filter(|b| !matches!(b, Bound::FullWithin(_)))
            .map(Bound::threshold)
    }

    /// Whether this rule reads the values of host series (each sample
    /// holds every one of them, so one it lacks is gone).
    fn reads_host_series(&self) -> bool {
        matches!(&self.watch, Watch::Series { metric, .. } if !metric.starts_with("check_")) && !self.forecasts()
    }

    /// Whether this rule reads forecasts rather than values.
    pub(crate) fn forecasts(&self) -> bool {
        matches!(self.bound, Some(Bound::FullWithin(_)))
    }

    /// A reading as a person reads it: the value in its series' unit, or
    /// for a forecast rule, the time left.
    pub(crate) fn show(&self, instance: &str, value: f64) -> String {
        if !self.forecasts() {
            return show(instance, value);
        }
        if value.is_finite() {
            format!("full in {}", app::alerts::roughly(value))
        } else {
            "not filling up".into()
        }
    }

    /// Whether this rule reads the sample values of series `series` of
    /// metric `metric`.
    fn reads_series(&self, metric: &str, series: &str) -> bool {
        self.reads(metric, series) && !self.forecasts()
    }

    /// Whether this rule watches series `series` of metric `metric`.
    fn reads(&self, metric: &str, series: &str) -> bool {
        match &self.watch {
            Watch::Series { metric: m, instance } => m == metric && instance.as_deref().is_none_or(|i| i == series),
            _ => false,
        }
    }
}

/// One instance's state between evaluations.
#[derive(Clone, Debug, PartialEq)]
struct Live {
    state: AlertState,
    since: i64,
    fired_at: Option<i64>,
    value: Option<f64>,
    /// The last breach's words (a check's reason, a component's).
    reason: String,
}

/// What an evaluation changed, for the notifier and the store.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// An instance began to breach (shown, not told).
    Pending(Alert),
    /// An instance fires: tell people.
    Fired(Alert),
    /// A firing instance is back: tell people.
    Resolved(Alert),
    /// A pending instance stopped breaching before it fired (nothing to tell).
    Cleared { name: String, instance: String },
}

/// Every rule, and the pending and firing instances.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    rules: Vec<Rule>,
    /// By (rule name, instance).
    live: BTreeMap<(String, String), Live>,
    /// The latest reading of every instance each rule reads, breaching or
    /// not, for the alerts page.
    readings: BTreeMap<(String, String), Reading>,
}

/// One reading of an instance: a value, whether it is down, or a value a
/// `promql` rule's expression returned (breaching by being returned).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reading {
    Value(f64),
    Down(bool),
    Returned(f64),
}

impl Rules {
    pub(crate) fn new(rules: Vec<Rule>) -> Rules {
        Rules {
            rules,
            live: BTreeMap::new(),
            readings: BTreeMap::new(),
        }
    }

    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Takes back what was pending or firing before a restart (as stored),
    /// for rules that still exist; a firing one is not told again.
    pub(crate) fn restore(&mut self, saved: impl IntoIterator<Item = Alert>) {
        for a in saved {
            if !self.rules.iter().any(|r| r.name == a.name) || a.state == AlertState::Resolved {
                continue;
            }
            let reason = a.reason.clone();
            self.live.insert(
                (a.name.clone(), a.instance.clone()),
                Live {
                    state: a.state,
                    since: a.since,
                    fired_at: a.fired_at,
                    value: a.value,
                    reason,
                },
            );
        }
    }

    /// Replaces the rules (a reloaded config), keeping what the rules of
    /// the same name had pending or firing.
    pub(crate) fn replace(&mut self, rules: Vec<Rule>) {
        self.live.retain(|(name, _), _| rules.iter().any(|r| &r.name == name));
        self.readings.clear();
        self.rules = rules;
    }

    /// Evaluates every series rule on a host sample. Instances of a rule
    /// that the sample no longer holds (an unmounted filesystem) resolve.
    pub(crate) fn on_sample(&mut self, sample: &Sample, now: i64) -> Vec<Change> {
        let mut readings: Vec<(usize, String, f64)> = Vec::new();
        catalog::for_each(sample, |metric, labels, value| {
            let series = metric.series_name(labels);
            for (i, rule) in self.rules.iter().enumerate() {
                if rule.reads_series(metric.name, &series) {
                    readings.push((i, series.clone(), value));
                }
            }
        });
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for (i, series, value) in readings {
            seen.insert((self.rules[i].name.clone(), series.clone()));
            changes.extend(self.observe(i, &series, Reading::Value(value), "", now));
        }
        // What the sample covers (host series) and no longer holds.
        changes.extend(self.vanish_unseen(&seen, |rule, _| rule.reads_host_series(), now));
        changes
    }

    /// Evaluates the forecast rules on the latest fits: `evaluated` holds
    /// every series forecast, with its hours left (`None`: not filling up).
    /// Instances no longer evaluated (an unmounted filesystem) resolve.
    pub(crate) fn on_forecasts(&mut self, evaluated: &[(String, Option<f64>)], now: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for i in 0..self.rules.len() {
            if !self.rules[i].forecasts() {
                continue;
            }
            for (series, hours) in evaluated {
                let metric = series.split('.').next().unwrap_or_default();
                if !self.rules[i].reads(metric, series) {
                    continue;
                }
                seen.insert((self.rules[i].name.clone(), series.clone()));
                let reading = Reading::Value(hours.unwrap_or(f64::INFINITY));
                changes.extend(self.observe(i, series, reading, "", now));
            }
        }
        changes.extend(self.vanish_unseen(&seen, |rule, _| rule.forecasts(), now));
        changes
    }

    /// Evaluates the check rules and the check series rules on one round.
    pub(crate) fn on_round(&mut self, round: &CheckState, now: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let up = catalog::check_up(round.observed);
        let latency = round.latency_ms.map(|ms| ms / 1000.0);
        for i in 0..self.rules.len() {
            let reading = match &self.rules[i].watch {
                Watch::Check(name) if name.as_deref().is_none_or(|n| n == round.name) => {
                    if round.status == Status::Unknown {
                        continue;
                    }
                    (round.name.clone(), Reading::Down(round.status == Status::Down))
                }
                Watch::Series { metric, .. } if metric == "check_up" || metric == "check_latency_seconds" => {
                    let series = format!("{metric}.{}", app::metrics::slug(&round.name));
                    let value = if metric == "check_up" { up } else { latency };
                    match value {
                        Some(v) if self.rules[i].reads_series(metric, &series) => (series, Reading::Value(v)),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let (instance, reading) = reading;
            changes.extend(self.observe(i, &instance, reading, &round.reason, now));
        }
        changes
    }

    /// Evaluates the component rules on a health rollup.
    pub(crate) fn on_report(&mut self, report: &HealthReport, now: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for i in 0..self.rules.len() {
            let Watch::Component(name) = &self.rules[i].watch else {
                continue;
            };
            let Some(c) = report.components.iter().find(|c| &c.name == name) else {
                continue;
            };
            if c.status == Status::Unknown {
                continue;
            }
            let (instance, reason) = (c.name.clone(), c.reason.clone());
            changes.extend(self.observe(i, &instance, Reading::Down(c.status == Status::Down), &reason, now));
        }
        changes
    }

    /// Evaluates the host rules on the fleet's hosts (every one but this).
    /// Hosts the fleet no longer lists resolve.
    pub(crate) fn on_hosts(&mut self, hosts: &[FleetHost], now: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for i in 0..self.rules.len() {
            let Watch::Host(only) = &self.rules[i].watch else {
                continue;
            };
            let only = only.clone();
            for host in hosts {
                if only.as_ref().is_some_and(|o| *o != host.name) {
                    continue;
                }
                seen.insert((self.rules[i].name.clone(), host.name.clone()));
                changes.extend(self.observe(i, &host.name, Reading::Down(host.silent), &host.reason, now));
            }
        }
        changes.extend(self.vanish_unseen(&seen, |rule, _| matches!(rule.watch, Watch::Host(_)), now));
        changes
    }

    /// Evaluates the `promql` rule `name` on what its expression returned
    /// (instance, value): each returned instance breaches, each no longer
    /// returned is back, except on a host in `held` (silent: its alerts
    /// stay as they were, muted, until it sends again).
    pub(crate) fn on_promql(
        &mut self,
        name: &str,
        returned: &[(String, f64)],
        held: &HashSet<String>,
        now: i64,
    ) -> Vec<Change> {
        let Some(i) = self
            .rules
            .iter()
            .position(|r| r.name == name && matches!(r.watch, Watch::Promql(_)))
        else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for (instance, value) in returned {
            seen.insert((name.to_string(), instance.clone()));
            changes.extend(self.observe(i, instance, Reading::Returned(*value), "", now));
        }
        let held = |rule: &Rule, instance: &str| rule.host_of(instance).is_some_and(|h| held.contains(h));
        changes.extend(self.vanish_unseen(&seen, |rule, instance| rule.name == name && !held(rule, instance), now));
        changes
    }

    /// Clears or resolves the instances (live or only read) not in `seen`
    /// of the rules `covered` says this evaluation speaks for, and drops
    /// their readings.
    fn vanish_unseen(
        &mut self,
        seen: &HashSet<(String, String)>,
        covered: impl Fn(&Rule, &str) -> bool,
        now: i64,
    ) -> Vec<Change> {
        let gone: std::collections::BTreeSet<(usize, String)> = self
            .live
            .keys()
            .chain(self.readings.keys())
            .filter(|key| !seen.contains(*key))
            .filter_map(|(name, instance)| {
                let i = self.rules.iter().position(|r| &r.name == name)?;
                covered(&self.rules[i], instance).then(|| (i, instance.clone()))
            })
            .collect();
        gone.into_iter()
            .filter_map(|(i, instance)| self.vanish(i, &instance, now))
            .collect()
    }

    /// Fires what has been pending for its rule's `for` (between readings:
    /// a check read every minute still fires on time).
    pub(crate) fn tick(&mut self, now: i64) -> Vec<Change> {
        let due: Vec<(String, String)> = self
            .live
            .iter()
            .filter(|(_, l)| l.state == AlertState::Pending)
            .filter(|((name, _), l)| {
                self.rules
                    .iter()
                    .find(|r| &r.name == name)
                    .is_some_and(|r| now - l.since >= millis(r.hold))
            })
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|(name, instance)| {
                let rule = self.rules.iter().position(|r| r.name == name)?;
                let live = self.live.get_mut(&(name, instance.clone()))?;
                live.state = AlertState::Firing;
                live.fired_at = Some(now);
                let live = live.clone();
                Some(Change::Fired(self.alert(rule, &instance, &live, None)))
            })
            .collect()
    }

    /// The latest readings of rule `name`'s instances.
    pub(crate) fn readings_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, Reading)> + 'a {
        self.readings
            .range((name.to_string(), String::new())..)
            .take_while(move |((rule, _), _)| rule == name)
            .map(|((_, instance), reading)| (instance.as_str(), *reading))
    }

    /// Every pending and firing instance, as the API shows them.
    pub(crate) fn alerts(&self) -> Vec<Alert> {
        self.live
            .iter()
            .filter_map(|((name, instance), live)| {
                let i = self.rules.iter().position(|r| &r.name == name)?;
                Some(self.alert(i, instance, live, None))
            })
            .collect()
    }

    fn observe(&mut self, i: usize, instance: &str, reading: Reading, reason: &str, now: i64) -> Option<Change> {
        let rule = &self.rules[i];
        let key = (rule.name.clone(), instance.to_string());
        self.readings.insert(key.clone(), reading);
        let (breach, recovered, value) = match reading {
            Reading::Value(v) => (rule.breaches(v), rule.recovered(v), Some(v)),
            Reading::Down(down) => (down, !down, None),
            Reading::Returned(v) => (true, false, Some(v)),
        };
        match self.live.get_mut(&key) {
            None if breach => {
                // A rule with no `for` fires at once.
                let fires = rule.hold.is_zero();
                let live = Live {
                    state: if fires { AlertState::Firing } else { AlertState::Pending },
                    since: now,
                    fired_at: fires.then_some(now),
                    value,
                    reason: reason.to_string(),
                };
                self.live.insert(key, live.clone());
                let alert = self.alert(i, instance, &live, None);
                Some(if fires {
                    Change::Fired(alert)
                } else {
                    Change::Pending(alert)
                })
            }
            None => None,
            Some(live) => {
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    live.value = Some(v);
                }
                if breach {
                    live.reason = reason.to_string();
                }
                match live.state {
                    AlertState::Pending if !breach => {
                        self.live.remove(&key);
                        Some(Change::Cleared {
                            name: key.0,
                            instance: key.1,
                        })
                    }
                    AlertState::Pending => {
                        let due = now - live.since >= millis(rule.hold);
                        if due {
                            live.state = AlertState::Firing;
                            live.fired_at = Some(now);
                            let live = live.clone();
                            return Some(Change::Fired(self.alert(i, instance, &live, None)));
                        }
                        None
                    }
                    AlertState::Firing if recovered => {
                        let live = self.live.remove(&key)?;
                        Some(Change::Resolved(self.alert(i, instance, &live, Some(now))))
                    }
                    _ => None,
                }
            }
        }
    }

    /// An instance that is no longer reported: pending ones clear, firing
    /// ones resolve.
    fn vanish(&mut self, i: usize, instance: &str, now: i64) -> Option<Change> {
        let key = (self.rules[i].name.clone(), instance.to_string());
        self.readings.remove(&key);
        let live = self.live.remove(&key)?;
        match live.state {
            AlertState::Firing => {
                let mut live = live;
                live.reason = "no longer reported".into();
                Some(Change::Resolved(self.alert(i, instance, &live, Some(now))))
            }
            _ => Some(Change::Cleared {
                name: key.0,
                instance: key.1,
            }),
        }
    }

    fn alert(&self, i: usize, instance: &str, live: &Live, resolved_at: Option<i64>) -> Alert {
        let rule = &self.rules[i];
        let state = if resolved_at.is_some() {
            AlertState::Resolved
        } else {
            live.state
        };
        Alert {
            name: rule.name.clone(),
            instance: instance.to_string(),
            state,
            severity: rule.severity,
            value: live.value,
            threshold: rule.threshold(),
            since: live.since,
            fired_at: live.fired_at,
            resolved_at,
            message: message(rule, instance, live.value, &live.reason, state),
            check: rule.check_of(instance),
            reason: live.reason.clone(),
            silenced: false,
            muted_by: None,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A value as a person reads it, in its series' unit.
pub(crate) fn show(instance: &str, value: f64) -> String {
    let unit = catalog::metric_of(instance).map(|m| m.unit);
    match unit {
        Some(Unit::Percent) => format!("{value:.1} %"),
        Some(Unit::Bytes) => app::format::bytes(value.max(0.0) as u64),
        Some(Unit::BytesPerSecond) => app::format::rate(value),
        Some(Unit::Seconds) => app::format::millis(value * 1000.0),
        _ => {
            let text = format!("{value:.2}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// What a notification about `instance` says: the rule's template, or the
/// default wording.
fn message(rule: &Rule, instance: &str, value: Option<f64>, reason: &str, state: AlertState) -> String {
    let value_text = value.map(|v| rule.show(instance, v)).unwrap_or_default();
    let threshold_text = match rule.bound {
        Some(Bound::FullWithin(hours)) => app::alerts::within(hours),
        Some(b) => show(instance, b.threshold()),
        None => String::new(),
    };
    if let Some(template) = &rule.message {
        return template
            .replace("{name}", &rule.name)
            .replace("{instance}", instance)
            .replace("{value}", &value_text)
            .replace("{threshold}", &threshold_text)
            .replace("{reason}", reason)
            .replace("{state}", state.as_str());
    }
    let back = state == AlertState::Resolved;
    match (&rule.watch, rule.bound) {
        (Watch::Series { .. }, Some(Bound::FullWithin(_))) if back => {
            format!("{instance} is no longer on course to be full within {threshold_text}")
        }
        (Watch::Series { .. }, Some(Bound::FullWithin(_))) => {
            format!("{instance} will be {value_text} (alert when full within {threshold_text})")
        }
        (Watch::Series { .. }, Some(bound)) => {
            let side = if matches!(bound, Bound::Above(_)) {
                "above"
            } else {
                "below"
            };
            if back {
                format!("{instance} is back at {value_text} (alert at {side} {threshold_text})")
            } else {
                format!("{instance} is {value_text}, {side} {threshold_text}")
            }
        }
        (Watch::Host(_), _) if back => format!("host {instance} is sending again"),
        (Watch::Host(_), _) => format!("host {instance} is silent: {reason}"),
        (Watch::Promql(_), _) if back => format!("{} on {instance} is back", rule.name),
        (Watch::Promql(_), _) => format!("{} on {instance}: {value_text}", rule.name),
        (Watch::Check(_), _) if back => format!("check {instance} is up again"),
        (Watch::Check(_), _) => format!("check {instance} is down: {reason}"),
        (Watch::Component(_), _) if back => format!("{instance} is up again"),
        _ => format!("{instance} is down: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::health::ComponentHealth;
    use app::metrics::{Disk, Memory};

    const MIN: i64 = 60_000;

    fn disk_rule(above: f64, hold: Duration) -> Rule {
        Rule {
            name: "disk-full".into(),
            watch: Watch::Series {
                metric: "filesystem_used_percent".into(),
                instance: None,
            },
            bound: Some(Bound::Above(above)),
            recovery: None,
            hold,
            severity: Severity::Critical,
            notify: None,
            message: None,
        }
    }

    fn sample(disks: &[(&str, f64)]) -> Sample {
        Sample {
            memory: Memory {
                total: 100,
                used: 50,
                ..Default::default()
            },
            disks: disks
                .iter()
                .map(|(mount, pct)| Disk {
                    mount: mount.to_string(),
                    device: "/dev/x".into(),
                    fs: "ext4".into(),
                    total: 1000,
                    used: (*pct * 10.0) as u64,
                    available: 1000 - (*pct * 10.0) as u64,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn filling_rule(hours: f64) -> Rule {
        Rule {
            name: "disk-filling".into(),
            bound: Some(Bound::FullWithin(hours)),
            recovery: Some(default_recovery(Bound::FullWithin(hours))),
            hold: Duration::ZERO,
            severity: Severity::Warning,
            ..disk_rule(0.0, Duration::ZERO)
        }
    }

    #[test]
    fn a_forecast_rule_fires_on_the_forecast_and_resolves_when_it_backs_off() {
        let mut rules = Rules::new(vec![filling_rule(24.0)]);
        let series = "filesystem_used_percent.data".to_string();
        // Samples never fire or resolve it: it reads forecasts.
        assert!(rules.on_sample(&sample(&[("/data", 99.0)]), 0).is_empty());
        assert!(kinds(&rules.on_forecasts(&[(series.clone(), Some(30.0))], 0)).is_empty());
        let fired = rules.on_forecasts(&[(series.clone(), Some(5.0))], MIN);
        assert_eq!(kinds(&fired), ["fired filesystem_used_percent.data"]);
        let Change::Fired(alert) = &fired[0] else {
            unreachable!()
        };
        assert_eq!(
            alert.message,
            "filesystem_used_percent.data will be full in ~5 h (alert when full within 1d)"
        );
        assert_eq!(alert.threshold, None, "hours are no threshold of the series");
        // A sample without the mount does not clear a forecast alert...
        assert!(rules.on_sample(&sample(&[]), 2 * MIN).is_empty());
        // ...nor does a forecast a little past the limit (recovery at 30 h).
        assert!(rules.on_forecasts(&[(series.clone(), Some(28.0))], 3 * MIN).is_empty());
        let back = rules.on_forecasts(&[(series.clone(), None)], 4 * MIN);
        assert_eq!(kinds(&back), ["resolved filesystem_used_percent.data"]);
        let Change::Resolved(alert) = &back[0] else {
            unreachable!()
        };
        assert_eq!(
            alert.message,
            "filesystem_used_percent.data is no longer on course to be full within 1d"
        );
        // Fires again, then the filesystem is gone from the fits: resolves.
        assert_eq!(rules.on_forecasts(&[(series, Some(2.0))], 5 * MIN).len(), 1);
        assert_eq!(
            kinds(&rules.on_forecasts(&[], 6 * MIN)),
            ["resolved filesystem_used_percent.data"]
        );
        let rule = &rules.rules()[0];
        assert_eq!(rule.show("filesystem_used_percent.data", 50.0), "full in ~2 days");
        assert_eq!(
            rule.show("filesystem_used_percent.data", f64::INFINITY),
            "not filling up"
        );
    }

    #[test]
    fn a_silent_host_fires_and_holds_its_promql_alerts_as_they_were() {
        let silent = Rule {
            name: "host-silent".into(),
            watch: Watch::Host(None),
            bound: None,
            recovery: None,
            ..disk_rule(0.0, Duration::ZERO)
        };
        let fleet_disk = Rule {
            name: "fleet-disk".into(),
            watch: Watch::Promql("vigil_filesystem_used_percent > 90".into()),
            ..silent.clone()
        };
        let mut rules = Rules::new(vec![silent, fleet_disk]);
        let none = HashSet::new();
        let host = |name: &str, silent: bool, reason: &str| FleetHost {
            name: name.into(),
            silent,
            reason: reason.into(),
        };
        let hosts = |beta_silent: bool| vec![host("alpha", false, ""), host("beta", beta_silent, "no sample for 3m")];
        assert!(rules.on_hosts(&hosts(false), 0).is_empty());
        let returned = [
            ("alpha{mount=\"/\"}".to_string(), 93.5),
            ("beta{mount=\"/\"}".to_string(), 95.0),
        ];
        let fired = rules.on_promql("fleet-disk", &returned, &none, 0);
        assert_eq!(kinds(&fired), ["fired alpha{mount=\"/\"}", "fired beta{mount=\"/\"}"]);
        let Change::Fired(a) = &fired[0] else { unreachable!() };
        assert_eq!(a.message, "fleet-disk on alpha{mount=\"/\"}: 93.5");
        assert_eq!(rules.rules()[1].host_of(&a.instance), Some("alpha"));

        // beta goes silent: its silence fires; its disk alert, no longer
        // returned, is held as it was; alpha's, no longer returned, is back.
        let went = rules.on_hosts(&hosts(true), MIN);
        assert_eq!(kinds(&went), ["fired beta"]);
        let Change::Fired(a) = &went[0] else { unreachable!() };
        assert_eq!(a.message, "host beta is silent: no sample for 3m");
        let held: HashSet<String> = ["beta".to_string()].into();
        let back = rules.on_promql("fleet-disk", &[], &held, MIN);
        assert_eq!(kinds(&back), ["resolved alpha{mount=\"/\"}"]);
        assert_eq!(rules.alerts().len(), 2, "beta's two alerts stay");
        // beta sends again (and its disk is fine): both resolve.
        assert_eq!(kinds(&rules.on_hosts(&hosts(false), 2 * MIN)), ["resolved beta"]);
        assert_eq!(
            kinds(&rules.on_promql("fleet-disk", &[], &none, 2 * MIN)),
            ["resolved beta{mount=\"/\"}"]
        );
        assert!(rules.alerts().is_empty());
    }

    fn kinds(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Pending(a) => format!("pending {}", a.instance),
                Change::Fired(a) => format!("fired {}", a.instance),
                Change::Resolved(a) => format!("resolved {}", a.instance),
                Change::Cleared { instance, .. } => format!("cleared {instance}"),
            })
            .collect()
    }

    #[test]
    fn a_breach_pends_for_its_hold_then_fires_once_then_resolves_once() {
        let mut r = Rules::new(vec![disk_rule(90.0, Duration::from_secs(300))]);
        let root = "filesystem_used_percent.root";
        assert!(r.on_sample(&sample(&[("/", 50.0)]), 0).is_empty());
        assert_eq!(
            kinds(&r.on_sample(&sample(&[("/", 95.0)]), MIN)),
            [format!("pending {root}")]
        );
        // Still breaching, not for five minutes yet.
        assert!(r.on_sample(&sample(&[("/", 96.0)]), 5 * MIN).is_empty());
        let fired = r.on_sample(&sample(&[("/", 96.0)]), 6 * MIN);
        assert_eq!(kinds(&fired), [format!("fired {root}")]);
        let Change::Fired(a) = &fired[0] else { panic!() };
        assert_eq!(
            (a.since, a.fired_at, a.value, a.threshold),
            (MIN, Some(6 * MIN), Some(96.0), Some(90.0))
        );
        assert_eq!(a.message, "filesystem_used_percent.root is 96.0 %, above 90.0 %");
        // Firing stays quiet while it stays past the line.
        assert!(r.on_sample(&sample(&[("/", 99.0)]), 7 * MIN).is_empty());
        assert_eq!(r.alerts().len(), 1);
        let resolved = r.on_sample(&sample(&[("/", 70.0)]), 8 * MIN);
        assert_eq!(kinds(&resolved), [format!("resolved {root}")]);
        let Change::Resolved(a) = &resolved[0] else { panic!() };
        assert_eq!((a.state, a.resolved_at), (AlertState::Resolved, Some(8 * MIN)));
        assert!(r.alerts().is_empty());
    }

    #[test]
    fn a_value_hovering_at_the_line_fires_once_not_on_every_wobble() {
        let mut r = Rules::new(vec![disk_rule(90.0, Duration::ZERO)]);
        let mut told = Vec::new();
        // 89.5, 90.5, 89.5, ... for an hour: inside the 2 % margin (88.2).
        for minute in 0..60 {
            let v = if minute % 2 == 0 { 90.5 } else { 89.5 };
            told.extend(kinds(&r.on_sample(&sample(&[("/", v)]), minute * MIN)));
        }
        assert_eq!(told, ["fired filesystem_used_percent.root"]);
        // Well back: resolved, once.
        assert_eq!(
            kinds(&r.on_sample(&sample(&[("/", 80.0)]), 61 * MIN)),
            ["resolved filesystem_used_percent.root"]
        );
    }

    #[test]
    fn a_pending_breach_that_stops_tells_no_one() {
        let mut r = Rules::new(vec![disk_rule(90.0, Duration::from_secs(300))]);
        r.on_sample(&sample(&[("/", 95.0)]), 0);
        assert_eq!(
            kinds(&r.on_sample(&sample(&[("/", 50.0)]), MIN)),
            ["cleared filesystem_used_percent.root"]
        );
        assert!(r.tick(10 * MIN).is_empty());
    }

    #[test]
    fn every_instance_of_a_metric_has_its_own_state_and_vanishing_resolves() {
        let mut r = Rules::new(vec![disk_rule(90.0, Duration::ZERO)]);
        let changes = r.on_sample(&sample(&[("/", 95.0), ("/data", 50.0), ("/var", 99.0)]), 0);
        assert_eq!(
            kinds(&changes),
            [
                "fired filesystem_used_percent.root",
                "fired filesystem_used_percent.var"
            ]
        );
        // /var unmounted: resolved, saying why.
        let changes = r.on_sample(&sample(&[("/", 95.0), ("/data", 50.0)]), MIN);
        assert_eq!(kinds(&changes), ["resolved filesystem_used_percent.var"]);
        let Change::Resolved(a) = &changes[0] else { panic!() };
        assert_eq!(a.value, Some(99.0));
    }

    #[test]
    fn one_instance_rules_and_below_rules_and_custom_messages() {
        let mut rule = disk_rule(0.0, Duration::ZERO);
        rule.watch = Watch::Series {
            metric: "filesystem_used_percent".into(),
            instance: Some("filesystem_used_percent.data".into()),
        };
        rule.bound = Some(Bound::Below(10.0));
        rule.recovery = Some(20.0);
        rule.message = Some("{name}: {instance} at {value} (limit {threshold})".into());
        let mut r = Rules::new(vec![rule]);
        let changes = r.on_sample(&sample(&[("/", 5.0), ("/data", 5.0)]), 0);
        assert_eq!(kinds(&changes), ["fired filesystem_used_percent.data"]);
        let Change::Fired(a) = &changes[0] else { panic!() };
        assert_eq!(
            a.message,
            "disk-full: filesystem_used_percent.data at 5.0 % (limit 10.0 %)"
        );
        // 15 is above the threshold but not past the recovery line (20).
        assert!(r.on_sample(&sample(&[("/data", 15.0)]), MIN).is_empty());
        assert_eq!(
            kinds(&r.on_sample(&sample(&[("/data", 25.0)]), 2 * MIN)),
            ["resolved filesystem_used_percent.data"]
        );
    }

    fn round(name: &str, status: Status, reason: &str) -> CheckState {
        CheckState {
            name: name.into(),
            kind: app::checks::CheckKind::Http,
            target: String::new(),
            status,
            observed: status,
            reason: reason.into(),
            latency_ms: Some(12.0),
            subs: Vec::new(),
            breaker: Default::default(),
            ts: 1,
            since: 1,
            consecutive_failures: 0,
        }
    }

    #[test]
    fn checks_fire_while_down_and_pending_fires_on_the_clock() {
        let rule = Rule {
            name: "check-down".into(),
            watch: Watch::Check(None),
            bound: None,
            recovery: None,
            hold: Duration::from_secs(120),
            severity: Severity::Critical,
            notify: None,
            message: None,
        };
        let mut r = Rules::new(vec![rule]);
        assert!(r.on_round(&round("api", Status::Up, "HTTP 200"), 0).is_empty());
        assert_eq!(
            kinds(&r.on_round(&round("api", Status::Down, "HTTP 503"), MIN)),
            ["pending api"]
        );
        // No round for a while: the clock fires it.
        assert!(r.tick(2 * MIN).is_empty());
        let fired = r.tick(3 * MIN);
        assert_eq!(kinds(&fired), ["fired api"]);
        let Change::Fired(a) = &fired[0] else { panic!() };
        assert_eq!(a.message, "check api is down: HTTP 503");
        assert_eq!(
            kinds(&r.on_round(&round("api", Status::Up, "HTTP 200"), 4 * MIN)),
            ["resolved api"]
        );
    }

    #[test]
    fn check_series_rules_read_rounds() {
        let rule = Rule {
            name: "slow-api".into(),
            watch: Watch::Series {
                metric: "check_latency_seconds".into(),
                instance: Some("check_latency_seconds.api".into()),
            },
            bound: Some(Bound::Above(0.01)),
            recovery: None,
            hold: Duration::ZERO,
            severity: Severity::Warning,
            notify: None,
            message: None,
        };
        let mut r = Rules::new(vec![rule]);
        assert_eq!(
            kinds(&r.on_round(&round("api", Status::Up, "ok"), 0)),
            ["fired check_latency_seconds.api"]
        );
        assert!(
            r.on_round(&round("db", Status::Up, "ok"), 0).is_empty(),
            "another check"
        );
        // A host sample does not touch check series.
        assert!(r.on_sample(&sample(&[]), MIN).is_empty());
        assert_eq!(r.alerts().len(), 1);
    }

    #[test]
    fn components_fire_while_down() {
        let rule = Rule {
            name: "store-down".into(),
            watch: Watch::Component("store".into()),
            bound: None,
            recovery: None,
            hold: Duration::ZERO,
            severity: Severity::Critical,
            notify: None,
            message: None,
        };
        let mut r = Rules::new(vec![rule]);
        let report = |status, reason: &str| {
            HealthReport::from_components(
                0,
                vec![ComponentHealth {
                    name: "store".into(),
                    status,
                    reason: reason.into(),
                }],
            )
        };
        assert!(r.on_report(&report(Status::Up, "fine"), 0).is_empty());
        assert!(
            r.on_report(&report(Status::Degraded, "slow"), 0).is_empty(),
            "degraded is not down"
        );
        let fired = r.on_report(&report(Status::Down, "5 writes failed in a row"), MIN);
        assert_eq!(kinds(&fired), ["fired store"]);
        let Change::Fired(a) = &fired[0] else { panic!() };
        assert_eq!(a.message, "store is down: 5 writes failed in a row");
        assert_eq!(
            kinds(&r.on_report(&report(Status::Up, "fine"), 2 * MIN)),
            ["resolved store"]
        );
    }

    #[test]
    fn a_restart_keeps_what_fires_without_telling_it_again() {
        let mut r = Rules::new(vec![disk_rule(90.0, Duration::ZERO)]);
        r.on_sample(&sample(&[("/", 95.0)]), 0);
        let saved = r.alerts();
        let mut again = Rules::new(vec![disk_rule(90.0, Duration::ZERO)]);
        again.restore(saved);
        assert!(
            again.on_sample(&sample(&[("/", 96.0)]), MIN).is_empty(),
            "not told twice"
        );
        assert_eq!(
            kinds(&again.on_sample(&sample(&[("/", 50.0)]), 2 * MIN)),
            ["resolved filesystem_used_percent.root"]
        );
    }
}
