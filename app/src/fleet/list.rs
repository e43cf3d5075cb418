//! The `/hosts` table's order, read from and written to the URL query
//! (`?sort=cpu&dir=desc`), so a sorted view can be shared, reloaded and
//! used without JavaScript.

use std::cmp::Ordering;

use super::HostSummary;
use crate::sort::Column;

/// A column the table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Status,
    Name,
    Seen,
    Cpu,
    Memory,
    Disk,
}

impl crate::sort::Column for SortKey {
    const ALL: &'static [SortKey] = &[
        SortKey::Status,
        SortKey::Name,
        SortKey::Seen,
        SortKey::Cpu,
        SortKey::Memory,
        SortKey::Disk,
    ];

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Status => "status",
            SortKey::Name => "name",
            SortKey::Seen => "seen",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "memory",
            SortKey::Disk => "disk",
        }
    }

    /// Worst and busiest first, names A to Z, the longest silent first.
    fn default_desc(self) -> bool {
        !matches!(self, SortKey::Name | SortKey::Seen)
    }
}

/// How the table is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostsView {
    pub sort: SortKey,
    pub desc: bool,
}

impl Default for HostsView {
    fn default() -> Self {
        HostsView {
            sort: SortKey::Status,
            desc: true,
        }
    }
}

fn by_figure(a: Option<f64>, b: Option<f64>) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

impl HostsView {
    /// Reads the order from URL query parameters; anything unknown falls
    /// back to the default (worst status first).
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> HostsView {
        let (sort, desc) = crate::sort::read(&get, SortKey::Status);
        HostsView { sort, desc }
    }

    /// The `/hosts` URL of this order.
    pub fn href(&self) -> String {
        if *self == HostsView::default() {
            return "/hosts".into();
        }
        format!("/hosts?sort={}&dir={}", self.sort.as_str(), crate::sort::dir(self.desc))
    }

    /// Sorted by `key`: a click on the current column flips the direction,
    /// on another starts in that column's natural one.
    pub fn sorted_by(&self, key: SortKey) -> HostsView {
        HostsView {
            sort: key,
            desc: crate::sort::clicked(self.sort, self.desc, key),
        }
    }

    /// `hosts` in this order; ties read A to Z.
    pub fn apply(&self, hosts: &mut [HostSummary]) {
        hosts.sort_by(|a, b| {
            let by = match self.sort {
                SortKey::Status => a.status.cmp(&b.status),
                SortKey::Name => Ordering::Equal,
                // Oldest last-seen first when ascending: the silent ones.
                // `None` (no figure) sorts below every number.
                SortKey::Seen => a.last_seen.cmp(&b.last_seen),
                SortKey::Cpu => by_figure(a.cpu_percent, b.cpu_percent),
                SortKey::Memory => by_figure(a.memory_percent, b.memory_percent),
                SortKey::Disk => by_figure(a.disk.as_ref().map(|d| d.percent), b.disk.as_ref().map(|d| d.percent)),
            };
            let by = if self.desc { by.reverse() } else { by };
            let names = a.name.cmp(&b.name);
            by.then(if self.sort == SortKey::Name && self.desc {
                names.reverse()
            } else {
                names
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::DiskFill;
    use crate::health::Status;

    fn host(name: &str, status: Status, seen: Option<i64>, cpu: Option<f64>, disk: f64) -> HostSummary {
        HostSummary {
            name: name.into(),
            last_seen: seen,
            cpu_percent: cpu,
            memory_percent: cpu.map(|c| 100.0 - c),
            disk: Some(DiskFill {
                mount: "/".into(),
                percent: disk,
            }),
            status,
            reason: String::new(),
            local: false,
        }
    }

    fn hosts() -> Vec<HostSummary> {
        vec![
            host("alpha", Status::Up, Some(1000), Some(10.0), 50.0),
            host("beta", Status::Down, Some(900), Some(90.0), 97.0),
            host("gamma", Status::Unknown, Some(10), None, 20.0),
            host("delta", Status::Up, Some(1000), Some(40.0), 60.0),
        ]
    }

    fn order(view: HostsView) -> Vec<String> {
        let mut h = hosts();
        view.apply(&mut h);
        h.into_iter().map(|h| h.name).collect()
    }

    fn view(query: &[(&str, &str)]) -> HostsView {
        HostsView::from_query(|k| query.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn default_is_worst_first_then_by_name() {
        assert_eq!(order(HostsView::default()), ["beta", "gamma", "alpha", "delta"]);
    }

    #[test]
    fn sorts_by_each_figure_with_missing_ones_last_when_descending() {
        assert_eq!(order(view(&[("sort", "cpu")])), ["beta", "delta", "alpha", "gamma"]);
        assert_eq!(
            order(view(&[("sort", "cpu"), ("dir", "asc")])),
            ["gamma", "alpha", "delta", "beta"]
        );
        assert_eq!(order(view(&[("sort", "memory")])), ["alpha", "delta", "beta", "gamma"]);
        assert_eq!(order(view(&[("sort", "disk")])), ["beta", "delta", "alpha", "gamma"]);
        assert_eq!(order(view(&[("sort", "seen")])), ["gamma", "beta", "alpha", "delta"]);
        assert_eq!(
            order(view(&[("sort", "name"), ("dir", "desc")])),
            ["gamma", "delta", "beta", "alpha"]
        );
    }

    #[test]
    fn urls_round_trip_and_junk_falls_back() {
        assert_eq!(HostsView::default().href(), "/hosts");
        let v = view(&[("sort", "disk"), ("dir", "asc")]);
        assert_eq!(v.href(), "/hosts?sort=disk&dir=asc");
        assert_eq!(view(&[("sort", "disk"), ("dir", "asc")]), v);
        assert!(!HostsView::default().sorted_by(SortKey::Status).desc);
        assert!(HostsView::default().sorted_by(SortKey::Cpu).desc);
        assert!(!HostsView::default().sorted_by(SortKey::Name).desc);
        assert_eq!(view(&[("sort", "<script>")]), HostsView::default());
    }
}
