//! High availability with real `pgplane serve` processes on one metadata database and one
//! (test) Kubernetes API server: one status-sync leader, a new one within seconds when it dies
//! or is cut off from the database, migrations once when replicas start together, and a rolling
//! restart that loses no operation.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube_test_apiserver::operator::{OperatorOptions, SimulatedOperator};
use kube_test_apiserver::{ServerOptions, TestApiServer};
use pgplane::config::DatabaseConfig;
use pgplane_tests::TestClient;
use pgplane_tests::app::{SECRETS_KEY, jwt_keys};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use crate::harness::World;

/// The `pgplane` binary next to this test binary (`scripts/test` builds it first).
fn pgplane_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("pgplane");
    assert!(
        bin.is_file(),
        "{} not built: run `cargo build -p pgplane` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// One `pgplane serve` process; killed when dropped.
struct Replica {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Replica {
    fn start(dir: &tempfile::TempDir, name: &str, database_url: &str) -> Replica {
        let port = pgplane::embedded_pg::free_port().expect("a free port");
        let log = dir.path().join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = Command::new(pgplane_binary())
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("PGPLANE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PGPLANE_PLATFORM", "kubernetes")
            .env("KUBECONFIG", dir.path().join("kubeconfig"))
            .env("PGPLANE_JWT_KEYS", jwt_keys())
            .env("PGPLANE_SECRETS_KEY", SECRETS_KEY)
            .env("RUST_LOG", "info")
            .env("PGPLANE_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("pgplane serve starts");
        Replica {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// When the process first logged a line containing `needle`.
    fn logged_at(&self, needle: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.log()
            .lines()
            .filter(|l| l.contains(needle))
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| v["timestamp"].as_str()?.parse().ok())
    }

    /// `pgplane_sync_leader` of this process, once its API answers.
    async fn leading(&self) -> Option<bool> {
        let body = pgplane_tests::client::get(&format!("{}/metrics", self.url))
            .await
            .ok()?
            .text();
        body.lines()
            .find_map(|l| l.strip_prefix("pgplane_sync_leader "))
            .map(|v| v.trim() == "1")
    }

    /// Waits until the process reports `leading`; returns how long that took.
    async fn until_leading(&self, leading: bool, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.leading().await == Some(leading) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "{} did not report leading={leading} within {timeout:?}; its log:\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A test API server with a simulated PGO, a kubeconfig for it, and a fresh metadata database.
struct Site {
    kube: TestApiServer,
    _operator: SimulatedOperator,
    dir: tempfile::TempDir,
    database_url: String,
}

impl Site {
    async fn start() -> Site {
        let kube = TestApiServer::start(ServerOptions::default())
            .await
            .expect("test API server");
        let operator = SimulatedOperator::start(&kube, OperatorOptions::default());
        let dir = tempfile::tempdir().expect("temp dir");
        kube.write_kubeconfig(dir.path().join("kubeconfig"))
            .expect("kubeconfig");
        let database_url = pgplane_tests::postgres::fresh_database().await;
        Site {
            kube,
            _operator: operator,
            dir,
            database_url,
        }
    }

    /// Two replicas: `a` leads (through `a_url`), `b` follows.
    async fn leader_and_follower(&self, a_url: &str) -> (Replica, Replica) {
        let a = Replica::start(&self.dir, "a", a_url);
        a.until_leading(true, Duration::from_secs(60)).await;
        let b = Replica::start(&self.dir, "b", &self.database_url);
        b.until_leading(false, Duration::from_secs(60)).await;
        (a, b)
    }

    /// An admin client on `replica`.
    async fn admin(&self, replica: &Replica) -> TestClient {
        let database = DatabaseConfig {
            database_url: self.database_url.clone(),
            db_max_connections: 2,
        };
        let key =
            pgplane::cli::bootstrap_admin(&database, "ops@example.com", "a long passphrase", "Ops")
                .await
                .expect("bootstrap admin");
        TestClient::new(&replica.url, Some(key))
    }
}

/// Creates a cluster through `api` and waits for its operation to succeed, which needs the
/// status sync (it completes operations).
async fn cluster_becomes_ready(api: &TestClient, tenant: &str, name: &str) {
    let op = api
        .post(
            &format!("/v1/tenants/{tenant}/clusters"),
            json!({ "name": name }),
        )
        .await
        .expect(202)
        .json();
    let id = op["id"].as_str().expect("operation id").to_string();
    let started = Instant::now();
    loop {
        let op = api
            .get(&format!("/v1/operations/{id}"))
            .await
            .expect(200)
            .json();
        match op["state"].as_str() {
            Some("succeeded") => return,
            Some("failed") | Some("cancelled") => panic!("{op}"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{op}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn when_the_leader_process_dies_another_replica_leads_within_seconds() {
    let site = Site::start().await;
    let (mut a, b) = site.leader_and_follower(&site.database_url).await;
    let api = site.admin(&b).await;
    api.post("/v1/tenants", json!({ "name": "acme" }))
        .await
        .expect(201);

    a.child.kill().await.expect("SIGKILL the leader");
    let takeover = b.until_leading(true, Duration::from_secs(30)).await;
    println!("leader killed: the follower led after {takeover:?}");
    assert!(
        takeover < Duration::from_secs(5),
        "takeover took {takeover:?}; log of b:\n{}",
        b.log()
    );
    cluster_becomes_ready(&api, "acme", "orders").await;
    assert_eq!(
        site.kube
            .requests()
            .iter()
            .filter(|r| r.resource == "postgresclusters" && r.code == 201)
            .count(),
        1
    );
}

/// A TCP proxy to the metadata database that can freeze: bytes stop flowing both ways and the
/// connections stay open, as when a node or its network dies (nothing closes the socket).
struct Proxy {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, flag) = (upstream.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pipe(cr, sw, flag.clone()), pipe(sr, cw, flag));
                });
            }
        });
        Proxy { port, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either closes; once frozen, reads stop (the peer's writes sit in
/// the kernel buffers) and nothing is forwarded or closed.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if frozen.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let n = match tokio::time::timeout(Duration::from_millis(50), from.read(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        if frozen.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_leader_cut_off_from_the_database_steps_down_and_another_leads_without_a_tcp_timeout() {
    let site = Site::start().await;
    let mut url = url::Url::parse(&site.database_url).expect("database URL");
    let upstream = format!(
        "{}:{}",
        url.host_str()
            .expect("the test database is reached over TCP"),
        url.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(upstream).await;
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(proxy.port)).expect("port");
    let (a, b) = site.leader_and_follower(url.as_str()).await;

    let cut = Instant::now();
    proxy.freeze();
    let takeover = b.until_leading(true, Duration::from_secs(30)).await;
    println!("leader cut off: the follower led after {takeover:?}");
    // The server ends the silent lock session after 6 s; the follower retries every 2 s.
    assert!(
        takeover < Duration::from_secs(12),
        "takeover took {takeover:?}; log of b:\n{}",
        b.log()
    );
    // The old leader noticed on its own (its checks stopped answering) and stepped down
    // before the new one started to lead.
    a.until_leading(false, Duration::from_secs(10)).await;
    let stepped_down = a
        .logged_at("stopped answering")
        .unwrap_or_else(|| panic!("the cut-off leader never stepped down:\n{}", a.log()));
    let took_over = b
        .logged_at("status sync leading")
        .unwrap_or_else(|| panic!("no leading line:\n{}", b.log()));
    println!(
        "the cut-off leader stepped down {} ms before the follower led ({:?} after the cut)",
        (took_over - stepped_down).num_milliseconds(),
        cut.elapsed()
    );
    assert!(stepped_down < took_over, "two leaders at once");

    let api = site.admin(&b).await;
    api.post("/v1/tenants", json!({ "name": "acme" }))
        .await
        .expect(201);
    cluster_becomes_ready(&api, "acme", "orders").await;
}

#[tokio::test]
async fn replicas_starting_together_apply_the_migrations_once() {
    let database_url = pgplane_tests::postgres::fresh_database().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            Command::new(pgplane_binary())
                .arg("migrate")
                .env("DATABASE_URL", &database_url)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("pgplane migrate starts")
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().await.expect("pgplane migrate ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pool = sqlx::PgPool::connect(&database_url).await.expect("connect");
    let (rows, versions): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct version) from _sqlx_migrations where success",
    )
    .fetch_one(&pool)
    .await
    .expect("migrations table");
    let embedded = pgplane::store::MIGRATOR.iter().count() as i64;
    assert_eq!((rows, versions), (embedded, embedded));
}

#[tokio::test]
async fn a_rolling_restart_of_the_workers_loses_no_operation() {
    let mut world = World::start(&[]).await;
    world.app.start_background(World::platform(&world.kube));
    world.tenant("acme", 20).await;
    world.kube.faults().set_latency(Duration::from_millis(100));
    let mut operations = Vec::new();
    for i in 0..12 {
        let op = world
            .app
            .admin()
            .post(
                "/v1/tenants/acme/clusters",
                json!({ "name": format!("c{i}") }),
            )
            .await
            .expect(202)
            .json();
        operations.push(op["id"].as_str().unwrap().to_string());
        if i % 4 == 3 {
            // Replace one process at a time, as a Deployment rollout does (SIGTERM: stop
            // claiming, finish what is in flight).
            world.app.stop_oldest_background().await;
            world.app.start_background(World::platform(&world.kube));
        }
    }
    world.kube.faults().reset();
    for id in &operations {
        let done = world.finished(id, Duration::from_secs(60)).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    assert_eq!(world.postgresclusters().await.len(), 12);
}
