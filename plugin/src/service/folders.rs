//! Folders the Engine creates: the data folder and the scheduled backups' folder.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` and every missing folder above it, each readable by this user only (0700): they
/// hold password hashes, the token secret and backups. Folders that exist keep their mode, so a
/// host that prepared the data folder decides its mode. `what` names the folder in the error.
pub(super) fn create_private(dir: &Path, what: &str) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::Storage(format!("cannot create {what} {}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn every_missing_folder_is_created_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        let auth = data.join("auth");
        create_private(&auth, "the data folder").expect("created");
        assert_eq!((mode(&data), mode(&auth)), (0o700, 0o700));
    }

    #[test]
    fn an_existing_folder_keeps_its_mode() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o750))
            .expect("chmod");
        create_private(root.path(), "the data folder").expect("exists already");
        assert_eq!(mode(root.path()), 0o750);
    }

    #[test]
    fn a_file_in_the_way_is_a_storage_error_naming_the_folder() {
        let root = tempfile::tempdir().expect("tempdir");
        let blocker = root.path().join("blocker");
        std::fs::write(&blocker, "").expect("file");
        let error = create_private(&blocker.join("auth"), "the data folder").expect_err("blocked");
        assert!(
            matches!(&error, Error::Storage(m) if m.starts_with("cannot create the data folder") && m.contains("blocker")),
            "{error:?}"
        );
    }
}
