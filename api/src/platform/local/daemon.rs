//! A helper process beside PostgreSQL (PgBouncer, the metrics exporter) known by its pid file:
//! whether it runs, whether it listens, signals, and stopping it.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long a process may take to show it started or stopped.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

/// The first of `names` on the `PATH`, else `fallback` (where Debian installs it) if present.
pub fn find_executable(names: &[&str], fallback: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from(fallback)).filter(|p| p.is_file()))
}

/// Whether process `pid` runs: it exists and is not a zombie (a killed process waiting for
/// its parent to reap it, which may take a while when the parent is not ours).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the last parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

pub struct PidFile(pub PathBuf);

impl PidFile {
    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(&self.0).ok()?;
        let pid = text.trim().parse::<u32>().ok()?;
        is_alive(pid).then_some(pid)
    }

    pub fn running(&self) -> bool {
        self.pid().is_some()
    }

    /// Whether the process runs and something accepts connections on `port` (loopback).
    pub fn listening(&self, port: u16) -> bool {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self.running() && TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
    }

    /// Waits until the process listens on `port`; `log` is named in the error.
    pub async fn wait_listening(&self, port: u16, what: &str, log: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        while !self.listening(port) {
            if started.elapsed() > PROCESS_TIMEOUT {
                bail!(
                    "{what} did not accept connections within {PROCESS_TIMEOUT:?} (see {})",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Sends `signal` (a name: `HUP`, `TERM`…) to the process, if it runs.
    pub async fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        let status = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .context("running kill")?;
        // The process may have ended in between: that is what stopping wants anyway.
        if !status.success() && Path::new(&format!("/proc/{pid}")).exists() {
            bail!("could not send SIG{signal} to process {pid}");
        }
        Ok(())
    }

    /// Stops the process with `signal`, then SIGKILL if it is still there after
    /// [`PROCESS_TIMEOUT`]; a no-op when it does not run.
    pub async fn stop(&self, signal: &str) -> anyhow::Result<()> {
        if !self.running() {
            return Ok(());
        }
        self.signal(signal).await?;
        let started = Instant::now();
        while self.running() {
            if started.elapsed() > PROCESS_TIMEOUT {
                self.signal("KILL").await?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = std::fs::remove_file(&self.0);
        Ok(())
    }
}
