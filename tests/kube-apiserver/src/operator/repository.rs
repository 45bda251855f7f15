//! The pgBackRest repositories of one simulated cluster: the backups PGO's Jobs took, the WAL
//! the cluster archived, the stanza's database history, and [`Repository::info`], the
//! `pgbackrest info --output=json` a test reads instead of exec-ing into the repository host.
//!
//! The JSON follows pgBackRest 2.5x (`backrest.format` 5): one stanza named `db` (PGO's stanza
//! name); `backup[]` entries with `label`, `type` (`full`/`diff`/`incr`), `timestamp.start`/
//! `stop` (Unix seconds), `archive.start`/`stop` (WAL segment names), `lsn`, `prior`,
//! `reference`, `info` sizes, `database` (`id`, `repo-key`) and `error`; `archive[]` with the
//! oldest and newest WAL segment per database id and repository; `db[]`; per-repository
//! `repo[].status`; and the stanza `status` (`0 ok`, `2 no valid backups`, `4 different across
//! repos`; `lock.backup.held` while a backup runs). Labels are `YYYYMMDD-HHMMSSF`,
//! `<full>_YYYYMMDD-HHMMSSD` and `<full>_YYYYMMDD-HHMMSSI` in UTC, unique per stanza like
//! pgBackRest's (a backup in the same second as the previous one is stamped one second
//! later). Failed backups leave no entry, as in pgBackRest. Retention (`expire`) is not
//! simulated: every backup stays.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// PGO's stanza name.
pub const STANZA: &str = "db";
const PGBACKREST_VERSION: &str = "2.54.2";
/// WAL segments per log file with the default 16 MB segment size.
const SEGMENTS_PER_LOG: u64 = 256;

/// A WAL segment: (timeline, segment number).
type Wal = (u32, u64);

/// A pgBackRest backup type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupKind {
    Full,
    Diff,
    Incr,
}

impl BackupKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diff => "diff",
            Self::Incr => "incr",
        }
    }

    /// The `--type` of a backup command line (`--type=full` or `--type full`); pgBackRest's
    /// default is `incr`.
    pub fn from_options(options: &[String]) -> Self {
        let mut words = options.iter().flat_map(|o| o.split_whitespace());
        let mut kind = None;
        while let Some(word) = words.next() {
            let value = match word.strip_prefix("--type") {
                Some(rest) if rest.starts_with('=') => Some(rest[1..].to_string()),
                Some("") => words.next().map(String::from),
                _ => None,
            };
            if let Some(v) = value {
                kind = Some(v.trim_matches('"').to_string());
            }
        }
        match kind.as_deref() {
            Some("full") => Self::Full,
            Some("diff") => Self::Diff,
            _ => Self::Incr,
        }
    }
}

/// One completed backup.
#[derive(Clone, Debug)]
pub struct Backup {
    pub repo: u32,
    pub label: String,
    pub kind: BackupKind,
    pub start: i64,
    pub stop: i64,
    db: u32,
    wal: Wal,
    prior: Option<String>,
    reference: Vec<String>,
    size: u64,
    delta: u64,
}

#[derive(Clone, Debug)]
struct Db {
    id: u32,
    version: i64,
    system_id: u64,
}

/// The repositories (`repo1`..`repo4`) of one cluster, which share a stanza.
#[derive(Clone, Debug, Default)]
pub struct Repository {
    repos: Vec<u32>,
    dbs: Vec<Db>,
    backups: Vec<Backup>,
    /// Oldest and newest archived segment per database id (every repository gets every WAL).
    archived: Vec<(u32, Wal, Wal)>,
    segment: u64,
    last_label: i64,
    running: bool,
}

/// `repo2` -> 2 (PGO's `regexRepoIndex`).
pub fn repo_key(name: &str) -> u32 {
    name.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(1)
}

fn wal_name((timeline, segment): Wal) -> String {
    format!(
        "{timeline:08X}{:08X}{:08X}",
        segment / SEGMENTS_PER_LOG,
        segment % SEGMENTS_PER_LOG
    )
}

fn lsn(segment: u64, offset: u64) -> String {
    format!(
        "{:X}/{:X}",
        segment / SEGMENTS_PER_LOG,
        ((segment % SEGMENTS_PER_LOG) << 24) | offset
    )
}

fn label_time(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y%m%d-%H%M%S")
        .to_string()
}

impl Repository {
    /// `stanza-create` (first time) or `stanza-upgrade` (after a major upgrade, which brings a
    /// new version and system identifier): the stanza gains a database id.
    pub fn stanza_create(&mut self, repos: Vec<u32>, version: i64, system_id: u64, timeline: u32) {
        self.repos = repos;
        let same = self
            .dbs
            .last()
            .is_some_and(|d| d.version == version && d.system_id == system_id);
        if !same {
            let id = self.dbs.len() as u32 + 1;
            self.dbs.push(Db {
                id,
                version,
                system_id,
            });
            self.archive(timeline);
        }
    }

    /// The repositories named in the spec now (a removed repository keeps its backups here
    /// but is no longer reported).
    pub fn set_repos(&mut self, repos: Vec<u32>) {
        self.repos = repos;
    }

    /// Whether `stanza-create` ran.
    pub fn has_stanza(&self) -> bool {
        !self.dbs.is_empty()
    }

    /// A repository set without a stanza yet, configured with `repos`.
    pub fn with_repos(mut self, repos: &[u32]) -> Self {
        self.repos = repos.to_vec();
        self
    }

    fn db(&self) -> u32 {
        self.dbs.last().map_or(1, |d| d.id)
    }

    /// Archives one more WAL segment on `timeline` (a segment switch, a promotion).
    pub fn archive(&mut self, timeline: u32) -> Wal {
        self.segment += 1;
        let wal = (timeline, self.segment);
        let db = self.db();
        match self.archived.iter_mut().find(|(d, _, _)| *d == db) {
            Some((_, _, max)) => *max = wal,
            None => self.archived.push((db, wal, wal)),
        }
        wal
    }

    /// Marks a backup as running (`status.lock.backup.held`).
    pub fn set_running(&mut self, running: bool) {
        self.running = running;
    }

    /// Records a completed backup of `requested` type in repository `repo` at `now` (Unix
    /// seconds). Like pgBackRest, an incremental or differential backup without a prior full
    /// backup in that repository becomes a full one.
    pub fn backup(&mut self, repo: u32, requested: BackupKind, now: i64, timeline: u32) -> Backup {
        let db = self.db();
        let in_repo: Vec<&Backup> = self
            .backups
            .iter()
            .filter(|b| b.repo == repo && b.db == db)
            .collect();
        let last_full = in_repo
            .iter()
            .rev()
            .find(|b| b.kind == BackupKind::Full)
            .map(|b| b.label.clone());
        let kind = if last_full.is_none() {
            BackupKind::Full
        } else {
            requested
        };
        let (prior, reference) = match (kind, &last_full) {
            (BackupKind::Diff, Some(full)) => (Some(full.clone()), vec![full.clone()]),
            (BackupKind::Incr, Some(_)) => {
                let prior = in_repo.last().map(|b| (*b).clone());
                match prior {
                    Some(p) => {
                        let mut refs = p.reference.clone();
                        refs.push(p.label.clone());
                        (Some(p.label), refs)
                    }
                    None => (None, Vec::new()),
                }
            }
            _ => (None, Vec::new()),
        };
        let start = now.max(self.last_label + 1);
        self.last_label = start;
        let label = match (kind, &last_full) {
            (BackupKind::Full, _) | (_, None) => format!("{}F", label_time(start)),
            (BackupKind::Diff, Some(full)) => format!("{full}_{}D", label_time(start)),
            (BackupKind::Incr, Some(full)) => format!("{full}_{}I", label_time(start)),
        };
        let wal = self.archive(timeline);
        let size = 24_000_000 + 65_536 * self.backups.len() as u64;
        let backup = Backup {
            repo,
            label,
            kind,
            start,
            stop: start,
            db,
            wal,
            prior,
            reference,
            size,
            delta: if kind == BackupKind::Full {
                size
            } else {
                196_608
            },
        };
        self.backups.push(backup.clone());
        backup
    }

    /// The current database of the stanza: (PostgreSQL major, system identifier).
    pub fn current_system(&self) -> Option<(i64, u64)> {
        self.dbs.last().map(|d| (d.version, d.system_id))
    }

    /// The newest timeline in the archive of the current database.
    pub fn newest_timeline(&self) -> Option<u32> {
        let db = self.db();
        self.archived
            .iter()
            .find(|(d, _, _)| *d == db)
            .map(|(_, _, (timeline, _))| *timeline)
    }

    /// The end of the oldest backup of the current database in `repo`: the earliest point a
    /// restore from that repository can reach.
    pub fn earliest_recovery(&self, repo: u32) -> Option<i64> {
        let db = self.db();
        self.backups
            .iter()
            .filter(|b| b.repo == repo && b.db == db)
            .map(|b| b.stop)
            .min()
    }

    fn backup_json(&self, b: &Backup) -> Value {
        json!({
            "archive": { "start": wal_name(b.wal), "stop": wal_name(b.wal) },
            "backrest": { "format": 5, "version": PGBACKREST_VERSION },
            "database": { "id": b.db, "repo-key": b.repo },
            "database-ref": [{ "name": "postgres", "oid": 5 }],
            "error": false,
            "info": {
                "delta": b.delta,
                "repository": { "delta": b.delta / 8, "size": b.size / 8 },
                "size": b.size,
            },
            "label": b.label,
            "link": null,
            "lsn": { "start": lsn(b.wal.1, 0x28), "stop": lsn(b.wal.1, 0x100) },
            "prior": b.prior,
            "reference": if b.reference.is_empty() { Value::Null } else { json!(b.reference) },
            "tablespace": null,
            "timestamp": { "start": b.start, "stop": b.stop },
            "type": b.kind.as_str(),
        })
    }

    /// `pgbackrest info --output=json` for the stanza (an array with one stanza object).
    pub fn info(&self) -> Value {
        if self.dbs.is_empty() {
            let repos: Vec<Value> = self
                .repos
                .iter()
                .map(|k| json!({ "cipher": "none", "key": k, "status": { "code": 1, "message": "missing stanza path" } }))
                .collect();
            return json!([{
                "archive": [], "backup": [], "cipher": "none", "db": [], "name": STANZA, "repo": repos,
                "status": { "code": 1, "lock": { "backup": { "held": false } }, "message": "missing stanza path" },
            }]);
        }
        let mut backups: Vec<&Backup> = self
            .backups
            .iter()
            .filter(|b| self.repos.contains(&b.repo))
            .collect();
        backups.sort_by_key(|b| (b.start, b.repo));
        let mut archive = Vec::new();
        let mut dbs = Vec::new();
        for &repo in &self.repos {
            for db in &self.dbs {
                dbs.push(json!({
                    "id": db.id, "repo-key": repo, "system-id": db.system_id,
                    "version": db.version.to_string(),
                }));
                if let Some((_, min, max)) = self.archived.iter().find(|(d, _, _)| *d == db.id) {
                    archive.push(json!({
                        "database": { "id": db.id, "repo-key": repo },
                        "id": format!("{}-{}", db.version, db.id),
                        "max": wal_name(*max),
                        "min": wal_name(*min),
                    }));
                }
            }
        }
        let repo_codes: Vec<(u32, bool)> = self
            .repos
            .iter()
            .map(|&k| (k, backups.iter().any(|b| b.repo == k)))
            .collect();
        let repos: Vec<Value> = repo_codes
            .iter()
            .map(|(k, ok)| {
                let status = if *ok {
                    json!({ "code": 0, "message": "ok" })
                } else {
                    json!({ "code": 2, "message": "no valid backups" })
                };
                json!({ "cipher": "none", "key": k, "status": status })
            })
            .collect();
        let (code, message) = if repo_codes.iter().all(|(_, ok)| *ok) {
            (0, "ok")
        } else if repo_codes.iter().all(|(_, ok)| !ok) {
            (2, "no valid backups")
        } else {
            (4, "different across repos")
        };
        json!([{
            "archive": archive,
            "backup": backups.iter().map(|b| self.backup_json(b)).collect::<Vec<_>>(),
            "cipher": "none",
            "db": dbs,
            "name": STANZA,
            "repo": repos,
            "status": { "code": code, "lock": { "backup": { "held": self.running } }, "message": message },
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza() -> Repository {
        let mut r = Repository::default();
        r.stanza_create(vec![1], 17, 7_000_000_000_000_000_001, 1);
        r
    }

    #[test]
    fn the_type_comes_from_the_options_and_defaults_to_incremental() {
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            BackupKind::from_options(&opts(&["--type=full"])),
            BackupKind::Full
        );
        assert_eq!(
            BackupKind::from_options(&opts(&["--type", "diff"])),
            BackupKind::Diff
        );
        assert_eq!(
            BackupKind::from_options(&opts(&["--type diff"])),
            BackupKind::Diff
        );
        assert_eq!(
            BackupKind::from_options(&opts(&["--start-fast"])),
            BackupKind::Incr
        );
    }

    #[test]
    fn backups_chain_like_pgbackrest() {
        let mut r = stanza();
        let t = 1_760_000_000;
        let first = r.backup(1, BackupKind::Incr, t, 1);
        assert_eq!(first.kind, BackupKind::Full, "no prior full: becomes full");
        assert_eq!(first.label, "20251009-085320F");
        let diff = r.backup(1, BackupKind::Diff, t, 1);
        assert_eq!(diff.label, "20251009-085320F_20251009-085321D");
        assert_eq!(diff.start, t + 1, "same second: stamped one second later");
        let incr = r.backup(1, BackupKind::Incr, t + 10, 1);
        assert!(incr.label.ends_with("I"));
        let info = r.info();
        let backups = info[0]["backup"].as_array().expect("backups");
        assert_eq!(backups.len(), 3);
        assert_eq!(backups[2]["prior"], diff.label.as_str());
        assert_eq!(
            backups[2]["reference"],
            json!([first.label.clone(), diff.label.clone()])
        );
        assert_eq!(backups[0]["reference"], Value::Null);
        assert_eq!(backups[0]["archive"]["start"], "000000010000000000000002");
        assert_eq!(info[0]["archive"][0]["min"], "000000010000000000000001");
        assert_eq!(info[0]["archive"][0]["max"], "000000010000000000000004");
        assert_eq!(info[0]["archive"][0]["id"], "17-1");
        assert_eq!(info[0]["status"]["code"], 0);
        assert_eq!(r.earliest_recovery(1), Some(t));
    }

    #[test]
    fn a_stanza_without_backups_reports_code_2_and_none_reports_code_1() {
        let empty = Repository::default().info();
        assert_eq!(empty[0]["status"]["code"], 1);
        let info = stanza().info();
        assert_eq!(info[0]["status"]["code"], 2);
        assert_eq!(info[0]["status"]["message"], "no valid backups");
        assert_eq!(info[0]["name"], "db");
    }

    #[test]
    fn an_upgrade_adds_a_database_and_the_next_backup_is_full() {
        let mut r = stanza();
        r.backup(1, BackupKind::Full, 1_760_000_000, 1);
        r.stanza_create(vec![1], 18, 7_000_000_000_000_000_002, 1);
        let b = r.backup(1, BackupKind::Incr, 1_760_000_100, 1);
        assert_eq!(b.kind, BackupKind::Full);
        let info = r.info();
        assert_eq!(info[0]["db"].as_array().map(Vec::len), Some(2));
        assert_eq!(info[0]["backup"][1]["database"]["id"], 2);
        assert_eq!(info[0]["archive"][1]["id"], "18-2");
    }

    #[test]
    fn wal_names_carry_timeline_log_and_segment() {
        assert_eq!(wal_name((2, 257)), "000000020000000100000001");
        assert_eq!(lsn(257, 0x28), "1/1000028");
        assert_eq!(repo_key("repo3"), 3);
    }
}
