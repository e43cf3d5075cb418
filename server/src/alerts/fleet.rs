//! Alerting for the fleet: one Vigil with `[fleet]` reads every host the
//! engine knows and evaluates `promql` rules there, so hosts that only
//! push are alerted on too.
//!
//! Each [`AlertingConfig::fleet_every`](super::config::AlertingConfig) it
//! asks the fleet which hosts are silent (nothing for `stale_after`: the
//! `host-silent` rule fires, and that host's own alerts are muted, not
//! resolved) and runs each `promql` rule's expression as an instant query:
//! every series returned is an instance that breaches, named by its
//! `instance` label and the others (`web-1{mount="/data"}`). When the
//! engine cannot answer, nothing changes: an engine outage is not a fleet
//! of resolved alerts.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Alerts;

/// One fleet host as alerting sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FleetHost {
    pub(crate) name: String,
    /// Nothing heard for the fleet's `stale_after`.
    pub(crate) silent: bool,
    /// Why, in words (`no sample for 3m`).
    pub(crate) reason: String,
}

/// A series an instant query returned: its labels and value.
pub(crate) type Returned = (BTreeMap<String, String>, f64);

/// What alerting reads from the fleet.
pub(crate) trait FleetSource: Send + Sync + 'static {
    /// Every fleet host but this one.
    fn hosts(&self) -> impl Future<Output = Result<Vec<FleetHost>, String>> + Send;
    /// An instant query: each series' labels and value.
    fn instant(&self, expr: &str) -> impl Future<Output = Result<Vec<Returned>, String>> + Send;
}

/// The instance a returned series is: its `instance` label (the host),
/// then its other labels but the name and `job`, as PromQL writes them.
pub(crate) fn instance_of(labels: &BTreeMap<String, String>) -> String {
    let host = labels.get("instance").map_or("?", String::as_str);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "instance" | "job"))
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if rest.is_empty() {
        host.to_string()
    } else {
        format!("{host}{{{}}}", rest.join(","))
    }
}

/// Reads the fleet every `every` and hands it to alerting.
pub(crate) async fn run(alerts: Alerts, source: Arc<impl FleetSource>, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let hosts = match source.hosts().await {
            Ok(hosts) => hosts,
            Err(e) => {
                tracing::warn!(error = %e, "fleet alerting: the engine did not list the hosts; nothing changes this round");
                continue;
            }
        };
        let mut returned = Vec::new();
        for (rule, expr) in alerts.promql_rules() {
            match source.instant(&expr).await {
                Ok(series) => returned.push((
                    rule,
                    series
                        .iter()
                        .map(|(labels, value)| (instance_of(labels), *value))
                        .collect(),
                )),
                Err(e) => tracing::warn!(%rule, error = %e, "fleet alerting: the engine did not answer the rule"),
            }
        }
        alerts.set_fleet(hosts, returned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_named_by_its_host_and_other_labels() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(
            instance_of(&labels(&[
                ("__name__", "vigil_memory_used_percent"),
                ("instance", "web-1"),
                ("job", "vigil")
            ])),
            "web-1"
        );
        assert_eq!(
            instance_of(&labels(&[("instance", "web-1"), ("mount", "/data"), ("job", "vigil")])),
            "web-1{mount=\"/data\"}"
        );
        assert_eq!(instance_of(&labels(&[("mount", "/")])), "?{mount=\"/\"}");
    }
}
