//! Crash and fault convergence: 1,000 cluster creates while the test Kubernetes API server fails
//! a fifth of pgplane's calls (500, 503, 429, slow answers, a few timeouts, conflicts, dropped
//! and expired watches) and worker processes are killed with SIGKILL several times. Every
//! accepted create must end succeeded, with exactly one PostgresCluster each; nothing stuck,
//! no job lost.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube_test_apiserver::FaultKind;
use pgplane_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Kube, assert_all_succeeded, outcomes, wait_until_all_ended};

const CREATES: usize = 1000;
const TENANTS: usize = 20;
const KILLS: usize = 4;

/// The fault mix, rotated every tick at a 20% rate.
fn fault_kinds() -> [FaultKind; 4] {
    [
        FaultKind::InternalError,
        FaultKind::ServiceUnavailable,
        FaultKind::TooManyRequests {
            retry_after_seconds: 1,
        },
        FaultKind::Delay(Duration::from_millis(300)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_creates_converge_through_kubernetes_faults_and_killed_worker_processes() {
    let kube = Kube::start(9).await;
    // The API (in-process, never killed) accepts the creates; the workers and the status sync
    // run in separate `pgplane serve` processes, which are the ones killed.
    let app = TestApp::spawn_with(&[
        "--default-max-clusters",
        "1000",
        "--default-max-instances",
        "1000",
        "--default-max-cpu-millis",
        "10000000",
        "--default-max-memory-mib",
        "10000000",
        "--default-max-storage-gib",
        "10000000",
    ])
    .await;
    let workers_env = [("PGPLANE_WORKER_CONCURRENCY", "16")];
    let log = kube.log("workers.log");
    let mut workers = vec![
        kube.serve(&app.database_url, &log, &workers_env).await,
        kube.serve(&app.database_url, &log, &workers_env).await,
    ];
    for t in 0..TENANTS {
        app.create_tenant(&format!("t{t}")).await;
    }

    let admin = app.admin();
    let creates = tokio::spawn(async move {
        futures::stream::iter(0..CREATES)
            .map(|i| {
                let admin = admin.clone();
                async move {
                    let op = admin
                        .post(
                            &format!("/v1/tenants/t{}/clusters", i % TENANTS),
                            json!({"name": format!("c{i}"), "backups": {"enabled": false}}),
                        )
                        .await
                        .expect(202)
                        .json();
                    op["id"].as_str().unwrap().parse::<Uuid>().unwrap()
                }
            })
            .buffered(8)
            .collect::<Vec<_>>()
            .await
    });

    let faults = kube.server.faults();
    // Two calls that outlive the driver's 30 s request timeout.
    faults.fail_next(2, FaultKind::Delay(Duration::from_secs(35)));
    let (mut tick, mut kills) = (0usize, 0usize);
    let started = Instant::now();
    while !creates.is_finished() || kills < KILLS {
        faults.set_error_rate(0.2, fault_kinds()[tick % 4].clone());
        if tick % 8 == 3 {
            faults.conflict_next_writes(5);
        }
        if tick % 12 == 5 {
            faults.drop_watches();
        }
        if tick % 20 == 7 {
            faults.expire_next_watch();
        }
        if tick % 16 == 15 && kills < KILLS {
            let victim = workers.remove(kills % workers.len());
            victim.kill();
            kills += 1;
            workers.push(kube.serve(&app.database_url, &log, &workers_env).await);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "creates did not finish"
        );
        tick += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let accepted = creates.await.expect("every create accepted");
    assert_eq!(accepted.len(), CREATES);
    println!(
        "{CREATES} creates accepted and {kills} worker processes killed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Faults stay on while the workers converge (leases of killed workers expire meanwhile).
    wait_until_all_ended(&app.db, Duration::from_secs(300), &log).await;
    println!(
        "every operation ended after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    faults.reset();
    assert_all_succeeded(&outcomes(&app.db, &accepted).await);

    let mut applied = kube.postgresclusters().await;
    applied.sort();
    let mut expected: Vec<String> = (0..CREATES)
        .map(|i| format!("pgplane-t{}/c{i}", i % TENANTS))
        .collect();
    expected.sort();
    assert_eq!(
        applied, expected,
        "exactly one PostgresCluster per accepted create"
    );
    let not_ready: i64 = sqlx::query_scalar("select count(*) from clusters where phase <> 'ready'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(not_ready, 0, "every cluster reached ready");
    drop(workers);
}
