//! What the reliability tests share: a test Kubernetes API server with the simulated operator,
//! real `pgplane serve` processes pointed at it through a kubeconfig, what its request log says
//! pgplane created, and queries over the metadata database that say whether everything ended.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, ListParams};
use kube_test_apiserver::operator::{OperatorOptions, Scenario, SimulatedOperator};
use kube_test_apiserver::{
    RequestRecord, ServerOptions, TestApiServer, Verb, postgrescluster_resource,
};
use pgplane_tests::process::ServeProcess;
use sqlx::PgPool;

/// The test API server, its simulated operator and a kubeconfig pointing at it.
pub struct Kube {
    pub server: TestApiServer,
    /// Kept running for as long as the server is.
    _operator: SimulatedOperator,
    pub dir: tempfile::TempDir,
}

impl Kube {
    pub async fn start(seed: u64) -> Kube {
        let server = TestApiServer::start(ServerOptions::default().with_fault_seed(seed))
            .await
            .expect("test API server");
        // Ready on the first reconcile, which a watch event triggers; the periodic resync of
        // every cluster is only a safety net here (it costs a pass over a thousand clusters).
        let operator = SimulatedOperator::start(
            &server,
            OperatorOptions {
                scenario: Scenario::slow(Duration::ZERO),
                resync: Duration::from_secs(3),
                clusterset: None,
            },
        );
        let dir = tempfile::tempdir().expect("temp dir");
        server
            .write_kubeconfig(dir.path().join("kubeconfig"))
            .expect("kubeconfig");
        Kube {
            server,
            _operator: operator,
            dir,
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A log file in the temporary directory.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts a `pgplane serve` on `database_url` whose workers and sync run on this server.
    pub async fn serve(
        &self,
        database_url: &str,
        log: &Path,
        extra: &[(&str, &str)],
    ) -> ServeProcess {
        let kubeconfig = self.kubeconfig();
        let mut env = vec![
            ("PGPLANE_PLATFORM", "kubernetes"),
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
        ];
        env.extend_from_slice(extra);
        ServeProcess::start(database_url, &env, log).await
    }

    /// `namespace/name` of every PostgresCluster.
    pub async fn postgresclusters(&self) -> Vec<String> {
        let api: Api<DynamicObject> =
            Api::all_with(self.server.client(), &postgrescluster_resource());
        api.list(&ListParams::default())
            .await
            .expect("list PostgresClusters")
            .items
            .into_iter()
            .map(|c| {
                format!(
                    "{}/{}",
                    c.metadata.namespace.unwrap_or_default(),
                    c.metadata.name.unwrap_or_default()
                )
            })
            .collect()
    }

    /// The `pgplane.io/cluster-id` label of every PostgresCluster (empty when missing).
    pub async fn postgrescluster_ids(&self) -> Vec<String> {
        let api: Api<DynamicObject> =
            Api::all_with(self.server.client(), &postgrescluster_resource());
        api.list(&ListParams::default())
            .await
            .expect("list PostgresClusters")
            .items
            .into_iter()
            .map(|c| {
                c.metadata
                    .labels
                    .unwrap_or_default()
                    .remove(pgplane::platform::kubernetes::labels::CLUSTER_ID)
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Whether `request` created a PostgresCluster: a POST, or a server-side apply (a PATCH),
/// answered 201 Created. An apply to an existing object is answered 200, so re-applies and
/// retries of an apply whose answer was lost do not count.
pub fn created_a_postgrescluster(request: &RequestRecord) -> bool {
    request.resource == "postgresclusters"
        && request.subresource.is_none()
        && matches!(request.verb, Verb::Create | Verb::Patch)
        && request.code == 201
}

/// How many times each `namespace/name` was created as a PostgresCluster by pgplane (every
/// client but the simulated operator), from the request log.
pub fn pgplane_creations(requests: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut created = BTreeMap::new();
    for r in requests
        .iter()
        .filter(|r| !r.is_from_operator() && created_a_postgrescluster(r))
    {
        let key = format!(
            "{}/{}",
            r.namespace.as_deref().unwrap_or_default(),
            r.name.as_deref().unwrap_or_default()
        );
        *created.entry(key).or_insert(0) += 1;
    }
    created
}

/// Waits until no operation is pending or running, or panics after `limit` with what is left
/// (and the tail of `log`, the log of the processes that run the workers). Says every
/// [`PROGRESS_EVERY`] what the active operations wait for.
pub async fn wait_until_all_ended(db: &PgPool, limit: Duration, log: &Path) {
    let started = Instant::now();
    let mut progress_at = started + PROGRESS_EVERY;
    loop {
        let active: i64 = sqlx::query_scalar(
            "select count(*) from operations where state in ('pending', 'running')",
        )
        .fetch_one(db)
        .await
        .unwrap_or(i64::MAX);
        if active == 0 {
            return;
        }
        if Instant::now() >= progress_at {
            progress_at += PROGRESS_EVERY;
            print_progress(db, started.elapsed()).await;
        }
        if started.elapsed() > limit {
            let stuck: Vec<serde_json::Value> = sqlx::query_scalar(
                "select json_build_object('cluster', cluster_name, 'state', state, 'step', step,
                        'waiting_for', waiting_for, 'error', error)
                 from operations where state in ('pending', 'running') limit 10",
            )
            .fetch_all(db)
            .await
            .unwrap_or_default();
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            let _ = std::fs::write(
                std::env::temp_dir().join("pgplane-reliability-failure.log"),
                &text,
            );
            panic!(
                "{active} operations still active after {limit:?}, e.g. {stuck:#?}\nlog tail (whole log in {}):\n{tail}",
                std::env::temp_dir()
                    .join("pgplane-reliability-failure.log")
                    .display()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How often [`wait_until_all_ended`] reports.
const PROGRESS_EVERY: Duration = Duration::from_secs(20);

/// The active operations by step and what they wait for (numbers masked, so that one line
/// covers every cluster).
async fn print_progress(db: &PgPool, elapsed: Duration) {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "select step, regexp_replace(coalesce(waiting_for, error, ''), '[0-9]+', 'N', 'g') as why,
                count(*)
         from operations where state in ('pending', 'running')
         group by 1, 2 order by 3 desc limit 4",
    )
    .fetch_all(db)
    .await
    .unwrap_or_default();
    let active: i64 = rows.iter().map(|r| r.2).sum();
    let what: Vec<String> = rows
        .into_iter()
        .map(|(step, why, n)| format!("{n} {step}: {why}"))
        .collect();
    println!(
        "after {:.0} s still active (top reasons, {active} counted): {}",
        elapsed.as_secs_f64(),
        what.join("; ")
    );
}

/// `(state, error)` of each of `ids`; panics if one is missing (a lost job).
pub async fn outcomes(db: &PgPool, ids: &[uuid::Uuid]) -> Vec<(String, Option<String>)> {
    let rows: Vec<(uuid::Uuid, String, Option<String>)> =
        sqlx::query_as("select id, state, error from operations where id = any($1)")
            .bind(ids)
            .fetch_all(db)
            .await
            .expect("operations");
    let found: BTreeSet<uuid::Uuid> = rows.iter().map(|r| r.0).collect();
    let lost: Vec<_> = ids.iter().filter(|id| !found.contains(id)).collect();
    assert!(lost.is_empty(), "accepted operations lost: {lost:?}");
    rows.into_iter().map(|(_, s, e)| (s, e)).collect()
}

/// Asserts that every outcome is `succeeded`, showing a few that are not.
pub fn assert_all_succeeded(outcomes: &[(String, Option<String>)]) {
    let failed: Vec<_> = outcomes.iter().filter(|(s, _)| s != "succeeded").collect();
    assert!(
        failed.is_empty(),
        "{} of {} operations did not succeed, e.g. {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(5)]
    );
}
