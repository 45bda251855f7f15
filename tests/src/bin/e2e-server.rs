//! `e2e-server`: a real pgplane for the portal's browser tests (web-client/e2e). It starts the
//! harness PostgreSQL, the in-process Kubernetes API server with the simulated PGO operator,
//! and pgplane with its workers and status sync on the Kubernetes platform, serving the built
//! portal. It seeds a tenant with an owner, a viewer and one ready cluster, prints one JSON line
//! (URL and credentials), and runs until SIGINT/SIGTERM or until its stdin closes (so the test
//! runner dying never leaves it behind).
//!
//! Usage: `e2e-server [PORTAL_DIR]` (default `web-client/dist`). With
//! `PGPLANE_DR_NAMESPACE_PREFIX` set, standbys go to a recovery site, as with `pgplane serve`;
//! `E2E_SERVE_ARGS` (a JSON list) adds `pgplane serve` flags.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kube_test_apiserver::operator::{OperatorOptions, Scenario, SimulatedOperator};
use kube_test_apiserver::{ServerOptions, TestApiServer};
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform, RecoverySite};
use pgplane_tests::TestApp;
use pgplane_tests::app::{ADMIN_EMAIL, PASSWORD};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

const TENANT: &str = "acme";
const OWNER: &str = "owner@acme.example.com";
const VIEWER: &str = "viewer@acme.example.com";
/// A cluster that exists before the tests start, for screens that need one.
const SEEDED_CLUSTER: &str = "inventory";
/// How long the simulated operator takes to roll out each change: long enough for the portal
/// to show progress, short enough to keep the browser tests quick.
const ROLLOUT: Duration = Duration::from_millis(1500);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let portal_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "web-client/dist".into());
    let portal_dir = std::fs::canonicalize(&portal_dir)
        .with_context(|| format!("portal directory {portal_dir} (run `npm run build`)"))?;
    let kube = TestApiServer::start(ServerOptions::default())
        .await
        .context("test Kubernetes API server")?;
    let operator = SimulatedOperator::start(
        &kube,
        OperatorOptions::with_scenario(Scenario::slow(ROLLOUT)),
    );
    // Like `pgplane serve`, a recovery site in the same cluster when the variable is set.
    let recovery = std::env::var("PGPLANE_DR_NAMESPACE_PREFIX")
        .ok()
        .map(|namespace_prefix| RecoverySite {
            namespace_prefix,
            remote: None,
        });
    let options = KubernetesOptions {
        recovery,
        // The simulated operator's Patroni loop (`Scenario::healthy`), not PGO's 10 s.
        patroni_loop_wait: std::time::Duration::from_millis(20),
        ..KubernetesOptions::default()
    };
    let platform = Arc::new(KubernetesPlatform::new(kube.client(), options));
    let portal_arg = portal_dir.to_string_lossy().into_owned();
    // More `pgplane serve` flags from the test (e.g. an identity provider), as a JSON list.
    let extra: Vec<String> = match std::env::var("E2E_SERVE_ARGS") {
        Ok(json) => {
            serde_json::from_str(&json).context("E2E_SERVE_ARGS: a JSON list of strings")?
        }
        Err(_) => Vec::new(),
    };
    let mut args = vec!["--portal-dir", portal_arg.as_str()];
    args.extend(extra.iter().map(String::as_str));
    let app = TestApp::spawn_with_platform(platform, &args).await;
    seed(&app).await?;
    println!(
        "{}",
        json!({
            "url": app.base_url,
            "tenant": TENANT,
            "cluster": SEEDED_CLUSTER,
            "admin": {"email": ADMIN_EMAIL, "password": PASSWORD},
            "admin_key": app.admin_key,
            "owner": {"email": OWNER, "password": PASSWORD},
            "viewer": {"email": VIEWER, "password": PASSWORD},
        })
    );
    wait_for_stop().await;
    app.stop().await;
    drop(operator);
    Ok(())
}

/// The tenant (with a quota small enough that usage bars show something), its people, and one
/// ready cluster.
async fn seed(app: &TestApp) -> anyhow::Result<()> {
    let admin = app.admin();
    admin
        .post(
            "/v1/tenants",
            json!({"name": TENANT, "display_name": "Acme Inc."}),
        )
        .await
        .expect(201);
    let quota = json!({"max_clusters": 10, "max_instances": 20, "max_cpu_millis": 16000, "max_memory_mib": 65536, "max_storage_gib": 1000});
    admin
        .put(&format!("/v1/tenants/{TENANT}/quota"), quota)
        .await
        .expect(200);
    for (email, role, name) in [
        (OWNER, "owner", "Olivia Owner"),
        (VIEWER, "viewer", "Victor Viewer"),
    ] {
        admin
            .post(
                "/v1/users",
                json!({"email": email, "password": PASSWORD, "name": name}),
            )
            .await
            .expect(201);
        admin
            .put(
                &format!("/v1/tenants/{TENANT}/members/{email}"),
                json!({"role": role}),
            )
            .await
            .expect(201);
    }
    let op = admin
        .post(
            &format!("/v1/tenants/{TENANT}/clusters"),
            json!({"name": SEEDED_CLUSTER, "instances": 2, "resources": {"cpu": "1", "memory": "2Gi"}}),
        )
        .await
        .expect(202)
        .json();
    let id = op["id"].as_str().context("operation id")?.to_string();
    let started = Instant::now();
    loop {
        let op = admin
            .get(&format!("/v1/operations/{id}"))
            .await
            .expect(200)
            .json();
        match op["state"].as_str() {
            Some("succeeded") => return Ok(()),
            Some("failed" | "cancelled") => anyhow::bail!("seeding {SEEDED_CLUSTER}: {op}"),
            _ if started.elapsed() > Duration::from_secs(60) => {
                anyhow::bail!("seeding {SEEDED_CLUSTER} took over a minute: {op}")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn wait_for_stop() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let stdin_closed = async {
        // Reads until EOF: the runner holds the pipe open while it needs the server.
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = stdin_closed => {}
    }
}
