//! The metrics exporter of a local cluster: one `postgres_exporter` (Debian's
//! `prometheus-postgres-exporter` package) per cluster, as PGO runs its exporter sidecar when
//! `monitoring` is on. It signs in as `ccp_monitoring` (PGO's monitoring role, a member of
//! `pg_monitor`: it reads statistics, never tenant rows) over TLS, and serves Prometheus
//! metrics on loopback; the URL is in the cluster's status.
//!
//! Its files live in `<cluster>/exporter/`: the password file it reads, its log, and the pid
//! file its launcher writes (the exporter itself writes none). It runs detached (`setsid -f`),
//! so it outlives neither its cluster nor a `pgplane` that stops its clusters.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::daemon::{PidFile, find_executable};
use super::files::write_private;
use crate::embedded_pg::PgBinaries;

/// PGO's monitoring role.
pub const MONITORING_ROLE: &str = "ccp_monitoring";
/// Where Debian installs it.
const DEBIAN_PATH: &str = "/usr/bin/prometheus-postgres-exporter";

/// The exporter executable, if installed.
pub fn find_exporter() -> Option<PathBuf> {
    find_executable(
        &["prometheus-postgres-exporter", "postgres_exporter"],
        DEBIAN_PATH,
    )
}

/// The metrics URL of an exporter listening on `port`.
pub fn metrics_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/metrics")
}

/// One cluster's exporter.
pub struct Exporter<'a> {
    pub bins: &'a PgBinaries,
    pub executable: &'a Path,
    pub dir: PathBuf,
}

impl Exporter<'_> {
    fn pid_file(&self) -> PathBuf {
        self.dir.join("exporter.pid")
    }

    fn process(&self) -> PidFile {
        PidFile(self.pid_file())
    }

    pub fn running(&self) -> bool {
        self.process().running()
    }

    /// Whether it accepts connections on `port`.
    pub fn ready(&self, port: u16) -> bool {
        self.process().listening(port)
    }

    /// Starts it on `port`, reading the server on `server_port` as the monitoring role, and
    /// waits until it listens.
    pub async fn start(&self, port: u16, server_port: u16, password: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let password_file = self.dir.join("password");
        write_private(&password_file, password)?;
        self.bins.give_to_server_user(&self.dir)?;
        // The launcher records its own pid, then becomes the exporter (exec keeps the pid).
        let launcher = r#"echo $$ > "$PID_FILE"; exec "$0" "$@" >> "$LOG_FILE" 2>&1"#;
        let mut command = self.bins.command_at(Path::new("/usr/bin/setsid"));
        command
            .arg("-f")
            .arg("sh")
            .arg("-c")
            .arg(launcher)
            .arg(self.executable)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .env("PID_FILE", self.pid_file())
            .env("LOG_FILE", self.dir.join("exporter.log"))
            .env(
                "DATA_SOURCE_URI",
                format!("127.0.0.1:{server_port}/postgres?sslmode=require"),
            )
            .env("DATA_SOURCE_USER", MONITORING_ROLE)
            .env("DATA_SOURCE_PASS_FILE", &password_file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let status = tokio::process::Command::from(command)
            .status()
            .await
            .context("running the metrics exporter")?;
        if !status.success() {
            bail!("the metrics exporter did not start ({status})");
        }
        self.process()
            .wait_listening(port, "the metrics exporter", &self.dir.join("exporter.log"))
            .await
    }

    /// Stops it and waits for the process to go; a no-op when it does not run.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.process().stop("TERM").await
    }
}
