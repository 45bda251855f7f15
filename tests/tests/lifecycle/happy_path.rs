//! Create → provisioning → ready with endpoints → scale → delete → gone.

use std::time::Duration;

use serde_json::json;

use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_cluster_goes_from_request_to_ready_scales_and_is_deleted_until_gone() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    let api = world.app.admin();

    let op = api
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "instances": 1}),
        )
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(
        done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "done"),
        "{done}"
    );

    let cluster = api
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    assert_eq!(cluster["status"]["phase"], "ready", "{cluster}");
    assert_eq!(cluster["status"]["ready_instances"], 1);
    assert_eq!(cluster["status"]["observed_generation"], 1);

    let pgs = world.postgresclusters().await;
    assert_eq!(pgs.len(), 1);
    let pg = &pgs[0];
    assert_eq!(
        pg.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "pgplane"
    );

    let connection = api
        .get("/v1/tenants/acme/clusters/orders/connection?reveal=true")
        .await
        .expect(200)
        .json();
    assert!(
        connection["primary"]["host"]
            .as_str()
            .unwrap()
            .contains("orders"),
        "{connection}"
    );
    assert!(
        connection["ca_certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert!(
        connection["password"]
            .as_str()
            .is_some_and(|p| !p.is_empty())
    );
    assert!(
        connection["primary"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("sslmode=verify-full")
    );

    let op = api
        .patch("/v1/tenants/acme/clusters/orders", json!({"instances": 2}))
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let cluster = api
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    assert_eq!(cluster["status"]["ready_instances"], 2);
    assert_eq!(cluster["status"]["observed_generation"], 2);
    let replicas =
        world.postgresclusters().await[0].data["spec"]["instances"][0]["replicas"].clone();
    assert_eq!(replicas, 2);

    let op = api
        .delete("/v1/tenants/acme/clusters/orders")
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    api.get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(404);
    assert!(world.postgresclusters().await.is_empty());
}

#[tokio::test]
async fn an_operation_the_operator_never_finishes_fails_at_its_deadline_saying_what_it_waited_for()
{
    let world = World::start(&["--operation-deadline-seconds", "10"]).await;
    world
        .operator
        .set_default_scenario(kube_test_apiserver::operator::Scenario::never_ready());
    world.tenant("acme", 5).await;
    let op = world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "stuck"}))
        .await
        .expect(202)
        .json();
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    assert_eq!(done["state"], "failed");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.contains("deadline") && error.contains("operator"),
        "{error}"
    );
}
