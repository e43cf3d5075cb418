//! Accounts and sessions on disk: `auth.db` in the data dir, a SQLite file
//! of its own, so a full or busy history store never locks anyone out and
//! history retention never touches an account. Sessions are stored by the
//! SHA-256 of their token: the file alone cannot sign anyone in.
//!
//! On a read-only data dir the store opens read-only (the file as it is,
//! or, with no file, an empty store that takes no writes): the accounts
//! and sessions it holds still admit people, and every change fails as
//! "accounts unavailable" instead of Vigil refusing to start.

use std::path::Path;

use app::auth::{Account, Role};
use rusqlite::{params, Connection, OptionalExtension};

/// The file name under the data dir.
pub(crate) const FILE_NAME: &str = "auth.db";

/// A stored session.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredSession {
    /// Hex SHA-256 of the token.
    pub(crate) id: String,
    pub(crate) account: String,
    pub(crate) role: Role,
    /// Unix seconds.
    pub(crate) expires: i64,
}

/// The account database.
pub(crate) struct AuthStore {
    conn: Connection,
    read_only: bool,
}

/// The tables, created when missing.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS account (
         name TEXT PRIMARY KEY,
         role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
         hash TEXT NOT NULL,
         created_ms INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS session (
         id TEXT PRIMARY KEY,
         account TEXT NOT NULL REFERENCES account(name) ON DELETE CASCADE,
         created_ms INTEGER NOT NULL,
         expires INTEGER NOT NULL
     );
     CREATE INDEX IF NOT EXISTS session_account ON session(account);";

impl AuthStore {
    /// Opens (or creates) `auth.db` under `dir`; read-only when the file
    /// system is (see the module doc).
    pub(crate) fn open(dir: &Path) -> rusqlite::Result<AuthStore> {
        let path = dir.join(FILE_NAME);
        match Self::open_writable(&path) {
            Err(err) if read_only_file_system(dir, &err) => {
                tracing::warn!(
                    path = %path.display(),
                    %err,
                    "the account database is on a read-only file system: signing in and account changes will fail"
                );
                Self::open_read_only(&path)
            }
            opened => opened,
        }
    }

    /// Whether writes are refused (a read-only data dir).
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn open_read_only(path: &Path) -> rusqlite::Result<AuthStore> {
        use rusqlite::OpenFlags;
        let conn = if path.is_file() {
            // `immutable`: no -wal or -shm file can be made here, and none
            // is needed to read a file nobody writes.
            let uri = format!("file:{}?immutable=1", path.display());
            Connection::open_with_flags(uri, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI)?
        } else {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch(SCHEMA)?;
            conn.pragma_update(None, "query_only", true)?;
            conn
        };
        Ok(AuthStore { conn, read_only: true })
    }

    fn open_writable(path: &Path) -> rusqlite::Result<AuthStore> {
        let path = path.to_path_buf();
        if let Err(err) = crate::private::database_file(&path) {
            // SQLite will say what is wrong with the file, if anything is.
            tracing::warn!(path = %path.display(), %err, "cannot make the account database private");
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(AuthStore { conn, read_only: false })
    }

    pub(crate) fn account_count(&self) -> rusqlite::Result<usize> {
        self.conn
            .query_row("SELECT count(*) FROM account", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
    }

    pub(crate) fn admin_count(&self) -> rusqlite::Result<usize> {
        self.conn
            .query_row("SELECT count(*) FROM account WHERE role = 'admin'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as usize)
    }

    /// The password hash and role of an account.
    pub(crate) fn credentials(&self, name: &str) -> rusqlite::Result<Option<(String, Role)>> {
        self.conn
            .query_row("SELECT hash, role FROM account WHERE name = ?1", [name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()
            .map(|found| found.map(|(hash, role)| (hash, role_of(&role))))
    }

    /// Adds an account; `false` when the name is taken.
    pub(crate) fn insert_account(&self, name: &str, role: Role, hash: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO account (name, role, hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), hash, now_ms],
        )?;
        Ok(inserted == 1)
    }

    /// Adds the first account only if there is none, atomically (two
    /// browsers racing on the setup page cannot both become admin).
    pub(crate) fn insert_first_account(&mut self, name: &str, hash: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: i64 = tx.query_row("SELECT count(*) FROM account", [], |r| r.get(0))?;
        if existing > 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO account (name, role, hash, created_ms) VALUES (?1, 'admin', ?2, ?3)",
            params![name, hash, now_ms],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes an account and its sessions; `false` when there was none.
    pub(crate) fn delete_account(&self, name: &str) -> rusqlite::Result<bool> {
        Ok(self.conn.execute("DELETE FROM account WHERE name = ?1", [name])? == 1)
    }

    pub(crate) fn set_hash(&self, name: &str, hash: &str) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .execute("UPDATE account SET hash = ?2 WHERE name = ?1", params![name, hash])?
            == 1)
    }

    /// Every account with its count of unexpired sessions at `now_s`.
    pub(crate) fn accounts(&self, now_s: i64) -> rusqlite::Result<Vec<Account>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.name, a.role, a.created_ms,
                    (SELECT count(*) FROM session s WHERE s.account = a.name AND s.expires > ?1)
             FROM account a ORDER BY a.name",
        )?;
        let rows = stmt.query_map([now_s], |r| {
            Ok(Account {
                name: r.get(0)?,
                role: role_of(&r.get::<_, String>(1)?),
                created_ms: r.get(2)?,
                sessions: r.get::<_, i64>(3)? as usize,
            })
        })?;
        rows.collect()
    }

    pub(crate) fn insert_session(&self, session: &StoredSession, now_ms: i64) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO session (id, account, created_ms, expires) VALUES (?1, ?2, ?3, ?4)",
            params![session.id, session.account, now_ms, session.expires],
        )?;
        Ok(())
    }

    pub(crate) fn delete_session(&self, id: &str) -> rusqlite::Result<()> {
        self.conn.execute("DELETE FROM session WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Deletes an account's sessions but `keep`; returns the deleted ids.
    pub(crate) fn delete_sessions_of(&self, account: &str, keep: Option<&str>) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("DELETE FROM session WHERE account = ?1 AND id IS NOT ?2 RETURNING id")?;
        let ids = stmt.query_map(params![account, keep], |r| r.get(0))?;
        ids.collect()
    }

    /// Deletes the sessions expired at `now_s`; returns how many.
    pub(crate) fn delete_expired(&self, now_s: i64) -> rusqlite::Result<usize> {
        self.conn.execute("DELETE FROM session WHERE expires <= ?1", [now_s])
    }

    /// Drops expired sessions, then returns the live ones with their roles.
    pub(crate) fn live_sessions(&self, now_s: i64) -> rusqlite::Result<Vec<StoredSession>> {
        if !self.read_only {
            self.delete_expired(now_s)?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.account, a.role, s.expires FROM session s JOIN account a ON a.name = s.account \
             WHERE s.expires > ?1",
        )?;
        let rows = stmt.query_map([now_s], |r| {
            Ok(StoredSession {
                id: r.get(0)?,
                account: r.get(1)?,
                role: role_of(&r.get::<_, String>(2)?),
                expires: r.get(3)?,
            })
        })?;
        rows.collect()
    }
}

/// The table's CHECK constraint admits only the two words.
fn role_of(text: &str) -> Role {
    Role::parse(text).unwrap_or(Role::Viewer)
}

/// Whether `err` came from a data dir on a read-only file system (as
/// opposed to a damaged file, which must stop the start).
fn read_only_file_system(dir: &Path, err: &rusqlite::Error) -> bool {
    let sqlite_says = matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    );
    sqlite_says && rustix::fs::statvfs(dir).is_ok_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, account: &str, expires: i64) -> StoredSession {
        StoredSession {
            id: id.into(),
            account: account.into(),
            role: Role::Viewer,
            expires,
        }
    }

    #[test]
    fn accounts_and_sessions_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = AuthStore::open(dir.path()).unwrap();
            assert!(store.insert_first_account("root", "h1", 1).unwrap());
            assert!(!store.insert_first_account("late", "h2", 2).unwrap(), "only the first");
            assert!(store.insert_account("eve", Role::Viewer, "h3", 3).unwrap());
            assert!(
                !store.insert_account("eve", Role::Admin, "h4", 4).unwrap(),
                "names are unique"
            );
            store.insert_session(&session("s1", "eve", 1_000), 5).unwrap();
            store.insert_session(&session("s0", "eve", 10), 5).unwrap();
        }
        let store = AuthStore::open(dir.path()).unwrap();
        assert_eq!(store.account_count().unwrap(), 2);
        assert_eq!(store.admin_count().unwrap(), 1);
        assert_eq!(store.credentials("root").unwrap(), Some(("h1".into(), Role::Admin)));
        assert_eq!(store.credentials("nobody").unwrap(), None);
        let listed = store.accounts(100).unwrap();
        assert_eq!(
            listed.iter().map(|a| (a.name.as_str(), a.sessions)).collect::<Vec<_>>(),
            [("eve", 1), ("root", 0)],
            "an expired session is not counted"
        );
        let live = store.live_sessions(100).unwrap();
        assert_eq!(live, vec![session("s1", "eve", 1_000)], "the expired one is gone");
        assert_eq!(store.delete_expired(2_000).unwrap(), 1);
        let listed = store.accounts(0).unwrap();
        assert_eq!(
            listed.iter().map(|a| (a.name.as_str(), a.sessions)).collect::<Vec<_>>(),
            [("eve", 0), ("root", 0)],
            "deleted once expired"
        );
    }

    #[test]
    fn removing_an_account_removes_its_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::open(dir.path()).unwrap();
        store.insert_account("eve", Role::Viewer, "h", 0).unwrap();
        store.insert_session(&session("a", "eve", 99), 0).unwrap();
        store.insert_session(&session("b", "eve", 99), 0).unwrap();
        assert_eq!(
            store.delete_sessions_of("eve", Some("a")).unwrap(),
            vec!["b".to_string()]
        );
        assert!(store.delete_account("eve").unwrap());
        assert!(!store.delete_account("eve").unwrap());
        assert!(store.live_sessions(0).unwrap().is_empty());
    }
}
