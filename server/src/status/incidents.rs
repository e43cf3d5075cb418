//! Incidents on disk: `status.db` in the data dir, a SQLite file of its
//! own (a full or busy history store never loses an incident), holding
//! each incident (`incident`) and its timestamped updates
//! (`incident_update`). Resolved incidents are kept: a status page lists
//! them as its history.
//!
//! When the file cannot be opened (a read-only or broken data dir) the
//! store lives in memory, and the log says incidents will not survive a
//! restart. Calls block: the engine runs them off the async workers.

use std::path::Path;

use app::status::{Impact, Incident, IncidentStatus, IncidentUpdate};
use rusqlite::{params, Connection, OptionalExtension};

/// The file name under the data dir.
pub(crate) const FILE_NAME: &str = "status.db";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS incident (
         id INTEGER PRIMARY KEY,
         page TEXT NOT NULL,
         title TEXT NOT NULL,
         impact TEXT NOT NULL,
         status TEXT NOT NULL,
         draft INTEGER NOT NULL,
         created_at INTEGER NOT NULL,
         resolved_at INTEGER,
         created_by TEXT NOT NULL,
         check_name TEXT
     );
     CREATE INDEX IF NOT EXISTS incident_by_page ON incident (page, created_at);
     CREATE TABLE IF NOT EXISTS incident_update (
         id INTEGER PRIMARY KEY,
         incident INTEGER NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
         ts INTEGER NOT NULL,
         status TEXT NOT NULL,
         body TEXT NOT NULL,
         created_by TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS update_by_incident ON incident_update (incident, ts);";

/// What opens an incident.
pub(crate) struct Opening<'a> {
    pub(crate) page: &'a str,
    pub(crate) title: &'a str,
    pub(crate) impact: Impact,
    pub(crate) status: IncidentStatus,
    pub(crate) body: &'a str,
    pub(crate) by: &'a str,
    pub(crate) draft: bool,
    /// The check whose going down opened it (drafts).
    pub(crate) check: Option<&'a str>,
}

/// The incidents database.
pub(crate) struct IncidentStore {
    conn: Connection,
}

impl IncidentStore {
    /// Opens (or creates) `status.db` under `dir`, or an in-memory store
    /// when that fails (see the module doc).
    pub(crate) fn open(dir: &Path) -> IncidentStore {
        let path = dir.join(FILE_NAME);
        crate::private::small_database(&path, SCHEMA)
            .map(|conn| IncidentStore { conn })
            .unwrap_or_else(|err| {
                tracing::error!(
                    path = %path.display(),
                    %err,
                    "cannot open the status database: incidents are kept in memory and will be forgotten on restart"
                );
                Self::in_memory()
            })
    }

    /// A store that keeps nothing across restarts.
    pub(crate) fn in_memory() -> IncidentStore {
        IncidentStore {
            conn: crate::private::memory_database(SCHEMA),
        }
    }

    /// Opens an incident with its first update.
    pub(crate) fn open_incident(&mut self, o: &Opening<'_>, now: i64) -> rusqlite::Result<Incident> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO incident (page, title, impact, status, draft, created_at, resolved_at, created_by, check_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                o.page,
                o.title,
                o.impact.as_str(),
                o.status.as_str(),
                o.draft,
                now,
                (o.status == IncidentStatus::Resolved).then_some(now),
                o.by,
                o.check
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO incident_update (incident, ts, status, body, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, now, o.status.as_str(), o.body, o.by],
        )?;
        tx.commit()?;
        self.get(id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    /// Adds an update; a `resolved` one resolves the incident, any other
    /// reopens it. `None`: no such incident.
    pub(crate) fn update(
        &mut self,
        id: i64,
        status: IncidentStatus,
        body: &str,
        by: &str,
        now: i64,
    ) -> rusqlite::Result<Option<Incident>> {
        let tx = self.conn.transaction()?;
        let changed = tx.execute(
            "UPDATE incident SET status = ?2, resolved_at = ?3 WHERE id = ?1",
            params![id, status.as_str(), (status == IncidentStatus::Resolved).then_some(now)],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO incident_update (incident, ts, status, body, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, now, status.as_str(), body, by],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// Makes a draft public; `None`: no such draft.
    pub(crate) fn publish(&mut self, id: i64) -> rusqlite::Result<Option<Incident>> {
        let changed = self
            .conn
            .execute("UPDATE incident SET draft = 0 WHERE id = ?1 AND draft = 1", params![id])?;
        if changed == 0 {
            return Ok(None);
        }
        self.get(id)
    }

    /// Deletes a draft; whether there was one.
    pub(crate) fn discard(&mut self, id: i64) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM incident WHERE id = ?1 AND draft = 1", params![id])?
            > 0)
    }

    /// Whether an unresolved incident (draft or public) was opened by `check` on `page`.
    pub(crate) fn has_open_for(&self, page: &str, check: &str) -> rusqlite::Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM incident WHERE page = ?1 AND check_name = ?2 AND resolved_at IS NULL LIMIT 1",
                params![page, check],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
    }

    pub(crate) fn get(&self, id: i64) -> rusqlite::Result<Option<Incident>> {
        let mut found = self.select("WHERE id = ?1", params![id])?;
        Ok(found.pop())
    }

    /// The unresolved incidents of every page (drafts too), then those
    /// resolved since `since` (Unix ms); newest first in each.
    pub(crate) fn recent(&self, since: i64) -> rusqlite::Result<Vec<Incident>> {
        self.select(
            "WHERE resolved_at IS NULL OR resolved_at >= ?1
             ORDER BY resolved_at IS NOT NULL, created_at DESC, id DESC",
            params![since],
        )
    }

    fn select(&self, tail: &str, args: impl rusqlite::Params) -> rusqlite::Result<Vec<Incident>> {
        let sql =
            format!("SELECT id, page, title, impact, status, draft, created_at, resolved_at FROM incident {tail}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut incidents = stmt
            .query_map(args, |r| {
                Ok(Incident {
                    id: r.get(0)?,
                    page: r.get(1)?,
                    title: r.get(2)?,
                    impact: Impact::parse(&r.get::<_, String>(3)?).unwrap_or_default(),
                    status: IncidentStatus::parse(&r.get::<_, String>(4)?).unwrap_or_default(),
                    draft: r.get(5)?,
                    created_at: r.get(6)?,
                    resolved_at: r.get(7)?,
                    updates: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut updates = self
            .conn
            .prepare_cached("SELECT ts, status, body FROM incident_update WHERE incident = ?1 ORDER BY ts, id")?;
        for incident in &mut incidents {
            incident.updates = updates
                .query_map(params![incident.id], |r| {
                    Ok(IncidentUpdate {
                        ts: r.get(0)?,
                        status: IncidentStatus::parse(&r.get::<_, String>(1)?).unwrap_or_default(),
                        body: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
        }
        Ok(incidents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening<'a>(draft: bool, check: Option<&'a str>) -> Opening<'a> {
        Opening {
            page: "public",
            title: "API errors",
            impact: Impact::Major,
            status: IncidentStatus::Investigating,
            body: "Looking into it.",
            by: "ann",
            draft,
            check,
        }
    }

    #[test]
    fn an_incident_goes_from_investigating_to_resolved_and_stays_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = IncidentStore::open(dir.path());
        let opened = store.open_incident(&opening(false, None), 1_000).unwrap();
        assert_eq!(
            (opened.status, opened.draft, opened.updates.len()),
            (IncidentStatus::Investigating, false, 1)
        );
        let updated = store
            .update(opened.id, IncidentStatus::Identified, "A bad deploy.", "ann", 2_000)
            .unwrap()
            .unwrap();
        assert_eq!(
            (updated.status, updated.resolved_at),
            (IncidentStatus::Identified, None)
        );
        let resolved = store
            .update(opened.id, IncidentStatus::Resolved, "Rolled back.", "ann", 3_000)
            .unwrap()
            .unwrap();
        assert_eq!(resolved.resolved_at, Some(3_000));
        let bodies: Vec<&str> = resolved.updates.iter().map(|u| u.body.as_str()).collect();
        assert_eq!(bodies, ["Looking into it.", "A bad deploy.", "Rolled back."]);
        assert!(store
            .update(999, IncidentStatus::Resolved, "x", "ann", 4_000)
            .unwrap()
            .is_none());
        // Kept across a reopen of the file.
        drop(store);
        let store = IncidentStore::open(dir.path());
        assert_eq!(store.recent(0).unwrap(), std::slice::from_ref(&resolved));
        assert!(store.recent(3_001).unwrap().is_empty(), "resolved before `since`");
    }

    #[test]
    fn drafts_are_published_or_discarded_and_only_drafts() {
        let mut store = IncidentStore::in_memory();
        let draft = store.open_incident(&opening(true, Some("api")), 1_000).unwrap();
        assert!(store.has_open_for("public", "api").unwrap());
        assert!(!store.has_open_for("other", "api").unwrap());
        let public = store.publish(draft.id).unwrap().unwrap();
        assert!(!public.draft);
        assert!(store.publish(draft.id).unwrap().is_none(), "already public");
        assert!(!store.discard(draft.id).unwrap(), "a public incident is never deleted");
        let second = store.open_incident(&opening(true, Some("web")), 2_000).unwrap();
        assert!(store.discard(second.id).unwrap());
        assert!(store.get(second.id).unwrap().is_none());
        store
            .update(draft.id, IncidentStatus::Resolved, "ok", "ann", 3_000)
            .unwrap();
        assert!(!store.has_open_for("public", "api").unwrap());
    }
}
