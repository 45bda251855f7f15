//! Provisioning benchmark (prints figures; never fails on time):
//! 1. latency from `POST /v1/tenants/{t}/clusters` to the PostgresCluster existing in the test
//!    Kubernetes API server (p50/p99 over sequential creates);
//! 2. wall time for 10,000 creates across 1,000 tenants to all be applied.
//!
//! Run: `cargo bench -p pgplane-tests --bench provisioning` (`BENCH_CLUSTERS`, `BENCH_TENANTS`
//! and `BENCH_LATENCY_SAMPLES` scale it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher;
use kube_test_apiserver::{ServerOptions, TestApiServer, postgrescluster_resource};
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};
use pgplane_tests::TestApp;
use serde_json::json;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Records when each PostgresCluster first appears, through a watch (no polling).
fn watch_arrivals(kube: &TestApiServer) -> Arrivals {
    let arrivals: Arrivals = Arc::default();
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
            let mut seen = sink.lock().unwrap();
            for o in objects {
                let key = format!(
                    "{}/{}",
                    o.metadata.namespace.unwrap_or_default(),
                    o.metadata.name.unwrap_or_default()
                );
                seen.entry(key).or_insert(now);
            }
        }
    });
    arrivals
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn wait_for(arrivals: &Arrivals, key: &str) -> Instant {
    loop {
        if let Some(at) = arrivals.lock().unwrap().get(key) {
            return *at;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[tokio::main]
async fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (latency_samples, tenants, total) = (
        env("BENCH_LATENCY_SAMPLES", 200),
        env("BENCH_TENANTS", 1000),
        env("BENCH_CLUSTERS", 10_000),
    );
    let kube = TestApiServer::start(ServerOptions::default())
        .await
        .unwrap();
    let platform = Arc::new(KubernetesPlatform::new(
        kube.client(),
        KubernetesOptions::default(),
    ));
    let app = TestApp::spawn_with_platform(
        platform,
        &[
            "--default-max-clusters",
            "100000",
            "--default-max-instances",
            "100000",
            "--default-max-cpu-millis",
            "100000000",
            "--default-max-memory-mib",
            "100000000",
            "--default-max-storage-gib",
            "100000000",
        ],
    )
    .await;
    let arrivals = watch_arrivals(&kube);
    let admin = app.admin();

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
        let at = wait_for(&arrivals, &format!("pgplane-latency/{name}")).await;
        latencies.push(at - sent);
    }
    latencies.sort();
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);

    // 2. throughput: `total` creates across `tenants` tenants
    for t in 0..tenants {
        admin
            .post("/v1/tenants", json!({"name": format!("t{t}")}))
            .await
            .expect(201);
    }
    let started = Instant::now();
    let per_tenant = total.div_ceil(tenants);
    let posts = futures::stream::iter(0..total)
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
        .collect::<Vec<_>>();
    posts.await;
    let accepted = started.elapsed();
    loop {
        let applied = arrivals
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("pgplane-t"))
            .count();
        if applied >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_applied = started.elapsed();
    println!(
        "provisioning benchmark (test API server, debug={})",
        cfg!(debug_assertions)
    );
    println!(
        "  create_to_applied_p50_ms   {:.2}",
        p50.as_secs_f64() * 1000.0
    );
    println!(
        "  create_to_applied_p99_ms   {:.2}",
        p99.as_secs_f64() * 1000.0
    );
    println!(
        "  creates_{total}_accepted_seconds  {:.2}",
        accepted.as_secs_f64()
    );
    println!(
        "  creates_{total}_applied_seconds   {:.2}  ({tenants} tenants, {per_tenant} clusters each)",
        all_applied.as_secs_f64()
    );
    app.stop().await;
}
