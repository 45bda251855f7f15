//! `pods/exec` through kube's `Api::exec` (WebSocket, channel protocol, exit Status) and the
//! commands the simulated operator answers: `pgbackrest info` and psql's extension statements.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::AttachParams;
use kube_test_apiserver::operator::PSQL_ARGV;
use kube_test_apiserver::{ExecOutput, FaultKind, Verb, rbac_rules};
use tokio::io::AsyncReadExt;

use super::*;

/// What one exec produced.
struct Ran {
    stdout: String,
    stderr: String,
    status: Status,
}

impl Ran {
    fn exit_code(&self) -> i32 {
        if self.status.status.as_deref() == Some("Success") {
            return 0;
        }
        assert_eq!(
            self.status.reason.as_deref(),
            Some("NonZeroExitCode"),
            "{:?}",
            self.status
        );
        let causes = self
            .status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .expect("causes");
        assert_eq!(causes[0].reason.as_deref(), Some("ExitCode"));
        causes[0]
            .message
            .as_deref()
            .and_then(|m| m.parse().ok())
            .expect("numeric exit code")
    }
}

async fn exec_in(server: &TestApiServer, pod: &str, argv: &[&str]) -> kube::Result<Ran> {
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let params = AttachParams::default()
        .container("database")
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let mut process = pods.exec(pod, argv.to_vec(), &params).await?;
    let mut out = process.stdout().expect("stdout");
    let mut err = process.stderr().expect("stderr");
    let status = process.take_status().expect("status");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let (a, b) = tokio::join!(
        out.read_to_string(&mut stdout),
        err.read_to_string(&mut stderr)
    );
    a.expect("stdout read");
    b.expect("stderr read");
    let status = status.await.expect("a Status on the error channel");
    Ok(Ran {
        stdout,
        stderr,
        status,
    })
}

fn psql(db: &str, sql: &str) -> Vec<String> {
    let mut argv: Vec<String> = PSQL_ARGV.iter().map(|s| s.to_string()).collect();
    argv.extend(["-d", db, "-c", sql].map(String::from));
    argv
}

impl Env {
    async fn pod_named(&self, cluster: &str, leader: bool) -> String {
        self.pods(cluster)
            .await
            .into_iter()
            .find(|p| (label(p, ROLE) == Some(ROLE_LEADER)) == leader)
            .and_then(|p| p.metadata.name)
            .expect("an instance Pod with that role")
    }

    async fn exec(&self, pod: &str, argv: &[&str]) -> Ran {
        exec_in(&self.server, pod, argv).await.expect("exec")
    }

    async fn sql(&self, pod: &str, db: &str, sql: &str) -> Ran {
        let argv = psql(db, sql);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.exec(pod, &argv).await
    }
}

#[tokio::test]
async fn pgbackrest_info_over_exec_prints_the_repository_with_the_backup() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;

    for argv in [
        vec!["pgbackrest", "info", "--output=json"],
        vec!["pgbackrest", "info", "--stanza=db", "--output=json"],
    ] {
        let ran = env.exec(&pod, &argv).await;
        assert_eq!(ran.exit_code(), 0, "{}", ran.stderr);
        let info: Value = serde_json::from_str(&ran.stdout).expect("JSON on stdout");
        assert_eq!(info[0]["name"], "db");
        let backups = info[0]["backup"].as_array().expect("backups");
        assert_eq!(backups.len(), 1, "the replica-create backup");
        assert_eq!(backups[0]["type"], "full");
        assert_eq!(info, env.info("hippo"), "the same repository");
        assert_eq!(ran.stderr, "");
    }

    let other = env
        .exec(
            &pod,
            &["pgbackrest", "info", "--stanza=other", "--output=json"],
        )
        .await;
    assert_eq!(other.exit_code(), 0, "info exits 0 for a missing stanza");
    let info: Value = serde_json::from_str(&other.stdout).expect("JSON");
    assert_eq!(info[0]["name"], "other");
    assert_eq!(info[0]["status"]["message"], "missing stanza path");
    assert_eq!(info[0]["repo"][0]["key"], 1);
}

#[tokio::test]
async fn the_request_is_logged_as_create_on_pods_exec() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;
    env.server.clear_requests();
    env.exec(&pod, &["pgbackrest", "info", "--output=json"])
        .await;

    let mine: Vec<_> = env
        .server
        .requests()
        .into_iter()
        .filter(|r| !r.is_from_operator())
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    let r = &mine[0];
    assert_eq!(
        (
            r.verb,
            r.resource.as_str(),
            r.subresource.as_deref(),
            r.code
        ),
        (Verb::Create, "pods", Some("exec"), 101)
    );
    assert_eq!(r.name.as_deref(), Some(pod.as_str()));
    let rules = rbac_rules(&mine);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].resource, "pods/exec");
    assert_eq!(
        rules[0].verbs.iter().copied().collect::<Vec<_>>(),
        ["create"]
    );
}

#[tokio::test]
async fn refusals_before_the_upgrade_are_status_errors() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;
    let pods: Api<Pod> = Api::namespaced(env.server.client(), "default");

    let missing = exec_in(&env.server, "nope-0", &["true"]).await;
    let s = status(missing.err().expect("refused"));
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
    assert_eq!(s.message, "pods \"nope-0\" not found");

    let params = AttachParams::default().container("pgbackrest").stderr(true);
    let bad = pods.exec(&pod, ["true"], &params).await;
    let s = status(bad.err().expect("refused"));
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        s.message,
        format!("container pgbackrest is not valid for pod {pod}")
    );

    let none = pods
        .exec(&pod, Vec::<String>::new(), &AttachParams::default())
        .await;
    assert_eq!(status(none.err().expect("refused")).code, 400);

    // Injected faults apply to exec like to any request (a 500: kube retries a 503).
    env.server.faults().fail_next(1, FaultKind::InternalError);
    let faulted = exec_in(&env.server, &pod, &["pgbackrest", "info"]).await;
    assert_eq!(status(faulted.err().expect("faulted")).code, 500);
    let after = exec_in(&env.server, &pod, &["pgbackrest", "info"]).await;
    assert_eq!(after.expect("served").exit_code(), 0);
}

#[tokio::test]
async fn a_pod_whose_database_does_not_run_refuses_exec() {
    let env = Env::start(Scenario::never_ready()).await;
    env.apply(cluster_manifest("hippo")).await;
    let pods: Api<Pod> = Api::namespaced(env.server.client(), "default");
    let pod = eventually(WAIT, "an instance Pod", || async {
        env.pods("hippo").await.into_iter().next()?.metadata.name
    })
    .await;
    eventually(WAIT, "the Pod's status", || async {
        pods.get(&pod).await.ok()?.status?.phase
    })
    .await;
    let s = status(
        exec_in(&env.server, &pod, &["pgbackrest", "info"])
            .await
            .err()
            .expect("refused"),
    );
    assert_eq!(s.code, 400);
    assert_eq!(
        s.message,
        "unable to upgrade connection: container not found (\"database\")"
    );
}

#[tokio::test]
async fn failures_end_with_the_kubelets_exit_code_status() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;

    let unknown_db = env.sql(&pod, "nope", "SELECT 1").await;
    assert_eq!(unknown_db.exit_code(), 2);
    assert_eq!(
        unknown_db.status.message.as_deref(),
        Some(
            "command terminated with non-zero exit code: error executing command [psql -X -q -v ON_ERROR_STOP=1 -At -d nope -c SELECT 1], exit code 2"
        )
    );
    assert_eq!(
        unknown_db.stderr,
        "psql: error: connection to server on socket \"/tmp/postgres/.s.PGSQL.5432\" failed: FATAL:  database \"nope\" does not exist\n"
    );

    let syntax = env.sql(&pod, "hippo", "VACUUM").await;
    assert_eq!(syntax.exit_code(), 1);
    assert!(
        syntax.stderr.starts_with("ERROR:  syntax error"),
        "{}",
        syntax.stderr
    );

    // A binary the container does not have: the process never starts (containerd's error).
    let missing = env.exec(&pod, &["foo", "--bar"]).await;
    assert_eq!(missing.status.reason.as_deref(), Some("InternalError"));
    assert_eq!(missing.status.code, Some(500));
    assert!(
        missing
            .status
            .message
            .as_deref()
            .is_some_and(|m| m.contains("exec: \"foo\": executable file not found in $PATH")),
        "{:?}",
        missing.status
    );

    // A test's own handler is asked before the operator's.
    let id = env.server.add_exec_handler(|r| {
        (r.command.first().map(String::as_str) == Some("pgbackrest"))
            .then(|| ExecOutput::fail(39, "ERROR: [039]: repository is locked\n"))
    });
    let locked = env
        .exec(&pod, &["pgbackrest", "info", "--output=json"])
        .await;
    assert_eq!(locked.exit_code(), 39);
    assert_eq!(locked.stderr, "ERROR: [039]: repository is locked\n");
    env.server.remove_exec_handler(id);
    let ok = env
        .exec(&pod, &["pgbackrest", "info", "--output=json"])
        .await;
    assert_eq!(ok.exit_code(), 0);
}

const LIST: &str = "SELECT extname, extversion FROM pg_extension ORDER BY extname";

#[tokio::test]
async fn extensions_are_created_listed_and_dropped_per_database() {
    let env = Env::start(fast()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([{ "name": "app", "databases": ["app", "reports"] }]);
    env.ready(m).await;
    let pod = env.pod_named("hippo", true).await;

    let fresh = env.sql(&pod, "app", LIST).await;
    assert_eq!(fresh.exit_code(), 0);
    assert_eq!(fresh.stdout, "pgaudit|17.0\nplpgsql|1.0\n");

    let created = env
        .sql(&pod, "app", "CREATE EXTENSION IF NOT EXISTS \"vector\"")
        .await;
    assert_eq!(created.exit_code(), 0);
    assert_eq!((created.stdout.as_str(), created.stderr.as_str()), ("", ""));
    let uuid = env
        .sql(&pod, "app", "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\";")
        .await;
    assert_eq!(uuid.exit_code(), 0);
    assert_eq!(
        env.sql(&pod, "app", LIST).await.stdout,
        "pgaudit|17.0\nplpgsql|1.0\nuuid-ossp|1.1\nvector|0.8.0\n"
    );
    assert_eq!(
        env.sql(&pod, "reports", LIST).await.stdout,
        "pgaudit|17.0\nplpgsql|1.0\n",
        "another database is untouched"
    );

    let again = env
        .sql(&pod, "app", "CREATE EXTENSION IF NOT EXISTS \"vector\"")
        .await;
    assert_eq!(again.exit_code(), 0);
    assert_eq!(
        again.stderr,
        "NOTICE:  extension \"vector\" already exists, skipping\n"
    );

    let dropped = env
        .sql(&pod, "app", "DROP EXTENSION IF EXISTS \"vector\"")
        .await;
    assert_eq!(dropped.exit_code(), 0);
    assert_eq!(
        env.sql(&pod, "app", LIST).await.stdout,
        "pgaudit|17.0\nplpgsql|1.0\nuuid-ossp|1.1\n"
    );
    let absent = env
        .sql(&pod, "app", "DROP EXTENSION IF EXISTS \"vector\"")
        .await;
    assert_eq!(absent.exit_code(), 0);
    assert_eq!(
        absent.stderr,
        "NOTICE:  extension \"vector\" does not exist, skipping\n"
    );

    let not_available = env
        .sql(
            &pod,
            "app",
            "CREATE EXTENSION IF NOT EXISTS \"timescaledb\"",
        )
        .await;
    assert_eq!(not_available.exit_code(), 1);
    assert!(
        not_available
            .stderr
            .starts_with("ERROR:  extension \"timescaledb\" is not available\n"),
        "{}",
        not_available.stderr
    );
}

#[tokio::test]
async fn a_scenario_can_remove_extensions_from_the_image() {
    let env = Env::start(fast().without_extensions(["postgis", "pgaudit"])).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;

    assert_eq!(env.sql(&pod, "hippo", LIST).await.stdout, "plpgsql|1.0\n");
    let postgis = env
        .sql(&pod, "hippo", "CREATE EXTENSION IF NOT EXISTS \"postgis\"")
        .await;
    assert_eq!(postgis.exit_code(), 1);
    assert!(
        postgis
            .stderr
            .starts_with("ERROR:  extension \"postgis\" is not available\n"),
        "{}",
        postgis.stderr
    );
    let trgm = env
        .sql(
            &pod,
            "postgres",
            "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\"",
        )
        .await;
    assert_eq!(trgm.exit_code(), 0, "{}", trgm.stderr);
}

#[tokio::test]
async fn a_replica_refuses_writes_and_state_follows_the_data() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    let primary = env.pod_named("hippo", true).await;
    let replica = env.pod_named("hippo", false).await;

    let refused = env
        .sql(
            &replica,
            "hippo",
            "CREATE EXTENSION IF NOT EXISTS \"citext\"",
        )
        .await;
    assert_eq!(refused.exit_code(), 1);
    assert_eq!(
        refused.stderr,
        "ERROR:  cannot execute CREATE EXTENSION in a read-only transaction\n"
    );

    let created = env
        .sql(
            &primary,
            "hippo",
            "CREATE EXTENSION IF NOT EXISTS \"citext\"",
        )
        .await;
    assert_eq!(created.exit_code(), 0);
    assert_eq!(
        env.sql(&replica, "hippo", LIST).await.stdout,
        "citext|1.6\npgaudit|17.0\nplpgsql|1.0\n",
        "the replica reads what the primary wrote"
    );

    // Deleting the cluster forgets its databases' extensions.
    env.api
        .delete("hippo", &Default::default())
        .await
        .expect("deleted");
    eventually(WAIT, "the cluster gone", || async {
        env.api.get_opt("hippo").await.ok()?.is_none().then_some(())
    })
    .await;
    env.ready(ha("hippo", 2)).await;
    let primary = env.pod_named("hippo", true).await;
    assert_eq!(
        env.sql(&primary, "hippo", LIST).await.stdout,
        "pgaudit|17.0\nplpgsql|1.0\n"
    );
}

/// Sends an exec request with the given upgrade headers (`None`: a plain GET).
async fn handshake(server: &TestApiServer, uri: &str, protocols: Option<&str>) -> Raw {
    let mut builder = http::Request::builder().method("GET").uri(uri);
    if let Some(p) = protocols {
        builder = builder
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, "websocket")
            .header(http::header::SEC_WEBSOCKET_VERSION, "13")
            .header(http::header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header(http::header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    let response = server
        .client()
        .send(builder.body(kube::client::Body::empty()).expect("request"))
        .await
        .expect("sent");
    Raw {
        code: response.status().as_u16(),
        headers: response.headers().clone(),
        body: String::new(),
    }
}

#[tokio::test]
async fn the_subprotocol_is_negotiated_and_an_upgrade_is_required() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let pod = env.pod_named("hippo", true).await;
    let uri = format!(
        "/api/v1/namespaces/default/pods/{pod}/exec?command=pgbackrest&command=info&stdout=true"
    );

    let plain = raw(&env.server.client(), "GET", &uri, None, None).await;
    assert_eq!(plain.code, 400);
    assert_eq!(plain.json()["message"], "Upgrade request required");

    for (offered, chosen) in [
        ("v4.channel.k8s.io", "v4.channel.k8s.io"),
        ("v4.channel.k8s.io, v5.channel.k8s.io", "v5.channel.k8s.io"),
    ] {
        let r = handshake(&env.server, &uri, Some(offered)).await;
        assert_eq!(r.code, 101, "{offered}");
        assert_eq!(
            r.headers
                .get(http::header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok()),
            Some(chosen)
        );
    }
    let old = handshake(&env.server, &uri, Some("channel.k8s.io")).await;
    assert_eq!(old.code, 400, "only the v5 and v4 channel protocols");
    let attach = raw(
        &env.server.client(),
        "GET",
        &format!("/api/v1/namespaces/default/pods/{pod}/attach?stdout=true"),
        None,
        None,
    )
    .await;
    assert_eq!(attach.code, 404, "attach is not served");
}

#[tokio::test]
async fn a_multi_container_pod_needs_a_container_name() {
    let server = server().await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let pod = serde_json::from_value(json!({
        "metadata": { "name": "two" },
        "spec": { "containers": [{ "name": "a", "image": "x" }, { "name": "b", "image": "x" }] },
    }))
    .expect("pod");
    pods.create(&Default::default(), &pod)
        .await
        .expect("created");

    let params = AttachParams::default().stdin(false);
    let s = status(
        pods.exec("two", ["true"], &params)
            .await
            .err()
            .expect("refused"),
    );
    assert_eq!(s.code, 400);
    assert_eq!(
        s.message,
        "a container name must be specified for pod two, choose one of: [a b]"
    );
    let s = status(
        pods.exec("two", ["true"], &params.container("a"))
            .await
            .err()
            .expect("refused"),
    );
    assert_eq!(
        s.message, "unable to upgrade connection: container not found (\"a\")",
        "a Pod without status runs no container"
    );
}

#[tokio::test]
async fn extensions_survive_a_switchover_and_the_new_primary_takes_writes() {
    let env = Env::start(fast()).await;
    env.ready(ha("hippo", 2)).await;
    let old = env.pod_named("hippo", true).await;
    let created = env
        .sql(
            &old,
            "postgres",
            "CREATE EXTENSION IF NOT EXISTS \"pg_stat_statements\"",
        )
        .await;
    assert_eq!(created.exit_code(), 0);

    env.merge(
        "hippo",
        json!({
            "metadata": { "annotations": {
                kube_test_apiserver::operator::SWITCHOVER_ANNOTATION: "s1"
            } },
            "spec": { "patroni": { "switchover": { "enabled": true } } },
        }),
    )
    .await;
    env.until("hippo", "switched over", |s| {
        s["patroni"]["switchover"] == "s1"
    })
    .await;
    let new = eventually(WAIT, "a new leader Pod", || async {
        env.pods("hippo")
            .await
            .into_iter()
            .find(|p| label(p, ROLE) == Some(ROLE_LEADER))
            .and_then(|p| p.metadata.name)
            .filter(|pod| *pod != old)
    })
    .await;

    assert_eq!(
        env.sql(&new, "postgres", LIST).await.stdout,
        "pg_stat_statements|1.11\npgaudit|17.0\nplpgsql|1.0\n"
    );
    let refused = env
        .sql(
            &old,
            "postgres",
            "DROP EXTENSION IF EXISTS \"pg_stat_statements\"",
        )
        .await;
    assert_eq!(refused.exit_code(), 1);
    assert_eq!(
        refused.stderr,
        "ERROR:  cannot execute DROP EXTENSION in a read-only transaction\n"
    );
    let dropped = env
        .sql(
            &new,
            "postgres",
            "DROP EXTENSION IF EXISTS \"pg_stat_statements\"",
        )
        .await;
    assert_eq!((dropped.exit_code(), dropped.stderr.as_str()), (0, ""));
}
