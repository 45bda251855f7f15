//! A cluster's roles one at a time (`/users/{role}`): each change is an `update` operation that
//! edits `spec.users` of the PostgresCluster (validated against the real CRDs); the owner is
//! listed but not editable; bad input is 422 naming the request's field.

use std::time::Duration;

use serde_json::{Value, json};

use crate::day2::ready_cluster;
use crate::harness::World;

const USERS: &str = "/v1/tenants/acme/clusters/orders/users";

async fn pgo_users(world: &World) -> Value {
    world.postgresclusters().await[0].data["spec"]["users"].clone()
}

#[tokio::test]
async fn roles_are_created_replaced_and_dropped_through_update_operations() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();

    let listed = admin.get(USERS).await.expect(200).json();
    assert_eq!(
        listed["items"],
        json!([{"name": "orders", "databases": ["orders"], "options": null, "owner": true}])
    );

    let reporting =
        json!({"databases": ["orders", "analytics"], "options": "NOCREATEDB CONNECTION LIMIT 5"});
    let op = admin
        .put(&format!("{USERS}/reporting"), reporting.clone())
        .await
        .expect(202)
        .json();
    assert_eq!(op["kind"], "update");
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let listed = admin.get(USERS).await.expect(200).json();
    assert_eq!(listed["items"][1]["name"], "reporting");
    assert_eq!(
        listed["items"][1]["databases"],
        json!(["orders", "analytics"])
    );
    let users = pgo_users(&world).await;
    let pgo = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "reporting")
        .unwrap_or_else(|| panic!("reporting in {users}"));
    assert_eq!(pgo["databases"], json!(["orders", "analytics"]));
    assert_eq!(pgo["options"], "NOCREATEDB CONNECTION LIMIT 5");

    // The same role again changes nothing: 200 with the cluster, no operation.
    let same = admin
        .put(&format!("{USERS}/reporting"), reporting)
        .await
        .expect(200)
        .json();
    assert_eq!(same["name"], "orders");

    // Refusals, each naming the request's field.
    admin
        .put(&format!("{USERS}/orders"), json!({"databases": []}))
        .await
        .expect_problem(409, None);
    admin
        .put(
            &format!("{USERS}/reporting"),
            json!({"options": "SUPERUSER"}),
        )
        .await
        .expect_problem(422, Some("options"));
    admin
        .put(&format!("{USERS}/Not_A_Role"), json!({}))
        .await
        .expect_problem(422, Some("role"));
    admin
        .put(&format!("{USERS}/etl"), json!({"databases": ["pg_stuff"]}))
        .await
        .expect_problem(422, Some("databases[0]"));
    admin
        .put(&format!("{USERS}/etl"), json!({"superuser": true}))
        .await
        .expect_problem(422, None);
    admin
        .delete(&format!("{USERS}/nobody"))
        .await
        .expect_problem(404, None);
    admin
        .delete(&format!("{USERS}/orders"))
        .await
        .expect_problem(409, None);
    let viewer = world.app.member("acme", "viewer").await;
    viewer.get(USERS).await.expect(200);
    viewer
        .put(&format!("{USERS}/etl"), json!({}))
        .await
        .expect_problem(403, None);

    let op = admin
        .delete(&format!("{USERS}/reporting"))
        .await
        .expect(202)
        .json();
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let listed = admin.get(USERS).await.expect(200).json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let users = pgo_users(&world).await;
    assert!(
        !users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "reporting"),
        "{users}"
    );
}

/// The password PGO wrote into the role's `<cluster>-pguser-<role>` Secret.
async fn secret_password(world: &World, role: &str) -> String {
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(world.kube.client(), "pgplane-acme");
    let secret = secrets
        .get(&format!("orders-pguser-{role}"))
        .await
        .expect("the role's Secret");
    let bytes = secret.data.unwrap()["password"].0.clone();
    String::from_utf8(bytes).unwrap()
}

/// GETs `path` until it answers 200 (the sync reads a new role's Secret shortly after PGO
/// writes it; until then the API answers 409).
async fn eventually_ok(world: &World, path: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let response = world.app.admin().get(path).await;
        if response.status == 200 || started.elapsed() > Duration::from_secs(30) {
            return response.expect(200).json();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn any_role_s_connection_and_password_can_be_revealed_and_each_reveal_is_audited() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();
    let op = admin
        .put(
            &format!("{USERS}/reporting"),
            json!({"databases": ["analytics"]}),
        )
        .await
        .expect(202)
        .json();
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let connection = "/v1/tenants/acme/clusters/orders/connection";
    let plain = admin
        .get(&format!("{connection}?role=reporting"))
        .await
        .expect(200)
        .json();
    assert_eq!(plain["user"], "reporting");
    assert_eq!(plain["database"], "analytics");
    assert!(plain.get("password").is_none(), "{plain}");
    let uri = plain["primary"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("postgresql://reporting@") && uri.contains("/analytics?"),
        "{uri}"
    );

    let revealed = eventually_ok(&world, &format!("{connection}?role=reporting&reveal=true")).await;
    let password = secret_password(&world, "reporting").await;
    assert_eq!(revealed["password"], password.as_str());
    assert_ne!(
        revealed["password"],
        admin
            .get(&format!("{connection}?reveal=true"))
            .await
            .expect(200)
            .json()["password"],
        "the owner's password is another"
    );

    // Rotating the role's password: the new one is what the API reveals.
    let op = admin
        .post(
            "/v1/tenants/acme/clusters/orders/rotate-password",
            json!({"user": "reporting"}),
        )
        .await
        .expect(202)
        .json();
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let rotated = admin
        .get(&format!("{connection}?role=reporting&reveal=true"))
        .await
        .expect(200)
        .json();
    assert_ne!(rotated["password"], revealed["password"]);
    assert_eq!(
        rotated["password"],
        secret_password(&world, "reporting").await.as_str()
    );

    // Refusals: a role the cluster does not have; a viewer may see, not reveal.
    admin
        .get(&format!("{connection}?role=nobody&reveal=true"))
        .await
        .expect_problem(404, None);
    let viewer = world.app.member("acme", "viewer").await;
    viewer
        .get(&format!("{connection}?role=reporting"))
        .await
        .expect(200);
    viewer
        .get(&format!("{connection}?role=reporting&reveal=true"))
        .await
        .expect_problem(403, None);

    let log = admin
        .get("/v1/tenants/acme/audit-events?action=clusters.connection.reveal")
        .await
        .expect(200)
        .json();
    let reveals: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"].as_str().unwrap().ends_with("role=reporting"))
        .collect();
    // Two reveals that answered (and any the sync made wait with a 409 first).
    assert!(
        reveals.iter().filter(|e| e["outcome"] == "allowed").count() >= 2,
        "{log}"
    );
    assert_eq!(
        reveals.iter().filter(|e| e["outcome"] == "denied").count(),
        1,
        "{log}"
    );
}
