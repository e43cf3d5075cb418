//! Alerts: rules over every series, check and health component, and the
//! channels that tell people.
//!
//! ```text
//! signals::samples --Sample-----+
//! signals::checks --round-------+--> rules (pending -> firing -> resolved) --> alerts.db
//! signals::health --rollup------+              |
//!                                   mutes: silences, maintenance, depends_on
//!                                              |
//!                                   router (routes, group, repeat, resolved)
//!                                              |
//!                             outbox --> one queue and task per channel --> webhook, email, ...
//! ```
//!
//! One engine task evaluates and routes; each channel delivers on its own
//! task. What is pending or firing, and what was told, is in `alerts.db`,
//! so a restart neither tells anything again nor forgets it. The pending
//! and firing alerts go out on `signals::alerts` for the live hub.
//!
//! - [`config`]: `[[alerts]]`, `[[notify]]`, `[alerting]`, `[[maintenance]]`.
//! - [`rules`]: rule instances and their life, on a clock passed in.
//! - [`router`]: who is told what, and when.
//! - [`maintenance`]: windows in a time zone.
//! - [`message`]: what a notification says.
//! - [`channels`]: delivery, per channel type.
//! - [`store`]: the `alerts.db` file.

pub(crate) mod channels;
pub mod config;
pub(crate) mod fleet;
pub(crate) mod forecast;
pub(crate) mod maintenance;
pub(crate) mod message;
pub(crate) mod router;
pub(crate) mod rules;
pub(crate) mod store;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use app::alerts::{
    Alert, AlertsBoard, AlertsError, AlertsLive, AlertsQuery, ChannelView, Delivery, NewSilence, NewWindow,
    Reading as ReadingView, RuleView, Silence, WindowView,
};
use app::health::Status;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::channels::{Channel, Counters, Deps, Running};
use self::config::{AlertConfig, AlertingConfig, MaintenanceConfig, NotifyConfig, NotifyKind};
use self::maintenance::Window;
use self::message::Message;
use self::router::{Item, Router, Routes, Told};
use self::rules::{Change, Reading, Rule, Rules};
use self::store::AlertStore;
use crate::signals::{clock::now_ms, AlertsBus, CheckBus, CheckEvent, HealthBus, SampleBus};

/// How often pending alerts are checked against their `for`, mutes
/// against the clock, and the group against its wait.
const STEP: Duration = Duration::from_millis(250);

/// Readings per rule the alerts page shows.
const READINGS_SHOWN: usize = 50;

/// Resolved alerts the API and the page list.
const HISTORY_SHOWN: usize = 100;

/// The alerting part of the config: what a reload replaces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub alerts: Vec<AlertConfig>,
    pub notify: Vec<NotifyConfig>,
    pub alerting: AlertingConfig,
    pub maintenance: Vec<MaintenanceConfig>,
    /// Each check's `depends_on`.
    pub depends_on: HashMap<String, Vec<String>>,
    /// Whether `[fleet]` names an engine (host and promql rules).
    pub fleet: bool,
}

impl Settings {
    /// The alerting sections of a config.
    pub fn of(config: &crate::config::Config) -> Settings {
        Settings {
            alerts: config.alerts.clone(),
            notify: config.notify.clone(),
            alerting: config.alerting.clone(),
            maintenance: config.maintenance.clone(),
            depends_on: config
                .checks
                .iter()
                .filter(|c| !c.depends_on.is_empty())
                .map(|c| (c.name.clone(), c.depends_on.clone()))
                .collect(),
            fleet: config.fleet.is_some(),
        }
    }

    /// Opens every channel (reads its secrets): a reload that fails here
    /// keeps the running config.
    fn open_channels(&self) -> Result<Vec<Channel>, String> {
        let names = config::channel_names(&self.notify);
        self.notify
            .iter()
            .zip(&names)
            .map(|(n, name)| Channel::open(name, n))
            .collect()
    }

    fn routes(&self, channels: &[Channel]) -> Routes {
        Routes {
            all: channels.iter().map(|c| c.name.clone()).collect(),
            warning: self.alerting.route_warning.clone(),
            critical: self.alerting.route_critical.clone(),
            send_resolved: channels
                .iter()
                .filter(|c| c.config.send_resolved)
                .map(|c| c.name.clone())
                .collect(),
            alertmanager: channels
                .iter()
                .filter(|c| c.config.kind == NotifyKind::Alertmanager)
                .map(|c| c.name.clone())
                .collect(),
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Why alerting could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AlertsStartError(String);

/// What the engine, the channels and the queries share.
struct Shared {
    host: String,
    store: Arc<Mutex<AlertStore>>,
    counters: Counters,
    client: reqwest::Client,
    state: Mutex<State>,
    /// Wakes the engine when silences or windows change.
    poke: mpsc::UnboundedSender<()>,
    bus: Arc<AlertsBus>,
    checks: Arc<CheckBus>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The engine's state, locked for each event (never across an await).
struct State {
    settings: Settings,
    rules: Rules,
    router: Router,
    channels: Vec<Arc<Running>>,
    /// The config's windows, then the page's (with their ids).
    windows: Vec<(Option<i64>, Window)>,
    silences: Vec<Silence>,
    /// A reload that failed, for admins.
    config_error: Option<String>,
    /// When each filling filesystem will be full, newest fit.
    forecasts: Vec<app::alerts::Forecast>,
    /// Fleet hosts that send nothing: their own alerts are muted.
    silent_hosts: HashSet<String>,
}

/// A maintenance window's opening, as status pages show it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Planned {
    pub(crate) name: String,
    /// The checks it covers; `None`: every check.
    pub(crate) checks: Option<Vec<String>>,
    /// Unix ms.
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// The running alerts engine: the query side of it.
#[derive(Clone)]
pub struct Alerts {
    shared: Arc<Shared>,
}

/// The buses alerting reads.
pub(crate) struct Sources<'a> {
    pub(crate) samples: &'a SampleBus,
    pub(crate) checks: &'a Arc<CheckBus>,
    pub(crate) health: &'a HealthBus,
    pub(crate) alerts: &'a Arc<AlertsBus>,
}

/// Starts alerting: opens `alerts.db`, the channels (reading their
/// secrets), and the engine task that subscribes to the sources.
pub(crate) fn start(
    settings: Settings,
    host: String,
    data_dir: &Path,
    sources: Sources<'_>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Result<Alerts, AlertsStartError> {
    let channels = settings.open_channels().map_err(AlertsStartError)?;
    let client = crate::checks::http_client().map_err(|e| AlertsStartError(e.to_string()))?;
    let store = AlertStore::open(data_dir);
    let now = now_ms();
    let rule_list = config::rules(&settings.alerts, &settings.alerting, settings.fleet);
    let mut rules = Rules::new(rule_list);
    let stored = store.live();
    rules.restore(stored.iter().map(|s| s.alert.clone()));
    let routes = settings.routes(&channels);
    let mut router = Router::new(
        routes.clone(),
        millis(settings.alerting.group_wait),
        millis(settings.alerting.repeat),
    );
    for s in &stored {
        if let Some(at) = s.notified_at {
            let rule = rules.rules().iter().find(|r| r.name == s.alert.name);
            let channels = rule.map_or_else(Vec::new, |r| routes.channels(r.notify.as_deref(), r.severity));
            router.restore(&s.alert.name, &s.alert.instance, Told { at, channels });
        }
    }
    let silences = store.silences(now);
    let windows = windows(&settings.maintenance, &store);
    let (poke, poked) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        host,
        store: Arc::new(Mutex::new(store)),
        counters: Counters::default(),
        client,
        state: Mutex::new(State {
            settings,
            rules,
            router,
            channels: Vec::new(),
            windows,
            silences,
            config_error: None,
            forecasts: Vec::new(),
            silent_hosts: HashSet::new(),
        }),
        poke,
        bus: sources.alerts.clone(),
        checks: sources.checks.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
    });
    let running = shared.start_channels(channels);
    shared.lock().channels = running;
    let engine = Engine {
        shared: shared.clone(),
        samples: sources.samples.subscribe(),
        rounds: sources.checks.subscribe(),
        reports: sources.health.subscribe(),
        poked,
    };
    if let Some(report) = sources.health.latest() {
        shared.apply(|s, now| s.rules.on_report(&report, now));
    }
    tasks.spawn(engine.run(shutdown));
    Ok(Alerts { shared })
}

/// The config's windows (already validated) and those made on the page.
fn windows(config: &[MaintenanceConfig], store: &AlertStore) -> Vec<(Option<i64>, Window)> {
    let configured = config
        .iter()
        .filter_map(|m| Window::from_config(m).ok())
        .map(|w| (None, w));
    let made = store
        .windows()
        .into_iter()
        .filter_map(|(id, m)| Window::from_config(&m).ok().map(|w| (Some(id), w)));
    configured.chain(made).collect()
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self) -> MutexGuard<'_, AlertStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a task per channel, each first with its backlog from the
    /// outbox; a backlog for a channel that no longer exists is dropped.
    fn start_channels(&self, channels: Vec<Channel>) -> Vec<Arc<Running>> {
        let mut backlog: HashMap<String, Vec<(i64, Message)>> = HashMap::new();
        {
            let store = self.store();
            for (id, channel, json) in store.outbox() {
                match serde_json::from_str::<Message>(&json) {
                    Ok(m) if channels.iter().any(|c| c.name == channel) => {
                        backlog.entry(channel).or_default().push((id, m))
                    }
                    _ => {
                        tracing::warn!(%channel, "a queued notification has no channel (or does not read back); dropped");
                        let dropped = Delivery {
                            ts: now_ms(),
                            ok: false,
                            detail: "dropped: the channel is gone".into(),
                            attempts: 0,
                        };
                        store.delivered(Some(id), &channel, &dropped);
                    }
                }
            }
        }
        let deps = Deps {
            client: self.client.clone(),
            store: self.store.clone(),
            counters: self.counters.clone(),
        };
        channels
            .into_iter()
            .map(|c| {
                let waiting = backlog.remove(&c.name).unwrap_or_default();
                Arc::new(channels::start(c, waiting, deps.clone(), &self.shutdown, &self.tasks))
            })
            .collect()
    }

    /// Runs one evaluation under the lock, then stores, routes and
    /// publishes what it changed.
    fn apply(&self, evaluate: impl FnOnce(&mut State, i64) -> Vec<Change>) {
        let now = now_ms();
        let mut state = self.lock();
        let changes = evaluate(&mut state, now);
        self.settle(&mut state, changes, now);
    }

    /// Stores the changes, judges mutes, routes, and queues messages.
    fn settle(&self, state: &mut State, changes: Vec<Change>, now: i64) {
        {
            let mut store = self.store();
            for change in changes {
                match change {
                    Change::Pending(a) | Change::Fired(a) => store.put(&a),
                    Change::Resolved(mut a) => {
                        store.resolve(&a);
                        self.mute(state, &mut a, now);
                        state.router.resolve(a);
                    }
                    Change::Cleared { name, instance } => store.clear(&name, &instance),
                }
            }
        }
        let items = self.items(state, now);
        let plan = state.router.plan(&self.host, &items, now);
        if !plan.messages.is_empty() || !plan.told.is_empty() {
            let store = self.store();
            for (name, instance) in &plan.told {
                store.notified(name, instance, now);
            }
            for (channel, message) in plan.messages {
                let Some(running) = state.channels.iter().find(|r| r.channel.name == channel) else {
                    continue;
                };
                let json = serde_json::to_string(&message).unwrap_or_default();
                let id = store.enqueue(&channel, &json, now);
                if !running.push(id, Arc::new(message)) {
                    let dropped = Delivery {
                        ts: now,
                        ok: false,
                        detail: "dropped: the queue is full".into(),
                        attempts: 0,
                    };
                    store.delivered(id, &channel, &dropped);
                }
            }
        }
        // The bus sends only what differs from the last.
        let mut alerts: Vec<Alert> = items.into_iter().map(|i| i.alert).collect();
        alerts.sort_by_key(Alert::order_key);
        self.bus.publish(AlertsLive {
            alerts,
            forecasts: state.forecasts.clone(),
        });
    }

    /// Every pending and firing alert with its mutes and route.
    fn items(&self, state: &State, now: i64) -> Vec<Item> {
        state
            .rules
            .alerts()
            .into_iter()
            .map(|mut alert| {
                self.mute(state, &mut alert, now);
                let rule = state.rules.rules().iter().find(|r| r.name == alert.name);
                let channels = rule.map_or_else(Vec::new, |r| {
                    state.router.routes.channels(r.notify.as_deref(), r.severity)
                });
                let note = rule.and_then(|r| self.dependents_note(state, r, &alert));
                Item { alert, channels, note }
            })
            .collect()
    }

    /// Sets `silenced` and `muted_by` when a silence, an open window or a
    /// down parent check mutes `alert`.
    fn mute(&self, state: &State, alert: &mut Alert, now: i64) {
        let check = alert.check.as_deref();
        let why = state
            .silences
            .iter()
            .find(|s| s.starts_at <= now && now < s.ends_at && s.matches(&alert.name, &alert.instance, check))
            .map(|s| format!("silence #{}: {}", s.id, s.comment))
            .or_else(|| {
                state
                    .windows
                    .iter()
                    .find(|(_, w)| w.open_at(now) && w.covers(&alert.name, check))
                    .map(|(_, w)| format!("maintenance: {}", w.name))
            })
            .or_else(|| {
                let check = check?;
                let parent = self.down_parent(&state.settings.depends_on, check)?;
                Some(format!("depends on {parent}, which is down"))
            })
            .or_else(|| {
                let rule = state.rules.rules().iter().find(|r| r.name == alert.name)?;
                let host = rule.host_of(&alert.instance)?;
                state
                    .silent_hosts
                    .contains(host)
                    .then(|| format!("host {host} is silent"))
            });
        alert.silenced = why.is_some();
        alert.muted_by = why;
    }

    /// A check `check` depends on (directly or not) that is down now.
    fn down_parent(&self, depends_on: &HashMap<String, Vec<String>>, check: &str) -> Option<String> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = depends_on.get(check)?.iter().map(String::as_str).collect();
        while let Some(parent) = stack.pop() {
            if !seen.insert(parent) {
                continue;
            }
            if self.checks.get(parent).is_some_and(|s| s.status == Status::Down) {
                return Some(parent.to_string());
            }
            stack.extend(depends_on.get(parent).into_iter().flatten().map(String::as_str));
        }
        None
    }

    /// For a check that is down and has dependents: the line that says
    /// their alerts are held.
    fn dependents_note(&self, state: &State, rule: &Rule, alert: &Alert) -> Option<String> {
        if !matches!(rule.watch, rules::Watch::Check(_)) {
            return None;
        }
        let parent = alert.check.as_deref()?;
        let mut children: Vec<&str> = state
            .settings
            .depends_on
            .iter()
            .filter(|(_, parents)| parents.iter().any(|p| p == parent))
            .map(|(child, _)| child.as_str())
            .collect();
        if children.is_empty() {
            return None;
        }
        children.sort_unstable();
        Some(format!(
            "While {parent} is down, alerts of the checks that depend on it are held: {}.",
            children.join(", ")
        ))
    }

    /// The pending and firing alerts with their mutes, for the queries.
    fn live(&self) -> Vec<Alert> {
        let state = self.lock();
        let now = now_ms();
        let mut alerts: Vec<Alert> = self.items(&state, now).into_iter().map(|i| i.alert).collect();
        alerts.sort_by_key(Alert::order_key);
        alerts
    }

    /// Re-reads silences and windows (they changed) and acts on it now.
    fn refresh(&self) {
        let now = now_ms();
        let (silences, made) = {
            let store = self.store();
            (store.silences(now), store.windows())
        };
        let mut state = self.lock();
        state.silences = silences;
        let configured = state.settings.maintenance.clone();
        state.windows = configured
            .iter()
            .filter_map(|m| Window::from_config(m).ok())
            .map(|w| (None, w))
            .chain(
                made.into_iter()
                    .filter_map(|(id, m)| Window::from_config(&m).ok().map(|w| (Some(id), w))),
            )
            .collect();
        self.settle(&mut state, Vec::new(), now);
    }
}

/// The task that evaluates: subscribed to every source, stepping the
/// clock every [`STEP`].
struct Engine {
    shared: Arc<Shared>,
    samples: broadcast::Receiver<Arc<app::metrics::Sample>>,
    rounds: broadcast::Receiver<CheckEvent>,
    reports: broadcast::Receiver<Arc<app::health::HealthReport>>,
    poked: mpsc::UnboundedReceiver<()>,
}

impl Engine {
    async fn run(mut self, shutdown: CancellationToken) {
        let mut step = tokio::time::interval(STEP);
        step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                sample = self.samples.recv() => match sample {
                    Ok(sample) => shared.apply(|s, now| s.rules.on_sample(&sample, now)),
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(skipped = n, "alerts fell behind the samples"),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                event = self.rounds.recv() => match event {
                    Ok(CheckEvent::Round(round)) => shared.apply(|s, now| s.rules.on_round(&round, now)),
                    Ok(CheckEvent::Transition(_)) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(skipped = n, "alerts fell behind the checks"),
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                report = self.reports.recv() => match report {
                    Ok(report) => shared.apply(|s, now| s.rules.on_report(&report, now)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                Some(()) = self.poked.recv() => shared.refresh(),
                _ = step.tick() => shared.apply(|s, now| {
                    // Silences end on their own.
                    s.silences.retain(|x| x.ends_at > now);
                    s.rules.tick(now)
                }),
            }
        }
    }
}

impl Alerts {
    /// The `promql` rules in force: (name, expression).
    pub(crate) fn promql_rules(&self) -> Vec<(String, String)> {
        let state = self.shared.lock();
        state
            .rules
            .rules()
            .iter()
            .filter_map(|r| match &r.watch {
                rules::Watch::Promql(expr) => Some((r.name.clone(), expr.clone())),
                _ => None,
            })
            .collect()
    }

    /// Takes one reading of the fleet: every host but this one, and what
    /// each `promql` rule's expression returned (rules the engine could
    /// not answer are left out and keep their state).
    pub(crate) fn set_fleet(&self, hosts: Vec<fleet::FleetHost>, returned: Vec<(String, Vec<(String, f64)>)>) {
        self.shared.apply(|state, now| {
            state.silent_hosts = hosts.iter().filter(|h| h.silent).map(|h| h.name.clone()).collect();
            let mut changes = state.rules.on_hosts(&hosts, now);
            for (rule, series) in &returned {
                changes.extend(state.rules.on_promql(rule, series, &state.silent_hosts, now));
            }
            changes
        });
    }

    /// Takes the latest fill forecasts (every filesystem fitted, `None`
    /// where nothing can be told), evaluates the forecast rules on them
    /// and publishes them for the overview.
    pub(crate) fn set_forecasts(&self, fitted: Vec<(String, Option<forecast::Forecast>)>) {
        self.shared.apply(|state, now| {
            let hours: Vec<(String, Option<f64>)> = fitted
                .iter()
                .map(|(series, fit)| (series.clone(), fit.map(|f| f.hours_left(now))))
                .collect();
            state.forecasts = fitted
                .iter()
                .filter_map(|(series, fit)| {
                    fit.map(|f| app::alerts::Forecast {
                        series: series.clone(),
                        full_at: f.full_at,
                        per_hour: f.per_hour,
                    })
                })
                .collect();
            state.rules.on_forecasts(&hours, now)
        });
    }

    /// Replaces rules, channels, routes and windows with a reloaded
    /// config's (already validated). A channel whose secret cannot be read
    /// fails the reload: the running config stays and says why.
    pub fn reload(&self, settings: Settings) -> Result<(), String> {
        let channels = match settings.open_channels() {
            Ok(c) => c,
            Err(err) => {
                self.shared.lock().config_error = Some(err.clone());
                return Err(err);
            }
        };
        let routes = settings.routes(&channels);
        let old: Vec<Arc<Running>> = {
            let mut state = self.shared.lock();
            state
                .rules
                .replace(config::rules(&settings.alerts, &settings.alerting, settings.fleet));
            let names: HashSet<String> = state.rules.rules().iter().map(|r| r.name.clone()).collect();
            state.router.keep_rules(|name| names.contains(name));
            state.router.configure(
                routes,
                millis(settings.alerting.group_wait),
                millis(settings.alerting.repeat),
            );
            state.settings = settings;
            state.config_error = None;
            std::mem::take(&mut state.channels)
        };
        // The old tasks stop; what they had queued is still in the outbox,
        // and the new tasks start with it.
        for r in &old {
            r.stop();
        }
        let running = self.shared.start_channels(channels);
        self.shared.lock().channels = running;
        self.shared.refresh();
        Ok(())
    }

    /// Says why a reload failed (kept until the next good one).
    pub fn reload_failed(&self, why: String) {
        self.shared.lock().config_error = Some(why);
    }

    /// The maintenance windows that are open or come next, within
    /// `horizon` ms of `now`, with the checks they cover (`None`: every
    /// check), for status pages. Windows over rules alone are left out.
    pub(crate) fn planned(&self, now: i64, horizon: i64) -> Vec<Planned> {
        let state = self.shared.lock();
        state
            .windows
            .iter()
            .filter_map(|(_, w)| match w.checks() {
                _ if w.covers_every_check() => Some((w, None)),
                Some(checks) => Some((w, Some(checks.to_vec()))),
                None => None,
            })
            .flat_map(|(w, checks)| {
                w.openings(now, now + horizon)
                    .into_iter()
                    .map(move |(start, end)| Planned {
                        name: w.name.clone(),
                        checks: checks.clone(),
                        start,
                        end,
                    })
            })
            .collect()
    }

    /// The times maintenance windows covered (or will cover) `check`
    /// within `[from, to)`, for reports.
    pub(crate) fn maintenance_of(&self, check: &str, from: i64, to: i64) -> Vec<(i64, i64)> {
        let state = self.shared.lock();
        state
            .windows
            .iter()
            .filter(|(_, w)| w.is_for_check(check))
            .flat_map(|(_, w)| w.openings(from, to))
            .collect()
    }

    /// The notification counters, for `/metrics`.
    pub(crate) fn counters(&self) -> Counters {
        self.shared.counters.clone()
    }

    /// How many alerts fire now (muted ones included), for `/metrics`.
    pub(crate) fn firing(&self) -> (usize, usize) {
        let live = self.shared.live();
        let firing = live.iter().filter(|a| a.state == app::alerts::AlertState::Firing);
        let muted = firing.clone().filter(|a| a.silenced).count();
        (firing.count(), muted)
    }

    fn now_board(&self) -> AlertsBoard {
        let now = now_ms();
        let live = self.shared.live();
        let (history, deliveries) = {
            let store = self.shared.store();
            (store.history(HISTORY_SHOWN), store.deliveries())
        };
        let state = self.shared.lock();
        let rules = state.rules.rules().iter().map(|r| rule_view(r, &state)).collect();
        let channels: Vec<ChannelView> = state
            .channels
            .iter()
            .map(|running| {
                let last = deliveries
                    .iter()
                    .find(|(name, _)| *name == running.channel.name)
                    .map(|(_, d)| d.clone());
                running.view(&self.shared.counters, last)
            })
            .collect();
        let windows = state
            .windows
            .iter()
            .map(|(id, w)| {
                let next = w.opening(now);
                WindowView {
                    id: *id,
                    name: w.name.clone(),
                    when: w.describe(),
                    mutes: w.mutes(),
                    open: w.open_at(now),
                    next_start: next.map(|n| n.0),
                    next_end: next.map(|n| n.1),
                }
            })
            .collect();
        AlertsBoard {
            live: AlertsLive {
                alerts: live,
                forecasts: state.forecasts.clone(),
            },
            history,
            rules,
            channels,
            silences: state.silences.clone(),
            windows,
            config_error: state.config_error.clone(),
            can_edit: false,
        }
    }
}

/// One rule with its readings, worst first.
fn rule_view(r: &Rule, state: &State) -> RuleView {
    let mut readings: Vec<ReadingView> = state
        .rules
        .readings_of(&r.name)
        .map(|(instance, reading)| {
            let (shown, breaching) = match reading {
                Reading::Value(v) => (r.show(instance, v), r.breaches(v)),
                Reading::Down(down) => ((if down { "down" } else { "up" }).to_string(), down),
                Reading::Returned(v) => (r.show(instance, v), true),
            };
            ReadingView {
                instance: instance.to_string(),
                shown,
                breaching,
            }
        })
        .collect();
    readings.sort_by_key(|x| !x.breaching);
    readings.truncate(READINGS_SHOWN);
    RuleView {
        name: r.name.clone(),
        watches: r.watches(),
        severity: r.severity,
        hold_ms: r.hold.as_millis() as u64,
        threshold: r.bound.map(rules::Bound::threshold),
        side: r.side().map(str::to_string),
        notify: state.router.routes.channels(r.notify.as_deref(), r.severity),
        readings,
    }
}

/// `30m`, `2h`, `1d` as a duration, for silences and windows.
fn duration(text: &str) -> Result<Duration, AlertsError> {
    let d = humantime::parse_duration(text)
        .map_err(|_| AlertsError::InvalidArgument(format!("{text:?} is not a duration (like 30m, 2h or 1d)")))?;
    if d < Duration::from_secs(60) || d > Duration::from_secs(366 * 86_400) {
        return Err(AlertsError::InvalidArgument("a duration from 1m to 366d".into()));
    }
    Ok(d)
}

fn list(text: Option<String>) -> Option<Vec<String>> {
    text.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

#[async_trait::async_trait]
impl AlertsQuery for Alerts {
    async fn alerts(&self) -> Vec<Alert> {
        let mut all = self.shared.live();
        all.extend(self.shared.store().history(HISTORY_SHOWN));
        all
    }

    async fn board(&self) -> AlertsBoard {
        self.now_board()
    }

    async fn silences(&self) -> Vec<Silence> {
        self.shared.lock().silences.clone()
    }

    async fn add_silence(&self, new: NewSilence, by: &str) -> Result<Silence, AlertsError> {
        let length = duration(&new.duration)?;
        let now = now_ms();
        let mut silence = Silence {
            id: 0,
            rule: new.rule,
            instance: new.instance,
            check: new.check,
            comment: new.comment,
            created_by: by.to_string(),
            starts_at: now,
            ends_at: now + millis(length),
        };
        silence.id = self
            .shared
            .store()
            .add_silence(&silence)
            .map_err(|e| AlertsError::Unavailable(e.to_string()))?;
        tracing::info!(id = silence.id, by, matches = %silence.describe(), until = silence.ends_at, "silence added");
        let _ = self.shared.poke.send(());
        Ok(silence)
    }

    async fn end_silence(&self, id: i64, by: &str) -> Result<(), AlertsError> {
        let ended = self
            .shared
            .store()
            .end_silence(id, now_ms())
            .map_err(|e| AlertsError::Unavailable(e.to_string()))?;
        if !ended {
            return Err(AlertsError::UnknownId(id));
        }
        tracing::info!(id, by, "silence ended");
        let _ = self.shared.poke.send(());
        Ok(())
    }

    async fn add_window(&self, new: NewWindow, by: &str) -> Result<(), AlertsError> {
        let now = now_ms();
        // One-off with no start: from now, in the window's zone.
        let start = match (&new.start, &new.days) {
            (None, None) => {
                let zone = match &new.timezone {
                    Some(name) => jiff::tz::TimeZone::get(name)
                        .map_err(|_| AlertsError::InvalidArgument(format!("{name:?} is not an IANA time zone")))?,
                    None => jiff::tz::TimeZone::UTC,
                };
                let here = jiff::Timestamp::from_millisecond(now)
                    .map_err(|e| AlertsError::Unavailable(e.to_string()))?
                    .to_zoned(zone);
                Some(here.datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string())
            }
            _ => new.start.clone(),
        };
        let config = MaintenanceConfig {
            name: new.name,
            start,
            days: list(new.days),
            at: new.at,
            duration: duration(&new.duration)?,
            timezone: new.timezone,
            rules: list(new.rules),
            checks: list(new.checks),
        };
        Window::from_config(&config).map_err(|(field, message)| {
            AlertsError::InvalidArgument(match field {
                Some(f) => format!("{f}: {message}"),
                None => message,
            })
        })?;
        self.shared
            .store()
            .add_window(&config, by, now)
            .map_err(|e| AlertsError::Unavailable(e.to_string()))?;
        tracing::info!(by, name = %config.name, "maintenance window added");
        let _ = self.shared.poke.send(());
        Ok(())
    }

    async fn end_window(&self, id: i64, by: &str) -> Result<(), AlertsError> {
        let ended = self
            .shared
            .store()
            .end_window(id)
            .map_err(|e| AlertsError::Unavailable(e.to_string()))?;
        if !ended {
            return Err(AlertsError::UnknownId(id));
        }
        tracing::info!(id, by, "maintenance window ended");
        let _ = self.shared.poke.send(());
        Ok(())
    }

    async fn test_channel(&self, name: &str) -> Result<Delivery, AlertsError> {
        let running = self
            .shared
            .lock()
            .channels
            .iter()
            .find(|r| r.channel.name == name)
            .cloned()
            .ok_or_else(|| AlertsError::UnknownChannel(name.to_string()))?;
        let delivery = test(&running.channel, &self.shared.client, &self.shared.host).await;
        let label = channels::ChannelLabel {
            channel: name.to_string(),
        };
        let counter = if delivery.ok {
            &self.shared.counters.sent
        } else {
            &self.shared.counters.failed
        };
        counter.get_or_create(&label).inc();
        self.shared.store().record(name, &delivery);
        Ok(delivery)
    }
}

/// Sends a test message through `channel` once.
pub(crate) async fn test(channel: &Channel, client: &reqwest::Client, host: &str) -> Delivery {
    let now = now_ms();
    let message = Message::test(host, &channel.name, now);
    let outcome = channel.send_once(client, &message, &format!("test-{now}")).await;
    Delivery {
        ts: now_ms(),
        ok: outcome.is_ok(),
        detail: outcome.unwrap_or_else(|e| e),
        attempts: 1,
    }
}

/// `vigil notify-test NAME`: sends a test message through the channel
/// of the config named `name`, without a running server.
pub async fn notify_test(config: &crate::config::Config, name: &str, host: &str) -> Result<Delivery, String> {
    let settings = Settings::of(config);
    let names = config::channel_names(&settings.notify);
    let Some(index) = names.iter().position(|n| n == name) else {
        let known = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        return Err(format!(
            "no [[notify]] channel is named {name:?} (the config has: {known})"
        ));
    };
    let channel = Channel::open(name, &settings.notify[index])?;
    let client = crate::checks::http_client().map_err(|e| e.to_string())?;
    Ok(test(&channel, &client, host).await)
}
