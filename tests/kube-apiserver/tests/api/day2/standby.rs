//! Streaming standby clusters (`spec.standby.host`) and their promotion, with the TLS Secrets
//! pgplane creates: `<cluster>-tls` and `<cluster>-replication-tls` per cluster, all signed by
//! one CA (identical `ca.crt`).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::AttachParams;
use kube_test_apiserver::operator::{CLUSTERSET_DOMAIN, ClusterSet, PSQL_ARGV};
use tokio::io::AsyncReadExt;

use super::*;

const CA: &str = "-----BEGIN CERTIFICATE-----\ntenant-ca\n-----END CERTIFICATE-----\n";
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----\nanother-ca\n-----END CERTIFICATE-----\n";
const LIST: &str = "SELECT extname, extversion FROM pg_extension ORDER BY extname";
const IN_RECOVERY: &str = "SELECT pg_is_in_recovery()";

/// A `kubernetes.io/tls` Secret with `ca.crt` = `ca` (created or replaced).
async fn tls_secret(env: &Env, ns: &str, name: &str, ca: &str) {
    let pem = |what: &str| {
        ByteString(format!("-----BEGIN {what}-----\n{name}\n-----END {what}-----\n").into_bytes())
    };
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            ("tls.crt".to_string(), pem("CERTIFICATE")),
            ("tls.key".to_string(), pem("PRIVATE KEY")),
            ("ca.crt".to_string(), ByteString(ca.as_bytes().to_vec())),
        ])),
        ..Default::default()
    };
    let secrets: Api<Secret> = Api::namespaced(env.server.client(), ns);
    secrets
        .patch(
            name,
            &PatchParams::apply("pgplane").force(),
            &Patch::Apply(secret),
        )
        .await
        .expect("TLS secret applied");
}

/// Both TLS Secrets of `cluster` in `ns`, signed by `ca`.
async fn tls_secrets(env: &Env, ns: &str, cluster: &str, ca: &str) {
    tls_secret(env, ns, &format!("{cluster}-tls"), ca).await;
    tls_secret(env, ns, &format!("{cluster}-replication-tls"), ca).await;
}

fn with_tls(mut m: Value, cluster: &str) -> Value {
    m["spec"]["customTLSSecret"] = json!({ "name": format!("{cluster}-tls") });
    m["spec"]["customReplicationTLSSecret"] =
        json!({ "name": format!("{cluster}-replication-tls") });
    m
}

/// The source `orders` as pgplane applies it.
fn source() -> Value {
    with_tls(cluster_manifest("orders"), "orders")
}

/// A standby of `host` without backups, as pgplane applies it.
fn standby(name: &str, ns: &str, host: &str) -> Value {
    let mut m = with_tls(cluster_manifest(name), name);
    m["metadata"]["namespace"] = json!(ns);
    m["spec"].as_object_mut().expect("spec").remove("backups");
    m["spec"]["standby"] = json!({ "enabled": true, "host": host, "port": 5432 });
    m
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn clusters_in(&self, ns: &str) -> Api<DynamicObject> {
        clusters(self.server.client(), ns)
    }

    async fn status_in(&self, ns: &str, name: &str) -> Value {
        let o = self.clusters_in(ns).get(name).await.expect("cluster");
        o.data.get("status").cloned().unwrap_or(Value::Null)
    }

    async fn until_in(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(WAIT, what, || async {
            let s = self.status_in(ns, name).await;
            ok(&s).then_some(s)
        })
        .await
    }

    async fn pods_in(&self, ns: &str, cluster: &str) -> Vec<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.server.client(), ns);
        pods.list(&ListParams::default().labels(&format!(
            "postgres-operator.crunchydata.com/cluster={cluster},{INSTANCE}"
        )))
        .await
        .expect("pods")
        .items
    }

    /// The Pod labelled as Patroni's leader (role `master`).
    async fn primary_in(&self, ns: &str, cluster: &str) -> Pod {
        self.pods_in(ns, cluster)
            .await
            .into_iter()
            .find(|p| label(p, ROLE) == Some(ROLE_LEADER))
            .expect("a Pod labelled role master")
    }

    /// psql `-c sql` in the primary's `database` container, as pgplane runs it.
    async fn psql_in(&self, ns: &str, cluster: &str, db: &str, sql: &str) -> Ran {
        let pod = self.primary_in(ns, cluster).await;
        let pod = pod.metadata.name.expect("pod name");
        self.psql_pod(ns, &pod, db, sql).await
    }

    async fn psql_pod(&self, ns: &str, pod: &str, db: &str, sql: &str) -> Ran {
        let mut argv: Vec<&str> = PSQL_ARGV.to_vec();
        argv.extend(["-d", db, "-c", sql]);
        let pods: Api<Pod> = Api::namespaced(self.server.client(), ns);
        let params = AttachParams::default()
            .container("database")
            .stdin(false)
            .stdout(true)
            .stderr(true);
        let mut process = pods.exec(pod, argv, &params).await.expect("exec");
        let (mut stdout, mut stderr) = (String::new(), String::new());
        let mut out = process.stdout().expect("stdout");
        let mut err = process.stderr().expect("stderr");
        let status = process.take_status().expect("status");
        let (a, b) = tokio::join!(
            out.read_to_string(&mut stdout),
            err.read_to_string(&mut stderr)
        );
        a.expect("stdout");
        b.expect("stderr");
        let status = status.await.expect("exit status");
        let code = if status.status.as_deref() == Some("Success") {
            0
        } else {
            status
                .details
                .and_then(|d| d.causes)
                .and_then(|c| c.first()?.message.clone())
                .and_then(|m| m.parse().ok())
                .expect("exit code")
        };
        Ran {
            code,
            stdout,
            stderr,
        }
    }

    /// Waits until `pg_is_in_recovery()` on the primary prints `want`.
    async fn until_recovery_is(&self, ns: &str, cluster: &str, want: &str) {
        eventually(WAIT, &format!("pg_is_in_recovery() = {want}"), || async {
            let ran = self.psql_in(ns, cluster, "postgres", IN_RECOVERY).await;
            (ran.code == 0 && ran.stdout == format!("{want}\n")).then_some(())
        })
        .await;
    }

    /// A ready source with the shared-CA Secrets and `vector` installed in `orders`.
    async fn ready_source(&self) -> Value {
        tls_secrets(self, "default", "orders", CA).await;
        self.ready(source()).await;
        let created = self
            .psql_in(
                "default",
                "orders",
                "orders",
                "CREATE EXTENSION IF NOT EXISTS \"vector\"",
            )
            .await;
        assert_eq!(created.code, 0, "{}", created.stderr);
        self.status_in("default", "orders").await
    }
}

fn system_identifier(status: &Value) -> &str {
    status["patroni"]["systemIdentifier"].as_str().unwrap_or("")
}

/// Patroni's `status` annotation of a Pod.
fn member(pod: &Pod) -> Value {
    let raw = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("status"))
        .expect("Patroni status annotation");
    serde_json::from_str(raw).expect("JSON")
}

/// Waits for the generation to be observed, then a little more: the standby had its chance.
async fn settled_and_waited(env: &Env, ns: &str, name: &str) -> Value {
    env.until_in(ns, name, "generation observed", |s| {
        s.get("observedGeneration").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.status_in(ns, name).await
}

/// Not ready, no role, container running: Patroni is retrying the bootstrap.
async fn assert_waiting(env: &Env, ns: &str, name: &str) {
    let status = settled_and_waited(env, ns, name).await;
    assert_eq!(ready_replicas(&status), 0, "{status}");
    assert_eq!(pod_count(&status), 1, "{status}");
    assert_eq!(system_identifier(&status), "", "{status}");
    let pods = env.pods_in(ns, name).await;
    assert_eq!(pods.len(), 1);
    assert_eq!(label(&pods[0], ROLE), None, "no role without data");
    let pod_status = pods[0].status.as_ref().expect("pod status");
    let ready = pod_status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str());
    assert_eq!(ready, Some("False"));
    let container = &pod_status.container_statuses.as_ref().expect("containers")[0];
    assert!(
        container
            .state
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .is_some()
    );
    assert!(!container.ready);
}

#[tokio::test]
async fn a_standby_follows_its_source_read_only_and_promotes_when_disabled() {
    let env = Env::start(fast()).await;
    let source_status = env.ready_source().await;
    tls_secrets(&env, "default", "orders-dr", CA).await;
    env.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc",
    ))
    .await;

    let status = env
        .until_in("default", "orders-dr", "standby ready", |s| {
            ready_replicas(s) == 1 && !system_identifier(s).is_empty()
        })
        .await;
    assert_eq!(
        system_identifier(&status),
        system_identifier(&source_status)
    );
    assert!(
        status.get("usersRevision").is_none(),
        "no users in a standby: {status}"
    );
    assert!(status.get("pgbackrest").is_none());
    assert_eq!(env.operator.in_recovery("default", "orders-dr"), Some(true));
    assert_eq!(env.operator.in_recovery("default", "orders"), Some(false));
    let leader = env.primary_in("default", "orders-dr").await;
    assert_eq!(member(&leader)["role"], "standby_leader");
    assert_eq!(member(&leader)["timeline"], 1);

    let recovery = env
        .psql_in("default", "orders-dr", "postgres", IN_RECOVERY)
        .await;
    assert_eq!((recovery.code, recovery.stdout.as_str()), (0, "t\n"));
    let source_recovery = env
        .psql_in("default", "orders", "postgres", IN_RECOVERY)
        .await;
    assert_eq!(source_recovery.stdout, "f\n");
    let refused = env
        .psql_in(
            "default",
            "orders-dr",
            "orders",
            "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\"",
        )
        .await;
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        "ERROR:  cannot execute CREATE EXTENSION in a read-only transaction\n"
    );
    let mirrored = env.psql_in("default", "orders-dr", "orders", LIST).await;
    assert!(mirrored.stdout.contains("vector|"), "{}", mirrored.stdout);
    assert_eq!(
        mirrored.stdout,
        env.psql_in("default", "orders", "orders", LIST)
            .await
            .stdout
    );
    // What the source installs next is replayed.
    env.psql_in(
        "default",
        "orders",
        "orders",
        "CREATE EXTENSION IF NOT EXISTS \"citext\"",
    )
    .await;
    let replayed = env.psql_in("default", "orders-dr", "orders", LIST).await;
    assert!(replayed.stdout.contains("citext|"), "{}", replayed.stdout);

    env.merge(
        "orders-dr",
        json!({ "spec": { "standby": { "enabled": false } } }),
    )
    .await;
    env.until_recovery_is("default", "orders-dr", "f").await;
    let created = env
        .psql_in(
            "default",
            "orders-dr",
            "orders",
            "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\"",
        )
        .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let own = env
        .psql_in("default", "orders-dr", "orders", LIST)
        .await
        .stdout;
    assert!(own.contains("pg_trgm|") && own.contains("citext|"), "{own}");
    let theirs = env
        .psql_in("default", "orders", "orders", LIST)
        .await
        .stdout;
    assert!(
        !theirs.contains("pg_trgm|"),
        "the catalogs diverged: {theirs}"
    );
    eventually(WAIT, "the leader on a new timeline", || async {
        let m = member(&env.primary_in("default", "orders-dr").await);
        (m["role"] == "master" && m["timeline"] == 2).then_some(())
    })
    .await;
    let promoted = env
        .until_in("default", "orders-dr", "users reconciled", |s| {
            s.get("usersRevision").is_some()
        })
        .await;
    assert_eq!(
        system_identifier(&promoted),
        system_identifier(&source_status)
    );
    assert_eq!(
        env.operator.in_recovery("default", "orders-dr"),
        Some(false)
    );

    // Backups added after the promotion work as for any cluster.
    env.merge(
        "orders-dr",
        json!({ "spec": { "backups": source()["spec"]["backups"] } }),
    )
    .await;
    env.until_in("default", "orders-dr", "first backup", |s| {
        s["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"] == true
    })
    .await;
}

#[tokio::test]
async fn a_standby_whose_certificates_have_another_ca_waits_until_the_secret_is_fixed() {
    let env = Env::start(fast()).await;
    env.ready_source().await;
    tls_secret(&env, "default", "orders-dr-tls", CA).await;
    tls_secret(&env, "default", "orders-dr-replication-tls", OTHER_CA).await;
    env.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc",
    ))
    .await;

    assert_waiting(&env, "default", "orders-dr").await;
    let why = env
        .operator
        .standby_waiting_for("default", "orders-dr")
        .expect("waiting");
    assert!(why.contains("certificate verify failed"), "{why}");
    assert_eq!(env.operator.in_recovery("default", "orders-dr"), None);
    assert!(env.events("orders-dr").await.is_empty(), "PGO only logs");
    let primary = env
        .pods_in("default", "orders-dr")
        .await
        .remove(0)
        .metadata
        .name
        .expect("name");
    let refused = env
        .psql_pod("default", &primary, "postgres", IN_RECOVERY)
        .await;
    assert_eq!(
        refused.code, 2,
        "PostgreSQL does not run: {}",
        refused.stderr
    );

    tls_secret(&env, "default", "orders-dr-replication-tls", CA).await;
    env.until_in("default", "orders-dr", "bootstrapped", |s| {
        ready_replicas(s) == 1
    })
    .await;
    env.until_recovery_is("default", "orders-dr", "t").await;
    assert_eq!(
        env.operator.standby_waiting_for("default", "orders-dr"),
        None
    );
}

#[tokio::test]
async fn a_standby_without_its_source_waits_and_bootstraps_once_the_source_runs() {
    let env = Env::start(fast()).await;
    tls_secrets(&env, "default", "orders-dr", CA).await;
    env.apply(standby("orders-dr", "default", "orders-primary"))
        .await;
    assert_waiting(&env, "default", "orders-dr").await;
    let why = env
        .operator
        .standby_waiting_for("default", "orders-dr")
        .expect("waiting");
    assert!(why.contains("orders-primary.default.svc"), "{why}");

    let source = env.ready_source().await;
    let status = env
        .until_in("default", "orders-dr", "bootstrapped", |s| {
            ready_replicas(s) == 1
        })
        .await;
    assert_eq!(system_identifier(&status), system_identifier(&source));
}

#[tokio::test]
async fn losing_the_source_keeps_the_standby_serving_reads() {
    let env = Env::start(fast()).await;
    env.ready_source().await;
    tls_secrets(&env, "default", "orders-dr", CA).await;
    env.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc.cluster.local",
    ))
    .await;
    env.until_in("default", "orders-dr", "standby ready", |s| {
        ready_replicas(s) == 1
    })
    .await;
    let before = env
        .psql_in("default", "orders-dr", "orders", LIST)
        .await
        .stdout;

    env.api
        .delete("orders", &Default::default())
        .await
        .expect("deleted");
    eventually(WAIT, "source gone", || async {
        env.api
            .get_opt("orders")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = env.status_in("default", "orders-dr").await;
    assert_eq!(ready_replicas(&status), 1, "{status}");
    assert_eq!(
        env.psql_in("default", "orders-dr", "orders", LIST)
            .await
            .stdout,
        before
    );
    let ro = env
        .psql_in("default", "orders-dr", "postgres", IN_RECOVERY)
        .await;
    assert_eq!(ro.stdout, "t\n");
}

#[tokio::test]
async fn a_stalled_promotion_stays_in_recovery() {
    let env = Env::start(fast()).await;
    env.ready_source().await;
    tls_secrets(&env, "default", "orders-dr", CA).await;
    env.operator
        .set_scenario("default", "orders-dr", fast().promotion_stalls());
    env.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc",
    ))
    .await;
    env.until_in("default", "orders-dr", "standby ready", |s| {
        ready_replicas(s) == 1
    })
    .await;

    let disabled = env
        .merge(
            "orders-dr",
            json!({ "spec": { "standby": { "enabled": false } } }),
        )
        .await;
    let generation = disabled.metadata.generation;
    env.until_in("default", "orders-dr", "observed", |s| {
        s["observedGeneration"].as_i64() == generation
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ran = env
        .psql_in("default", "orders-dr", "postgres", IN_RECOVERY)
        .await;
    assert_eq!(ran.stdout, "t\n");
    assert_eq!(env.operator.in_recovery("default", "orders-dr"), Some(true));

    // Released, the promotion completes.
    env.operator.set_scenario(
        "default",
        "orders-dr",
        fast().promotions_take(Duration::ZERO),
    );
    env.until_recovery_is("default", "orders-dr", "f").await;
}

#[tokio::test]
async fn leaving_standby_mode_before_the_bootstrap_makes_a_new_cluster() {
    let env = Env::start(fast()).await;
    let source = env.ready_source().await;
    tls_secret(&env, "default", "orders-dr-tls", OTHER_CA).await;
    tls_secret(&env, "default", "orders-dr-replication-tls", OTHER_CA).await;
    env.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc",
    ))
    .await;
    assert_waiting(&env, "default", "orders-dr").await;

    env.merge("orders-dr", json!({ "spec": { "standby": null } }))
        .await;
    let status = env
        .until_in("default", "orders-dr", "initdb", |s| ready_replicas(s) == 1)
        .await;
    assert!(!system_identifier(&status).is_empty());
    assert_ne!(system_identifier(&status), system_identifier(&source));
    env.until_recovery_is("default", "orders-dr", "f").await;
    let fresh = env.psql_in("default", "orders-dr", "orders-dr", LIST).await;
    assert!(!fresh.stdout.contains("vector|"), "{}", fresh.stdout);
    let no_source_db = env.psql_in("default", "orders-dr", "orders", LIST).await;
    assert_eq!(no_source_db.code, 2, "the source's database is not there");
}

#[tokio::test]
async fn a_standby_in_another_namespace_follows_through_the_service_host_and_promotes() {
    let env = Env::start(fast()).await;
    let source = env.ready_source().await;
    create_namespace(&env.server.client(), "dr").await;
    tls_secrets(&env, "dr", "orders-dr", CA).await;
    let api = env.clusters_in("dr");
    api.patch(
        "orders-dr",
        &PatchParams::apply("pgplane").force(),
        &Patch::Apply(standby("orders-dr", "dr", "orders-primary.default.svc")),
    )
    .await
    .expect("applied");
    let status = env
        .until_in("dr", "orders-dr", "standby ready", |s| {
            ready_replicas(s) == 1
        })
        .await;
    assert_eq!(system_identifier(&status), system_identifier(&source));
    env.until_recovery_is("dr", "orders-dr", "t").await;
    let mirrored = env.psql_in("dr", "orders-dr", "orders", LIST).await;
    assert!(mirrored.stdout.contains("vector|"), "{}", mirrored.stdout);

    // pgplane's later form: the whole `spec.standby` dropped with a merge patch.
    api.patch(
        "orders-dr",
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "standby": null } })),
    )
    .await
    .expect("patched");
    env.until_recovery_is("dr", "orders-dr", "f").await;
}

#[tokio::test]
async fn pg_is_in_recovery_is_f_on_a_primary_and_t_on_its_replicas() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    for pod in env.pods_in("default", "hippo").await {
        let leader = label(&pod, ROLE) == Some(ROLE_LEADER);
        let name = pod.metadata.name.expect("name");
        let ran = env
            .psql_pod("default", &name, "postgres", IN_RECOVERY)
            .await;
        let want = if leader { "f\n" } else { "t\n" };
        assert_eq!((ran.code, ran.stdout.as_str()), (0, want), "{name}");
    }
    assert_eq!(env.operator.in_recovery("default", "hippo"), Some(false));
}

#[tokio::test]
async fn across_a_clusterset_a_standby_follows_a_source_in_another_api_server() {
    let set = ClusterSet::new();
    let member = || OperatorOptions {
        clusterset: Some(set.clone()),
        ..OperatorOptions::with_scenario(fast())
    };
    let home = Env::start_with(member()).await;
    let dr = Env::start_with(member()).await;
    let source_status = home.ready_source().await;

    // The Services of another member resolve only through the clusterset domain.
    tls_secrets(&dr, "default", "orders-dr", CA).await;
    dr.apply(standby(
        "orders-dr",
        "default",
        "orders-primary.default.svc",
    ))
    .await;
    assert_waiting(&dr, "default", "orders-dr").await;
    let blocker = dr.operator.standby_waiting_for("default", "orders-dr");
    assert!(
        blocker
            .as_deref()
            .unwrap_or_default()
            .contains("could not translate host name"),
        "{blocker:?}"
    );
    let host = format!("orders-primary.default.{CLUSTERSET_DOMAIN}");
    dr.apply(standby("orders-dr", "default", &host)).await;
    let status = dr
        .until_in(
            "default",
            "orders-dr",
            "bootstrapped across clusters",
            |s| ready_replicas(s) == 1,
        )
        .await;
    assert_eq!(
        system_identifier(&status),
        system_identifier(&source_status)
    );
    dr.until_recovery_is("default", "orders-dr", "t").await;
    // It replays the source's catalog from the other API server.
    let listed = dr.psql_in("default", "orders-dr", "orders", LIST).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("vector"), "{}", listed.stdout);

    // The source's certificates are read in its own API server: another CA there is refused.
    tls_secrets(&dr, "default", "billing-dr", CA).await;
    tls_secrets(&home, "default", "billing", OTHER_CA).await;
    home.ready(with_tls(cluster_manifest("billing"), "billing"))
        .await;
    let host = format!("billing-primary.default.{CLUSTERSET_DOMAIN}");
    dr.apply(standby("billing-dr", "default", &host)).await;
    assert_waiting(&dr, "default", "billing-dr").await;
    let blocker = dr.operator.standby_waiting_for("default", "billing-dr");
    assert!(
        blocker
            .as_deref()
            .unwrap_or_default()
            .contains("certificate verify failed"),
        "{blocker:?}"
    );
}
