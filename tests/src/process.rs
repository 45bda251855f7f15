//! `pgplane serve` as a real process: for the benchmarks (RSS, a release build under load) and
//! the reliability suite (SIGKILL mid-job). The binary is the one next to the running test or
//! bench binary (`target/<profile>/pgplane`), or `PGPLANE_BIN`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::app::{SECRETS_KEY, jwt_keys};

/// The `pgplane` binary of the profile this binary was built with (`scripts/test` and
/// `scripts/bench` build it first), unless `PGPLANE_BIN` names another.
pub fn pgplane_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("PGPLANE_BIN")
        && !bin.is_empty()
    {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    profile_dir.join("pgplane")
}

/// A running `pgplane serve`, killed when dropped.
pub struct ServeProcess {
    child: Child,
    pub base_url: String,
    pub log: PathBuf,
}

impl ServeProcess {
    /// Starts `pgplane serve` on a free loopback port over `database_url`, signing tokens with
    /// the harness key, with `env` on top (e.g. `PGPLANE_PLATFORM`, `KUBECONFIG`); stderr goes
    /// to `log`. Waits until `/healthz` answers.
    pub async fn start(database_url: &str, env: &[(&str, &str)], log: &Path) -> ServeProcess {
        let port = pgplane::embedded_pg::free_port().expect("free port");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the process log");
        let mut command = Command::new(pgplane_binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PGPLANE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PGPLANE_JWT_KEYS", jwt_keys())
            .env("PGPLANE_PLATFORM", "none")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        // The test key, unless the test gives its own key file.
        if !env
            .iter()
            .any(|(key, _)| *key == "PGPLANE_SECRETS_KEY_FILE")
        {
            command.env("PGPLANE_SECRETS_KEY", SECRETS_KEY);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} (build it first: cargo build -p pgplane): {e}",
                pgplane_binary().display()
            )
        });
        let mut process = ServeProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        process.wait_healthy().await;
        process
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("pgplane serve exited with {status}:\n{log}");
            }
            let url = format!("{}/healthz", self.base_url);
            if crate::client::get(&url)
                .await
                .is_ok_and(|answer| answer.status == 200)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pgplane serve did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size, in MiB (from `/proc/<pid>/status`).
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("process status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }

    /// Kills the process with SIGKILL, as a crash or the OOM killer would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM (graceful shutdown) and waits for it.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        self.child.wait().expect("wait for pgplane serve")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
