//! Status pages, incidents and SLA reports, as the dashboard and the API
//! see them.
//!
//! The public pages themselves (`/status/SLUG`) are rendered by the
//! server alone, without this crate's components or WASM: they must be
//! small and complete without scripts. What the dashboard needs is here:
//!
//! - this file: the wire types, compiled for the server and the browser;
//! - [`query`]: the status query trait and its server functions;
//! - [`view`]: the incidents page (`/incidents`) and the reports page
//!   (`/reports`).

mod query;
mod view;

use serde::{Deserialize, Serialize};

pub use query::*;
pub use view::{IncidentsPage, ReportsPage};

/// How much of a service an incident touches, as status pages word it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Worth telling, nothing broken.
    None,
    /// Slower or partly failing.
    #[default]
    Minor,
    /// A service is down for many.
    Major,
    /// Everything is down.
    Critical,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Impact> {
        Impact::ALL.into_iter().find(|i| i.as_str() == text)
    }
}

/// Where an incident stands: the four steps people know from hosted
/// status pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    #[default]
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
        }
    }

    /// The word a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
        }
    }

    pub fn parse(text: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One timestamped update of an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// Unix ms.
    pub ts: i64,
    pub status: IncidentStatus,
    pub body: String,
}

/// An incident on a status page. A draft (opened by a check going down)
/// shows on the dashboard only, until an admin publishes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    /// The status page's slug.
    pub page: String,
    pub title: String,
    pub impact: Impact,
    /// The latest update's status.
    pub status: IncidentStatus,
    pub draft: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; set when an update resolves it.
    pub resolved_at: Option<i64>,
    /// Oldest first.
    pub updates: Vec<IncidentUpdate>,
}

/// A configured status page, for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusPageInfo {
    pub slug: String,
    pub title: String,
    /// Where the public reads it: `/status/SLUG`.
    pub path: String,
    /// The checks it shows.
    pub checks: Vec<String>,
}

/// What the incidents page shows: `GET /api/v1/incidents`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentsBoard {
    pub pages: Vec<StatusPageInfo>,
    /// Drafts, then open incidents, then the latest resolved ones; newest first in each.
    pub incidents: Vec<Incident>,
    /// Whether this client may open, update and publish incidents (admins).
    pub can_edit: bool,
}

/// One check's service level over a report's range.
///
/// How it is counted: a check's time is its announced status (after
/// retries and flap damping, as transitions are stored). Down is
/// announced `down`, which includes the time its breaker is open, since
/// a breaker opens only on a check that is down; `degraded` counts as up.
/// Time in a maintenance window that covers the check, time before the
/// check's first round (`unknown`) and time still to come are not
/// counted at all: they are neither down nor in the denominator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub check: String,
    /// Counted time, ms: the range less maintenance, unknown and future time.
    pub monitored_ms: i64,
    /// Time announced down, ms, outside maintenance.
    pub down_ms: i64,
    /// Time in maintenance windows that cover the check, ms.
    pub maintenance_ms: i64,
    /// `100 × (1 − down / monitored)`; `None` with nothing monitored.
    pub uptime_pct: Option<f64>,
    /// Down spells that overlap the counted time (one that began before
    /// the range counts in it too).
    pub outages: u32,
    /// Mean length of the down spells that ended in the range, each from
    /// its start (even before the range) to its recovery, ms.
    pub mttr_ms: Option<i64>,
    /// The check's objective, percent (`slo = 99.9` in its config).
    pub slo: Option<f64>,
    /// Down time the objective allows over the monitored time, ms.
    pub budget_ms: Option<i64>,
    /// Share of that budget not yet spent, percent (negative: overspent).
    pub budget_left_pct: Option<f64>,
    /// How fast the budget burns: the down share over the allowed share
    /// (1: exactly spends it by the end of the range).
    pub burn_rate: Option<f64>,
}

/// A report: every check over `[from, to)`. `GET /api/v1/reports`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Unix ms.
    pub from: i64,
    /// Unix ms.
    pub to: i64,
    pub rows: Vec<ReportRow>,
}
