//! Another host's metrics, read from the fleet's engine with PromQL: the
//! same [`MetricsQuery`] the embedded store answers for this host, so the
//! explorer and `/api/v1/query?host=NAME` work alike for both.
//!
//! A Vigil series name (`filesystem_used_percent.root`) maps to a selector
//! through the series the engine holds for the host (the slug in the name
//! is not reversible): `vigil_filesystem_used_percent{job="vigil",
//! instance="beta",mount="/"}`. Ranges come back as min, max and average
//! per step (`min_over_time` & co.), so peaks survive as they do in the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::metrics::{Latest, MetricsError, MetricsQuery, Range, RangePoint, SeriesInfo, Snapshot};

use super::promql::{millis, quote, Labels, PromClient, PromError};
use crate::catalog::{self, Metric};

/// Most points one range answer asks the engine for (Prometheus refuses
/// more than 11,000 per series).
const MAX_ENGINE_POINTS: i64 = 10_000;
/// How far back the series list of a host looks.
const SERIES_LOOKBACK_MS: i64 = 24 * 3_600_000;

/// One series of a remote host: what the API shows, and how to select it.
#[derive(Clone, Debug)]
pub(crate) struct RemoteSeries {
    pub(crate) info: SeriesInfo,
    pub(crate) selector: String,
    /// Position in the catalog, for listing in catalog order.
    order: usize,
}

/// The series of each host, for a minute: every query needs the list to
/// find its selector, and it changes only when a disk or a NIC comes or goes.
pub(crate) type SeriesCache = moka::sync::Cache<String, Arc<Vec<RemoteSeries>>>;

pub(crate) fn series_cache() -> SeriesCache {
    moka::sync::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(std::time::Duration::from_secs(60))
        .build()
}

/// The selector of every series of `host`.
pub(crate) fn host_selector(host: &str) -> String {
    format!("{{job=\"vigil\",instance={}}}", quote(host))
}

fn unavailable(e: PromError) -> MetricsError {
    MetricsError::Unavailable(e.to_string())
}

fn catalog_position(metric: &Metric) -> usize {
    catalog::CATALOG
        .iter()
        .chain(catalog::CHECK_METRICS)
        .position(|m| std::ptr::eq(m, metric))
        .unwrap_or(usize::MAX)
}

/// The Vigil series among the engine's label sets of one host; label sets
/// of metrics this Vigil does not know (a newer version's) are skipped.
pub(crate) fn to_series(host: &str, sets: &[Labels]) -> Vec<RemoteSeries> {
    let mut out: BTreeMap<String, RemoteSeries> = BTreeMap::new();
    for labels in sets {
        let Some(metric) = labels
            .get("__name__")
            .and_then(|n| n.strip_prefix("vigil_"))
            .and_then(|name| catalog::metric_of(name).filter(|m| m.name == name))
        else {
            continue;
        };
        let values: Vec<&str> = metric
            .labels
            .iter()
            .map(|l| labels.get(*l).map_or("", String::as_str))
            .collect();
        let name = metric.series_name(&values);
        let mut selector = format!("vigil_{}{{job=\"vigil\",instance={}", metric.name, quote(host));
        if let (Some(key), Some(value)) = (metric.labels.first(), values.first()) {
            selector.push_str(&format!(",{key}={}", quote(value)));
        }
        selector.push('}');
        out.entry(name.clone()).or_insert_with(|| RemoteSeries {
            info: SeriesInfo {
                name,
                metric: metric.name.to_string(),
                help: metric.help.to_string(),
                unit: metric.unit,
                kind: metric.kind,
                labels: metric
                    .labels
                    .iter()
                    .zip(&values)
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            selector,
            order: catalog_position(metric),
        });
    }
    let mut list: Vec<RemoteSeries> = out.into_values().collect();
    list.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.info.name.cmp(&b.info.name)));
    list
}

/// Merges the min, max and avg answers (evaluated at the end of each
/// step) into points stamped with their bucket's start.
pub(crate) fn merge_buckets(step: i64, min: &[(i64, f64)], max: &[(i64, f64)], avg: &[(i64, f64)]) -> Vec<RangePoint> {
    let mut at: BTreeMap<i64, [Option<f64>; 3]> = BTreeMap::new();
    for (i, answer) in [min, max, avg].into_iter().enumerate() {
        for &(t, v) in answer {
            at.entry(t).or_default()[i] = Some(v);
        }
    }
    at.into_iter()
        .filter_map(|(t, [min, max, avg])| {
            let (min, max, avg) = (min?, max?, avg?);
            let start = t - step;
            Some(if min == max {
                RangePoint::Value(start, avg)
            } else {
                RangePoint::Bucket(start, min, max, avg)
            })
        })
        .collect()
}

/// Another host, answered by the engine.
pub(crate) struct RemoteHost {
    pub(crate) name: String,
    pub(crate) engine: Arc<PromClient>,
    pub(crate) cache: SeriesCache,
}

impl RemoteHost {
    async fn list(&self) -> Result<Arc<Vec<RemoteSeries>>, MetricsError> {
        if let Some(hit) = self.cache.get(&self.name) {
            return Ok(hit);
        }
        let now = crate::signals::clock::now_ms();
        let sets = self
            .engine
            .series(&host_selector(&self.name), now - SERIES_LOOKBACK_MS, now)
            .await
            .map_err(unavailable)?;
        let list = Arc::new(to_series(&self.name, &sets));
        if list.is_empty() {
            return Err(MetricsError::UnknownHost(self.name.clone()));
        }
        self.cache.insert(self.name.clone(), list.clone());
        Ok(list)
    }

    async fn find(&self, series: &str) -> Result<RemoteSeries, MetricsError> {
        self.list()
            .await?
            .iter()
            .find(|s| s.info.name == series)
            .cloned()
            .ok_or_else(|| MetricsError::UnknownSeries(series.to_string()))
    }
}

#[async_trait::async_trait]
impl MetricsQuery for RemoteHost {
    async fn snapshot(&self) -> Result<Snapshot, MetricsError> {
        Err(MetricsError::InvalidArgument(
            "the snapshot is of this Vigil's own host only; query another host's series instead".into(),
        ))
    }

    async fn series(&self) -> Result<Vec<SeriesInfo>, MetricsError> {
        Ok(self.list().await?.iter().map(|s| s.info.clone()).collect())
    }

    async fn latest(&self, series: &str) -> Result<Latest, MetricsError> {
        let found = self.find(series).await?;
        let (value_query, at_query) = (
            format!("max({})", found.selector),
            format!("max(timestamp({}))", found.selector),
        );
        let (value, at) = tokio::join!(
            self.engine.instant(&value_query, None),
            self.engine.instant(&at_query, None),
        );
        let (value, at) = (value.map_err(unavailable)?, at.map_err(unavailable)?);
        match (value.first(), at.first()) {
            (Some(v), Some(t)) => Ok(Latest {
                series: series.to_string(),
                ts: millis(t.value),
                value: v.value,
            }),
            _ => Err(MetricsError::Unavailable(format!(
                "no recent sample of {series} on {}",
                self.name
            ))),
        }
    }

    async fn range(&self, series: &str, from: i64, to: i64, points: u32) -> Result<Range, MetricsError> {
        let found = self.find(series).await?;
        let span = to - from;
        // Whole seconds: the engines keep milliseconds, but Vigil samples
        // at most ten times a second and a step below it only adds holes.
        let step = (span / i64::from(points.max(1)))
            .max(span / MAX_ENGINE_POINTS)
            .max(1000);
        let step = (step + 999) / 1000 * 1000;
        let query = |f: &str, agg: &str| format!("{agg}({f}({}[{step}ms]))", found.selector);
        let (first, last) = (from + step, to);
        let queries = [
            query("min_over_time", "min"),
            query("max_over_time", "max"),
            query("avg_over_time", "avg"),
        ];
        let (min, max, avg) = tokio::join!(
            self.engine.range(&queries[0], first, last, step),
            self.engine.range(&queries[1], first, last, step),
            self.engine.range(&queries[2], first, last, step),
        );
        let first_points = |answer: Result<Vec<super::promql::Matrix>, PromError>| {
            answer
                .map(|m| m.into_iter().next().map(|s| s.points).unwrap_or_default())
                .map_err(unavailable)
        };
        let (min, max, avg) = (first_points(min)?, first_points(max)?, first_points(avg)?);
        Ok(Range {
            series: series.to_string(),
            unit: found.info.unit,
            from,
            to,
            step_ms: step,
            tier: "engine".into(),
            points: merge_buckets(step, &min, &max, &avg),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn engine_series_become_vigil_series_in_catalog_order() {
        let sets = [
            labels(&[
                ("__name__", "vigil_filesystem_used_percent"),
                ("instance", "beta"),
                ("job", "vigil"),
                ("mount", "/var/lib"),
                ("device", "vdb"),
                ("fs", "ext4"),
            ]),
            labels(&[
                ("__name__", "vigil_memory_used_bytes"),
                ("instance", "beta"),
                ("job", "vigil"),
            ]),
            labels(&[
                ("__name__", "vigil_cpu_usage_percent"),
                ("instance", "beta"),
                ("job", "vigil"),
            ]),
            labels(&[
                ("__name__", "vigil_from_the_future"),
                ("instance", "beta"),
                ("job", "vigil"),
            ]),
            labels(&[
                ("__name__", "vigil_check_up"),
                ("instance", "beta"),
                ("job", "vigil"),
                ("check", "rpc"),
            ]),
        ];
        let list = to_series("beta", &sets);
        let names: Vec<&str> = list.iter().map(|s| s.info.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cpu_usage_percent",
                "memory_used_bytes",
                "filesystem_used_percent.var-lib",
                "check_up.rpc"
            ]
        );
        let disk = &list[2];
        assert_eq!(
            disk.selector,
            r#"vigil_filesystem_used_percent{job="vigil",instance="beta",mount="/var/lib"}"#
        );
        assert_eq!(disk.info.labels.get("device").map(String::as_str), Some("vdb"));
        assert_eq!(disk.info.unit, app::metrics::Unit::Percent);
        assert_eq!(
            list[0].selector,
            r#"vigil_cpu_usage_percent{job="vigil",instance="beta"}"#
        );
    }

    #[test]
    fn buckets_start_where_their_step_does_and_keep_peaks() {
        let min = [(2000, 1.0), (3000, 5.0), (4000, 7.0)];
        let max = [(2000, 3.0), (3000, 5.0), (4000, 9.0)];
        let avg = [(2000, 2.0), (3000, 5.0)];
        assert_eq!(
            merge_buckets(1000, &min, &max, &avg),
            [RangePoint::Bucket(1000, 1.0, 3.0, 2.0), RangePoint::Value(2000, 5.0)]
        );
    }
}
