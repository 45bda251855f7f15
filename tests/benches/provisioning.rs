//! Provisioning benchmark (prints figures; never fails on time), against a release
//! `pgplane serve` process with `PGPLANE_PLATFORM=kubernetes` pointed through a kubeconfig at
//! the test Kubernetes API server:
//! 1. RSS of the idle process;
//! 2. latency from `POST /v1/tenants/{t}/clusters` to the PostgresCluster existing in the test
//!    API server (p50/p99 over sequential creates, seen through a watch);
//! 3. wall time for 10,000 creates across 1,000 tenants to all be applied;
//! 4. RSS while the status sync watches the 10,000 clusters, once the simulated operator has
//!    given them status, Services and Secrets.
//!
//! Run through `scripts/bench` (`BENCH_CLUSTERS`, `BENCH_TENANTS`, `BENCH_LATENCY_SAMPLES`
//! scale it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher;
use kube_test_apiserver::operator::{OperatorOptions, Scenario, SimulatedOperator};
use kube_test_apiserver::{ServerOptions, TestApiServer, postgrescluster_resource};
use pgplane::config::DatabaseConfig;
use pgplane_tests::bench::{self, env_usize, round2};
use pgplane_tests::process::ServeProcess;
use pgplane_tests::{PASSWORD, TestClient};
use serde_json::json;
use tokio::sync::Notify;

#[derive(Default)]
struct Arrivals {
    seen: Mutex<HashMap<String, Instant>>,
    changed: Notify,
}

/// Records when each PostgresCluster first appears, through a watch (no polling).
fn watch_arrivals(kube: &TestApiServer) -> Arc<Arrivals> {
    let arrivals: Arc<Arrivals> = Arc::default();
    let api: Api<DynamicObject> = Api::all_with(kube.client(), &postgrescluster_resource());
    let sink = arrivals.clone();
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
        while let Some(Ok(event)) = stream.next().await {
            let objects = match event {
                watcher::Event::Apply(o) | watcher::Event::InitApply(o) => vec![o],
                _ => vec![],
            };
            let now = Instant::now();
            let mut seen = sink.seen.lock().unwrap();
            for o in objects {
                let key = format!(
                    "{}/{}",
                    o.metadata.namespace.unwrap_or_default(),
                    o.metadata.name.unwrap_or_default()
                );
                seen.entry(key).or_insert(now);
            }
            drop(seen);
            sink.changed.notify_waiters();
        }
    });
    arrivals
}

impl Arrivals {
    async fn wait_until(&self, done: impl Fn(&HashMap<String, Instant>) -> bool) {
        loop {
            let changed = self.changed.notified();
            if done(&self.seen.lock().unwrap()) {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), changed).await;
        }
    }

    async fn arrival(&self, key: &str) -> Instant {
        self.wait_until(|seen| seen.contains_key(key)).await;
        self.seen.lock().unwrap()[key]
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let (latency_samples, tenants, total) = (
        env_usize("BENCH_LATENCY_SAMPLES", 200),
        env_usize("BENCH_TENANTS", 1000),
        env_usize("BENCH_CLUSTERS", 10_000),
    );
    let kube = TestApiServer::start(ServerOptions::default())
        .await
        .unwrap();
    let out = bench::out_dir();
    let kubeconfig = out.join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig).unwrap();
    let database_url = pgplane_tests::postgres::fresh_database().await;
    let log = out.join("provisioning-serve.log");
    let _ = std::fs::remove_file(&log);
    let serve = ServeProcess::start(
        &database_url,
        &[
            ("PGPLANE_PLATFORM", "kubernetes"),
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
            ("PGPLANE_DEFAULT_MAX_CLUSTERS", "100000"),
            ("PGPLANE_DEFAULT_MAX_INSTANCES", "100000"),
            ("PGPLANE_DEFAULT_MAX_CPU_MILLIS", "100000000"),
            ("PGPLANE_DEFAULT_MAX_MEMORY_MIB", "100000000"),
            ("PGPLANE_DEFAULT_MAX_STORAGE_GIB", "100000000"),
        ],
        &log,
    )
    .await;
    let database = DatabaseConfig {
        database_url: database_url.clone(),
        db_max_connections: 2,
    };
    let admin_key =
        pgplane::cli::bootstrap_admin(&database, "admin@bench.local", PASSWORD, "Admin")
            .await
            .unwrap();
    let admin = TestClient::new(&serve.base_url, Some(admin_key));
    admin.get("/v1/me").await.expect(200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = serve.rss_mib();
    let arrivals = watch_arrivals(&kube);

    // 1. latency, sequential creates in one tenant
    admin
        .post("/v1/tenants", json!({"name": "latency"}))
        .await
        .expect(201);
    let mut latencies = Vec::new();
    for i in 0..latency_samples {
        let name = format!("l{i}");
        let sent = Instant::now();
        admin
            .post(
                "/v1/tenants/latency/clusters",
                json!({"name": name, "backups": {"enabled": false}}),
            )
            .await
            .expect(202);
        let at = arrivals.arrival(&format!("pgplane-latency/{name}")).await;
        latencies.push(at - sent);
    }
    latencies.sort();

    // 2. throughput: `total` creates across `tenants` tenants
    futures::stream::iter(0..tenants)
        .map(|t| {
            let admin = admin.clone();
            async move {
                admin
                    .post("/v1/tenants", json!({"name": format!("t{t}")}))
                    .await
                    .expect(201);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let started = Instant::now();
    futures::stream::iter(0..total)
        .map(|i| {
            let admin = admin.clone();
            async move {
                let tenant = format!("t{}", i % tenants);
                admin
                    .post(
                        &format!("/v1/tenants/{tenant}/clusters"),
                        json!({"name": format!("c{}", i / tenants), "backups": {"enabled": false}}),
                    )
                    .await
                    .expect(202);
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let accepted = started.elapsed();
    arrivals
        .wait_until(|seen| seen.keys().filter(|k| k.starts_with("pgplane-t")).count() >= total)
        .await;
    let all_applied = started.elapsed();

    // 3. memory while watching every cluster, with what the operator adds to each
    let operator = SimulatedOperator::start(
        &kube,
        // Ready on its first reconcile of each cluster (one per watch event, no resync pass).
        OperatorOptions {
            scenario: Scenario::slow(Duration::ZERO),
            resync: Duration::from_secs(3600),
            clusterset: None,
        },
    );
    let db = sqlx::PgPool::connect(&database_url).await.unwrap();
    let settle = Instant::now();
    let mut ready = 0;
    while settle.elapsed() < Duration::from_secs(env_usize("BENCH_SETTLE_SECONDS", 300) as u64) {
        ready = sqlx::query_scalar::<_, i64>("select count(*) from clusters where phase = 'ready'")
            .fetch_one(&db)
            .await
            .unwrap();
        if ready as usize >= total + latency_samples {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let rss_watching = serve.rss_mib();
    println!(
        "  ({ready} clusters ready after {:.1} s of the simulated operator)",
        settle.elapsed().as_secs_f64()
    );
    bench::record(
        &format!(
            "provisioning (release pgplane serve, test API server, {tenants} tenants, {} clusters each)",
            total.div_ceil(tenants)
        ),
        &[
            ("rss_idle_mb", round2(rss_idle)),
            (
                "create_to_applied_p50_ms",
                round2(ms(percentile(&latencies, 0.5))),
            ),
            (
                "create_to_applied_p99_ms",
                round2(ms(percentile(&latencies, 0.99))),
            ),
            (
                "creates_10k_accepted_seconds",
                round2(accepted.as_secs_f64()),
            ),
            ("creates_10k_seconds", round2(all_applied.as_secs_f64())),
            ("creates_10k_count", json!(total)),
            ("rss_watch_10k_mb", round2(rss_watching)),
            ("rss_watch_10k_ready_clusters", json!(ready)),
        ],
    );
    operator.shutdown().await;
    drop(serve);
}
