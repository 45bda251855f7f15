//! One PostgreSQL server process and its data directory, driven through the installed binaries
//! (`initdb`, `pg_ctl`, `pg_basebackup`). Whether a server runs and accepts connections is read
//! from its `postmaster.pid` (pid and the status line PostgreSQL keeps there), so the supervisor
//! can look at every instance each tick without spawning anything.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::config::{CONFIG_FILE, HBA};
use super::files::{set_mode, write_private};
use super::state::SUPERUSER;
use super::tls::ClusterTls;
use crate::embedded_pg::PgBinaries;

/// What the instance's process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    Stopped,
    /// Running but not (yet) accepting connections: starting, recovering, stopping.
    Starting,
    Ready,
}

pub struct Instance<'a> {
    pub bins: &'a PgBinaries,
    pub dir: PathBuf,
}

impl Instance<'_> {
    pub fn initialized(&self) -> bool {
        self.dir.join("PG_VERSION").exists()
    }

    /// Reads the process state from `postmaster.pid`.
    pub fn process(&self) -> ProcessState {
        let Ok(pid_file) = std::fs::read_to_string(self.dir.join("postmaster.pid")) else {
            return ProcessState::Stopped;
        };
        let lines: Vec<&str> = pid_file.lines().collect();
        let alive = lines
            .first()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            return ProcessState::Stopped;
        }
        match lines.get(7).map(|s| s.trim()) {
            Some("ready") => ProcessState::Ready,
            _ => ProcessState::Starting,
        }
    }

    /// Creates the primary's data directory: SCRAM passwords everywhere, the superuser's
    /// password set from the start (never trust authentication).
    pub async fn initdb(&self, superuser_password: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        self.bins.give_to_server_user(&self.dir)?;
        let password_file = self.dir.with_extension("pwfile");
        write_private(&password_file, superuser_password)?;
        self.bins.give_to_server_user(&password_file)?;
        let mut initdb = self.bins.command("initdb");
        initdb
            .arg("-D")
            .arg(&self.dir)
            .arg("-U")
            .arg(SUPERUSER)
            .arg(format!("--pwfile={}", password_file.display()))
            .args([
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ]);
        let result = run(initdb, "initdb").await;
        let _ = std::fs::remove_file(&password_file);
        result
    }

    /// Clones the primary listening on `primary_port` into this (absent) directory as a
    /// streaming replica (`-R` writes `primary_conninfo` and `standby.signal`).
    pub async fn clone_from(
        &self,
        primary_port: u16,
        superuser_password: &str,
    ) -> anyhow::Result<()> {
        base_backup(self.bins, &self.dir, primary_port, superuser_password, true).await
    }

    /// Copies this (empty) directory's contents from `source`, owned by the server user.
    pub async fn copy_from(&self, source: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut copy = std::process::Command::new("cp");
        copy.arg("-a")
            .arg(format!("{}/.", source.display()))
            .arg(&self.dir);
        run(copy, "copying the base backup").await?;
        set_mode(&self.dir, 0o700)?;
        self.bins.give_to_server_user(&self.dir)
    }

    /// Writes the pgplane-managed configuration, `pg_hba.conf` and the TLS files.
    pub fn write_config(&self, config: &str, tls: &ClusterTls) -> anyhow::Result<()> {
        let main = self.dir.join("postgresql.conf");
        let text = std::fs::read_to_string(&main).context("reading postgresql.conf")?;
        let include = format!("include_if_exists = '{CONFIG_FILE}'");
        if !text.lines().any(|l| l.trim() == include) {
            std::fs::write(&main, format!("{text}\n# Managed by pgplane\n{include}\n"))?;
        }
        std::fs::write(self.dir.join(CONFIG_FILE), config)?;
        std::fs::write(self.dir.join("pg_hba.conf"), HBA)?;
        std::fs::write(self.dir.join("ca.crt"), &tls.ca_certificate)?;
        std::fs::write(self.dir.join("server.crt"), &tls.server_certificate)?;
        write_private(&self.dir.join("server.key"), &tls.server_key)?;
        self.bins.give_to_server_user(&self.dir)
    }

    pub async fn start(&self) -> anyhow::Result<()> {
        let mut pg_ctl = self.bins.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "120", "start"]);
        run(pg_ctl, "pg_ctl start").await
    }

    /// Fast shutdown (clients disconnected, no data lost); a no-op when stopped.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if self.process() == ProcessState::Stopped {
            return Ok(());
        }
        let mut pg_ctl = self.bins.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "-t", "120", "stop"]);
        run(pg_ctl, "pg_ctl stop").await
    }

    /// Stops the server and removes its data directory.
    pub async fn destroy(&self) -> anyhow::Result<()> {
        self.stop().await?;
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// A base backup of the server on `port` into the absent directory `dest`, with the WAL it
/// needs to be consistent; `as_replica` also makes it a streaming replica of that server.
pub async fn base_backup(
    bins: &PgBinaries,
    dest: &Path,
    port: u16,
    superuser_password: &str,
    as_replica: bool,
) -> anyhow::Result<()> {
    // An empty directory of the server user's: the cluster directory itself stays ours.
    std::fs::create_dir_all(dest)?;
    set_mode(dest, 0o700)?;
    bins.give_to_server_user(dest)?;
    let connection = format!(
        "host=127.0.0.1 port={port} user={SUPERUSER} password={superuser_password} sslmode=require"
    );
    let mut backup = bins.command("pg_basebackup");
    backup
        .arg("-D")
        .arg(dest)
        .arg("-d")
        .arg(connection)
        .args(["-c", "fast"]);
    if as_replica {
        backup.args(["-R", "-X", "stream"]);
    } else {
        backup.args(["-X", "fetch"]);
    }
    let result = run(backup, "pg_basebackup").await;
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

/// Runs `command` without blocking the runtime; a failure carries the command's output.
async fn run(command: std::process::Command, what: &str) -> anyhow::Result<()> {
    let output = tokio::process::Command::from(command)
        .output()
        .await
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    Ok(())
}
