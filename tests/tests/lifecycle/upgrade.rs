//! Major version upgrades through PGO's `PGUpgrade` flow against the simulated operator, which
//! walks PGO's precondition checks (shut down, primary known, versions, the `allow-upgrade`
//! annotation) before its upgrade Job runs.

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube_test_apiserver::operator::Scenario;
use serde_json::{Value, json};

use crate::day2::{ready_cluster, run};

use crate::harness::World;

const ALLOW_UPGRADE: &str = "postgres-operator.crunchydata.com/allow-upgrade";
const BASE: &str = "/v1/tenants/acme/clusters/orders";

async fn pgupgrades(world: &World) -> Vec<DynamicObject> {
    let resource = pgplane::platform::kubernetes::resources::pgupgrade();
    let api: Api<DynamicObject> = Api::all_with(world.kube.client(), &resource);
    api.list(&ListParams::default())
        .await
        .expect("list pgupgrades")
        .items
}

async fn until_ready(world: &World) -> Value {
    let started = std::time::Instant::now();
    loop {
        let cluster = world.app.admin().get(BASE).await.expect(200).json();
        if cluster["status"]["phase"] == "ready" {
            return cluster;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{cluster}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the PostgresCluster says after an upgrade ended: its version, running, no annotation.
async fn assert_running_on(world: &World, version: u32) {
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["spec"]["postgresVersion"], version, "{:?}", pg.data);
    assert_eq!(pg.data["spec"]["shutdown"], false);
    let annotations = pg.metadata.annotations.clone().unwrap_or_default();
    assert!(!annotations.contains_key(ALLOW_UPGRADE), "{annotations:?}");
    assert!(
        pgupgrades(world).await.is_empty(),
        "the PGUpgrade is removed"
    );
}

#[tokio::test]
async fn a_major_upgrade_shuts_down_runs_pg_upgrade_and_starts_on_the_new_version() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(
        &world,
        "orders",
        json!({"postgres_version": 16, "instances": 2}),
    )
    .await;
    let admin = world.app.admin();
    let upgrade = format!("{BASE}/upgrade");

    // Its own major is a minor upgrade, which needs images the platform approved.
    let problem = admin
        .post(&upgrade, json!({"postgres_version": 16}))
        .await
        .expect_problem(409, None);
    assert!(
        problem.to_string().contains("approves no image"),
        "{problem}"
    );
    for (version, why) in [
        (15, "only moves to newer versions"),
        (19, "supported major version"),
    ] {
        let problem = admin
            .post(&upgrade, json!({"postgres_version": version}))
            .await
            .expect_problem(422, Some("postgres_version"));
        assert!(problem.to_string().contains(why), "{problem}");
    }
    admin
        .post(&upgrade, json!({"postgres_version": "eighteen"}))
        .await
        .expect_problem(422, None);
    // A PATCH cannot change the version; it points at the upgrade.
    let problem = admin
        .patch(BASE, json!({"postgres_version": 18}))
        .await
        .expect_problem(422, Some("postgres_version"));
    assert!(problem.to_string().contains("upgrade"), "{problem}");

    // Follow the operation: it names each step it waits for.
    let op = admin
        .post(&upgrade, json!({"postgres_version": 18}))
        .await
        .expect(202)
        .json();
    let path = format!("/v1/operations/{}", op["id"].as_str().unwrap());
    let started = std::time::Instant::now();
    let mut waited = Vec::new();
    let done = loop {
        let op = admin.get(&path).await.expect(200).json();
        if let Some(what) = op["waiting_for"].as_str()
            && waited.last().map(String::as_str) != Some(what)
        {
            waited.push(what.to_string());
        }
        if op["state"] != "pending" && op["state"] != "running" {
            break op;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{op}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "upgrade");
    assert_eq!(done["params"]["to_version"], 18);
    assert!(
        waited.iter().any(|s| s.contains("start on PostgreSQL 18")),
        "the operation waited for the restart on the new version: {waited:?}"
    );

    assert_running_on(&world, 18).await;
    let cluster = until_ready(&world).await;
    assert_eq!(cluster["spec"]["postgres_version"], 18, "{cluster}");
}

#[tokio::test]
async fn a_failed_upgrade_leaves_the_cluster_running_its_old_version_with_the_reason() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"postgres_version": 16})).await;
    world.operator.set_scenario(
        "pgplane-acme",
        "orders",
        Scenario::healthy().upgrades_fail(),
    );

    let failed = run(
        &world,
        &format!("{BASE}/upgrade"),
        json!({"postgres_version": 17}),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Upgrade jobs failed"),
        "PGO's reason: {error}"
    );
    assert!(error.contains("runs PostgreSQL 16 again"), "{error}");

    assert_running_on(&world, 16).await;
    let cluster = until_ready(&world).await;
    assert_eq!(cluster["spec"]["postgres_version"], 16, "{cluster}");
}

#[tokio::test]
async fn a_suspended_cluster_is_not_upgraded() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({"postgres_version": 17})).await;
    let op = world
        .app
        .admin()
        .patch(BASE, json!({"suspended": true}))
        .await
        .expect(202)
        .json();
    world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    let problem = world
        .app
        .admin()
        .post(&format!("{BASE}/upgrade"), json!({"postgres_version": 18}))
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("suspended"),
        "{problem}"
    );
}

const OLD_17: &str = "registry.example/crunchy-postgres:ubi9-17.5-2520";
const NEW_17: &str = "registry.example/crunchy-postgres:ubi9-17.6-2550";
const MISSING_17: &str = "registry.example/crunchy-postgres:ubi9-17.7-0000";

/// A cluster pinned to the approved 17.5 image, then the platform approves `newer`.
async fn pinned_then_newer_approved(world: &mut World, instances: u32, newer: &str) {
    world.tenant("acme", 5).await;
    ready_cluster(
        world,
        "orders",
        json!({"postgres_version": 17, "instances": instances}),
    )
    .await;
    let cluster = world.app.admin().get(BASE).await.expect(200).json();
    assert_eq!(
        cluster["status"]["postgres_image"], OLD_17,
        "pinned at create: {cluster}"
    );
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["spec"]["image"], OLD_17);
    world
        .app
        .restart_api_with(&[
            "--postgres-images",
            &format!("17={newer},18=registry.example/crunchy-postgres:ubi9-18.1-2550"),
        ])
        .await;
}

#[tokio::test]
async fn a_minor_upgrade_rolls_the_instances_replicas_first_onto_the_newest_approved_image() {
    let mut world = World::start(&["--postgres-images", &format!("17={OLD_17}")]).await;
    // The platform has not approved anything newer yet.
    world.tenant("acme", 5).await;
    ready_cluster(
        &world,
        "orders",
        json!({"postgres_version": 17, "instances": 3}),
    )
    .await;
    let problem = world
        .app
        .admin()
        .post(&format!("{BASE}/upgrade"), json!({}))
        .await
        .expect_problem(409, None);
    assert!(problem.to_string().contains("already runs"), "{problem}");
    world
        .app
        .restart_api_with(&["--postgres-images", &format!("17={NEW_17}")])
        .await;

    let before = world.app.admin().get(BASE).await.expect(200).json();
    let primary = before["status"]["primary_instance"]
        .as_str()
        .unwrap()
        .to_string();
    let done = run(&world, &format!("{BASE}/upgrade"), json!({})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "minor_upgrade");
    assert_eq!(done["params"]["from_image"], OLD_17);
    assert_eq!(done["params"]["to_image"], NEW_17);

    // PGO's roll: every instance restarted once, the primary of the time last.
    let restarts = world.operator.restarts("pgplane-acme", "orders");
    assert_eq!(restarts.len(), 3, "{restarts:?}");
    assert!(
        restarts.iter().all(|(_, image)| image == NEW_17),
        "{restarts:?}"
    );
    assert!(
        restarts[2].0.starts_with(&primary),
        "replicas first, the primary ({primary}) last: {restarts:?}"
    );
    let cluster = until_ready(&world).await;
    assert_eq!(cluster["status"]["postgres_image"], NEW_17, "{cluster}");
    assert_eq!(cluster["spec"]["postgres_version"], 17);
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["spec"]["image"], NEW_17);
    // A later change of the spec keeps the new image (it is part of the desired state now).
    let op = world
        .app
        .admin()
        .patch(BASE, json!({"deletion_protection": true}))
        .await
        .expect(202)
        .json();
    world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["spec"]["image"], NEW_17);
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_is_rolled_back_and_the_operation_says_why() {
    let mut world = World::start(&["--postgres-images", &format!("17={OLD_17}")]).await;
    world
        .operator
        .set_default_scenario(Scenario::healthy().unpullable_images([MISSING_17]));
    pinned_then_newer_approved(&mut world, 2, MISSING_17).await;

    let failed = run(&world, &format!("{BASE}/upgrade"), json!({})).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("ImagePullBackOff"), "{failed}");
    assert!(error.contains(&format!("back on {OLD_17}")), "{failed}");

    // The primary never stopped; the replica comes back on the old image.
    let cluster = until_ready(&world).await;
    assert_eq!(cluster["status"]["postgres_image"], OLD_17, "{cluster}");
    let pg = &world.postgresclusters().await[0];
    assert_eq!(pg.data["spec"]["image"], OLD_17);
}
