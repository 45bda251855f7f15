//! Crash and fault convergence: 1,000 cluster creates while the `pgplane serve` processes that
//! run the workers and the status sync are killed with SIGKILL four times, and the test
//! Kubernetes API server injects faults into every request of theirs (never the simulated
//! operator's):
//!
//! - **a fifth of them are answered with an error**, chosen at random per request (lists,
//!   watches and discovery included), the kind rotating every 250 ms through 500
//!   InternalError, 503 ServiceUnavailable and 429 TooManyRequests (`Retry-After: 1`). kube's
//!   client retries 503 and 429 by itself (its default policy: backoff, `Retry-After`), so
//!   pgplane's code sees the 500s, about a third of the errors, as failed calls and the others
//!   as slow answers. The test measures the share from the server's request log and fails
//!   unless it is within a point of 20%. (With every error a 500, about one create in a
//!   thousand used to spend its retry budget while waiting for the operator and fail; applied
//!   operations now retry transient errors until their deadline.)
//! - On top of that fifth: the first two requests held 35 s, past the driver's 30 s request
//!   timeout; every 2 s, up to five writes within the next 250 ms answered 409 Conflict; every open watch dropped every 3 s and a
//!   watch expired (410) every 5 s.
//!
//! Every accepted create must end succeeded, having created exactly one PostgresCluster:
//! creations are counted in the request log (an apply or POST answered 201 Created), not
//! inferred from the names that exist at the end, and the live objects carry each accepted
//! create's cluster id exactly once. Nothing stuck, no job lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube_test_apiserver::{FaultKind, Faults, RequestRecord};
use pgplane_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    Kube, assert_all_succeeded, created_a_postgrescluster, outcomes, pgplane_creations,
    wait_until_all_ended,
};

const CREATES: usize = 1000;
const TENANTS: usize = 20;
const KILLS: usize = 4;
/// Share of pgplane's requests answered with an error, drawn at random per request.
const ERROR_RATE: f64 = 0.2;
/// The error answers, one per tick in turn.
fn error_kinds() -> [FaultKind; 3] {
    [
        FaultKind::InternalError,
        FaultKind::ServiceUnavailable,
        FaultKind::TooManyRequests {
            retry_after_seconds: 1,
        },
    ]
}
/// How far the measured share may be from [`ERROR_RATE`]. The draws come from a seeded
/// generator, so the share over a run's ten thousand or so draws hardly moves between runs
/// (one standard deviation of a fresh sample would be 0.4 points).
const RATE_TOLERANCE: f64 = 0.01;
/// One turn of the fault loop.
const TICK: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_creates_converge_through_kubernetes_faults_and_killed_worker_processes() {
    let started = Instant::now();
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
    let faulted = Instant::now();
    while !creates.is_finished() || kills < KILLS {
        inject(faults, tick);
        if tick % 16 == 15 && kills < KILLS {
            let victim = workers.remove(kills % workers.len());
            victim.kill();
            kills += 1;
            workers.push(kube.serve(&app.database_url, &log, &workers_env).await);
        }
        assert!(
            faulted.elapsed() < Duration::from_secs(300),
            "creates did not finish"
        );
        tick += 1;
        tokio::time::sleep(TICK).await;
    }
    let accepted = creates.await.expect("every create accepted");
    assert_eq!(accepted.len(), CREATES);
    println!(
        "{CREATES} creates accepted and {kills} worker processes killed in {:.1} s",
        faulted.elapsed().as_secs_f64()
    );

    // Faults stay on while the workers converge (leases of killed workers expire meanwhile).
    let keep_injecting = async {
        for tick in tick.. {
            inject(faults, tick);
            tokio::time::sleep(TICK).await;
        }
    };
    tokio::select! {
        () = wait_until_all_ended(&app.db, Duration::from_secs(300), &log) => {}
        () = keep_injecting => unreachable!("injects until every operation ended"),
    }
    println!(
        "every operation ended {:.1} s after the faults started",
        faulted.elapsed().as_secs_f64()
    );
    faults.reset();
    // An error answer is logged right after it is chosen; let the last ones land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let requests = kube.server.requests();
    assert_injected_error_rate(&requests, faults.injected_errors());
    assert_all_succeeded(&outcomes(&app.db, &accepted).await);
    print_durations(&app, &accepted).await;

    assert_one_creation_per_accepted_create(&kube, &requests).await;
    assert_one_live_postgrescluster_per_accepted_create(&kube, &app, &accepted).await;
    let not_ready: i64 = sqlx::query_scalar("select count(*) from clusters where phase <> 'ready'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(not_ready, 0, "every cluster reached ready");
    drop(workers);
    println!(
        "convergence test took {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// The faults of tick number `tick`: the kind of error drawn at [`ERROR_RATE`] (in turn), and
/// every few ticks conflicts and watch faults.
fn inject(faults: &Faults, tick: usize) {
    faults.set_error_rate(ERROR_RATE, error_kinds()[tick % 3].clone());
    // Conflicts are pending for one tick only: left pending, they would fail every write of
    // the last operation still retrying once everyone else is done, forever (a real API
    // server answers 409 to a write that raced another, not to a lone writer).
    match tick % 8 {
        3 => faults.conflict_next_writes(5),
        4 => faults.conflict_next_writes(0),
        _ => {}
    }
    if tick % 12 == 5 {
        faults.drop_watches();
    }
    if tick % 20 == 7 {
        faults.expire_next_watch();
    }
}

/// How long the operations took from accepted to succeeded, and how many claims they needed.
async fn print_durations(app: &TestApp, accepted: &[Uuid]) {
    let (p50, p90, p99, max, attempts, most_attempts): (f64, f64, f64, f64, i64, i32) =
        sqlx::query_as(
            "select percentile_disc(0.5) within group (order by took),
                    percentile_disc(0.9) within group (order by took),
                    percentile_disc(0.99) within group (order by took),
                    max(took), sum(attempt)::int8, max(attempt)
             from (select extract(epoch from finished_at - created_at)::float8 as took, attempt
                   from operations where id = any($1)) accepted",
        )
        .bind(accepted)
        .fetch_one(&app.db)
        .await
        .expect("operation durations");
    println!(
        "operations took {p50:.1} s (median), {p90:.1} s (p90), {p99:.1} s (p99), {max:.1} s (max); \
         {attempts} claims in all, at most {most_attempts} for one"
    );
}

/// The share of pgplane's requests answered with an injected error is [`ERROR_RATE`] (within
/// [`RATE_TOLERANCE`]), and every error answer pgplane got was an injected one.
fn assert_injected_error_rate(requests: &[RequestRecord], injected: u64) {
    let pgplane: Vec<&RequestRecord> = requests.iter().filter(|r| !r.is_from_operator()).collect();
    let answered = |code: u16| pgplane.iter().filter(|r| r.code == code).count();
    let (internal, unavailable, throttled) = (answered(500), answered(503), answered(429));
    let errors = internal + unavailable + throttled;
    assert_eq!(
        errors as u64, injected,
        "the 500, 503 and 429 answers pgplane got are exactly the injected ones"
    );
    let share = |n: usize| n as f64 / pgplane.len() as f64;
    println!(
        "pgplane made {} requests, {errors} ({:.2}%) answered with an injected error: \
         {internal} 500s ({:.2}%, seen by pgplane's code), {unavailable} 503s and {throttled} \
         429s (retried by kube's client)",
        pgplane.len(),
        share(errors) * 100.0,
        share(internal) * 100.0,
    );
    assert!(
        (share(errors) - ERROR_RATE).abs() <= RATE_TOLERANCE,
        "injected error rate {:.2}% is not the {:.0}% claimed",
        share(errors) * 100.0,
        ERROR_RATE * 100.0
    );
}

/// Counted in the request log: pgplane created each accepted create's PostgresCluster exactly
/// once and nothing else; and the log holds the creation of every live PostgresCluster (so the
/// count covers every creation there was).
async fn assert_one_creation_per_accepted_create(kube: &Kube, requests: &[RequestRecord]) {
    let created = pgplane_creations(requests);
    let expected: Vec<String> = (0..CREATES)
        .map(|i| format!("pgplane-t{}/c{i}", i % TENANTS))
        .collect();
    let never: Vec<&String> = expected
        .iter()
        .filter(|k| !created.contains_key(*k))
        .collect();
    let twice: Vec<(&String, &usize)> = created.iter().filter(|(_, n)| **n > 1).collect();
    let unasked: Vec<&String> = created.keys().filter(|k| !expected.contains(*k)).collect();
    println!(
        "pgplane created {} PostgresClusters for {CREATES} accepted creates",
        created.values().sum::<usize>()
    );
    assert!(
        never.is_empty() && twice.is_empty() && unasked.is_empty(),
        "exactly one PostgresCluster created per accepted create: {} never created (e.g. {:?}), \
         {} created more than once (e.g. {:?}), {} created unasked (e.g. {:?})",
        never.len(),
        &never[..never.len().min(5)],
        twice.len(),
        &twice[..twice.len().min(5)],
        unasked.len(),
        &unasked[..unasked.len().min(5)]
    );
    let live = kube.postgresclusters().await;
    let logged = requests
        .iter()
        .filter(|r| created_a_postgrescluster(r))
        .count();
    let unlogged: Vec<&String> = live.iter().filter(|n| !created.contains_key(*n)).collect();
    assert!(
        logged == live.len() && unlogged.is_empty(),
        "the request log records {logged} creations for {} live PostgresClusters; \
         without a logged creation: {unlogged:?}",
        live.len()
    );
}

/// Each accepted create's cluster id (from the metadata database) labels exactly one live
/// PostgresCluster, and no other PostgresCluster exists.
async fn assert_one_live_postgrescluster_per_accepted_create(
    kube: &Kube,
    app: &TestApp,
    accepted: &[Uuid],
) {
    let ids: Vec<Uuid> = sqlx::query_scalar("select cluster_id from operations where id = any($1)")
        .bind(accepted)
        .fetch_all(&app.db)
        .await
        .expect("cluster ids of the accepted creates");
    assert_eq!(ids.len(), accepted.len());
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    for id in kube.postgrescluster_ids().await {
        *live.entry(id).or_insert(0) += 1;
    }
    let wrong: Vec<(Uuid, usize)> = ids
        .iter()
        .map(|id| (*id, live.get(&id.to_string()).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(
        wrong.is_empty(),
        "{} accepted creates without exactly one PostgresCluster labelled with their cluster id, \
         e.g. (id, objects) {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(
        live.values().sum::<usize>(),
        ids.len(),
        "no PostgresCluster besides those of the accepted creates"
    );
}
