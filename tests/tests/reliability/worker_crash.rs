//! A worker process killed mid-job: a `pgplane serve` process claims a create and is killed
//! with SIGKILL while the job is `running` and talking to Kubernetes (the test API server holds
//! each of its requests for [`LATENCY`], so the job is caught between requests). Nothing tells
//! the dead worker's lease from a live one's until it expires (30 s, the `serve` default); then
//! a second process takes the job over and finishes it. Exactly one PostgresCluster is created,
//! counted in the API server's request log.

use std::time::{Duration, Instant};

use pgplane_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Kube, created_a_postgrescluster, pgplane_creations};

/// Added to each of pgplane's requests, so that a job spends seconds talking to Kubernetes.
const LATENCY: Duration = Duration::from_millis(300);
/// How long after the kill the job must have ended: the lease a `pgplane serve` takes on a job
/// (30 s, its default), then a recheck interval (30 s) should the status sync's nudge be missed,
/// and some room.
const TAKEOVER_LIMIT: Duration = Duration::from_secs(90);

/// `(state, step, attempt, lease_owner, lease expired)` of operation `id`.
async fn claim_of(app: &TestApp, id: Uuid) -> (String, String, i32, String, bool) {
    sqlx::query_as(
        "select state, step, attempt, coalesce(lease_owner, ''),
                coalesce(lease_expires_at < now(), true)
         from operations where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .expect("the operation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_killed_mid_job_is_taken_over_and_exactly_one_postgrescluster_results() {
    let started = Instant::now();
    let kube = Kube::start(17).await;
    // The API in-process, without workers: only the `serve` processes below run jobs.
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let first = kube
        .serve(&app.database_url, &kube.log("first.log"), &[])
        .await;
    kube.server.faults().set_latency(LATENCY);
    let op = app
        .admin()
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "backups": {"enabled": false}}),
        )
        .await
        .expect(202)
        .json();
    let id: Uuid = op["id"].as_str().unwrap().parse().unwrap();

    // Claimed by the first process (its worker ids start with its pid), which has had at least
    // one answer from Kubernetes for the job (the tenant's namespace comes first) and is
    // waiting for the next.
    let first_owner = format!("{}-", first.pid());
    let mut claimed_at = None;
    loop {
        let (state, step, _, owner, _) = claim_of(&app, id).await;
        if state == "running" && step == "applying" && owner.starts_with(&first_owner) {
            claimed_at.get_or_insert_with(Instant::now);
            let talking = kube.server.requests().iter().any(|r| {
                !r.is_from_operator()
                    && (r.namespace.as_deref() == Some("pgplane-acme")
                        || r.name.as_deref() == Some("pgplane-acme"))
            });
            if talking {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first process never got to work on the job: {state}/{step} owned by {owner:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let killed = Instant::now();
    let (state, step, attempt, owner, expired) = claim_of(&app, id).await;
    assert!(
        state == "running" && step == "applying" && attempt == 1,
        "killed mid-job, still claimed: {state}/{step}, attempt {attempt}"
    );
    assert!(
        owner.starts_with(&first_owner) && !expired,
        "the dead process still holds the lease: {owner:?}"
    );
    println!(
        "worker process {} killed {} ms after it claimed the job",
        first_owner.trim_end_matches('-'),
        claimed_at.unwrap().elapsed().as_millis()
    );

    let second = kube
        .serve(&app.database_url, &kube.log("second.log"), &[])
        .await;
    let second_owner = format!("{}-", second.pid());
    let mut taken_over = None;
    let done = loop {
        let (state, _, attempt, owner, _) = claim_of(&app, id).await;
        if owner.starts_with(&second_owner) {
            taken_over.get_or_insert(killed.elapsed());
        }
        if ["succeeded", "failed", "cancelled"].contains(&state.as_str()) {
            break app
                .admin()
                .get(&format!("/v1/operations/{id}"))
                .await
                .expect(200)
                .json();
        }
        if killed.elapsed() > TAKEOVER_LIMIT {
            let op = app
                .admin()
                .get(&format!("/v1/operations/{id}"))
                .await
                .json();
            let log = std::fs::read_to_string(kube.log("second.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "the job was not finished after the kill: {state}, attempt {attempt}, owner \
                 {owner:?}: {op}\nthe second process's log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(
        done["attempts"].as_i64().unwrap() >= 2,
        "the job was taken over: {done}"
    );
    let taken_over = taken_over.expect("the second process claimed the job");
    println!(
        "taken over by process {} {:.1} s after the kill, succeeded after {:.1} s",
        second.pid(),
        taken_over.as_secs_f64(),
        killed.elapsed().as_secs_f64()
    );

    let requests = kube.server.requests();
    let created = pgplane_creations(&requests);
    assert_eq!(
        created.values().collect::<Vec<_>>(),
        [&1],
        "exactly one PostgresCluster created: {created:?}"
    );
    let live = kube.postgresclusters().await;
    assert_eq!(
        live,
        created.keys().cloned().collect::<Vec<_>>(),
        "the created PostgresCluster is the only one"
    );
    let logged = requests
        .iter()
        .filter(|r| created_a_postgrescluster(r))
        .count();
    assert_eq!(logged, 1, "no one else created a PostgresCluster");
    let cluster_id: Uuid = sqlx::query_scalar("select cluster_id from operations where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kube.postgrescluster_ids().await, [cluster_id.to_string()]);
    drop(second);
    println!(
        "worker crash test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
