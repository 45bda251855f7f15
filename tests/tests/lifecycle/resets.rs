//! Merge-patch nulls on the fields that size or protect a cluster: a `null` that would reset
//! one of them to its default is refused (422 naming the field) unless `If-Match` confirms it,
//! so `{"instances": null}` cannot silently take an HA cluster down to one instance.

use std::time::Duration;

use pgplane_tests::client::Method;
use serde_json::json;

use crate::day2::ready_cluster;
use crate::harness::World;

const ORDERS: &str = "/v1/tenants/acme/clusters/orders";

#[tokio::test]
async fn a_null_that_would_shrink_a_cluster_is_refused_unless_if_match_confirms_it() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(
        &world,
        "orders",
        json!({"instances": 2, "deletion_protection": true}),
    )
    .await;
    let admin = world.app.admin();

    let refused = admin
        .patch(
            ORDERS,
            json!({"instances": null, "deletion_protection": null}),
        )
        .await
        .expect_problem(422, Some("instances"));
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["deletion_protection", "instances"], "{refused}");
    let message = refused["errors"][1]["message"].as_str().unwrap();
    assert!(message.contains("from 2 to its default 1"), "{message}");
    let unchanged = admin.get(ORDERS).await.expect(200).json();
    assert_eq!(unchanged["spec"]["instances"], 2);
    assert_eq!(unchanged["status"]["generation"], 1, "nothing was queued");

    // A null on a field that neither sizes nor protects the cluster is plain RFC 7396.
    admin
        .patch(ORDERS, json!({"parameters": null}))
        .await
        .expect(200);

    // With the current ETag the client confirms the reset.
    let read = admin.get(ORDERS).await.expect(200);
    let etag = read.header("etag").expect("ETag").to_string();
    let op = admin
        .send(
            Method::PATCH,
            ORDERS,
            Some(json!({"instances": null})),
            &[("if-match", &etag)],
        )
        .await
        .expect(202)
        .json();
    let done = world
        .finished(op["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let cluster = admin.get(ORDERS).await.expect(200).json();
    assert_eq!(cluster["spec"]["instances"], 1);
    assert_eq!(cluster["spec"]["deletion_protection"], true);
}
