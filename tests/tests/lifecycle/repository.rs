//! The backup list and the recoverable window come from the repository itself
//! (`pgbackrest info --output=json` run in the primary through pod exec), not from what pgplane
//! remembers asking for: restores are checked against what pgBackRest can actually reach.

use chrono::{DateTime, Duration as Span, Utc};
use serde_json::{Value, json};

use kube_test_apiserver::operator::Scenario;

use crate::day2::{ready_cluster, run};
use crate::harness::World;

const CLUSTER: &str = "/v1/tenants/acme/clusters/orders";

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn backups_and_the_window_are_read_from_pgbackrest_info_in_the_primary() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();
    let backups = format!("{CLUSTER}/backups");

    let full = run(&world, &backups, json!({"type": "full"})).await;
    assert_eq!(full["state"], "succeeded", "{full}");
    let incr = run(&world, &backups, json!({"type": "incremental"})).await;
    assert_eq!(incr["state"], "succeeded", "{incr}");

    let listed = admin.get(&backups).await.expect(200).json();
    assert_eq!(listed["window_source"], "repository", "{listed}");
    assert!(listed["repository_error"].is_null(), "{listed}");
    let repository = &listed["repository"];
    assert_eq!(repository["status"], "ok", "{listed}");
    let kept = repository["backups"].as_array().unwrap();
    let types: Vec<&str> = kept.iter().filter_map(|b| b["type"].as_str()).collect();
    assert!(
        types.contains(&"full") && types.contains(&"incremental"),
        "{listed}"
    );
    assert!(kept.iter().all(|b| b["repo"] == "repo1"), "{listed}");
    let incremental = kept.iter().find(|b| b["type"] == "incremental").unwrap();
    assert!(
        incremental["prior"].is_string(),
        "it builds on the full: {listed}"
    );

    // The window starts where the oldest backup in the repository finished.
    let oldest = kept.iter().map(|b| time(&b["finished_at"])).min().unwrap();
    let window = &listed["recoverable_window"];
    assert_eq!(time(&window["earliest"]), oldest, "{listed}");

    // What pgplane checks a restore against is that same window.
    let before = (oldest - Span::hours(1)).to_rfc3339();
    let problem = admin
        .post(
            &format!("{CLUSTER}/restore"),
            json!({"target_time": before}),
        )
        .await
        .expect_problem(422, Some("target_time"));
    assert!(
        problem.to_string().contains("recoverable window"),
        "{problem}"
    );

    // The request log shows the exec pgplane ran (what RBAC must allow: create pods/exec).
    let execs = world
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.resource == "pods" && r.subresource.as_deref() == Some("exec"))
        .count();
    assert!(execs >= 2, "one exec per read");
}

#[tokio::test]
async fn until_the_first_backup_is_in_the_repository_there_is_no_window_to_restore_to() {
    let world = World::start(&[]).await;
    world.tenant("acme", 5).await;
    world.operator.set_default_scenario(
        Scenario::healthy().first_backup_after(std::time::Duration::from_secs(3600)),
    );
    ready_cluster(&world, "orders", json!({})).await;
    let admin = world.app.admin();
    let listed = admin
        .get(&format!("{CLUSTER}/backups"))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["window_source"], "repository", "{listed}");
    assert_eq!(listed["repository"]["backups"], json!([]), "{listed}");
    assert!(listed["recoverable_window"].is_null(), "{listed}");
    let problem = admin
        .post(&format!("{CLUSTER}/restore"), json!({}))
        .await
        .expect_problem(409, None);
    assert!(
        problem.to_string().contains("no successful backup"),
        "{problem}"
    );
}
