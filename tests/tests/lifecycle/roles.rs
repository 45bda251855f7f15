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
