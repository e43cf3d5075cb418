//! The fleet: this host, live, and every host the engine knows, with the
//! figures the `/hosts` table shows. Implements the app's [`FleetQuery`].
//!
//! The engine is asked six instant queries at once, each answering for
//! every host (one series per host), so a thousand hosts cost what ten do:
//! last sample time, CPU, memory, the fullest filesystem (`topk by`), the
//! worst check, and the series index for hosts gone quiet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use app::fleet::{DiskFill, FleetError, FleetQuery, HostSummary};
use app::health::Status;
use app::metrics::{HostMetrics, MetricsError, MetricsQuery};

use super::promql::{millis, quote, InstantSeries, PromClient};
use super::remote::{series_cache, RemoteHost, SeriesCache};
use crate::health::Thresholds;

/// How far back a quiet host is still listed.
const FORGET_AFTER_MS: i64 = 7 * 86_400_000;
/// How long one answer of the list is reused: many open `/hosts` pages
/// refreshing every few seconds make one engine round, not one each.
const LIST_TTL: Duration = Duration::from_secs(2);

/// The engine side of the fleet.
pub(crate) struct FleetEngine {
    pub(crate) client: Arc<PromClient>,
    pub(crate) stale_after: Duration,
    series: SeriesCache,
    list: moka::sync::Cache<(), Arc<Vec<HostSummary>>>,
    /// Held while the engine is asked for the list, so requests that miss
    /// the cache together wait for one answer instead of asking again.
    asking: tokio::sync::Mutex<()>,
}

/// Why the engine `[fleet]` names cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FleetStartError {
    #[error("cannot read the engine's credentials: {0}")]
    Credentials(std::io::Error),
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl FleetEngine {
    /// The engine `[fleet]` names, with its credentials read from their files.
    pub fn start(config: &super::config::FleetConfig) -> Result<FleetEngine, FleetStartError> {
        let credentials = crate::outbound::Credentials::read(
            config.bearer_token_file.as_ref(),
            config.basic_user.as_deref(),
            config.basic_password_file.as_ref(),
        )
        .map_err(FleetStartError::Credentials)?;
        let client =
            PromClient::new(&config.prometheus, config.timeout, credentials).map_err(FleetStartError::Client)?;
        Ok(FleetEngine::new(client, config.stale_after))
    }

    pub(crate) fn new(client: PromClient, stale_after: Duration) -> FleetEngine {
        FleetEngine {
            client: Arc::new(client),
            stale_after,
            series: series_cache(),
            list: moka::sync::Cache::builder().time_to_live(LIST_TTL).build(),
            asking: tokio::sync::Mutex::new(()),
        }
    }
}

/// This host and, with `[fleet]`, the engine's hosts.
pub(crate) struct Fleet {
    /// This host's `[host] name`.
    pub(crate) local_name: String,
    /// This host's own metrics (collector, store, health).
    pub(crate) local: Arc<crate::local::LocalHost>,
    pub(crate) thresholds: Thresholds,
    pub(crate) engine: Option<FleetEngine>,
}

/// Figures of one host as the engine answered them.
#[derive(Default, Debug, PartialEq)]
pub(crate) struct Figures {
    pub(crate) last_seen: Option<i64>,
    pub(crate) cpu: Option<f64>,
    pub(crate) memory: Option<f64>,
    pub(crate) disk: Option<DiskFill>,
    /// The worst check: 0 when one is down.
    pub(crate) checks_up: Option<f64>,
}

/// A host's status from its figures: unknown when quiet for `stale_after`,
/// then memory and disk against the thresholds, then its checks.
pub(crate) fn judge(f: &Figures, thresholds: &Thresholds, stale_after_ms: i64, now: i64) -> (Status, String) {
    match f.last_seen {
        None => return (Status::Unknown, "no recent sample".into()),
        Some(t) if now - t > stale_after_ms => {
            return (Status::Unknown, format!("no sample for {}", app::format::age(now - t)))
        }
        _ => {}
    }
    let mut worst = (Status::Up, String::new());
    let mut consider = |status: Status, reason: String| {
        if status > worst.0 {
            worst = (status, reason);
        }
    };
    let t = thresholds;
    if let Some(m) = f.memory {
        consider(
            crate::health::judge(m, t.memory_degraded_pct, t.memory_down_pct),
            format!("memory {m:.0}% used"),
        );
    }
    if let Some(d) = &f.disk {
        consider(
            crate::health::judge(d.percent, t.storage_degraded_pct, t.storage_down_pct),
            format!("{} {:.0}% full", d.mount, d.percent),
        );
    }
    if f.checks_up == Some(0.0) {
        consider(Status::Degraded, "a check is down".into());
    }
    worst
}

/// Escapes a value for a PromQL regex matcher (RE2 syntax).
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn by_instance(answer: Vec<InstantSeries>) -> BTreeMap<String, InstantSeries> {
    answer
        .into_iter()
        .filter_map(|i| Some((i.labels.get("instance")?.clone(), i)))
        .collect()
}

impl Fleet {
    /// This host, as its own parts see it.
    fn local_summary(&self) -> HostSummary {
        self.local.summary(&self.local_name)
    }

    /// Every host's figures, by name, from the engine.
    async fn engine_figures(engine: &FleetEngine) -> Result<BTreeMap<String, Figures>, FleetError> {
        let client = &engine.client;
        let now = crate::signals::clock::now_ms();
        let (seen, cpu, memory, disk, checks, known) = tokio::join!(
            client.instant(r#"timestamp(vigil_cpu_usage_percent{job="vigil"})"#, None),
            client.instant(r#"vigil_cpu_usage_percent{job="vigil"}"#, None),
            client.instant(r#"vigil_memory_used_percent{job="vigil"}"#, None),
            client.instant(
                r#"topk by (instance) (1, vigil_filesystem_used_percent{job="vigil"})"#,
                None
            ),
            client.instant(r#"min by (instance) (vigil_check_up{job="vigil"})"#, None),
            client.series(r#"vigil_cpu_usage_percent{job="vigil"}"#, now - FORGET_AFTER_MS, now),
        );
        let fail = |e: super::promql::PromError| FleetError::Unavailable(e.to_string());
        let (seen, cpu, memory, disk, checks, known) = (
            by_instance(seen.map_err(fail)?),
            by_instance(cpu.map_err(fail)?),
            by_instance(memory.map_err(fail)?),
            by_instance(disk.map_err(fail)?),
            by_instance(checks.map_err(fail)?),
            known.map_err(fail)?,
        );
        let mut names: BTreeSet<String> = known.into_iter().filter_map(|l| l.get("instance").cloned()).collect();
        names.extend(seen.keys().cloned());
        let mut out: BTreeMap<String, Figures> = names
            .into_iter()
            .map(|name| {
                let figures = Figures {
                    last_seen: seen.get(&name).map(|i| millis(i.value)),
                    cpu: cpu.get(&name).map(|i| i.value),
                    memory: memory.get(&name).map(|i| i.value),
                    disk: disk.get(&name).map(|i| DiskFill {
                        mount: i.labels.get("mount").cloned().unwrap_or_default(),
                        percent: i.value,
                    }),
                    checks_up: checks.get(&name).map(|i| i.value),
                };
                (name, figures)
            })
            .collect();
        // Hosts past the engine's lookback (5 min by default): when did
        // each last send? One subquery over just those hosts.
        let quiet: Vec<&String> = out
            .iter()
            .filter(|(_, f)| f.last_seen.is_none())
            .map(|(n, _)| n)
            .collect();
        if !quiet.is_empty() {
            let names = quiet.iter().map(|n| regex_escape(n)).collect::<Vec<_>>().join("|");
            let query = format!(
                "max by (instance) (max_over_time(timestamp(vigil_cpu_usage_percent{{job=\"vigil\",instance=~{}}})[7d:5m]))",
                quote(&names)
            );
            for i in client.instant(&query, None).await.map_err(fail)? {
                if let Some(f) = i.labels.get("instance").and_then(|n| out.get_mut(n)) {
                    f.last_seen = Some(millis(i.value));
                }
            }
        }
        Ok(out)
    }
}

impl Fleet {
    /// The engine's hosts but this one, judged; from the short cache, or
    /// asked once however many requests miss it together.
    async fn engine_hosts(&self, engine: &FleetEngine) -> Result<Arc<Vec<HostSummary>>, FleetError> {
        if let Some(hit) = engine.list.get(&()) {
            return Ok(hit);
        }
        let _asking = engine.asking.lock().await;
        if let Some(hit) = engine.list.get(&()) {
            return Ok(hit);
        }
        let figures = Self::engine_figures(engine).await.inspect_err(|e| {
            tracing::warn!(engine = %engine.client.base(), error = %e, "fleet list failed");
        })?;
        let now = crate::signals::clock::now_ms();
        let stale_ms = engine.stale_after.as_millis() as i64;
        let list: Vec<HostSummary> = figures
            .into_iter()
            .filter(|(name, _)| *name != self.local_name)
            .map(|(name, f)| {
                let (status, reason) = judge(&f, &self.thresholds, stale_ms, now);
                HostSummary {
                    name,
                    last_seen: f.last_seen,
                    cpu_percent: f.cpu,
                    memory_percent: f.memory,
                    disk: f.disk,
                    status,
                    reason,
                    local: false,
                }
            })
            .collect();
        let list = Arc::new(list);
        engine.list.insert((), list.clone());
        Ok(list)
    }
}

#[async_trait::async_trait]
impl FleetQuery for Fleet {
    async fn hosts(&self) -> Result<Vec<HostSummary>, FleetError> {
        let Some(engine) = &self.engine else {
            return Ok(vec![self.local_summary()]);
        };
        let list = self.engine_hosts(engine).await?;
        // This host is always listed, live, whether it pushes to the engine or not.
        let mut hosts = Vec::with_capacity(list.len() + 1);
        hosts.push(self.local_summary());
        hosts.extend(list.iter().cloned());
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(hosts)
    }
}

impl HostMetrics for Fleet {
    fn metrics_of(&self, host: &str) -> Result<Arc<dyn MetricsQuery>, MetricsError> {
        if host == self.local_name {
            return Ok(self.local.clone());
        }
        match &self.engine {
            Some(engine) => Ok(Arc::new(RemoteHost {
                name: host.to_string(),
                engine: engine.client.clone(),
                cache: engine.series.clone(),
            })),
            None => Err(MetricsError::UnknownHost(host.to_string())),
        }
    }
}

/// Alerting reads the fleet through the same list the `/hosts` page shows.
impl crate::alerts::fleet::FleetSource for Fleet {
    async fn hosts(&self) -> Result<Vec<crate::alerts::fleet::FleetHost>, String> {
        let all = FleetQuery::hosts(self).await.map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .filter(|h| !h.local)
            .map(|h| crate::alerts::fleet::FleetHost {
                silent: h.status == Status::Unknown,
                name: h.name,
                reason: h.reason,
            })
            .collect())
    }

    async fn instant(&self, expr: &str) -> Result<Vec<crate::alerts::fleet::Returned>, String> {
        let engine = self.engine.as_ref().ok_or("no [fleet] engine")?;
        let answer = engine.client.instant(expr, None).await.map_err(|e| e.to_string())?;
        Ok(answer.into_iter().map(|i| (i.labels, i.value)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(memory: f64, disk: f64, checks_up: Option<f64>, seen: i64) -> Figures {
        Figures {
            last_seen: Some(seen),
            cpu: Some(5.0),
            memory: Some(memory),
            disk: Some(DiskFill {
                mount: "/data".into(),
                percent: disk,
            }),
            checks_up,
        }
    }

    #[test]
    fn status_follows_the_thresholds_staleness_and_checks() {
        let t = Thresholds::default();
        let now = 1_000_000;
        let judge = |f: &Figures| judge(f, &t, 120_000, now);
        assert_eq!(judge(&figures(10.0, 10.0, Some(1.0), now)).0, Status::Up);
        let (s, why) = judge(&figures(t.memory_degraded_pct, 10.0, None, now));
        assert_eq!((s, why.as_str()), (Status::Degraded, "memory 90% used"));
        let (s, why) = judge(&figures(10.0, t.storage_down_pct + 1.0, None, now));
        assert_eq!(s, Status::Down);
        assert!(why.starts_with("/data "), "{why}");
        assert_eq!(judge(&figures(10.0, 10.0, Some(0.0), now)).0, Status::Degraded);
        let (s, why) = judge(&figures(99.0, 10.0, None, now - 600_000));
        assert_eq!((s, why.as_str()), (Status::Unknown, "no sample for 10 min"));
        assert_eq!(judge(&Figures::default()).0, Status::Unknown);
    }

    #[test]
    fn host_names_are_escaped_for_regex_matchers() {
        assert_eq!(regex_escape("web-1.example"), "web-1\\.example");
        assert_eq!(regex_escape("a|b(c)"), "a\\|b\\(c\\)");
    }
}
