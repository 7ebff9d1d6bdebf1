//! The serving side of `<data_dir>/auth/server.lock`: a shared `flock` held for the life of the
//! process, so the plugin's `db restore` (which takes it exclusively) refuses while any server
//! uses the data folder. Shared, because several host processes may serve one data folder.
//!
//! The kernel drops the lock when the process ends, however it ends; the file itself stays (an
//! unlinked lock file would let a restore and a server each lock a different file).

use std::fs::{self, File, TryLockError};
use std::io::{Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Must match the plugin's `SERVER_LOCK_FILE` under `<data_dir>/auth`.
const LOCK_PATH: &str = "auth/server.lock";

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

impl ServerLock {
    pub fn acquire(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(LOCK_PATH);
        if let Some(auth_dir) = path.parent() {
            // The plugin would create it the same way; the lock must exist before it opens.
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(auth_dir)
                .map_err(|e| format!("cannot create {}: {e}", auth_dir.display()))?;
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock_shared() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "a restore is running on this data folder (it holds {}); start the server \
                     when it has finished",
                    path.display()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        // With several servers the last one to start is named; any of them blocks a restore.
        let pid = std::process::id().to_string();
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()));
        if let Err(e) = written {
            say!(
                "host-demo: warning: cannot write the pid to {}: {e}",
                path.display()
            );
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_the_lock_and_write_their_pid() {
        let dir = tempfile_dir();
        let first = ServerLock::acquire(&dir).expect("first server");
        let second = ServerLock::acquire(&dir).expect("a second server on the same folder");
        let pid = fs::read_to_string(dir.join(LOCK_PATH)).expect("lock file");
        assert_eq!(pid, std::process::id().to_string());
        let restore = File::open(dir.join(LOCK_PATH)).expect("open");
        assert!(
            matches!(restore.try_lock(), Err(TryLockError::WouldBlock)),
            "an exclusive lock must fail while servers hold it"
        );
        drop((first, second));
        restore.try_lock().expect("free once the servers are gone");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_server_refuses_to_start_during_a_restore() {
        let dir = tempfile_dir();
        let first = ServerLock::acquire(&dir).expect("creates the file");
        drop(first);
        let restore = File::open(dir.join(LOCK_PATH)).expect("open");
        restore.try_lock().expect("exclusive");
        let error = ServerLock::acquire(&dir).expect_err("refused");
        assert!(error.contains("restore is running"), "{error}");
        let _ = fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "host-demo-lock-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
