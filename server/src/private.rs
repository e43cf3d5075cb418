//! Files only Vigil's own user may read, and the secrets it reads from
//! files. The data dir is created `0700`,
//! and every database (history, accounts, backups) is created `0600` (or
//! narrowed to it) before SQLite opens it: SQLite gives the database's
//! WAL and shared-memory files the database's own mode, so they follow.
//! Session hashes and host history are nobody else's business, whatever
//! the umask.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents, each created one `0700`. An
/// existing directory is left as it is (it may be shared on purpose).
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Makes sure the database file `path` exists and is `0600` before SQLite
/// opens it.
pub(crate) fn database_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => narrow(path),
        Err(err) => Err(err),
    }
}

/// Opens (or creates) a small SQLite database of a feature's own
/// (`alerts.db`, `status.db`): `0600`, WAL, foreign keys on, `schema`
/// applied. The error says why the file cannot be used; the caller falls
/// back to [`memory_database`] and logs what will not survive a restart.
pub(crate) fn small_database(path: &Path, schema: &str) -> Result<rusqlite::Connection, String> {
    database_file(path).map_err(|e| e.to_string())?;
    let open = || -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000; PRAGMA foreign_keys = ON;",
        )?;
        conn.execute_batch(schema)?;
        Ok(conn)
    };
    open().map_err(|e| e.to_string())
}

/// An in-memory database with `schema` applied: a feature's store when its
/// file cannot be opened.
pub(crate) fn memory_database(schema: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().expect("SQLite opens an in-memory database");
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .and_then(|()| conn.execute_batch(schema))
        .expect("the schema applies to an empty database");
    conn
}

/// Reads a secret from a file (trailing newline dropped); a clear error
/// names the file, never the content.
pub(crate) fn read_secret(path: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let secret = text.trim_end_matches(['\n', '\r']).to_string();
    if secret.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the file is empty"));
    }
    Ok(secret)
}

/// Takes group and other access away from an existing file.
fn narrow(path: &Path) -> io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode();
    if !path.is_file() || mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, Permissions::from_mode(mode & 0o700))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_dirs_and_databases_are_private_and_old_databases_are_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let db = dir.join("x.db");
        database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600, "an old file is narrowed");
        // SQLite gives the WAL the database's mode.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(mode(&dir.join("x.db-wal")), 0o600);
        assert_eq!(mode(&dir.join("x.db-shm")), 0o600);
    }
}
