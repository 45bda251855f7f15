//! What the backup repository itself holds, read from `pgbackrest info --output=json` (PGO's
//! status lists no backups): the backups still kept after retention, and from them the
//! window a point-in-time restore can reach. pgBackRest's JSON (format 5, pgBackRest 2.x) is
//! an array of stanzas; PGO's stanza is `db`.
//!
//! The window starts where the oldest kept backup became consistent (`timestamp.stop`) and
//! ends now, since WAL is archived continuously after it; with no valid backup there is none.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::backup_health::RecoverableWindow;

/// PGO's pgBackRest stanza.
pub const PGO_STANZA: &str = "db";

/// One backup in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RepositoryBackup {
    /// pgBackRest's label, e.g. `20261202-070102F`.
    pub label: String,
    /// `full`, `differential` or `incremental`.
    #[serde(rename = "type")]
    pub backup_type: String,
    /// The repository it is in, e.g. `repo1`.
    pub repo: String,
    pub started_at: DateTime<Utc>,
    /// When it finished: the earliest moment it can restore to.
    pub finished_at: DateTime<Utc>,
    /// Size of the database it copied, in bytes.
    pub database_size_bytes: Option<i64>,
    /// Space it takes in the repository, in bytes.
    pub repository_size_bytes: Option<i64>,
    /// The first and last WAL segment it needs.
    pub wal_start: Option<String>,
    pub wal_stop: Option<String>,
    /// For differential and incremental backups: the backup it builds on.
    pub prior: Option<String>,
}

/// The stanza as pgBackRest reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RepositoryReport {
    /// pgBackRest's stanza status: `ok`, `no valid backups`, `missing stanza path`, ...
    pub status: String,
    /// True while a backup runs.
    pub backup_running: bool,
    /// Backups kept, oldest first (backups pgBackRest marked in error are left out).
    pub backups: Vec<RepositoryBackup>,
    /// The newest WAL segment archived.
    pub newest_wal: Option<String>,
}

impl RepositoryReport {
    /// The times a restore can reach, from the oldest kept backup to `now`.
    pub fn recoverable_window(&self, now: DateTime<Utc>) -> Option<RecoverableWindow> {
        let earliest = self.backups.iter().map(|b| b.finished_at).min()?;
        Some(RecoverableWindow {
            earliest,
            latest: now.max(earliest),
        })
    }

    /// When the newest kept backup finished.
    pub fn last_backup_at(&self) -> Option<DateTime<Utc>> {
        self.backups.iter().map(|b| b.finished_at).max()
    }
}

fn seconds(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(value.as_i64()?, 0)
}

fn backup_type(pgbackrest: &str) -> Option<&'static str> {
    match pgbackrest {
        "full" => Some("full"),
        "diff" => Some("differential"),
        "incr" => Some("incremental"),
        _ => None,
    }
}

fn backup(entry: &Value) -> Option<RepositoryBackup> {
    if entry["error"].as_bool() == Some(true) {
        return None;
    }
    let text = |pointer: &str| {
        entry
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(String::from)
    };
    Some(RepositoryBackup {
        label: text("/label")?,
        backup_type: backup_type(entry["type"].as_str()?)?.to_string(),
        repo: format!("repo{}", entry.pointer("/database/repo-key")?.as_u64()?),
        started_at: seconds(entry.pointer("/timestamp/start")?)?,
        finished_at: seconds(entry.pointer("/timestamp/stop")?)?,
        database_size_bytes: entry.pointer("/info/size").and_then(Value::as_i64),
        repository_size_bytes: entry
            .pointer("/info/repository/size")
            .and_then(Value::as_i64),
        wal_start: text("/archive/start"),
        wal_stop: text("/archive/stop"),
        prior: text("/prior"),
    })
}

/// Reads the output of `pgbackrest info --output=json` for PGO's stanza.
pub fn parse_info(output: &str) -> Result<RepositoryReport, String> {
    let stanzas: Value = serde_json::from_str(output)
        .map_err(|e| format!("pgbackrest info printed no JSON: {e}"))?;
    let stanza = stanzas
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == PGO_STANZA))
        .ok_or_else(|| format!("pgbackrest info shows no stanza `{PGO_STANZA}`"))?;
    let mut backups: Vec<RepositoryBackup> = stanza["backup"]
        .as_array()
        .map(|all| all.iter().filter_map(backup).collect())
        .unwrap_or_default();
    backups.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.repo.cmp(&b.repo)));
    let newest_wal = stanza["archive"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["max"].as_str())
        .max()
        .map(String::from);
    Ok(RepositoryReport {
        status: stanza
            .pointer("/status/message")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
        backup_running: stanza
            .pointer("/status/lock/backup/held")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        backups,
        newest_wal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(label: &str, kind: &str, start: i64, stop: i64, error: bool) -> Value {
        json!({
            "archive": {"start": "000000010000000000000004", "stop": "000000010000000000000005"},
            "database": {"id": 1, "repo-key": 1},
            "error": error,
            "info": {"delta": 31_000_000, "repository": {"delta": 4_000_000, "size": 4_000_000}, "size": 31_000_000},
            "label": label, "prior": null,
            "timestamp": {"start": start, "stop": stop},
            "type": kind,
        })
    }

    fn info(backups: Vec<Value>) -> String {
        json!([{
            "archive": [{"database": {"id": 1, "repo-key": 1}, "id": "17-1",
                         "max": "000000010000000000000009", "min": "000000010000000000000001"}],
            "backup": backups, "cipher": "none", "name": "db",
            "status": {"code": 0, "lock": {"backup": {"held": false}}, "message": "ok"},
        }])
        .to_string()
    }

    #[test]
    fn backups_and_the_window_come_from_the_repository() {
        let report = parse_info(&info(vec![
            entry(
                "20261202-070000F_20261202-080000I",
                "incr",
                1_764_662_400,
                1_764_662_460,
                false,
            ),
            entry(
                "20261202-070000F",
                "full",
                1_764_658_800,
                1_764_658_900,
                false,
            ),
            entry(
                "20261202-090000F",
                "full",
                1_764_666_000,
                1_764_666_100,
                true,
            ),
        ]))
        .unwrap();
        assert_eq!(report.status, "ok");
        assert_eq!(report.backups.len(), 2, "the backup in error is left out");
        assert_eq!(report.backups[0].backup_type, "full");
        assert_eq!(report.backups[1].backup_type, "incremental");
        assert_eq!(report.backups[0].repo, "repo1");
        assert_eq!(report.backups[0].database_size_bytes, Some(31_000_000));
        assert_eq!(
            report.newest_wal.as_deref(),
            Some("000000010000000000000009")
        );
        let now = DateTime::from_timestamp(1_764_670_000, 0).unwrap();
        let window = report.recoverable_window(now).unwrap();
        assert_eq!(window.earliest.timestamp(), 1_764_658_900);
        assert_eq!(window.latest, now);
        assert_eq!(report.last_backup_at().unwrap().timestamp(), 1_764_662_460);
    }

    #[test]
    fn a_stanza_without_backups_has_no_window() {
        let missing = json!([{
            "archive": [], "backup": [], "db": [], "name": "db",
            "repo": [{"key": 1, "status": {"code": 1, "message": "missing stanza path"}}],
            "status": {"code": 1, "lock": {"backup": {"held": false}}, "message": "missing stanza path"},
        }]);
        let report = parse_info(&missing.to_string()).unwrap();
        assert_eq!(report.status, "missing stanza path");
        assert!(report.recoverable_window(Utc::now()).is_none());
    }

    #[test]
    fn output_that_is_not_pgbackrest_info_is_an_error() {
        assert!(parse_info("ERROR: [056]: unable to find primary cluster").is_err());
        assert!(parse_info("[]").unwrap_err().contains("no stanza"));
    }
}
