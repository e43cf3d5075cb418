//! `vigil backup`: an online copy of the data dir's databases (the history
//! store and the accounts) while a server runs and writes to them. The copy
//! is a directory that can serve as `--data-dir` as it is.
//!
//! SQLite's online backup API copies the pages of a consistent snapshot.
//! The database is in WAL mode, where a reader never blocks the writer: the
//! backup step holds only a read snapshot, so the running server keeps
//! committing its batches meanwhile. All pages are copied in one step on
//! purpose: in small steps, every commit the server makes between two steps
//! restarts the copy from the first page, which on a busy store may never
//! finish. The copy is written beside the target and renamed into place, so
//! a failed backup never leaves a half-written file under the target name,
//! and it is switched to a rollback journal so it is one self-contained file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

/// Why a backup failed.
#[derive(Debug, Error)]
pub enum BackupError {
    #[error("no history database at {}", .0.display())]
    Missing(PathBuf),
    #[error("{} is not an empty directory; choose a new one", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} already exists; choose another name or remove it", .0.display())]
    Exists(PathBuf),
    #[error("the database stayed busy for {0:?}")]
    Busy(Duration),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot move the copy into place: {0}")]
    Io(#[from] std::io::Error),
}

/// What a finished backup copied.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupReport {
    pub pages: u64,
    pub bytes: u64,
    pub took: Duration,
}

/// How long to keep retrying while SQLite reports the source busy (for
/// example during a checkpoint).
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// One copied database of a data dir backup.
#[derive(Clone, Debug, PartialEq)]
pub struct CopiedFile {
    pub name: &'static str,
    pub report: BackupReport,
}

/// Copies the databases `names` of `data_dir` (the history store, which
/// must be there, and any other that is) into the directory `to`, which
/// must be new or empty. The composition root names a data dir's files.
pub fn backup_files(data_dir: &Path, to: &Path, names: &[&'static str]) -> Result<Vec<CopiedFile>, BackupError> {
    let history = data_dir.join(super::FILE_NAME);
    if !history.is_file() {
        return Err(BackupError::Missing(history));
    }
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        return Err(BackupError::NotEmpty(to.to_path_buf()));
    }
    crate::private::create_dir(to)?;
    let mut copied = Vec::new();
    for &name in names {
        let source = data_dir.join(name);
        if source.is_file() {
            let report = backup_file(&source, &to.join(name))?;
            copied.push(CopiedFile { name, report });
        }
    }
    Ok(copied)
}

/// Copies one SQLite database to `to`, which must not exist yet.
pub(crate) fn backup_file(source_path: &Path, to: &Path) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    let source_path = source_path.to_path_buf();
    if !source_path.is_file() {
        return Err(BackupError::Missing(source_path));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    // Read-write without create: the server's WAL index must be usable, and
    // a wrong path must not create an empty database.
    let source = Connection::open_with_flags(
        &source_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(Duration::from_secs(5))?;
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let result = copy(&source, &partial, started);
    match result {
        Ok(pages) => {
            std::fs::rename(&partial, to)?;
            let bytes = std::fs::metadata(to)?.len();
            Ok(BackupReport {
                pages,
                bytes,
                took: started.elapsed(),
            })
        }
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            Err(err)
        }
    }
}

fn copy(source: &Connection, to: &Path, started: Instant) -> Result<u64, BackupError> {
    crate::private::database_file(to)?;
    let mut target = Connection::open(to)?;
    let pages = {
        let backup = Backup::new(source, &mut target)?;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    if started.elapsed() > BUSY_LIMIT {
                        return Err(BackupError::Busy(BUSY_LIMIT));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                // `StepResult` is non-exhaustive.
                _ => {}
            }
        }
        backup.progress().pagecount.max(0) as u64
    };
    target.pragma_update(None, "journal_mode", "DELETE")?;
    target.close().map_err(|(_, err)| err)?;
    Ok(pages)
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path, rows: i64) {
        let conn = super::super::open(&dir.join(super::super::FILE_NAME)).unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (v INTEGER)").unwrap();
        for v in 0..rows {
            conn.execute("INSERT INTO t VALUES (?1)", [v]).unwrap();
        }
    }

    #[test]
    fn copies_a_consistent_single_file_database() {
        let dir = tempfile::tempdir().unwrap();
        database(dir.path(), 500);
        let to = dir.path().join("copy.db");
        let report = backup_file(&dir.path().join(super::super::FILE_NAME), &to).unwrap();
        assert!(report.pages > 0 && report.bytes > 0, "{report:?}");
        assert!(!partial_path(&to).exists());
        let copy = Connection::open(&to).unwrap();
        let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "no WAL beside the copy");
        let count: i64 = copy.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 500);
    }

    #[test]
    fn refuses_a_missing_source_and_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("copy.db");
        assert!(matches!(
            backup_file(&dir.path().join(super::super::FILE_NAME), &to),
            Err(BackupError::Missing(_))
        ));
        assert!(!dir.path().join(super::super::FILE_NAME).exists(), "nothing created");
        database(dir.path(), 1);
        std::fs::write(&to, b"keep me").unwrap();
        assert!(matches!(
            backup_file(&dir.path().join(super::super::FILE_NAME), &to),
            Err(BackupError::Exists(_))
        ));
        assert_eq!(std::fs::read(&to).unwrap(), b"keep me");
    }

    #[test]
    fn a_data_dir_backup_holds_history_and_accounts_and_refuses_a_used_directory() {
        let dir = tempfile::tempdir().unwrap();
        database(dir.path(), 3);
        crate::auth::store::AuthStore::open(dir.path())
            .unwrap()
            .insert_account("ops", app::auth::Role::Admin, "hash", 0)
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let to = out.path().join("copy");
        let names = [super::super::FILE_NAME, crate::auth::store::FILE_NAME];
        let copied = backup_files(dir.path(), &to, &names).unwrap();
        let names: Vec<_> = copied.iter().map(|c| c.name).collect();
        assert_eq!(names, [super::super::FILE_NAME, crate::auth::store::FILE_NAME]);
        let accounts = crate::auth::store::AuthStore::open(&to).unwrap();
        assert_eq!(accounts.account_count().unwrap(), 1);
        assert!(matches!(
            backup_files(dir.path(), &to, &names),
            Err(BackupError::NotEmpty(_))
        ));
    }
}
