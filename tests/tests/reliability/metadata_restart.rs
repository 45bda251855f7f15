//! A metadata database restart in the middle of load: one `pgplane serve` (API, workers and
//! status sync) keeps running while its PostgreSQL is stopped and started again. Clients retry
//! what was refused (with the same Idempotency-Key); everything pgplane acknowledged with a
//! 202 must exist and complete afterwards, and the process must serve again without a restart.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pgplane::config::DatabaseConfig;
use pgplane::embedded_pg::{EmbeddedPostgres, free_port};
use pgplane_tests::client::Method;
use pgplane_tests::{PASSWORD, TestClient};
use serde_json::json;
use uuid::Uuid;

use crate::support::{Kube, assert_all_succeeded, outcomes, wait_until_all_ended};

const CREATES: usize = 200;
const RESTART_AT: usize = 40;

/// A dedicated PostgreSQL (the shared test server must not be restarted under other tests),
/// stopped when dropped.
struct Dedicated(EmbeddedPostgres);

impl Dedicated {
    fn start(dir: &std::path::Path) -> Dedicated {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let server = EmbeddedPostgres::new(dir.join("data"), free_port().unwrap())
            .expect("PostgreSQL server binaries (scripts/test installs them)");
        server.init().expect("initdb");
        server.start().expect("start PostgreSQL");
        Dedicated(server)
    }
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

/// Creates cluster `i`, retrying refusals and connection errors with the same Idempotency-Key
/// until pgplane acknowledges it; returns the operation id (none when an unanswered try had
/// created it) and how many tries were refused.
async fn create_until_acknowledged(
    client: &TestClient,
    i: usize,
    log: &Path,
) -> (Option<Uuid>, usize) {
    let key = format!("create-{i}");
    let started = Instant::now();
    let mut refused = 0;
    loop {
        let call = client
            .try_send(
                Method::POST,
                &format!("/v1/tenants/t{}/clusters", i % 4),
                Some(json!({"name": format!("c{i}"), "backups": {"enabled": false}})),
                &[("Idempotency-Key", &key)],
            )
            .await;
        match call {
            Ok(call) if call.status == 202 => {
                return (
                    Some(call.json()["id"].as_str().unwrap().parse::<Uuid>().unwrap()),
                    refused,
                );
            }
            // A first try whose commit went through but whose answer was lost: the retry
            // finds the name taken. Created, but never acknowledged.
            Ok(call)
                if call.status == 409
                    && call.json()["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("already exists")) =>
            {
                return (None, refused);
            }
            // While the database is away pgplane says so (503), or that the first try of this
            // key has not finished yet (409 with Retry-After): statuses clients retry.
            Ok(call) => assert!(
                call.status == 503 || (call.status == 409 && call.header("retry-after").is_some()),
                "a refusal other than unavailability: {} {}\n{}",
                call.status,
                String::from_utf8_lossy(&call.body),
                errors_in(log)
            ),
            Err(_) => {}
        }
        refused += 1;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "create {i} never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The error lines of the process log.
fn errors_in(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains("ERROR"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_database_restart_under_load_loses_nothing_acknowledged() {
    let pg_dir = tempfile::Builder::new()
        .prefix("pgplane-restart-")
        .tempdir()
        .unwrap();
    let dedicated = Dedicated::start(pg_dir.path());
    let postgres = dedicated.0.clone();
    let database_url = postgres.url("postgres");
    let kube = Kube::start(11).await;
    let log = kube.log("serve.log");
    let serve = kube
        .serve(
            &database_url,
            &log,
            &[
                // Claims of Idempotency-Keys left in flight by the outage are retaken after it.
                ("PGPLANE_REQUEST_TIMEOUT_SECONDS", "5"),
                ("PGPLANE_DEFAULT_MAX_CLUSTERS", "1000"),
                ("PGPLANE_DEFAULT_MAX_INSTANCES", "1000"),
                ("PGPLANE_DEFAULT_MAX_CPU_MILLIS", "10000000"),
                ("PGPLANE_DEFAULT_MAX_MEMORY_MIB", "10000000"),
                ("PGPLANE_DEFAULT_MAX_STORAGE_GIB", "10000000"),
            ],
        )
        .await;
    let database = DatabaseConfig {
        database_url: database_url.clone(),
        db_max_connections: 1,
    };
    let key = pgplane::cli::bootstrap_admin(&database, "admin@example.com", PASSWORD, "Admin")
        .await
        .unwrap();
    let admin = TestClient::new(&serve.base_url, Some(key));
    for t in 0..4 {
        admin
            .post("/v1/tenants", json!({"name": format!("t{t}")}))
            .await
            .expect(201);
    }

    // Four clients create concurrently, so some requests are in flight when the database
    // goes away; the restart comes once RESTART_AT creates were acknowledged.
    let done = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|k| {
            let (admin, done, log) = (admin.clone(), done.clone(), log.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                for i in (k..CREATES).step_by(4) {
                    out.push(create_until_acknowledged(&admin, i, &log).await);
                    done.fetch_add(1, Ordering::SeqCst);
                }
                out
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < RESTART_AT {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let restart = postgres.clone();
    tokio::task::spawn_blocking(move || {
        restart.stop().expect("stop PostgreSQL");
        std::thread::sleep(Duration::from_secs(2));
        restart.start().expect("start PostgreSQL again");
    })
    .await
    .unwrap();
    assert!(
        done.load(Ordering::SeqCst) < CREATES,
        "the restart happened while the load ran"
    );
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for client in clients {
        for (id, refusals) in client.await.unwrap() {
            acknowledged.extend(id);
            refused += refusals;
        }
    }
    println!("{refused} tries refused during the restart");

    let db = sqlx::PgPool::connect(&database_url).await.unwrap();
    wait_until_all_ended(&db, Duration::from_secs(120), &log).await;
    assert_all_succeeded(&outcomes(&db, &acknowledged).await);
    let mut applied = kube.postgresclusters().await;
    applied.sort();
    let mut expected: Vec<String> = (0..CREATES)
        .map(|i| format!("pgplane-t{}/c{i}", i % 4))
        .collect();
    expected.sort();
    assert_eq!(applied, expected);
    // The same process serves and is ready again.
    TestClient::new(&serve.base_url, None)
        .get("/readyz")
        .await
        .expect(200);
    admin.get("/v1/tenants/t0/clusters/c0").await.expect(200);
    drop(serve);
    db.close().await;
    drop(dedicated);
}
