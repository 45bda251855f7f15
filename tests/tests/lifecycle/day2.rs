//! Day-2 operations through PGO: each is an operation that writes PGO's trigger (annotation
//! plus spec block, validated against the real CRDs by the test API server), waits for the
//! simulated operator to report *this* request finished, and ends with the right state and
//! message; refusals are 409/422 with the reason.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) async fn ready_cluster(world: &World, name: &str, body: Value) {
    let mut body = body;
    body["name"] = json!(name);
    let op = world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters", body)
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
}

pub(crate) async fn run(world: &World, path: &str, body: Value) -> Value {
    let op = world.app.admin().post(path, body).await.expect(202).json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await
}

#[tokio::test]
async fn a_manual_backup_is_triggered_once_and_listed_with_the_backup_health() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let path = "/v1/tenants/acme/clusters/orders/backups";

    let done = run(&world, path, json!({"type": "full"})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "backup");
    assert_eq!(done["params"]["backup_type"], "full");

    // PGO's trigger: the annotation carries this operation's id, the manual block its type.
    let pg = &world.postgresclusters().await[0];
    let annotations = pg.metadata.annotations.clone().unwrap();
    assert_eq!(
        annotations["postgres-operator.crunchydata.com/pgbackrest-backup"],
        done["id"].as_str().unwrap()
    );
    assert_eq!(
        pg.data["spec"]["backups"]["pgbackrest"]["manual"],
        json!({"repoName": "repo1", "options": ["--type=full"]})
    );

    let listed = world.app.admin().get(path).await.expect(200).json();
    let manual: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["origin"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1, "{listed}");
    assert_eq!(manual[0]["state"], "succeeded");
    assert_eq!(manual[0]["operation_id"], done["id"]);
    assert!(listed["last_successful_backup_at"].is_string(), "{listed}");
    assert!(
        listed["recoverable_window"]["earliest"].is_string(),
        "{listed}"
    );
    assert_eq!(listed["overdue"], false);

    // A change of the desired spec afterwards keeps the trigger fields (another field manager).
    let op = world
        .app
        .admin()
        .patch("/v1/tenants/acme/clusters/orders", json!({"instances": 2}))
        .await
        .expect(202)
        .json();
    assert_eq!(
        op["restart_required"], false,
        "adding a replica restarts nothing"
    );
    assert_eq!(
        world.finished(op["id"].as_str().unwrap(), TIMEOUT).await["state"],
        "succeeded"
    );
    let pg = &world.postgresclusters().await[0];
    assert!(pg.data["spec"]["backups"]["pgbackrest"]["manual"].is_object());

    // Parameters: the answer says whether PostgreSQL restarts to apply them.
    let op = world
        .app
        .admin()
        .patch(
            "/v1/tenants/acme/clusters/orders",
            json!({"parameters": {"shared_buffers": "256MB"}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(op["restart_required"], true);
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    let op = world
        .app
        .admin()
        .patch(
            "/v1/tenants/acme/clusters/orders",
            json!({"parameters": {"shared_buffers": "256MB", "work_mem": "16MB"}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(op["restart_required"], false, "work_mem applies on reload");
}

#[tokio::test]
async fn backups_restores_and_switchovers_are_refused_when_they_cannot_work() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    let admin = world.app.admin();
    ready_cluster(&world, "nobackups", json!({"backups": {"enabled": false}})).await;
    let problem = admin
        .post("/v1/tenants/acme/clusters/nobackups/backups", json!({}))
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("backups disabled"),
        "{problem}"
    );

    ready_cluster(&world, "single", json!({"instances": 1})).await;
    let problem = admin
        .post("/v1/tenants/acme/clusters/single/switchover", json!({}))
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("single instance"),
        "{problem}"
    );
    admin
        .post(
            "/v1/tenants/acme/clusters/single/switchover",
            json!({"target_instance": "Not A Name"}),
        )
        .await
        .expect_problem(422, Some("target_instance"));
    admin
        .post(
            "/v1/tenants/acme/clusters/single/backups",
            json!({"type": "weekly"}),
        )
        .await
        .expect_problem(422, Some("type"));

    // A restore to a time before the first backup is outside the window.
    run(
        &world,
        "/v1/tenants/acme/clusters/single/backups",
        json!({}),
    )
    .await;
    admin
        .post(
            "/v1/tenants/acme/clusters/single/restore",
            json!({"target_time": "2001-01-01T00:00:00Z"}),
        )
        .await
        .expect_problem(422, Some("target_time"));

    // Suspended: nothing runs to back up.
    let op = admin
        .patch(
            "/v1/tenants/acme/clusters/single",
            json!({"suspended": true}),
        )
        .await
        .expect(202)
        .json();
    world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    let problem = admin
        .post("/v1/tenants/acme/clusters/single/backups", json!({}))
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("suspended"),
        "{problem}"
    );

    // A viewer may look but not act.
    let viewer = world.app.member("acme", "viewer").await;
    viewer
        .get("/v1/tenants/acme/clusters/single/backups")
        .await
        .expect(200);
    viewer
        .post("/v1/tenants/acme/clusters/single/backups", json!({}))
        .await
        .expect_problem(403, None);
}

#[tokio::test]
async fn a_clone_bootstraps_from_the_source_clusters_backups_at_a_point_in_time() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    let admin = world.app.admin();
    ready_cluster(&world, "orders", json!({})).await;
    let backup = run(
        &world,
        "/v1/tenants/acme/clusters/orders/backups",
        json!({}),
    )
    .await;
    assert_eq!(backup["state"], "succeeded", "{backup}");
    let at = chrono::Utc::now().to_rfc3339();

    ready_cluster(
        &world,
        "orders-copy",
        json!({"source": {"cluster": "orders", "target_time": at}}),
    )
    .await;
    let copy = admin
        .get("/v1/tenants/acme/clusters/orders-copy")
        .await
        .expect(200)
        .json();
    assert_eq!(copy["spec"]["source"]["cluster"], "orders");
    let pgs = world.postgresclusters().await;
    let pg = pgs
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("orders-copy"))
        .unwrap();
    let source = &pg.data["spec"]["dataSource"]["postgresCluster"];
    assert_eq!(source["clusterName"], "orders");
    assert_eq!(source["repoName"], "repo1");
    assert_eq!(source["options"][0], "--type=time");

    // Refusals: unknown source, a time before any backup, changing where the data came from.
    admin
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "ghost-copy", "source": {"cluster": "ghost"}}),
        )
        .await
        .expect_problem(422, Some("source.cluster"));
    admin
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "old-copy", "source": {"cluster": "orders", "target_time": "2001-01-01T00:00:00Z"}}),
        )
        .await
        .expect_problem(422, Some("source.target_time"));
    admin
        .patch(
            "/v1/tenants/acme/clusters/orders-copy",
            json!({"source": null}),
        )
        .await
        .expect_problem(422, Some("source"));
}

/// Issue 17, defect 4: PGO takes a full backup by itself once the repository exists; a young
/// cluster can be cloned from it before anyone asked for a backup, and the window is the one
/// restores are checked against (the repository's, here read through `pgbackrest info`).
#[tokio::test]
async fn a_young_cluster_is_cloned_from_the_backup_pgo_took_by_itself() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let listed = world
        .app
        .admin()
        .get("/v1/tenants/acme/clusters/orders/backups")
        .await
        .expect(200)
        .json();
    assert!(
        listed["recoverable_window"]["earliest"].is_string(),
        "{listed}"
    );
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["origin"] == "initial" && b["state"] == "succeeded"),
        "PGO's own first backup is recorded: {listed}"
    );

    ready_cluster(
        &world,
        "orders-copy",
        json!({"source": {"cluster": "orders"}}),
    )
    .await;
    let pgs = world.postgresclusters().await;
    let copy = pgs
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("orders-copy"))
        .unwrap();
    assert_eq!(
        copy.data["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "PostgresDataInitialized")
            .map(|c| c["status"].clone()),
        Some(json!("True")),
        "the clone restored the source's data: {}",
        copy.data["status"]
    );
}

#[tokio::test]
async fn restore_switchover_and_password_rotation_finish_when_the_operator_reports_them() {
    use kube_test_apiserver::operator::Scenario;
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"instances": 2})).await;
    let base = "/v1/tenants/acme/clusters/orders";
    assert_eq!(
        run(&world, &format!("{base}/backups"), json!({})).await["state"],
        "succeeded"
    );

    // Restore to the latest state: the operator stops the instances, restores, restarts them.
    let done = run(&world, &format!("{base}/restore"), json!({})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let pg = &world.postgresclusters().await[0];
    assert_eq!(
        pg.metadata.annotations.as_ref().unwrap()["postgres-operator.crunchydata.com/pgbackrest-restore"],
        done["id"].as_str().unwrap()
    );
    // The operator then catches up with the trigger fields pgplane changed, and it is ready.
    let started = std::time::Instant::now();
    loop {
        let cluster = world.app.admin().get(base).await.expect(200).json();
        if cluster["status"]["phase"] == "ready" {
            break;
        }
        assert!(started.elapsed() < TIMEOUT, "{cluster}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Switchover to the best replica.
    let done = run(&world, &format!("{base}/switchover"), json!({})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["status"]["patroni"]["switchover"], done["id"]);

    // A target that is no instance, or that already leads, fails at once naming the instances.
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(world.kube.client(), "pgplane-acme");
    let leader = pods
        .list(
            &kube::api::ListParams::default()
                .labels("postgres-operator.crunchydata.com/role=master"),
        )
        .await
        .expect("pods")
        .items[0]
        .metadata
        .labels
        .as_ref()
        .unwrap()["postgres-operator.crunchydata.com/instance"]
        .clone();
    for (target, why) in [
        (
            "orders-instance1-nope",
            "has no instance `orders-instance1-nope`; its instances are",
        ),
        (leader.as_str(), "already is the primary"),
    ] {
        let failed = run(
            &world,
            &format!("{base}/switchover"),
            json!({"target_instance": target}),
        )
        .await;
        assert_eq!(failed["state"], "failed", "{failed}");
        let error = failed["error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{error}");
        if target != leader {
            assert!(error.contains(&format!("{leader} (primary)")), "{error}");
        }
    }

    // Password rotation: PGO regenerates the owner's password; the API reveals the new one.
    let reveal = format!("{base}/connection?reveal=true");
    let before = world.app.admin().get(&reveal).await.expect(200).json()["password"].clone();
    let done = run(&world, &format!("{base}/rotate-password"), json!({})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let after = world.app.admin().get(&reveal).await.expect(200).json()["password"].clone();
    assert!(after.is_string() && after != before, "{before} -> {after}");

    // A restore the operator fails ends failed with PGO's reason.
    world.operator.set_scenario(
        "pgplane-acme",
        "orders",
        Scenario::healthy().restores_fail(),
    );
    let failed = world
        .app
        .admin()
        .post(&format!("{base}/restore"), json!({}))
        .await
        .expect(202)
        .json();
    let failed = world
        .finished(failed["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("restore failed"),
        "{failed}"
    );
}
