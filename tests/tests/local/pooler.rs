//! The connection pooler on the local platform (issue 20): `pooler.enabled` runs a real
//! PgBouncer in front of the primary, with TLS (the cluster's CA verifies it) and SCRAM
//! passwords. Checked as a client sees it: rows written through the pooler are read on the
//! primary, the server behind it is the primary, a rotated password works through it (it
//! re-reads its role list) and the old one stops working, and disabling it stops the process
//! and removes the endpoint.

use serde_json::json;

use crate::harness::{LocalWorld, TENANT, connect, port_in_use, small_cluster, with_password};

#[tokio::test]
async fn a_query_through_pgbouncer_reaches_the_primary_and_follows_password_rotation() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let clusters = format!("/v1/tenants/{TENANT}/clusters");

    // One PgBouncer per cluster here: more replicas are refused up front.
    let mut crowded = small_cluster("crowded", 1);
    crowded["pooler"] = json!({"enabled": true, "replicas": 2});
    let problem = admin
        .post(&clusters, crowded)
        .await
        .expect_problem(501, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("pooler.replicas"),
        "{problem}"
    );

    let mut body = small_cluster("pooled", 1);
    body["pooler"] = json!({"enabled": true, "replicas": 1});
    let created = world.create(body).await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let cluster = world.wait_for_phase("pooled", "ready").await;
    assert_eq!(cluster["status"]["phase"], "ready", "{cluster}");

    let connection = world.connection("pooled").await;
    let ca = connection["ca_certificate"].as_str().unwrap().to_string();
    let pooler_port = connection["pooler"]["port"]
        .as_u64()
        .expect("a pooler endpoint");
    let primary_port = connection["primary"]["port"].as_u64().unwrap();
    assert_ne!(pooler_port, primary_port);
    let pooler_uri = connection["pooler"]["uri"].as_str().unwrap();
    let mut pooled = connect(pooler_uri, &ca)
        .await
        .expect("the owner connects through PgBouncer over verified TLS");
    sqlx::query("create table orders (id int primary key)")
        .execute(&mut pooled)
        .await
        .unwrap();
    sqlx::query("insert into orders values (1), (2)")
        .execute(&mut pooled)
        .await
        .unwrap();
    // The server behind the pooler is the primary.
    let served_by: i32 = sqlx::query_scalar("select inet_server_port()")
        .fetch_one(&mut pooled)
        .await
        .unwrap();
    assert_eq!(u64::try_from(served_by).unwrap(), primary_port);
    let mut direct = connect(connection["primary"]["uri"].as_str().unwrap(), &ca)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&mut direct)
        .await
        .unwrap();
    assert_eq!(
        rows, 2,
        "rows written through the pooler are on the primary"
    );

    // A rotated password: PgBouncer re-reads its role list, the old password stops working.
    let old_password = connection["password"].as_str().unwrap().to_string();
    let op = admin
        .post(&format!("{clusters}/pooled/rotate-password"), json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let rotated = world.connection("pooled").await;
    let started = std::time::Instant::now();
    loop {
        match connect(rotated["pooler"]["uri"].as_str().unwrap(), &ca).await {
            Ok(_) => break,
            Err(error) if started.elapsed() > std::time::Duration::from_secs(20) => {
                panic!(
                    "the new password does not work through the pooler: {error}\n{}",
                    pooler_logs(&world)
                )
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    assert!(
        connect(&with_password(&rotated, "pooler", &old_password), &ca)
            .await
            .is_err(),
        "the old password still works through the pooler"
    );

    // Disabled: the endpoint goes and nothing listens on its port any more.
    let op = admin
        .patch(
            &format!("{clusters}/pooled"),
            json!({"pooler": {"enabled": false, "replicas": 1}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let connection = world.connection("pooled").await;
    assert!(connection["pooler"].is_null(), "{connection}");
    let port = u16::try_from(pooler_port).unwrap();
    assert!(!port_in_use(port), "PgBouncer still listens on {port}");
    world.stop().await;
}

/// Every PgBouncer log of the world, for failure messages.
fn pooler_logs(world: &LocalWorld) -> String {
    let clusters = std::fs::read_dir(world.clusters_dir());
    clusters
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|c| std::fs::read_to_string(c.path().join("pgbouncer/pgbouncer.log")).ok())
        .collect::<Vec<_>>()
        .join("\n")
}
