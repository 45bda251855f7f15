//! Convergence under injected faults: every operation ends, none is stuck, no duplicates.

use std::time::Duration;

use kube_test_apiserver::FaultKind;
use serde_json::json;

use crate::harness::World;

#[tokio::test]
async fn with_a_fifth_of_kubernetes_calls_failing_every_operation_still_ends_and_nothing_is_duplicated()
 {
    let world = World::start(&[]).await;
    world.tenant("acme", 50).await;
    world.tenant("globex", 50).await;
    world
        .kube
        .faults()
        .set_error_rate(0.2, FaultKind::ServiceUnavailable);
    let mut operations = Vec::new();
    for i in 0..20 {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        let op = world
            .app
            .admin()
            .post(
                &format!("/v1/tenants/{tenant}/clusters"),
                json!({"name": format!("c{i}")}),
            )
            .await
            .expect(202)
            .json();
        operations.push(op["id"].as_str().unwrap().to_string());
    }
    for id in &operations {
        let done = world.finished(id, Duration::from_secs(60)).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    world.kube.faults().reset();
    let clusters = world.postgresclusters().await;
    assert_eq!(clusters.len(), 20);
    let mut names: Vec<String> = clusters
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c.metadata.namespace.clone().unwrap_or_default(),
                c.metadata.name.clone().unwrap_or_default()
            )
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20);
}
