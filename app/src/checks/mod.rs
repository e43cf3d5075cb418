//! Health checks of outside services, as the page and the API see them.
//!
//! The server (`vigil::checks`) probes each configured service on its
//! interval and keeps one [`CheckState`] per check; every announced status
//! change is a [`Transition`] (the same JSON that webhooks receive). Rounds
//! and transitions reach the browser as `checks` frames ([`ChecksUpdate`]),
//! which the live store folds into a [`CheckBoard`].
//!
//! - this file: the wire types, compiled for the server and the browser;
//! - [`board`]: every check's latest state and recent rounds in the page;
//! - [`list`]: the table's filter and sort order, kept in the URL;
//! - [`query`]: the checks query trait and its server functions;
//! - [`view`]: the table, the detail parts and the small SVG charts.

mod board;
mod list;
mod query;
mod view;

use serde::{Deserialize, Serialize};

use crate::health::Status;
use crate::metrics::RangePoint;

pub use board::{CheckBoard, CheckLive, RECENT_ROUNDS};
pub use list::{ListView, SortKey};
pub use query::*;
pub use view::{CheckDetailView, ChecksTable};

/// What kind of service a check probes; `type` in the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// HTTP(S): status code, optional body keyword, latency, TLS expiry.
    Http,
    /// TCP: the port accepts a connection.
    Tcp,
    /// WebSocket: the handshake succeeds, optional echo round trip.
    Websocket,
    /// Ethereum JSON-RPC: chain id, sync, peers, head age and lag.
    Ethereum,
}

impl CheckKind {
    /// The lowercase word used in the config file and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "http",
            CheckKind::Tcp => "tcp",
            CheckKind::Websocket => "websocket",
            CheckKind::Ethereum => "ethereum",
        }
    }
}

/// The circuit breaker of one check: closed (probed every round), open
/// (the target failed too often; not probed until the reset timeout has
/// passed) or half-open (one trial probe decides).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

/// One part of a composite check (e.g. an Ethereum node's `chain_id`,
/// `head_age`, `peers`), or one figure of a simple one (`http_status`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubResult {
    /// Stable, URL-safe name, e.g. `block_number`.
    pub name: String,
    /// `unknown` when it could not be told; such parts do not change the
    /// check's status.
    pub status: Status,
    /// Why, in words a person can act on.
    pub reason: String,
    /// The measured figure, when there is one (block number, peers, days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// The latest round of one check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// The check's unique, URL-safe name from the config.
    pub name: String,
    pub kind: CheckKind,
    /// What is probed, without credentials or URL path (which often holds
    /// an API key), e.g. `https://rpc.example.com/…` or `db:5432`.
    pub target: String,
    /// The announced status: a change is announced only after it held for
    /// the check's `confirm` rounds (flap damping).
    pub status: Status,
    /// What this round found, before damping.
    pub observed: Status,
    /// Why this round found what it found.
    pub reason: String,
    /// How long this round's last attempt took, in milliseconds (none when
    /// the round did not probe, e.g. while the breaker is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// The parts of a composite check; empty for simple ones.
    #[serde(default)]
    pub subs: Vec<SubResult>,
    pub breaker: BreakerState,
    /// Unix time in milliseconds of this round (0 before the first one).
    pub ts: i64,
    /// Unix time in milliseconds when `status` was last announced as
    /// changed (0 before the first round).
    pub since: i64,
    /// Rounds in a row that found the target down.
    pub consecutive_failures: u32,
}

/// An announced status change of one check; also the JSON body every
/// webhook receives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The check's name.
    pub check: String,
    pub from: Status,
    pub to: Status,
    /// The reason of the round that confirmed the change.
    pub reason: String,
    /// Unix time in milliseconds when the change was announced.
    pub ts: i64,
}

/// One past round of a check, for its latency and status history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Unix time in milliseconds.
    pub ts: i64,
    /// What the round found (before damping).
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
}

impl Round {
    /// The round a state reports, if it is one (`ts` 0 is "not checked yet").
    pub fn of(state: &CheckState) -> Option<Round> {
        (state.ts > 0).then_some(Round {
            ts: state.ts,
            status: state.observed,
            latency_ms: state.latency_ms,
        })
    }
}

/// Share of rounds, in percent, that found the target answering (up or
/// degraded) over the last 24 hours, 7 days and 30 days, from the history
/// store; `None` where no round was stored in that span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    pub day: Option<f64>,
    pub week: Option<f64>,
    pub month: Option<f64>,
}

/// Uptime of one hour or one day, for the bars of a check's page.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UptimeBar {
    /// Start of the span, Unix ms.
    pub t: i64,
    /// Percent of rounds up; `None` when no round ran in it.
    pub pct: Option<f64>,
}

/// One check in the list: `GET /api/v1/checks` answers one per check, in
/// config order. The state's fields are at the top level of each item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    #[serde(flatten)]
    pub state: CheckState,
    pub uptime: Uptime,
    /// The last rounds, oldest first (at most [`RECENT_ROUNDS`]).
    pub recent: Vec<Round>,
}

/// One check with its history: `GET /api/v1/checks/NAME`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckDetail {
    pub state: CheckState,
    /// Recent rounds, oldest first.
    pub rounds: Vec<Round>,
    /// Recent announced changes, oldest first.
    pub transitions: Vec<Transition>,
    #[serde(default)]
    pub uptime: Uptime,
    /// The last 24 hours, one bar per hour, oldest first.
    #[serde(default)]
    pub hours: Vec<UptimeBar>,
    /// The last 30 days, one bar per day, oldest first.
    #[serde(default)]
    pub days: Vec<UptimeBar>,
    /// Latency over the last 24 hours from the history store, in ms.
    #[serde(default)]
    pub latency_day: Vec<RangePoint>,
}

/// What a `checks` frame carries: the checks whose round finished (or
/// whose breaker turned half-open) since the last frame, and the status
/// changes announced meanwhile, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksUpdate {
    pub states: Vec<CheckState>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// The name of the series that keeps a check's latency (seconds) in the store.
pub fn latency_series(check: &str) -> String {
    format!("check_latency_seconds.{check}")
}

/// The name of the series that keeps a check's rounds in the store: 1 for
/// a round that found the target answering (up or degraded), 0 for down.
pub fn up_series(check: &str) -> String {
    format!("check_up.{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_is_the_webhook_json() {
        let t = Transition {
            check: "rpc".into(),
            from: Status::Up,
            to: Status::Down,
            reason: "HTTP 503".into(),
            ts: 1_700_000_000_000,
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"check": "rpc", "from": "up", "to": "down", "reason": "HTTP 503", "ts": 1_700_000_000_000i64})
        );
        assert_eq!(serde_json::from_value::<Transition>(json).unwrap(), t);
    }

    #[test]
    fn enums_are_lowercase_words() {
        assert_eq!(serde_json::to_string(&BreakerState::HalfOpen).unwrap(), "\"half_open\"");
        assert_eq!(serde_json::to_string(&CheckKind::Websocket).unwrap(), "\"websocket\"");
        assert_eq!(CheckKind::Ethereum.as_str(), "ethereum");
    }
}
