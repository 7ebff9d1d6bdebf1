//! What the operator commands answer, whichever store ran them: a verification's findings and a
//! backup's or restore's summary.

use std::path::PathBuf;

/// What a verification found; empty `problems` means the database is sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [] => f.write_str("ok"),
            problems => f.write_str(&problems.join("; ")),
        }
    }
}

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
    pub users: u64,
    /// The copy's own verification (for a restore: of the live database afterwards).
    pub report: VerifyReport,
}
