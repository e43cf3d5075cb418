//! Alert state on disk: `alerts.db` in the data dir, a SQLite file of its
//! own (a full or busy history store never loses an alert), holding
//!
//! - `alert`: every pending and firing instance, and whether (and when)
//!   people were told, so a restart neither sends it again nor forgets it;
//! - `history`: resolved instances, newest kept;
//! - `silence` and `maintenance`: silences and the maintenance windows made on
//!   the alerts page;
//! - `outbox`: messages not yet delivered, so a restart (or a channel down
//!   for a while) delays them instead of dropping them;
//! - `delivery`: each channel's last outcome.
//!
//! Writes are few (a state change, a message), so they run on the caller's
//! thread. When the file cannot be opened (a read-only or broken data dir)
//! the store lives in memory: alerts still fire and are sent, and the log
//! says they will not survive a restart.

use std::path::Path;

use app::alerts::{Alert, AlertState, Delivery, Severity, Silence};
use rusqlite::{params, Connection};

use super::config::MaintenanceConfig;

/// The file name under the data dir.
pub(crate) const FILE_NAME: &str = "alerts.db";

/// Resolved alerts kept for the page and the API.
const HISTORY_KEPT: i64 = 500;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS alert (
         name TEXT NOT NULL,
         instance TEXT NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('pending', 'firing')),
         severity TEXT NOT NULL,
         value REAL,
         threshold REAL,
         since INTEGER NOT NULL,
         fired_at INTEGER,
         message TEXT NOT NULL,
         notified_at INTEGER,
         PRIMARY KEY (name, instance)
     );
     CREATE TABLE IF NOT EXISTS history (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         instance TEXT NOT NULL,
         severity TEXT NOT NULL,
         value REAL,
         threshold REAL,
         since INTEGER NOT NULL,
         fired_at INTEGER,
         resolved_at INTEGER NOT NULL,
         message TEXT NOT NULL
     );
     CREATE TABLE IF NOT EXISTS silence (
         id INTEGER PRIMARY KEY,
         rule TEXT,
         instance TEXT,
         check_name TEXT,
         comment TEXT NOT NULL,
         created_by TEXT NOT NULL,
         starts_at INTEGER NOT NULL,
         ends_at INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS maintenance (
         id INTEGER PRIMARY KEY,
         config TEXT NOT NULL,
         created_by TEXT NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS outbox (
         id INTEGER PRIMARY KEY,
         channel TEXT NOT NULL,
         message TEXT NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS delivery (
         channel TEXT PRIMARY KEY,
         ts INTEGER NOT NULL,
         ok INTEGER NOT NULL,
         detail TEXT NOT NULL,
         attempts INTEGER NOT NULL
     );";

/// A pending or firing instance as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stored {
    pub(crate) alert: Alert,
    /// When people were last told it fires; `None`: not yet.
    pub(crate) notified_at: Option<i64>,
}

/// The alerts database.
pub(crate) struct AlertStore {
    conn: Connection,
    /// Where it lives, for logs; `None` in memory.
    path: Option<String>,
}

impl AlertStore {
    /// Opens (or creates) `alerts.db` under `dir`, or an in-memory store
    /// when that fails (see the module doc).
    pub(crate) fn open(dir: &Path) -> AlertStore {
        let path = dir.join(FILE_NAME);
        match crate::private::small_database(&path, SCHEMA) {
            Ok(conn) => AlertStore {
                conn,
                path: Some(path.display().to_string()),
            },
            Err(err) => {
                tracing::error!(
                    path = %path.display(),
                    %err,
                    "cannot open the alerts database: alerts are kept in memory and will be forgotten on restart"
                );
                Self::in_memory()
            }
        }
    }

    /// A store that keeps nothing across restarts.
    pub(crate) fn in_memory() -> AlertStore {
        AlertStore {
            conn: crate::private::memory_database(SCHEMA),
            path: None,
        }
    }

    /// Logs a failed write; the engine goes on with what it holds.
    fn logged<T>(&self, what: &str, result: rusqlite::Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::warn!(path = ?self.path, %err, "alerts database: {what} failed");
                None
            }
        }
    }

    /// Every stored pending and firing instance.
    pub(crate) fn live(&self) -> Vec<Stored> {
        let read = || -> rusqlite::Result<Vec<Stored>> {
            let mut stmt = self.conn.prepare(
                "SELECT name, instance, state, severity, value, threshold, since, fired_at, message, notified_at
                 FROM alert ORDER BY since",
            )?;
            let rows = stmt.query_map([], |r| {
                let state: String = r.get(2)?;
                let severity: String = r.get(3)?;
                Ok(Stored {
                    alert: Alert {
                        name: r.get(0)?,
                        instance: r.get(1)?,
                        state: if state == "firing" {
                            AlertState::Firing
                        } else {
                            AlertState::Pending
                        },
                        severity: Severity::parse(&severity).unwrap_or_default(),
                        value: r.get(4)?,
                        threshold: r.get(5)?,
                        since: r.get(6)?,
                        fired_at: r.get(7)?,
                        resolved_at: None,
                        message: r.get(8)?,
                        check: None,
                        reason: String::new(),
                        silenced: false,
                        muted_by: None,
                    },
                    notified_at: r.get(9)?,
                })
            })?;
            rows.collect()
        };
        self.logged("reading alerts", read()).unwrap_or_default()
    }

    /// Stores a pending or firing instance (keeping when it was told).
    pub(crate) fn put(&self, a: &Alert) {
        let result = self.conn.execute(
            "INSERT INTO alert (name, instance, state, severity, value, threshold, since, fired_at, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (name, instance) DO UPDATE SET state = ?3, severity = ?4, value = ?5,
                 threshold = ?6, since = ?7, fired_at = ?8, message = ?9",
            params![
                a.name,
                a.instance,
                a.state.as_str(),
                a.severity.as_str(),
                a.value,
                a.threshold,
                a.since,
                a.fired_at,
                a.message
            ],
        );
        self.logged("storing an alert", result);
    }

    /// Records that people were told `name`/`instance` fires.
    pub(crate) fn notified(&self, name: &str, instance: &str, at: i64) {
        let result = self.conn.execute(
            "UPDATE alert SET notified_at = ?3 WHERE name = ?1 AND instance = ?2",
            params![name, instance, at],
        );
        self.logged("marking an alert told", result);
    }

    /// Forgets a pending instance that cleared.
    pub(crate) fn clear(&self, name: &str, instance: &str) {
        let result = self.conn.execute(
            "DELETE FROM alert WHERE name = ?1 AND instance = ?2",
            params![name, instance],
        );
        self.logged("clearing an alert", result);
    }

    /// Moves a resolved instance to the history, in one transaction.
    pub(crate) fn resolve(&mut self, a: &Alert) {
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM alert WHERE name = ?1 AND instance = ?2",
                params![a.name, a.instance],
            )?;
            tx.execute(
                "INSERT INTO history (name, instance, severity, value, threshold, since, fired_at, resolved_at, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    a.name,
                    a.instance,
                    a.severity.as_str(),
                    a.value,
                    a.threshold,
                    a.since,
                    a.fired_at,
                    a.resolved_at.unwrap_or(a.since),
                    a.message
                ],
            )?;
            tx.execute(
                "DELETE FROM history WHERE id <= (SELECT MAX(id) FROM history) - ?1",
                params![HISTORY_KEPT],
            )?;
            tx.commit()
        };
        let result = write(&mut self.conn);
        self.logged("storing a resolved alert", result);
    }

    /// Resolved instances, newest first.
    pub(crate) fn history(&self, limit: usize) -> Vec<Alert> {
        let read = || -> rusqlite::Result<Vec<Alert>> {
            let mut stmt = self.conn.prepare(
                "SELECT name, instance, severity, value, threshold, since, fired_at, resolved_at, message
                 FROM history ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit as i64], |r| {
                let severity: String = r.get(2)?;
                Ok(Alert {
                    name: r.get(0)?,
                    instance: r.get(1)?,
                    state: AlertState::Resolved,
                    severity: Severity::parse(&severity).unwrap_or_default(),
                    value: r.get(3)?,
                    threshold: r.get(4)?,
                    since: r.get(5)?,
                    fired_at: r.get(6)?,
                    resolved_at: r.get(7)?,
                    message: r.get(8)?,
                    check: None,
                    reason: String::new(),
                    silenced: false,
                    muted_by: None,
                })
            })?;
            rows.collect()
        };
        self.logged("reading the history", read()).unwrap_or_default()
    }

    /// Silences that have not ended by `now`.
    pub(crate) fn silences(&self, now: i64) -> Vec<Silence> {
        let read = || -> rusqlite::Result<Vec<Silence>> {
            let mut stmt = self.conn.prepare(
                "SELECT id, rule, instance, check_name, comment, created_by, starts_at, ends_at
                 FROM silence WHERE ends_at > ?1 ORDER BY ends_at",
            )?;
            let rows = stmt.query_map(params![now], |r| {
                Ok(Silence {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    instance: r.get(2)?,
                    check: r.get(3)?,
                    comment: r.get(4)?,
                    created_by: r.get(5)?,
                    starts_at: r.get(6)?,
                    ends_at: r.get(7)?,
                })
            })?;
            rows.collect()
        };
        self.logged("reading silences", read()).unwrap_or_default()
    }

    /// Stores a new silence; its id.
    pub(crate) fn add_silence(&self, s: &Silence) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT INTO silence (rule, instance, check_name, comment, created_by, starts_at, ends_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.rule,
                s.instance,
                s.check,
                s.comment,
                s.created_by,
                s.starts_at,
                s.ends_at
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Ends a silence at `now`; whether one was running.
    pub(crate) fn end_silence(&self, id: i64, now: i64) -> rusqlite::Result<bool> {
        let changed = self.conn.execute(
            "UPDATE silence SET ends_at = ?2 WHERE id = ?1 AND ends_at > ?2",
            params![id, now],
        )?;
        // Old silences are of no use to anyone.
        self.conn
            .execute("DELETE FROM silence WHERE ends_at < ?1", params![now - 30 * 86_400_000])?;
        Ok(changed > 0)
    }

    /// The windows made on the page, with their ids.
    pub(crate) fn windows(&self) -> Vec<(i64, MaintenanceConfig)> {
        let read = || -> rusqlite::Result<Vec<(i64, String)>> {
            let mut stmt = self.conn.prepare("SELECT id, config FROM maintenance ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        self.logged("reading windows", read())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(id, json)| match serde_json::from_str(&json) {
                Ok(config) => Some((id, config)),
                Err(err) => {
                    tracing::warn!(id, %err, "a stored maintenance window does not read back; skipped");
                    None
                }
            })
            .collect()
    }

    pub(crate) fn add_window(&self, config: &MaintenanceConfig, by: &str, now: i64) -> rusqlite::Result<i64> {
        let json = serde_json::to_string(config).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        self.conn.execute(
            "INSERT INTO maintenance (config, created_by, created_at) VALUES (?1, ?2, ?3)",
            params![json, by, now],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Removes a window made on the page; whether there was one.
    pub(crate) fn end_window(&self, id: i64) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM maintenance WHERE id = ?1", params![id])?
            > 0)
    }

    /// Queues a message for a channel; its outbox id.
    pub(crate) fn enqueue(&self, channel: &str, message: &str, now: i64) -> Option<i64> {
        let result = self
            .conn
            .execute(
                "INSERT INTO outbox (channel, message, created_at) VALUES (?1, ?2, ?3)",
                params![channel, message, now],
            )
            .map(|_| self.conn.last_insert_rowid());
        self.logged("queueing a message", result)
    }

    /// Every queued message, oldest first: (id, channel, message).
    pub(crate) fn outbox(&self) -> Vec<(i64, String, String)> {
        let read = || -> rusqlite::Result<Vec<(i64, String, String)>> {
            let mut stmt = self
                .conn
                .prepare("SELECT id, channel, message FROM outbox ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        };
        self.logged("reading the outbox", read()).unwrap_or_default()
    }

    /// A message is delivered (or given up on): out of the outbox, and
    /// its channel's last outcome kept.
    pub(crate) fn delivered(&self, id: Option<i64>, channel: &str, outcome: &Delivery) {
        if let Some(id) = id {
            let result = self.conn.execute("DELETE FROM outbox WHERE id = ?1", params![id]);
            self.logged("emptying the outbox", result);
        }
        self.record(channel, outcome);
    }

    /// Keeps a channel's last outcome.
    pub(crate) fn record(&self, channel: &str, d: &Delivery) {
        let result = self.conn.execute(
            "INSERT INTO delivery (channel, ts, ok, detail, attempts) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (channel) DO UPDATE SET ts = ?2, ok = ?3, detail = ?4, attempts = ?5",
            params![channel, d.ts, d.ok, d.detail, d.attempts],
        );
        self.logged("recording a delivery", result);
    }

    /// Each channel's last outcome.
    pub(crate) fn deliveries(&self) -> Vec<(String, Delivery)> {
        let read = || -> rusqlite::Result<Vec<(String, Delivery)>> {
            let mut stmt = self
                .conn
                .prepare("SELECT channel, ts, ok, detail, attempts FROM delivery")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    Delivery {
                        ts: r.get(1)?,
                        ok: r.get(2)?,
                        detail: r.get(3)?,
                        attempts: r.get(4)?,
                    },
                ))
            })?;
            rows.collect()
        };
        self.logged("reading deliveries", read()).unwrap_or_default()
    }

    /// One silence, whatever its state.
    #[cfg(test)]
    pub(crate) fn silence(&self, id: i64) -> Option<i64> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT ends_at FROM silence WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .ok()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing(name: &str, instance: &str) -> Alert {
        Alert {
            name: name.into(),
            instance: instance.into(),
            state: AlertState::Firing,
            severity: Severity::Critical,
            value: Some(95.5),
            threshold: Some(90.0),
            since: 1_000,
            fired_at: Some(2_000),
            resolved_at: None,
            message: "full".into(),
            check: None,
            reason: String::new(),
            silenced: false,
            muted_by: None,
        }
    }

    #[test]
    fn alerts_survive_a_reopen_with_whether_they_were_told() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = AlertStore::open(dir.path());
            store.put(&firing("disk-full", "filesystem_used_percent.root"));
            store.notified("disk-full", "filesystem_used_percent.root", 2_500);
            let mut pending = firing("memory-full", "memory_used_percent");
            pending.state = AlertState::Pending;
            pending.fired_at = None;
            store.put(&pending);
        }
        let store = AlertStore::open(dir.path());
        let live = store.live();
        assert_eq!(live.len(), 2);
        assert_eq!(live[0].alert, firing("disk-full", "filesystem_used_percent.root"));
        assert_eq!(live[0].notified_at, Some(2_500));
        assert_eq!((live[1].alert.state, live[1].notified_at), (AlertState::Pending, None));
        // Updating keeps when it was told.
        let mut again = firing("disk-full", "filesystem_used_percent.root");
        again.value = Some(99.0);
        store.put(&again);
        assert_eq!(store.live()[0].notified_at, Some(2_500));
        assert_eq!(store.live()[0].alert.value, Some(99.0));
    }

    #[test]
    fn resolving_moves_to_the_history_which_is_bounded() {
        let mut store = AlertStore::in_memory();
        for i in 0..(HISTORY_KEPT + 10) {
            let mut a = firing("check-down", &format!("c{i}"));
            store.put(&a);
            a.state = AlertState::Resolved;
            a.resolved_at = Some(3_000 + i);
            store.resolve(&a);
        }
        assert!(store.live().is_empty());
        let history = store.history(1_000);
        assert_eq!(history.len() as i64, HISTORY_KEPT);
        assert_eq!(history[0].instance, format!("c{}", HISTORY_KEPT + 9), "newest first");
        assert_eq!(history[0].state, AlertState::Resolved);
    }

    #[test]
    fn silences_end_and_the_outbox_empties() {
        let store = AlertStore::in_memory();
        let s = Silence {
            id: 0,
            rule: Some("disk-full".into()),
            instance: None,
            check: None,
            comment: "moving data".into(),
            created_by: "ada".into(),
            starts_at: 0,
            ends_at: 10_000,
        };
        let id = store.add_silence(&s).unwrap();
        assert_eq!(store.silences(5_000).len(), 1);
        assert!(store.end_silence(id, 6_000).unwrap());
        assert!(!store.end_silence(id, 6_000).unwrap(), "already ended");
        assert_eq!(store.silence(id), Some(6_000));
        assert!(store.silences(6_000).is_empty());

        let a = store.enqueue("mail", "{}", 1).unwrap();
        let b = store.enqueue("hook", "{}", 2).unwrap();
        let ok = Delivery {
            ts: 3,
            ok: true,
            detail: "HTTP 204".into(),
            attempts: 1,
        };
        store.delivered(Some(a), "mail", &ok);
        assert_eq!(store.outbox(), [(b, "hook".to_string(), "{}".to_string())]);
        assert_eq!(store.deliveries(), [("mail".to_string(), ok)]);
    }

    #[test]
    fn an_unwritable_data_dir_keeps_alerts_in_memory() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // A file where the directory should be: nothing opens under it.
        let store = AlertStore::open(file.path());
        store.put(&firing("x", "y"));
        assert_eq!(store.live().len(), 1);
        assert!(store.path.is_none());
    }
}
