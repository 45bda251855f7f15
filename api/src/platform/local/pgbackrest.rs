//! A cluster's pgBackRest, as PGO runs it inside its pods: one repository per cluster
//! (`<cluster>/repo`), the stanza `db`, WAL pushed by every instance's `archive_command` and
//! fetched by `restore_command`, backups taken from the primary, retention applied by pgBackRest
//! after each backup (compressed with lz4: cheap on CPU, as a shared host needs), restores
//! written into an empty data directory.
//!
//! Our servers listen on TCP only (no Unix socket), so pgBackRest reaches the primary through
//! libpq's environment (`PGHOST`, `PGSSLMODE`, `PGPASSWORD`) rather than `pg1-socket-path`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::files::set_mode;
use super::instance::run;
use super::state::SUPERUSER;
use crate::domain::cluster::BackupType;
use crate::domain::cluster::repository::PGO_STANZA;
use crate::embedded_pg::PgBinaries;

/// Debian's package that provides pgBackRest.
pub const PACKAGE: &str = "pgbackrest";

/// How often a backup refused for a lock `pgbackrest info` held is tried again.
const LOCK_RETRIES: u32 = 10;

/// Where a restore stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTarget {
    /// Everything archived, then promote.
    Latest,
    /// The last transaction committed at or before this time, then promote.
    Time(DateTime<Utc>),
    /// Keep replaying as a standby (`standby.signal`).
    Standby,
}

pub fn find_pgbackrest() -> Option<PathBuf> {
    super::daemon::find_executable(&["pgbackrest"], "/usr/bin/pgbackrest")
}

/// One cluster's pgBackRest: its configuration directory and repository.
pub struct PgBackRest<'a> {
    /// Runs it as the server user (it reads the data directories).
    pub bins: &'a PgBinaries,
    pub executable: &'a Path,
    /// Configuration, logs, locks and spool.
    pub dir: PathBuf,
    /// The repository (`repo1-path`).
    pub repository: PathBuf,
}

/// The primary pgBackRest backs up.
pub struct Primary<'a> {
    pub dir: &'a Path,
    pub port: u16,
    pub superuser_password: &'a str,
}

impl PgBackRest<'_> {
    fn config_file(&self) -> PathBuf {
        self.dir.join("pgbackrest.conf")
    }

    /// Writes the configuration for the primary in `primary_dir` (port `primary_port`) keeping
    /// `retention_full` full backups, and creates the repository; idempotent.
    pub fn configure(
        &self,
        primary_dir: &Path,
        primary_port: u16,
        retention_full: u32,
    ) -> anyhow::Result<()> {
        let text = format!(
            "# Managed by pgplane; changes are overwritten.\n\
             [global]\n\
             repo1-path={repo}\n\
             repo1-retention-full-type=count\n\
             repo1-retention-full={retention}\n\
             log-path={dir}/log\n\
             lock-path={dir}/lock\n\
             spool-path={dir}/spool\n\
             log-level-console=warn\n\
             log-level-file=info\n\
             start-fast=y\n\
             compress-type=lz4\n\
             \n\
             [{PGO_STANZA}]\n\
             pg1-path={primary}\n\
             pg1-port={primary_port}\n\
             pg1-user={SUPERUSER}\n",
            repo = self.repository.display(),
            retention = retention_full.max(1),
            dir = self.dir.display(),
            primary = primary_dir.display(),
        );
        let file = self.config_file();
        if std::fs::read_to_string(&file).is_ok_and(|old| old == text) {
            return Ok(());
        }
        for dir in [
            self.dir.clone(),
            self.dir.join("log"),
            self.dir.join("lock"),
            self.dir.join("spool"),
            self.repository.clone(),
        ] {
            std::fs::create_dir_all(&dir)?;
            set_mode(&dir, 0o750)?;
        }
        std::fs::write(&file, text)?;
        set_mode(&file, 0o640)?;
        self.bins.give_to_server_user(&self.dir)?;
        self.bins.give_to_server_user(&self.repository)
    }

    /// The start of every command line: the executable, the configuration, the stanza.
    fn base(&self) -> String {
        format!(
            "{} --config={} --stanza={PGO_STANZA}",
            self.executable.display(),
            self.config_file().display()
        )
    }

    /// `archive_command` of the instance in `instance_dir`.
    pub fn archive_push_command(&self, instance_dir: &Path) -> String {
        format!(
            "{} --pg1-path={} archive-push \"%p\"",
            self.base(),
            instance_dir.display()
        )
    }

    /// `restore_command` of the instance in `instance_dir`.
    pub fn archive_get_command(&self, instance_dir: &Path) -> String {
        format!(
            "{} --pg1-path={} archive-get %f \"%p\"",
            self.base(),
            instance_dir.display()
        )
    }

    fn command(&self, primary: Option<&Primary<'_>>) -> std::process::Command {
        let mut command = self.bins.command_at(self.executable);
        command
            .arg(format!("--config={}", self.config_file().display()))
            .arg(format!("--stanza={PGO_STANZA}"));
        if let Some(primary) = primary {
            command
                .arg(format!("--pg1-path={}", primary.dir.display()))
                .arg(format!("--pg1-port={}", primary.port))
                .env("PGHOST", "127.0.0.1")
                .env("PGSSLMODE", "require")
                .env("PGUSER", SUPERUSER)
                .env("PGPASSWORD", primary.superuser_password);
        }
        command
    }

    /// Creates the stanza from the running primary (a no-op when it exists and matches).
    pub async fn stanza_create(&self, primary: &Primary<'_>) -> anyhow::Result<()> {
        let mut command = self.command(Some(primary));
        command.arg("stanza-create");
        run(command, "pgbackrest stanza-create").await
    }

    /// Moves the stanza to the primary's new major version (after `pg_upgrade`, before the
    /// new server starts: read from its control file).
    pub async fn stanza_upgrade(&self, primary: &Primary<'_>) -> anyhow::Result<()> {
        let mut command = self.command(Some(primary));
        command.args(["--no-online", "stanza-upgrade"]);
        run(command, "pgbackrest stanza-upgrade").await
    }

    /// Takes a backup of `kind` from the running primary, labelled with `annotation`
    /// (`key=value`) so that a repeated request can find it.
    pub async fn backup(
        &self,
        primary: &Primary<'_>,
        kind: BackupType,
        annotation: &str,
    ) -> anyhow::Result<()> {
        let mut attempt = 0;
        loop {
            let mut command = self.command(Some(primary));
            command
                .arg(format!("--type={}", type_option(kind)))
                .arg(format!("--annotation={annotation}"))
                .arg("backup");
            match run(command, "pgbackrest backup").await {
                // `pgbackrest info` takes the backup lock for a moment to tell whether a backup
                // runs; a backup starting in that moment is refused. Try again shortly.
                Err(error)
                    if attempt < LOCK_RETRIES
                        && error.to_string().contains("unable to acquire lock") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
                other => return other,
            }
        }
    }

    /// `pgbackrest info --output=json`.
    pub async fn info(&self) -> anyhow::Result<String> {
        let mut command = self.command(None);
        command.args(["--output=json", "info"]);
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .context("running pgbackrest info")?;
        if !output.status.success() {
            anyhow::bail!(
                "pgbackrest info failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Restores the repository into `into` (an empty directory of the server user's), writing
    /// the recovery settings for `target` into its `postgresql.auto.conf`.
    pub async fn restore(&self, into: &Path, target: RestoreTarget) -> anyhow::Result<()> {
        let mut command = self.command(None);
        command.arg(format!("--pg1-path={}", into.display()));
        match target {
            RestoreTarget::Latest => {
                command.arg("--type=default");
            }
            RestoreTarget::Time(at) => {
                command
                    .arg("--type=time")
                    .arg(format!(
                        "--target={}",
                        at.format("%Y-%m-%d %H:%M:%S%.6f+00")
                    ))
                    .arg("--target-action=promote");
            }
            RestoreTarget::Standby => {
                command.arg("--type=standby");
            }
        }
        command.arg("restore");
        run(command, "pgbackrest restore").await
    }
}

fn type_option(kind: BackupType) -> &'static str {
    match kind {
        BackupType::Full => "full",
        BackupType::Differential => "diff",
        BackupType::Incremental => "incr",
    }
}

/// A backup found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub label: String,
    /// What pgBackRest took (a differential or incremental with no full before it is a full).
    pub kind: BackupType,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// The backup annotated `key=value` in `pgbackrest info --output=json`.
pub fn annotated_backup(info: &str, key: &str, value: &str) -> Option<Taken> {
    let stanzas: serde_json::Value = serde_json::from_str(info).ok()?;
    let stanza = stanzas
        .as_array()?
        .iter()
        .find(|s| s["name"] == PGO_STANZA)?;
    stanza["backup"].as_array()?.iter().find_map(|backup| {
        if backup["annotation"][key] != value || backup["error"] == true {
            return None;
        }
        let at = |field: &str| DateTime::from_timestamp(backup["timestamp"][field].as_i64()?, 0);
        Some(Taken {
            label: backup["label"].as_str()?.to_string(),
            kind: match backup["type"].as_str()? {
                "diff" => BackupType::Differential,
                "incr" => BackupType::Incremental,
                _ => BackupType::Full,
            },
            started_at: at("start")?,
            finished_at: at("stop")?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_found_by_its_annotation() {
        let info = serde_json::json!([{
            "name": "db",
            "backup": [
                {"label": "20261207-171850F", "error": false, "type": "full",
                 "annotation": {"pgplane-operation": "a"},
                 "timestamp": {"start": 1_796_663_930, "stop": 1_796_663_932}},
                {"label": "20261207-171850F_20261207-171853I", "error": true, "type": "incr",
                 "annotation": {"pgplane-operation": "b"},
                 "timestamp": {"start": 1_796_663_933, "stop": 1_796_663_934}},
            ]
        }])
        .to_string();
        let taken = annotated_backup(&info, "pgplane-operation", "a").unwrap();
        assert_eq!(taken.label, "20261207-171850F");
        assert_eq!(taken.kind, BackupType::Full);
        assert_eq!((taken.finished_at - taken.started_at).num_seconds(), 2);
        assert!(
            annotated_backup(&info, "pgplane-operation", "b").is_none(),
            "a backup in error is not the one asked for"
        );
        assert!(annotated_backup(&info, "pgplane-operation", "c").is_none());
        assert!(annotated_backup("not json", "k", "v").is_none());
    }
}
