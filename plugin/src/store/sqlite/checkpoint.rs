//! Copying the write-ahead log back into the database file, on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages, on
//! the connection that committed: here, under the store's writer lock. On disk it writes those
//! pages into the database file and syncs it, which took up to 200 ms on the bench VM, and every
//! other write of the process (a sign-in, an audit entry) waited behind it. Retention pruning,
//! which dirties many index pages, brought it on most often (BENCHMARKS.md, "Pruning while
//! writing").
//!
//! Here a commit past [`Limits::wake_at`] pages only wakes this thread, which checkpoints on its
//! own connection in PASSIVE mode: that takes no write lock, so writers keep appending to the log
//! while it runs. Should the thread fall far behind or stop, the committing writer checkpoints
//! itself once the log passes [`Limits::backstop`], as SQLite would have: the log stays bounded
//! whatever happens to the thread.

use std::ffi::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread::{JoinHandle, Thread};

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB};

use super::connection::connect;
use crate::error::{Error, Result};

/// When a commit asks for a checkpoint, in pages of log.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The checkpoint thread is woken: SQLite's own default.
    pub wake_at: c_int,
    /// The committing writer checkpoints itself (64 MiB of log at the default page size).
    pub backstop: c_int,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wake_at: 1_000,
            backstop: 16_000,
        }
    }
}

/// The checkpoint thread, stopped and joined when dropped.
pub struct Checkpointer {
    signals: Arc<Signals>,
    thread: Option<JoinHandle<()>>,
}

struct Signals {
    /// Set by a commit, cleared by the thread before it checkpoints: one wake per checkpoint, not
    /// one per commit while the log is long.
    wanted: AtomicBool,
    /// The log length, in pages, at which the next commit wakes the thread: `wake_at` while the
    /// log restarts from its beginning after each checkpoint; `wake_at` past where the last one
    /// stopped when writes went on meanwhile (the log cannot restart until a checkpoint copies all
    /// of it). Without this, a log that could not restart woke the thread at every commit, and
    /// back-to-back checkpoints syncing the database file halved the writer's speed on disk.
    next_wake: AtomicI32,
    stop: AtomicBool,
}

impl Signals {
    fn new(limits: Limits) -> Self {
        Self {
            wanted: AtomicBool::new(false),
            next_wake: AtomicI32::new(limits.wake_at),
            stop: AtomicBool::new(false),
        }
    }
}

impl Checkpointer {
    /// Starts the thread, and makes `writer`'s commits wake it instead of checkpointing. The
    /// thread opens its own connection to `path`, so opening the store does not wait for it.
    pub fn start(path: &Path, writer: &mut Connection, limits: Limits) -> Result<Self> {
        let signals = Arc::new(Signals::new(limits));
        let thread = std::thread::Builder::new()
            .name("dagu-auth-checkpoint".into())
            .spawn({
                let (signals, path) = (Arc::clone(&signals), path.to_path_buf());
                move || checkpoint_when_woken(&path, &signals, limits)
            })
            .map_err(|e| Error::storage(format!("cannot start the checkpoint thread: {e}")))?;
        let checkpointer = Self {
            signals,
            thread: Some(thread),
        };
        let wake = checkpointer.thread.as_ref().map(|t| t.thread().clone());
        checkpointer.watch(writer, limits, wake)?;
        Ok(checkpointer)
    }

    /// Replaces SQLite's automatic checkpoint on `writer` (the hook is the mechanism behind it, so
    /// installing one turns it off).
    fn watch(&self, writer: &mut Connection, limits: Limits, wake: Option<Thread>) -> Result<()> {
        let signals = Arc::clone(&self.signals);
        writer
            .wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
                if pages >= limits.backstop {
                    // What SQLite's own hook does, errors ignored as it ignores them: the commit
                    // itself has succeeded, and reporting a failed checkpoint would make the
                    // caller think it had not.
                    let _ = wal.checkpoint();
                } else if pages >= signals.next_wake.load(Ordering::Acquire)
                    && !signals.wanted.swap(true, Ordering::AcqRel)
                    && let Some(thread) = &wake
                {
                    thread.unpark();
                }
                Ok(())
            }))
            .map_err(super::sql_error)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signals.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The thread only checkpoints; had it panicked there would be nothing to recover.
            let _ = thread.join();
        }
    }
}

fn checkpoint_when_woken(path: &Path, signals: &Signals, limits: Limits) {
    let conn = match connect(path, false) {
        Ok(conn) => conn,
        Err(e) => {
            // The writers' backstop keeps the log bounded without this thread.
            crate::log::line(&serde_json::json!({
                "log": "dagu-auth.checkpoint-thread-stopped",
                "error": e.to_string(),
            }));
            return;
        }
    };
    loop {
        // Parking returns at once if an unpark came first, so no wake is lost between the checks.
        std::thread::park();
        if signals.stop.load(Ordering::Acquire) {
            return;
        }
        if !signals.wanted.swap(false, Ordering::AcqRel) {
            continue;
        }
        // Busy (another process checkpointing) or failed: the next commit past the mark wakes the
        // thread again, and the backstop holds meanwhile.
        let next = match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
            Ok((log, copied)) if copied < log => log.saturating_add(limits.wake_at),
            _ => limits.wake_at,
        };
        signals.next_wake.store(next, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::connection::create_private_file;
    use super::*;

    const SMALL: Limits = Limits {
        wake_at: 10,
        backstop: 100,
    };

    /// A WAL database with one table, and the size its main file has before any checkpoint.
    /// SQLite's own checkpoint is set to the same mark as the hook's, so that a test shows which
    /// of the two acted.
    fn database(dir: &Path) -> (std::path::PathBuf, Connection, u64) {
        let path = dir.join("auth.db");
        create_private_file(&path).expect("file");
        let conn = connect(&path, false).expect("open");
        conn.execute("CREATE TABLE t (b BLOB)", []).expect("table");
        conn.pragma_update(None, "wal_autocheckpoint", SMALL.wake_at)
            .expect("pragma");
        let size = main_file_size(&path);
        (path, conn, size)
    }

    fn main_file_size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// One transaction that adds about `pages` pages of log.
    fn write_pages(conn: &Connection, pages: i64) {
        conn.execute("INSERT INTO t VALUES (zeroblob(?1))", [pages * 4096])
            .expect("insert");
    }

    #[test]
    fn a_commit_past_the_wake_mark_leaves_the_checkpoint_to_the_thread() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, mut conn, before) = database(dir.path());
        // No thread: whatever reaches the main file was copied by the committing connection.
        let idle = Checkpointer {
            signals: Arc::new(Signals::new(SMALL)),
            thread: None,
        };
        idle.watch(&mut conn, SMALL, None).expect("hook");

        write_pages(&conn, 20);
        assert_eq!(main_file_size(&path), before, "the writer checkpointed");
        assert!(idle.signals.wanted.load(Ordering::Acquire));

        write_pages(&conn, 100);
        assert!(
            main_file_size(&path) > before,
            "past the backstop the writer must checkpoint itself"
        );
    }

    #[test]
    fn the_thread_copies_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, mut conn, before) = database(dir.path());
        let checkpointer = Checkpointer::start(&path, &mut conn, SMALL).expect("start");

        write_pages(&conn, 20);
        let deadline = Instant::now() + Duration::from_secs(30);
        while main_file_size(&path) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(main_file_size(&path) > before, "nothing was checkpointed");
        drop(checkpointer);
    }

    #[test]
    fn a_log_that_cannot_restart_wakes_the_thread_again_only_after_as_much_again() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, mut conn, _) = database(dir.path());
        write_pages(&conn, 1);
        // A reader's snapshot keeps every later frame from being copied, so the log cannot restart.
        let reader = connect(&path, true).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .expect("read");
        let checkpointer = Checkpointer::start(&path, &mut conn, SMALL).expect("start");

        write_pages(&conn, 20);
        let next_wake = || checkpointer.signals.next_wake.load(Ordering::Acquire);
        let deadline = Instant::now() + Duration::from_secs(30);
        while next_wake() == SMALL.wake_at && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            next_wake() > 20 + SMALL.wake_at,
            "the next wake is {} pages",
            next_wake()
        );
    }

    #[test]
    fn without_the_hook_sqlite_checkpoints_in_the_commit() {
        // The first test's premise: with SQLite's own checkpoint in place of the hook, the main
        // file grows in the commit itself.
        let dir = tempfile::tempdir().expect("dir");
        let (path, conn, before) = database(dir.path());
        write_pages(&conn, 20);
        assert!(main_file_size(&path) > before);
    }
}
