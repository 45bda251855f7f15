//! `pgplane dev`, the README's "run it" command, as a user runs it: the real binary with its
//! embedded metadata database and the local platform, stopped and started again.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pgplane_tests::TestClient;
use serde_json::Value;
use sqlx::Connection;

use super::harness::{connect, running_servers, small_cluster};

/// The `pgplane` binary next to this test binary (`scripts/test` builds it first).
fn pgplane_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    dir.join("pgplane")
}

/// `pgplane dev` in `data_dir`, without any outside database or Kubernetes configuration.
fn dev_command(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(pgplane_binary());
    command
        .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("PGPLANE_PLATFORM")
        .env("HOME", data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

struct Dev {
    child: Child,
    url: String,
    api_key: String,
}

impl Dev {
    /// Starts `pgplane dev` and reads the URL and API key it prints.
    fn start(data_dir: &Path, port: u16) -> Dev {
        let mut child = dev_command(data_dir, port)
            .spawn()
            .expect("pgplane dev starts");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let (mut url, mut api_key) = (None, None);
        while api_key.is_none() {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(120))
                .expect("pgplane dev prints its URL and API key");
            if let Some(rest) = line.strip_prefix("pgplane is running at ") {
                url = Some(rest.trim().to_string());
            }
            if let Some(rest) = line.trim().strip_prefix("admin API key: ") {
                api_key = Some(rest.trim().to_string());
            }
        }
        Dev {
            child,
            url: url.expect("URL printed"),
            api_key: api_key.unwrap(),
        }
    }

    fn client(&self) -> TestClient {
        TestClient::new(&self.url, Some(self.api_key.clone()))
    }

    /// SIGTERM, as a service manager (or Ctrl-C) stops it; waits for a clean exit.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "pgplane dev exited with {status}");
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "pgplane dev did not stop"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn wait_until(client: &TestClient, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let value = client.get(path).await.expect(200).json();
        if done(&value) {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{path}: {value}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn pgplane_dev_runs_clusters_that_accept_connections_and_brings_them_back_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let dev = Dev::start(data.path(), port);
    let client = dev.client();
    client
        .post("/v1/tenants/demo/clusters", small_cluster("app", 1))
        .await
        .expect(202);
    let cluster_path = "/v1/tenants/demo/clusters/app";
    wait_until(&client, cluster_path, |c| c["status"]["phase"] == "ready").await;
    let info = client
        .get(&format!("{cluster_path}/connection?reveal=true"))
        .await
        .expect(200)
        .json();
    let (uri, ca) = (
        info["primary"]["uri"].as_str().unwrap().to_string(),
        info["ca_certificate"].as_str().unwrap().to_string(),
    );
    let mut conn = connect(&uri, &ca)
        .await
        .expect("the cluster accepts connections");
    sqlx::raw_sql("create table t (v int); insert into t values (42)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    dev.stop();
    assert!(
        running_servers(data.path()).is_empty(),
        "a stopped pgplane dev leaves no server running"
    );

    let dev = Dev::start(data.path(), port);
    let client = dev.client();
    let back = wait_until(&client, cluster_path, |c| c["status"]["phase"] == "ready").await;
    assert_eq!(back["status"]["ready_instances"], 1);
    let mut conn = connect(&uri, &ca).await.expect("the cluster is back");
    let value: i32 = sqlx::query_scalar("select v from t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, 42);
    conn.close().await.unwrap();
    let op = client.delete(cluster_path).await.expect(202).json();
    wait_until(
        &client,
        &format!("/v1/operations/{}", op["id"].as_str().unwrap()),
        |o| o["state"] == "succeeded",
    )
    .await;
    dev.stop();
    assert!(running_servers(data.path()).is_empty());
    let clusters: Vec<_> = std::fs::read_dir(data.path().join("clusters"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(
        clusters.is_empty(),
        "a deleted cluster leaves no data behind"
    );
}

#[test]
fn pgplane_dev_without_postgresql_binaries_says_how_to_install_them() {
    let data = tempfile::tempdir().unwrap();
    let output = dev_command(data.path(), free_port())
        .env("PGPLANE_PG_BIN_DIR", data.path().join("no-such-dir"))
        .stderr(Stdio::piped())
        .output()
        .expect("pgplane dev runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("apt-get install postgresql") && stderr.contains("PGPLANE_PG_BIN_DIR"),
        "{stderr}"
    );
}
