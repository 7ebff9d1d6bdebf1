//! `backup`: scheduled online backups, run by the maintenance thread. Off unless a `dir` is given:
//! where backups may live (another disk, a mounted volume) is the operator's decision, and a
//! default folder inside the data folder would die with the disk it is meant to protect against.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::parse_go_duration;
use crate::error::{Error, Result};

pub(crate) const DEFAULT_BACKUP_INTERVAL: Duration = Duration::from_secs(24 * 3600);
pub(crate) const DEFAULT_BACKUP_KEEP: usize = 7;
/// The maintenance thread looks once a minute; a shorter interval would only pretend.
const MIN_BACKUP_INTERVAL: Duration = Duration::from_secs(60);
const MAX_BACKUP_KEEP: usize = 10_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawBackup {
    dir: Option<PathBuf>,
    interval: Option<String>,
    keep: Option<usize>,
}

/// Where and how often the maintenance thread writes `auth-YYYYMMDDTHHMMSSZ.db`, keeping the newest
/// `keep` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub interval: Duration,
    pub keep: usize,
}

impl BackupSchedule {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            interval: DEFAULT_BACKUP_INTERVAL,
            keep: DEFAULT_BACKUP_KEEP,
        }
    }
}

/// `None` (no section, or no `dir`) turns scheduled backups off; `interval` or `keep` without a
/// `dir` is refused, since they would silently do nothing.
pub(super) fn backup_schedule(raw: Option<RawBackup>) -> Result<Option<BackupSchedule>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let Some(dir) = raw.dir.filter(|dir| !dir.as_os_str().is_empty()) else {
        return match (raw.interval, raw.keep) {
            (None, None) => Ok(None),
            _ => Err(Error::invalid_config(
                "backup.interval and backup.keep need backup.dir",
            )),
        };
    };
    let mut schedule = BackupSchedule::new(dir);
    if let Some(text) = raw.interval {
        schedule.interval = parse_go_duration(&text)
            .filter(|interval| *interval >= MIN_BACKUP_INTERVAL)
            .ok_or_else(|| {
                Error::invalid_config(format!(
                    "backup.interval {text:?} must be a duration of at least 1m, like 24h"
                ))
            })?;
    }
    if let Some(keep) = raw.keep {
        if !(1..=MAX_BACKUP_KEEP).contains(&keep) {
            return Err(Error::invalid_config(format!(
                "backup.keep must be from 1 to {MAX_BACKUP_KEEP}"
            )));
        }
        schedule.keep = keep;
    }
    Ok(Some(schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Option<BackupSchedule>> {
        backup_schedule(Some(serde_json::from_str(json).expect("raw backup")))
    }

    #[test]
    fn scheduled_backups_are_off_without_a_dir() {
        assert_eq!(backup_schedule(None), Ok(None));
        assert_eq!(parse("{}"), Ok(None));
    }

    #[test]
    fn a_dir_alone_backs_up_daily_keeping_seven() {
        let schedule = parse(r#"{"dir":"/b"}"#).expect("valid").expect("on");
        assert_eq!(schedule.interval, Duration::from_secs(86400));
        assert_eq!(schedule.keep, 7);
    }

    #[test]
    fn interval_and_keep_are_validated() {
        let schedule = parse(r#"{"dir":"/b","interval":"6h","keep":3}"#)
            .expect("valid")
            .expect("on");
        assert_eq!(
            (schedule.interval, schedule.keep),
            (Duration::from_secs(6 * 3600), 3)
        );
        for bad in [
            r#"{"dir":"/b","interval":"30s"}"#,
            r#"{"dir":"/b","interval":"daily"}"#,
            r#"{"dir":"/b","keep":0}"#,
            r#"{"keep":3}"#,
        ] {
            assert!(matches!(parse(bad), Err(Error::InvalidConfig(_))), "{bad}");
        }
    }
}
