//! Who is told what, and when: routes, grouping, repeats, resolved
//! messages. Pure, like the rules: the engine passes the firing alerts
//! (their mutes already judged) and the time, and gets one message per
//! channel back.
//!
//! - An alert is told once it fires and nothing mutes it; what becomes
//!   due within `group_wait` of the first goes out together, one message
//!   per channel.
//! - A told alert is told again every `repeat` while it fires (0: never);
//!   an Alertmanager channel gets every told firing alert again each
//!   minute, so it stays firing there.
//! - A told alert that resolves is told once more, to the channels that
//!   heard it fire (those with `send_resolved`); one that was never told
//!   resolves quietly.
//! - A muted alert is held: told when the mute ends, if it still fires.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::alerts::{Alert, Severity};

use super::message::Message;

/// How often an Alertmanager channel gets the firing alerts again.
pub(crate) const AM_REPOST_MS: i64 = 60_000;

/// The channels alerts go to when their rule names none.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Routes {
    /// Every channel, in config order.
    pub(crate) all: Vec<String>,
    pub(crate) warning: Option<Vec<String>>,
    pub(crate) critical: Option<Vec<String>>,
    /// Channels that are told when alerts resolve.
    pub(crate) send_resolved: HashSet<String>,
    /// Alertmanager channels.
    pub(crate) alertmanager: HashSet<String>,
}

impl Routes {
    /// Where an alert of a rule with `notify` and `severity` goes.
    pub(crate) fn channels(&self, notify: Option<&[String]>, severity: Severity) -> Vec<String> {
        if let Some(named) = notify {
            return named.to_vec();
        }
        let route = match severity {
            Severity::Warning => &self.warning,
            Severity::Critical => &self.critical,
        };
        route.clone().unwrap_or_else(|| self.all.clone())
    }
}

/// A firing or pending alert and where it goes, as the engine sees it now.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// `silenced` is set when something mutes it.
    pub(crate) alert: Alert,
    pub(crate) channels: Vec<String>,
    /// A line to add to its message (the checks it mutes).
    pub(crate) note: Option<String>,
}

/// A told alert: when, and to which channels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Told {
    pub(crate) at: i64,
    pub(crate) channels: Vec<String>,
}

/// What a step sends and records.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// One message per channel, in channel-name order.
    pub(crate) messages: Vec<(String, Message)>,
    /// Alerts told to fire in this step (to record as told).
    pub(crate) told: Vec<(String, String)>,
}

/// The router's memory between steps.
#[derive(Debug)]
pub(crate) struct Router {
    pub(crate) routes: Routes,
    group_wait: i64,
    repeat: i64,
    told: HashMap<(String, String), Told>,
    /// Told alerts that resolved, waiting for their group.
    resolved: Vec<(Alert, Vec<String>)>,
    /// When the group now filling began.
    group_since: Option<i64>,
    last_am: i64,
}

impl Router {
    pub(crate) fn new(routes: Routes, group_wait_ms: i64, repeat_ms: i64) -> Router {
        Router {
            routes,
            group_wait: group_wait_ms,
            repeat: repeat_ms,
            told: HashMap::new(),
            resolved: Vec::new(),
            group_since: None,
            last_am: i64::MIN / 2,
        }
    }

    /// New routes and times (a reload); what was told stays told.
    pub(crate) fn configure(&mut self, routes: Routes, group_wait_ms: i64, repeat_ms: i64) {
        self.routes = routes;
        self.group_wait = group_wait_ms;
        self.repeat = repeat_ms;
    }

    /// Remembers an alert told before a restart.
    pub(crate) fn restore(&mut self, name: &str, instance: &str, told: Told) {
        self.told.insert((name.to_string(), instance.to_string()), told);
    }

    /// An alert resolved: told once more if it was told to fire and is
    /// not muted now.
    pub(crate) fn resolve(&mut self, alert: Alert) {
        let key = (alert.name.clone(), alert.instance.clone());
        let Some(told) = self.told.remove(&key) else {
            return;
        };
        if alert.silenced {
            return;
        }
        let channels: Vec<String> = told
            .channels
            .into_iter()
            .filter(|c| self.routes.send_resolved.contains(c) || self.routes.alertmanager.contains(c))
            .collect();
        if !channels.is_empty() {
            self.resolved.push((alert, channels));
        }
    }

    /// Forgets what was told of rules that no longer exist (a reload).
    pub(crate) fn keep_rules(&mut self, exists: impl Fn(&str) -> bool) {
        self.told.retain(|(name, _), _| exists(name));
    }

    /// The messages due at `now`, given every pending and firing alert.
    pub(crate) fn plan(&mut self, host: &str, items: &[Item], now: i64) -> Plan {
        let firing = |i: &&Item| i.alert.state == app::alerts::AlertState::Firing && !i.alert.silenced;
        let key = |i: &Item| (i.alert.name.clone(), i.alert.instance.clone());
        let mut fresh: Vec<&Item> = Vec::new();
        let mut repeats: Vec<&Item> = Vec::new();
        for item in items.iter().filter(firing) {
            match self.told.get(&key(item)) {
                None => fresh.push(item),
                Some(t) if self.repeat > 0 && now - t.at >= self.repeat => repeats.push(item),
                Some(_) => {}
            }
        }
        let mut plan = Plan::default();
        let mut out: BTreeMap<String, (Vec<Alert>, Vec<String>)> = BTreeMap::new();
        let has_news = !fresh.is_empty() || !self.resolved.is_empty();
        let flush = if has_news {
            let since = *self.group_since.get_or_insert(now);
            now - since >= self.group_wait
        } else {
            !repeats.is_empty()
        };
        if flush {
            for item in fresh.iter().chain(repeats.iter()) {
                for channel in &item.channels {
                    let (alerts, notes) = out.entry(channel.clone()).or_default();
                    alerts.push(item.alert.clone());
                    notes.extend(item.note.clone());
                }
                self.told.insert(
                    key(item),
                    Told {
                        at: now,
                        channels: item.channels.clone(),
                    },
                );
                plan.told.push(key(item));
            }
            for (alert, channels) in self.resolved.drain(..) {
                for channel in channels {
                    out.entry(channel).or_default().0.push(alert.clone());
                }
            }
            self.group_since = None;
        }
        // Alertmanager forgets what is not posted again.
        if now - self.last_am >= AM_REPOST_MS && !self.routes.alertmanager.is_empty() {
            self.last_am = now;
            for item in items.iter().filter(firing) {
                let Some(told) = self.told.get(&key(item)) else {
                    continue;
                };
                for channel in told.channels.iter().filter(|c| self.routes.alertmanager.contains(*c)) {
                    let (alerts, _) = out.entry(channel.clone()).or_default();
                    if !alerts
                        .iter()
                        .any(|a| a.name == item.alert.name && a.instance == item.alert.instance)
                    {
                        alerts.push(item.alert.clone());
                    }
                }
            }
        }
        plan.messages = out
            .into_iter()
            .filter(|(_, (alerts, _))| !alerts.is_empty())
            .map(|(channel, (alerts, mut notes))| {
                notes.dedup();
                (channel, Message::new(host, alerts, notes, now))
            })
            .collect();
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::alerts::AlertState;

    fn routes() -> Routes {
        Routes {
            all: vec!["hook".into(), "mail".into()],
            warning: Some(vec!["hook".into()]),
            critical: None,
            send_resolved: ["hook".to_string(), "mail".to_string()].into(),
            alertmanager: HashSet::new(),
        }
    }

    fn item(name: &str, instance: &str, severity: Severity, r: &Routes) -> Item {
        let mut alert = super::super::message::tests::alert(name, instance, AlertState::Firing);
        alert.severity = severity;
        Item {
            channels: r.channels(None, severity),
            alert,
            note: None,
        }
    }

    fn sent(plan: &Plan) -> Vec<(String, usize)> {
        plan.messages.iter().map(|(c, m)| (c.clone(), m.alerts.len())).collect()
    }

    #[test]
    fn routes_by_rule_then_severity_then_everyone() {
        let r = routes();
        assert_eq!(r.channels(Some(&["mail".into()]), Severity::Warning), ["mail"]);
        assert_eq!(r.channels(None, Severity::Warning), ["hook"]);
        assert_eq!(r.channels(None, Severity::Critical), ["hook", "mail"]);
    }

    #[test]
    fn ten_at_once_make_one_message_per_channel_after_the_group_wait() {
        let r = routes();
        let mut router = Router::new(r.clone(), 1_000, 0);
        let items: Vec<Item> = (0..10)
            .map(|i| item("check-down", &format!("c{i}"), Severity::Critical, &r))
            .collect();
        assert!(router.plan("h", &items[..3], 0).messages.is_empty(), "the group waits");
        assert!(router.plan("h", &items, 500).messages.is_empty());
        let plan = router.plan("h", &items, 1_000);
        assert_eq!(sent(&plan), [("hook".into(), 10), ("mail".into(), 10)]);
        assert_eq!(plan.told.len(), 10);
        assert!(router.plan("h", &items, 2_000).messages.is_empty(), "told once");
    }

    #[test]
    fn muted_alerts_wait_and_are_told_when_the_mute_ends() {
        let r = routes();
        let mut router = Router::new(r.clone(), 0, 0);
        let mut a = item("disk-full", "filesystem_used_percent.root", Severity::Warning, &r);
        a.alert.silenced = true;
        assert!(router.plan("h", std::slice::from_ref(&a), 0).messages.is_empty());
        // Resolving while never told says nothing.
        let mut back = a.alert.clone();
        back.state = AlertState::Resolved;
        router.resolve(back);
        assert!(router.plan("h", &[], 1).messages.is_empty());
        a.alert.silenced = false;
        assert_eq!(
            sent(&router.plan("h", std::slice::from_ref(&a), 2)),
            [("hook".into(), 1)]
        );
    }

    #[test]
    fn told_alerts_resolve_once_to_where_they_fired() {
        let r = routes();
        let mut router = Router::new(r.clone(), 0, 0);
        let a = item("disk-full", "filesystem_used_percent.root", Severity::Warning, &r);
        router.plan("h", std::slice::from_ref(&a), 0);
        let mut back = a.alert.clone();
        back.state = AlertState::Resolved;
        router.resolve(back.clone());
        let plan = router.plan("h", &[], 10);
        assert_eq!(sent(&plan), [("hook".into(), 1)], "a warning went to the hook only");
        assert_eq!(plan.messages[0].1.reason, super::super::message::Reason::Resolved);
        router.resolve(back);
        assert!(router.plan("h", &[], 20).messages.is_empty(), "once");
    }

    #[test]
    fn repeats_and_alertmanager_reposts() {
        let mut r = routes();
        r.all.push("am".into());
        r.alertmanager.insert("am".into());
        let mut router = Router::new(r.clone(), 0, 3_600_000);
        let a = item("check-down", "api", Severity::Critical, &r);
        let items = std::slice::from_ref(&a);
        assert_eq!(
            sent(&router.plan("h", items, 0)),
            [("am".into(), 1), ("hook".into(), 1), ("mail".into(), 1)]
        );
        assert!(router.plan("h", items, 30_000).messages.is_empty());
        assert_eq!(
            sent(&router.plan("h", items, 60_000)),
            [("am".into(), 1)],
            "re-posted to Alertmanager"
        );
        assert_eq!(
            sent(&router.plan("h", items, 3_600_000)),
            [("am".into(), 1), ("hook".into(), 1), ("mail".into(), 1)],
            "repeated after an hour"
        );
    }

    #[test]
    fn a_restart_remembers_what_was_told() {
        let r = routes();
        let mut router = Router::new(r.clone(), 0, 0);
        router.restore(
            "check-down",
            "api",
            Told {
                at: 0,
                channels: vec!["hook".into()],
            },
        );
        let a = item("check-down", "api", Severity::Critical, &r);
        assert!(router.plan("h", &[a], 10).messages.is_empty());
    }
}
