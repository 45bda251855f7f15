//! A pgplane whose clusters run as PostgreSQL processes under a temporary directory.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgplane::platform::local::{LocalOptions, LocalPlatform};
use pgplane_tests::TestApp;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

pub const TENANT: &str = "acme";
/// The smallest cluster pgplane accepts: quick to create, light on memory.
pub fn small_cluster(name: &str, instances: u32) -> Value {
    json!({
        "name": name,
        "instances": instances,
        "resources": {"cpu": "250m", "memory": "512Mi"},
        "storage": {"size": "1Gi"},
    })
}

pub struct LocalWorld {
    pub root: tempfile::TempDir,
    pub platform: Arc<LocalPlatform>,
    pub app: TestApp,
}

impl LocalWorld {
    pub async fn start() -> LocalWorld {
        Self::start_with_servers(&[]).await
    }

    /// A world whose platform also runs the PostgreSQL servers in the bin directories
    /// `more_servers`.
    pub async fn start_with_servers(more_servers: &[PathBuf]) -> LocalWorld {
        Self::start_with_options(LocalOptions {
            more_servers: more_servers.to_vec(),
            ..LocalOptions::default()
        })
        .await
    }

    /// A world whose platform is started with `options`.
    pub async fn start_with_options(options: LocalOptions) -> LocalWorld {
        Self::start_with(options, &[]).await
    }

    /// A world whose platform is started with `options` and pgplane with `args`.
    pub async fn start_with(options: LocalOptions, args: &[&str]) -> LocalWorld {
        let root = tempfile::tempdir().expect("temporary directory");
        let platform =
            LocalPlatform::start_with_options(root.path(), options).expect("local platform");
        let app = TestApp::spawn_with_platform(platform.clone(), args).await;
        app.create_tenant(TENANT).await;
        LocalWorld {
            root,
            platform,
            app,
        }
    }

    pub fn clusters_dir(&self) -> PathBuf {
        self.root.path().join("clusters")
    }

    /// Restarts the workers, the sync and the driver, as a restarted pgplane process would:
    /// `clean` stops the servers first (graceful shutdown); otherwise they keep running, as
    /// after a crash of pgplane alone.
    pub async fn restart_pgplane(&mut self, clean: bool) {
        if clean {
            self.app.stop_background().await; // also stops the servers
        } else {
            self.app.crash_background().await;
            self.platform.abort().await;
        }
        self.platform = LocalPlatform::start(self.root.path()).expect("local platform");
        self.app.start_background(self.platform.clone());
    }

    pub async fn stop(mut self) {
        self.app.shutdown().await; // workers, sync, servers, API
        assert!(
            running_servers(self.root.path()).is_empty(),
            "servers left running after shutdown"
        );
    }

    pub async fn create(&self, body: Value) -> Value {
        let op = self
            .app
            .admin()
            .post(&format!("/v1/tenants/{TENANT}/clusters"), body)
            .await
            .expect(202)
            .json();
        self.finished(&op).await
    }

    /// Waits for the operation to end (at most two minutes) and returns it.
    pub async fn finished(&self, operation: &Value) -> Value {
        let id = operation["id"].as_str().expect("operation id");
        let started = Instant::now();
        loop {
            let op = self
                .app
                .admin()
                .get(&format!("/v1/operations/{id}"))
                .await
                .expect(200)
                .json();
            if ["succeeded", "failed", "cancelled"].contains(&op["state"].as_str().unwrap_or("")) {
                return op;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "operation still running: {op}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `POST path` with `body` as the admin, and the operation it started, once it succeeded.
    pub async fn succeeds(&self, path: &str, body: Value) -> Value {
        let op = self.app.admin().post(path, body).await.expect(202).json();
        let op = self.finished(&op).await;
        assert_eq!(op["state"], "succeeded", "{op}\n{}", server_logs(self));
        op
    }

    /// The cluster owner's connection to `name`'s `endpoint` (`primary` or `replicas`).
    pub async fn owner(&self, name: &str, endpoint: &str) -> PgConnection {
        let info = self.connection(name).await;
        connect(
            info[endpoint]["uri"].as_str().unwrap_or_default(),
            info["ca_certificate"].as_str().unwrap_or_default(),
        )
        .await
        .unwrap_or_else(|e| panic!("connects to {name}: {e}: {info}\n{}", server_logs(self)))
    }

    pub async fn cluster(&self, name: &str) -> Value {
        self.app
            .admin()
            .get(&format!("/v1/tenants/{TENANT}/clusters/{name}"))
            .await
            .expect(200)
            .json()
    }

    /// Waits until the cluster reports `phase` (at most a minute).
    pub async fn wait_for_phase(&self, name: &str, phase: &str) -> Value {
        let started = Instant::now();
        loop {
            let cluster = self.cluster(name).await;
            if cluster["status"]["phase"] == phase {
                return cluster;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cluster never became {phase}: {cluster}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the cluster's initial backup (taken once its repository exists) is listed
    /// as succeeded (at most a minute); returns the backups listing.
    pub async fn wait_for_initial_backup(&self, name: &str) -> Value {
        let started = Instant::now();
        loop {
            let listed = self
                .app
                .admin()
                .get(&format!("/v1/tenants/{TENANT}/clusters/{name}/backups"))
                .await
                .expect(200)
                .json();
            let done = listed["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|b| b["origin"] == "initial" && b["state"] == "succeeded")
            });
            if done {
                return listed;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no initial backup: {listed}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn connection(&self, name: &str) -> Value {
        self.app
            .admin()
            .get(&format!(
                "/v1/tenants/{TENANT}/clusters/{name}/connection?reveal=true"
            ))
            .await
            .expect(200)
            .json()
    }
}

/// Connects to `uri` as a client would: TLS with the server certificate verified against the
/// cluster's CA (`sslmode=verify-full` is in the URI).
pub async fn connect(uri: &str, ca_certificate: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnectOptions::from_str(uri)?
        .ssl_root_cert_from_pem(ca_certificate.as_bytes().to_vec())
        .connect()
        .await
}

/// The primary URI of `connection` with the password replaced by `password`.
pub fn with_password(connection: &Value, endpoint: &str, password: &str) -> String {
    let uri = connection[endpoint]["uri"].as_str().expect("endpoint uri");
    let current = connection["password"].as_str().expect("revealed password");
    uri.replace(&format!(":{current}@"), &format!(":{password}@"))
}

/// Data directories under `root` whose server process is alive.
pub fn running_servers(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "postmaster.pid") {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| t.lines().next()?.trim().parse::<u32>().ok());
                if pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
                    found.push(dir.clone());
                }
            }
        }
    }
    found
}

/// Whether something accepts connections on `port` on loopback.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

impl Drop for LocalWorld {
    /// A failed test must not leave servers behind: stop them immediately (PgBouncers too).
    fn drop(&mut self) {
        let clusters = std::fs::read_dir(self.root.path().join("clusters"));
        for cluster in clusters.into_iter().flatten().flatten() {
            for pid_file in ["pgbouncer/pgbouncer.pid", "exporter/exporter.pid"] {
                if let Ok(pid) = std::fs::read_to_string(cluster.path().join(pid_file)) {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", pid.trim()])
                        .status();
                }
            }
        }
        for dir in running_servers(self.root.path()) {
            if let Some(pid) = std::fs::read_to_string(dir.join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
            {
                let _ = std::process::Command::new("kill")
                    .args(["-QUIT", &pid])
                    .status();
            }
        }
    }
}

/// The end of every instance's server log, for a failure message.
pub fn server_logs(world: &LocalWorld) -> String {
    let mut logs = String::new();
    for cluster in std::fs::read_dir(world.clusters_dir()).unwrap().flatten() {
        let state = std::fs::read_to_string(cluster.path().join("state.json")).unwrap_or_default();
        let state: Value = serde_json::from_str(&state).unwrap_or_default();
        logs.push_str(&format!(
            "=== {} standby={} last_error={}\n",
            state["spec"]["name"], state["spec"]["standby"], state["last_error"]
        ));
        for instance in std::fs::read_dir(cluster.path()).unwrap().flatten() {
            if !instance.path().join("server.log").exists() {
                continue;
            }
            let log =
                std::fs::read_to_string(instance.path().join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            logs.push_str(&format!("--- {}\n", instance.path().display()));
            for line in tail.into_iter().rev() {
                logs.push_str(line);
                logs.push('\n');
            }
        }
    }
    logs
}
