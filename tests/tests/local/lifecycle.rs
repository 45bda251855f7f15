//! A cluster's life on the local platform, checked with real client connections.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Row};

use super::harness::{LocalWorld, TENANT, connect, port_in_use, small_cluster, with_password};

#[tokio::test]
async fn a_cluster_is_real_postgresql_from_create_to_delete() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let path = format!("/v1/tenants/{TENANT}/clusters/orders");

    // Create: a primary and a streaming replica, ready when the operation succeeds.
    let op = world.create(small_cluster("orders", 2)).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    let cluster = world.wait_for_phase("orders", "ready").await;
    assert_eq!(cluster["status"]["ready_instances"], 2);
    let conn_info = world.connection("orders").await;
    let ca = conn_info["ca_certificate"].as_str().unwrap().to_string();
    let primary_uri = conn_info["primary"]["uri"].as_str().unwrap().to_string();
    assert!(primary_uri.contains("sslmode=verify-full"), "{primary_uri}");
    let primary_port = conn_info["primary"]["port"].as_u64().unwrap() as u16;
    let replica_port = conn_info["replicas"]["port"].as_u64().unwrap() as u16;

    // Connect as the owner over verified TLS, write, and read it back through the replica.
    let mut primary = connect(&primary_uri, &ca).await.expect("owner connects");
    sqlx::raw_sql(
        "create table items (id int primary key, name text); insert into items values (1, 'first')",
    )
    .execute(&mut primary)
    .await
    .expect("owner creates a table in its database");
    primary.close().await.unwrap();
    let replica_uri = conn_info["replicas"]["uri"].as_str().unwrap();
    let mut replica = connect(replica_uri, &ca).await.expect("replica connects");
    let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
        .fetch_one(&mut replica)
        .await
        .unwrap();
    assert!(in_recovery, "the replica endpoint must be a standby");
    let started = Instant::now();
    loop {
        let found = sqlx::query("select name from items where id = 1")
            .fetch_optional(&mut replica)
            .await;
        if let Ok(Some(row)) = found {
            assert_eq!(row.get::<String, _>("name"), "first");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "row never replicated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica.close().await.unwrap();

    // Passwords are required: a wrong one is refused.
    let wrong = with_password(&conn_info, "primary", "not-the-password");
    assert!(
        connect(&wrong, &ca).await.is_err(),
        "a wrong password must be refused"
    );

    // Suspend stops every server; resume brings them back with the data.
    let op = admin
        .patch(&path, json!({"suspended": true}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    world.wait_for_phase("orders", "suspended").await;
    assert!(!port_in_use(primary_port) && !port_in_use(replica_port));
    let op = admin
        .patch(&path, json!({"suspended": false}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    world.wait_for_phase("orders", "ready").await;
    let mut primary = connect(&primary_uri, &ca)
        .await
        .expect("connects after resume");
    let name: String = sqlx::query_scalar("select name from items where id = 1")
        .fetch_one(&mut primary)
        .await
        .expect("data survives suspend and resume");
    assert_eq!(name, "first");
    primary.close().await.unwrap();

    // Rotate the owner's password: the old one stops working, the new one works.
    let old_password = conn_info["password"].as_str().unwrap().to_string();
    let op = admin
        .post(&format!("{path}/rotate-password"), json!({}))
        .await
        .expect(202)
        .json();
    let op = world.finished(&op).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    assert_eq!(op["kind"], "rotate_password");
    let rotated = world.connection("orders").await;
    let new_password = rotated["password"].as_str().unwrap();
    assert_ne!(new_password, old_password);
    assert!(
        connect(&with_password(&rotated, "primary", &old_password), &ca)
            .await
            .is_err(),
        "the old password must stop working"
    );
    let primary = connect(rotated["primary"]["uri"].as_str().unwrap(), &ca)
        .await
        .expect("the new password works");
    primary.close().await.unwrap();

    // Delete: servers stopped, ports free, data gone, the cluster no longer listed.
    let cluster_id = cluster["id"].as_str().unwrap().to_string();
    let op = admin.delete(&path).await.expect(202).json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    admin.get(&path).await.expect(404);
    assert!(!port_in_use(primary_port) && !port_in_use(replica_port));
    assert!(
        !world.clusters_dir().join(&cluster_id).exists(),
        "data directory left behind"
    );
    world.stop().await;
}

#[tokio::test]
async fn scaling_adds_and_removes_replicas() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let path = format!("/v1/tenants/{TENANT}/clusters/scaled");
    assert_eq!(
        world.create(small_cluster("scaled", 1)).await["state"],
        "succeeded"
    );
    let cluster = world.wait_for_phase("scaled", "ready").await;
    let id = cluster["id"].as_str().unwrap().to_string();
    assert!(world.connection("scaled").await["replicas"].is_null());

    let op = admin
        .patch(&path, json!({"instances": 3}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let cluster = world.wait_for_phase("scaled", "ready").await;
    assert_eq!(cluster["status"]["ready_instances"], 3);
    assert!(world.clusters_dir().join(&id).join("pg2").exists());

    let op = admin
        .patch(&path, json!({"instances": 1}))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let cluster = world.wait_for_phase("scaled", "ready").await;
    assert_eq!(cluster["status"]["ready_instances"], 1);
    assert!(!world.clusters_dir().join(&id).join("pg1").exists());
    assert!(!world.clusters_dir().join(&id).join("pg2").exists());
    world.stop().await;
}

#[tokio::test]
async fn what_the_local_platform_cannot_do_is_refused_with_501_and_nothing_is_written() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let mut body = small_cluster("pooled", 1);
    body["pooler"] = json!({"enabled": true, "replicas": 3});
    let problem = admin
        .post(&format!("/v1/tenants/{TENANT}/clusters"), body)
        .await
        .expect_problem(501, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("pooler"),
        "{problem}"
    );
    // Issue 17, defect 9, and issue 20: the servers are the installed PostgreSQL majors; the
    // API lists them, a create without a version gets the newest, and another version is a
    // 422 on `postgres_version` naming the ones there are.
    let installed: Vec<u32> = pgplane::embedded_pg::PgBinaries::find_all()
        .into_iter()
        .map(|(major, _)| major)
        .collect();
    let newest = *installed.last().expect("an installed server");
    let listed = admin.get("/v1/postgres-versions").await.expect(200).json();
    let versions: Vec<(u64, bool)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["default"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, bool)> = installed
        .iter()
        .map(|m| (u64::from(*m), *m == newest))
        .collect();
    assert_eq!(versions, expected, "{listed}");
    let available: Vec<String> = installed.iter().map(u32::to_string).collect();
    let available = available.join(", ");
    let missing = (15..=18)
        .find(|v| !installed.contains(v))
        .expect("a major not installed");
    let mut other = small_cluster("other-version", 1);
    other["postgres_version"] = json!(missing);
    let problem = admin
        .post(&format!("/v1/tenants/{TENANT}/clusters"), other)
        .await
        .expect_problem(422, Some("postgres_version"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("available: {available}")),
        "{problem}"
    );
    let installed = newest;
    let list = admin
        .get(&format!("/v1/tenants/{TENANT}/clusters"))
        .await
        .expect(200)
        .json();
    assert_eq!(list["items"], json!([]));

    assert_eq!(
        world.create(small_cluster("plain", 1)).await["state"],
        "succeeded"
    );
    let path = format!("/v1/tenants/{TENANT}/clusters/plain");
    let plain = admin.get(&path).await.expect(200).json();
    assert_eq!(plain["spec"]["postgres_version"], installed, "{plain}");
    admin
        .patch(&path, json!({"pooler": {"enabled": true, "replicas": 2}}))
        .await
        .expect_problem(501, None);
    admin
        .post(
            &format!("{path}/rotate-password"),
            json!({"user": "nobody"}),
        )
        .await
        .expect_problem(422, Some("user"));
    // A major this host does not run is a 422 naming what it runs, as on create; a minor
    // upgrade needs a newer server installed (this cluster runs the one there is).
    let problem = admin
        .post(
            &format!("{path}/upgrade"),
            json!({"postgres_version": missing}),
        )
        .await
        .expect_problem(422, Some("postgres_version"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("available: {available}")),
        "{problem}"
    );
    assert_eq!(
        plain["allowed_actions"]["minor_upgrade"]["allowed"], false,
        "{plain}"
    );
    world.stop().await;
}

#[tokio::test]
async fn extensions_are_created_and_dropped_with_real_sql() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    assert_eq!(
        world.create(small_cluster("shop", 1)).await["state"],
        "succeeded"
    );
    world.wait_for_phase("shop", "ready").await;
    let extensions = format!("/v1/tenants/{TENANT}/clusters/shop/databases/shop/extensions");
    let names = |listed: &Value| -> Vec<String> {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = admin.get(&extensions).await.expect(200).json();
    assert!(!names(&listed).contains(&"pg_trgm".to_string()), "{listed}");

    // pg_trgm ships with PostgreSQL (contrib); pg_partman is not installed on these hosts.
    for (extension, state) in [("pg_trgm", "succeeded"), ("pg_partman", "failed")] {
        let op = admin
            .put(&format!("{extensions}/{extension}"), json!(null))
            .await
            .expect(202)
            .json();
        let done = world.finished(&op).await;
        assert_eq!(done["state"], state, "{done}");
        if state == "failed" {
            assert!(
                done["error"].as_str().unwrap().contains(extension),
                "{done}"
            );
        }
    }
    let listed = admin.get(&extensions).await.expect(200).json();
    assert!(names(&listed).contains(&"pg_trgm".to_string()), "{listed}");
    assert!(
        !names(&listed).contains(&"pg_partman".to_string()),
        "{listed}"
    );

    let op = admin
        .delete(&format!("{extensions}/pg_trgm"))
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let listed = admin.get(&extensions).await.expect(200).json();
    assert!(!names(&listed).contains(&"pg_trgm".to_string()), "{listed}");
    world.stop().await;
}

#[tokio::test]
async fn keep_backups_keeps_the_wal_archive_after_delete() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let mut body = small_cluster("kept", 1);
    body["deletion_policy"] = json!("keep_backups");
    assert_eq!(world.create(body).await["state"], "succeeded");
    world.wait_for_phase("kept", "ready").await;
    let mut body = small_cluster("dropped", 1);
    body["deletion_policy"] = json!("delete_backups");
    assert_eq!(world.create(body).await["state"], "succeeded");
    world.wait_for_phase("dropped", "ready").await;
    for name in ["kept", "dropped"] {
        let op = admin
            .delete(&format!("/v1/tenants/{TENANT}/clusters/{name}"))
            .await
            .expect(202)
            .json();
        assert_eq!(world.finished(&op).await["state"], "succeeded");
    }
    let retained = world.root.path().join("retained").join(TENANT);
    let kept: Vec<String> = std::fs::read_dir(&retained)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with("kept-"), "{kept:?}");
    world.stop().await;
}
