//! The `/checks` table's view state: filter text, status filter and sort
//! order, read from and written to the URL query so that a view can be
//! shared, reloaded and used without JavaScript.

use super::CheckBoard;
use crate::health::Status;
use crate::sort::Column;

/// A column the table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Status,
    Name,
    Latency,
    Uptime,
}

impl crate::sort::Column for SortKey {
    const ALL: &'static [SortKey] = &[SortKey::Status, SortKey::Name, SortKey::Latency, SortKey::Uptime];

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Status => "status",
            SortKey::Name => "name",
            SortKey::Latency => "latency",
            SortKey::Uptime => "uptime",
        }
    }

    /// Worst status, slowest and least available first; names A to Z.
    fn default_desc(self) -> bool {
        !matches!(self, SortKey::Name | SortKey::Uptime)
    }
}

/// What the table shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListView {
    /// Case-insensitive text matched against name, target, kind and reason.
    pub q: String,
    pub status: Option<Status>,
    pub sort: SortKey,
    pub desc: bool,
}

impl Default for ListView {
    fn default() -> Self {
        ListView {
            q: String::new(),
            status: None,
            sort: SortKey::Status,
            desc: true,
        }
    }
}

fn parse_status(s: &str) -> Option<Status> {
    [Status::Up, Status::Degraded, Status::Unknown, Status::Down]
        .into_iter()
        .find(|st| st.as_str() == s)
}

impl ListView {
    /// Reads the view from URL query parameters; anything unknown falls
    /// back to the default.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> ListView {
        let (sort, desc) = crate::sort::read(&get, SortKey::Status);
        ListView {
            q: get("q").unwrap_or_default().trim().chars().take(100).collect(),
            status: get("status").as_deref().and_then(parse_status),
            sort,
            desc,
        }
    }

    /// The `/checks` URL of this view.
    pub fn href(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode(&self.q)));
        }
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if *self
            != (ListView {
                q: self.q.clone(),
                status: self.status,
                ..Default::default()
            })
        {
            parts.push(format!("sort={}", self.sort.as_str()));
            parts.push(format!("dir={}", crate::sort::dir(self.desc)));
        }
        if parts.is_empty() {
            "/checks".into()
        } else {
            format!("/checks?{}", parts.join("&"))
        }
    }

    /// This view sorted by `key`: a click on the current column flips the
    /// direction, on another starts in that column's natural one.
    pub fn sorted_by(&self, key: SortKey) -> ListView {
        ListView {
            sort: key,
            desc: crate::sort::clicked(self.sort, self.desc, key),
            ..self.clone()
        }
    }

    /// The names of the checks to show, in order.
    pub fn apply(&self, board: &CheckBoard) -> Vec<String> {
        let q = self.q.to_lowercase();
        let mut rows: Vec<_> = board
            .checks
            .iter()
            .filter(|c| self.status.is_none_or(|s| c.state.status == s))
            .filter(|c| {
                q.is_empty()
                    || [
                        c.state.name.as_str(),
                        &c.state.target,
                        c.state.kind.as_str(),
                        &c.state.reason,
                    ]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .collect();
        rows.sort_by(|a, b| {
            use std::cmp::Ordering;
            let by = match self.sort {
                SortKey::Status => a.state.status.cmp(&b.state.status),
                SortKey::Name => Ordering::Equal,
                SortKey::Latency => a
                    .state
                    .latency_ms
                    .partial_cmp(&b.state.latency_ms)
                    .unwrap_or(Ordering::Equal),
                SortKey::Uptime => {
                    let day = |c: &super::CheckLive| c.uptime.and_then(|u| u.day);
                    day(a).partial_cmp(&day(b)).unwrap_or(Ordering::Equal)
                }
            };
            let by = if self.desc { by.reverse() } else { by };
            // Ties (and the name column) read A to Z, reversed only when
            // sorting by name.
            let names = a.state.name.cmp(&b.state.name);
            by.then(if self.sort == SortKey::Name && self.desc {
                names.reverse()
            } else {
                names
            })
        });
        rows.into_iter().map(|c| c.state.name.clone()).collect()
    }
}

/// Percent-encodes a query value (letters, digits and `-._~` stay).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{BreakerState, CheckKind, CheckState, CheckSummary, Uptime};

    fn item(name: &str, status: Status, latency: f64, day: f64) -> CheckSummary {
        CheckSummary {
            state: CheckState {
                name: name.into(),
                kind: CheckKind::Http,
                target: format!("http://{name}.example"),
                status,
                observed: status,
                reason: if status == Status::Down {
                    "HTTP 503".into()
                } else {
                    "HTTP 200".into()
                },
                latency_ms: Some(latency),
                subs: vec![],
                breaker: BreakerState::Closed,
                ts: 1,
                since: 0,
                consecutive_failures: 0,
            },
            uptime: Uptime {
                day: Some(day),
                ..Default::default()
            },
            recent: vec![],
        }
    }

    fn board() -> CheckBoard {
        let mut b = CheckBoard::default();
        b.seed_list(&[
            item("api", Status::Up, 20.0, 100.0),
            item("db", Status::Down, 3000.0, 80.0),
            item("rpc", Status::Degraded, 150.0, 99.0),
            item("web", Status::Up, 5.0, 99.9),
        ]);
        b
    }

    fn view(query: &[(&str, &str)]) -> ListView {
        ListView::from_query(|k| query.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn default_order_is_worst_first_then_by_name() {
        assert_eq!(view(&[]).apply(&board()), ["db", "rpc", "api", "web"]);
    }

    #[test]
    fn sorts_by_each_column_both_ways() {
        assert_eq!(
            view(&[("sort", "latency")]).apply(&board()),
            ["db", "rpc", "api", "web"]
        );
        assert_eq!(
            view(&[("sort", "latency"), ("dir", "asc")]).apply(&board()),
            ["web", "api", "rpc", "db"]
        );
        assert_eq!(view(&[("sort", "uptime")]).apply(&board()), ["db", "rpc", "web", "api"]);
        assert_eq!(
            view(&[("sort", "name"), ("dir", "desc")]).apply(&board()),
            ["web", "rpc", "db", "api"]
        );
    }

    #[test]
    fn filters_by_text_and_status() {
        assert_eq!(view(&[("q", "503")]).apply(&board()), ["db"]);
        assert_eq!(view(&[("q", "RPC.example")]).apply(&board()), ["rpc"]);
        assert_eq!(view(&[("status", "up")]).apply(&board()), ["api", "web"]);
        assert!(view(&[("q", "nothing")]).apply(&board()).is_empty());
    }

    #[test]
    fn urls_round_trip_and_stay_short() {
        assert_eq!(ListView::default().href(), "/checks");
        let v = view(&[("q", "a b&c"), ("status", "down"), ("sort", "latency"), ("dir", "asc")]);
        assert_eq!(v.href(), "/checks?q=a%20b%26c&status=down&sort=latency&dir=asc");
        let back = view(&[("q", "a b&c"), ("status", "down"), ("sort", "latency"), ("dir", "asc")]);
        assert_eq!(back, v);
        // Clicking the current column flips it; another starts in its own direction.
        assert!(!ListView::default().sorted_by(SortKey::Status).desc);
        assert!(!ListView::default().sorted_by(SortKey::Name).desc);
        assert!(ListView::default().sorted_by(SortKey::Latency).desc);
        // Junk falls back to the default.
        assert_eq!(view(&[("sort", "'; drop"), ("status", "bad")]), ListView::default());
    }
}
