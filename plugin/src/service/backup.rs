//! Backups an operator can trust: online backup, restore (refused while a server runs),
//! verification, and the scheduled backups of the maintenance thread.
//!
//! Restore must never run under a live server: a server would keep serving principals from its
//! cache and its open connections would see the database change beneath them. Servers hold a
//! shared `flock` on `<data_dir>/auth/server.lock` for their lifetime (several host processes may
//! share one data folder); restore takes it exclusively, without waiting, and refuses when it
//! cannot. The lock is the kernel's, so it ends with the process however the process ends.

use std::fs::{self, File, TryLockError};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::audit::{Actor, Event};
use super::{Engine, folders};
use crate::config::BackupSchedule;
use crate::error::{Error, Result};
use crate::store::{BackupSummary, Store, VerifyReport};

/// Held shared by every serving host, exclusively by a restore.
pub const SERVER_LOCK_FILE: &str = "server.lock";
const SCHEDULED_PREFIX: &str = "auth-";
const SCHEDULED_SUFFIX: &str = ".db";
const SCHEDULED_TIME: &str = "%Y%m%dT%H%M%SZ";

impl Engine {
    /// Copies the store to the new file `dest` while the service keeps running.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupSummary> {
        let summary = self.store.backup_to(dest)?;
        if !summary.report.is_ok() {
            return Err(Error::Storage(format!(
                "the backup {} was written but does not verify (the live database has the same \
                 damage): {}",
                dest.display(),
                summary.report
            )));
        }
        let file = dest.display().to_string();
        let event = Event::new("system", "db_backup").resource("backup", &file);
        self.audit(
            &Actor::operator(),
            event.details(json!({"users": summary.users})),
        );
        Ok(summary)
    }

    /// Replaces the store's contents with the backup at `source`; refused while a server holds
    /// the data folder, and for a backup that is newer than this code or does not verify.
    pub fn restore_from(&self, source: &Path) -> Result<BackupSummary> {
        let _servers_locked_out = lock_out_servers(&self.config.data_dir.join("auth"))?;
        let summary = self.store.restore_from(source)?;
        self.cache.invalidate();
        let file = source.display().to_string();
        let details = json!({"users": summary.users, "schema_version": summary.schema_version});
        let event = Event::new("system", "db_restore").resource("backup", &file);
        self.audit(&Actor::operator(), event.details(details));
        Ok(summary)
    }

    /// `integrity_check` plus the invariants the Engine relies on.
    pub fn verify_store(&self) -> Result<VerifyReport> {
        self.store.verify()
    }

    /// Takes a scheduled backup now if one is due; `None` when none is due or none is configured.
    /// The maintenance thread calls the same code once a minute.
    pub fn run_scheduled_backup(&self) -> Result<Option<PathBuf>> {
        match &self.config.backup {
            Some(schedule) => scheduled_backup(self.store.as_ref(), schedule, self.now_ms()),
            None => Ok(None),
        }
    }
}

/// The exclusive side of the server lock, held for as long as the returned file lives.
fn lock_out_servers(auth_dir: &Path) -> Result<File> {
    let path = auth_dir.join(SERVER_LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = (&file).take(32).read_to_string(&mut pid);
            let pid = match pid.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            Err(Error::Conflict(format!(
                "a server is running on this data folder{pid}: it holds {}; stop it before \
                 restoring",
                path.display()
            )))
        }
        Err(TryLockError::Error(e)) => Err(Error::Storage(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// One pass of the schedule at `now_ms`: a backup when the newest one is at least `interval` old,
/// then the oldest beyond `keep` removed. The newest backup's name is the schedule's memory, so
/// restarts neither skip nor repeat a backup.
pub(super) fn scheduled_backup(
    store: &dyn Store,
    schedule: &BackupSchedule,
    now_ms: i64,
) -> Result<Option<PathBuf>> {
    let dir = &schedule.dir;
    folders::create_private(dir, "the backup folder")?;
    let interval_ms = schedule.interval.as_millis().min(i64::MAX as u128) as i64;
    let existing = scheduled_backups(dir)?;
    if let Some((newest_ms, _)) = existing.last()
        && now_ms.saturating_sub(*newest_ms) < interval_ms
    {
        return Ok(None);
    }
    let Some(name) = scheduled_name(now_ms) else {
        return Err(Error::Internal(format!("the clock reads {now_ms} ms")));
    };
    let path = dir.join(name);
    let summary = match store.backup_to(&path) {
        Ok(summary) => summary,
        // Another process sharing the data folder took this second's backup.
        Err(Error::AlreadyExists(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !summary.report.is_ok() {
        // Kept, it would push a good backup out of the retention window.
        let _ = fs::remove_file(&path);
        return Err(Error::Storage(format!(
            "the scheduled backup does not verify and was removed: {}",
            summary.report
        )));
    }
    prune(dir, schedule.keep)?;
    Ok(Some(path))
}

/// `auth-YYYYMMDDTHHMMSSZ.db` in UTC: names sort in time order.
pub fn scheduled_name(now_ms: i64) -> Option<String> {
    let time = chrono::DateTime::from_timestamp_millis(now_ms)?;
    Some(format!(
        "{SCHEDULED_PREFIX}{}{SCHEDULED_SUFFIX}",
        time.format(SCHEDULED_TIME)
    ))
}

fn scheduled_time_ms(name: &str) -> Option<i64> {
    let stamp = name
        .strip_prefix(SCHEDULED_PREFIX)?
        .strip_suffix(SCHEDULED_SUFFIX)?;
    let time = chrono::NaiveDateTime::parse_from_str(stamp, SCHEDULED_TIME).ok()?;
    Some(time.and_utc().timestamp_millis())
}

/// Our backups in the folder, oldest first; other files there are never touched.
fn scheduled_backups(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let entries = fs::read_dir(dir)
        .map_err(|e| Error::Storage(format!("cannot read {}: {e}", dir.display())))?;
    let mut found: Vec<(i64, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let at = scheduled_time_ms(entry.file_name().to_str()?)?;
            Some((at, entry.path()))
        })
        .collect();
    found.sort();
    Ok(found)
}

fn prune(dir: &Path, keep: usize) -> Result<()> {
    let existing = scheduled_backups(dir)?;
    let excess = existing.len().saturating_sub(keep);
    for (_, path) in existing.into_iter().take(excess) {
        fs::remove_file(&path)
            .map_err(|e| Error::Storage(format!("cannot remove {}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_names_round_trip_to_the_second() {
        let at = 1_790_000_000_000;
        let name = scheduled_name(at + 999).expect("name");
        assert_eq!(name, "auth-20260921T141320Z.db");
        assert_eq!(scheduled_time_ms(&name), Some(at));
    }

    #[test]
    fn only_our_names_count_as_scheduled_backups() {
        for other in [
            "auth.db",
            "auth-20260921T141320Z.db-wal",
            "auth-2026.db",
            ".auth-20260921T141320Z.db.0123.partial",
        ] {
            assert_eq!(scheduled_time_ms(other), None, "{other}");
        }
    }
}
