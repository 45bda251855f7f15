//! Extensions, through `psql` in the primary Pod (pod exec against the test API server, answered
//! by the simulated operator): list what a database has, enable and disable allow-listed ones,
//! and the refusals and failures a tenant can meet.

use kube_test_apiserver::operator::Scenario;
use serde_json::{Value, json};

use crate::day2::ready_cluster;
use crate::harness::World;

const CLUSTER: &str = "/v1/tenants/acme/clusters/orders";

/// PUTs an extension on and waits for the operation to end.
async fn enable(world: &World, path: &str) -> Value {
    let op = world
        .app
        .admin()
        .put(path, json!(null))
        .await
        .expect(202)
        .json();
    world
        .finished(
            op["id"].as_str().unwrap(),
            std::time::Duration::from_secs(30),
        )
        .await
}

fn names(listed: &Value) -> Vec<&str> {
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect()
}

#[tokio::test]
async fn an_allow_listed_extension_is_enabled_listed_and_disabled_in_one_database() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(
        &world,
        "orders",
        json!({"instances": 2, "users": [{"name": "reporting", "databases": ["analytics"]}]}),
    )
    .await;
    let admin = world.app.admin();
    let extensions = format!("{CLUSTER}/databases/orders/extensions");

    // PGO creates pgaudit in every database itself.
    let listed = admin.get(&extensions).await.expect(200).json();
    assert_eq!(names(&listed), vec!["pgaudit", "plpgsql"], "{listed}");
    assert!(
        listed["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "vector"),
        "{listed}"
    );

    let done = enable(&world, &format!("{extensions}/vector")).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "extension");
    assert_eq!(
        done["params"],
        json!({"action": "extension", "database": "orders", "name": "vector", "enable": true})
    );
    let listed = admin.get(&extensions).await.expect(200).json();
    assert_eq!(
        names(&listed),
        vec!["pgaudit", "plpgsql", "vector"],
        "{listed}"
    );
    assert!(
        listed["items"][2]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{listed}"
    );

    // Another database of the cluster is separate.
    let analytics = admin
        .get(&format!("{CLUSTER}/databases/analytics/extensions"))
        .await
        .expect(200)
        .json();
    assert_eq!(names(&analytics), vec!["pgaudit", "plpgsql"], "{analytics}");

    // Enabling twice is harmless; disabling removes it.
    let again = enable(&world, &format!("{extensions}/vector")).await;
    assert_eq!(again["state"], "succeeded", "{again}");
    let op = admin
        .delete(&format!("{extensions}/vector"))
        .await
        .expect(202)
        .json();
    let dropped = world
        .finished(
            op["id"].as_str().unwrap(),
            std::time::Duration::from_secs(30),
        )
        .await;
    assert_eq!(dropped["state"], "succeeded", "{dropped}");
    let listed = admin.get(&extensions).await.expect(200).json();
    assert_eq!(names(&listed), vec!["pgaudit", "plpgsql"], "{listed}");
}

#[tokio::test]
async fn extensions_outside_the_allow_list_unknown_databases_and_stopped_clusters_are_refused() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();

    let problem = admin
        .put(
            &format!("{CLUSTER}/databases/orders/extensions/plpython3u"),
            json!(null),
        )
        .await
        .expect_problem(422, Some("extension"));
    assert!(problem.to_string().contains("pg_trgm"), "{problem}");

    let problem = admin
        .get(&format!("{CLUSTER}/databases/billing/extensions"))
        .await
        .expect_problem(404, None);
    assert!(
        problem.to_string().contains("its databases are orders"),
        "{problem}"
    );
    admin
        .put(
            &format!("{CLUSTER}/databases/billing/extensions/vector"),
            json!(null),
        )
        .await
        .expect_problem(404, None);

    // Another tenant's cluster is not there at all.
    world.tenant("globex", 1).await;
    admin
        .get("/v1/tenants/globex/clusters/orders/databases/orders/extensions")
        .await
        .expect_problem(404, None);

    let op = admin
        .patch(CLUSTER, json!({"suspended": true}))
        .await
        .expect(202)
        .json();
    world
        .finished(
            op["id"].as_str().unwrap(),
            std::time::Duration::from_secs(30),
        )
        .await;
    let problem = admin
        .get(&format!("{CLUSTER}/databases/orders/extensions"))
        .await
        .expect_problem(409, None);
    assert!(problem.to_string().contains("suspended"), "{problem}");
    admin
        .put(
            &format!("{CLUSTER}/databases/orders/extensions/vector"),
            json!(null),
        )
        .await
        .expect_problem(409, None);
}

#[tokio::test]
async fn an_extension_the_image_does_not_carry_fails_with_postgresqls_reason() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    world.operator.set_scenario(
        "pgplane-acme",
        "orders",
        Scenario::healthy().without_extensions(["postgis"]),
    );
    let failed = enable(
        &world,
        &format!("{CLUSTER}/databases/orders/extensions/postgis"),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("extension \"postgis\" is not available"),
        "{failed}"
    );
    let listed = world
        .app
        .admin()
        .get(&format!("{CLUSTER}/databases/orders/extensions"))
        .await
        .expect(200)
        .json();
    assert!(
        !names(&listed).contains(&"postgis"),
        "nothing half-installed: {listed}"
    );
}
