//! Quotas: limits set by platform admins, usage from clusters' desired specs, and the atomic
//! check that concurrent requests cannot exceed together.

use pgplane::domain::quota::ResourceUsage;
use pgplane::store;
use pgplane_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::insert_cluster;

const LIMITS: &str = r#"{"max_clusters": 3, "max_instances": 6, "max_cpu_millis": 6000, "max_memory_mib": 12288, "max_storage_gib": 200}"#;

#[tokio::test]
async fn a_platform_admin_sets_limits_and_members_read_them_with_usage() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let limits: serde_json::Value = serde_json::from_str(LIMITS).unwrap();
    let put = app
        .admin()
        .put("/v1/tenants/acme/quota", limits.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(put["max_instances"], 6);
    insert_cluster(&app, "acme", "orders", 3).await;
    insert_cluster(&app, "acme", "billing", 1).await;
    let viewer = app.member("acme", "viewer").await;
    let quota = viewer
        .get("/v1/tenants/acme/quota")
        .await
        .expect(200)
        .json();
    for key in [
        "max_clusters",
        "max_instances",
        "max_cpu_millis",
        "max_memory_mib",
        "max_storage_gib",
    ] {
        assert_eq!(quota[key], limits[key], "{key}");
    }
    assert_eq!(
        quota["usage"],
        json!({"clusters": 2, "instances": 4, "cpu_millis": 4000, "memory_mib": 8192, "storage_gib": 80})
    );
}

#[tokio::test]
async fn quota_input_is_checked() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let mut limits: serde_json::Value = serde_json::from_str(LIMITS).unwrap();
    limits["max_cpu_millis"] = json!(-1);
    app.admin()
        .put("/v1/tenants/acme/quota", limits.clone())
        .await
        .expect_problem(422, Some("max_cpu_millis"));
    limits.as_object_mut().unwrap().remove("max_cpu_millis");
    app.admin()
        .put("/v1/tenants/acme/quota", limits.clone())
        .await
        .expect_problem(422, None);
    limits["max_cpu_millis"] = json!("lots");
    app.admin()
        .put("/v1/tenants/acme/quota", limits)
        .await
        .expect_problem(422, Some("max_cpu_millis"));
}

#[tokio::test]
async fn concurrent_growth_never_exceeds_a_limit_together() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let limits: serde_json::Value = serde_json::from_str(LIMITS).unwrap();
    app.admin()
        .put("/v1/tenants/acme/quota", limits)
        .await
        .expect(200);
    let tenant_id: Uuid = sqlx::query_scalar("select id from tenants where name = 'acme'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // 40 concurrent "creates" of a 1-instance cluster against max_clusters = 3.
    let attempts = (0..40).map(|i| {
        let db = app.db.clone();
        tokio::spawn(async move {
            let mut tx = store::begin(&db).await.unwrap();
            let growth = ResourceUsage { clusters: 1, instances: 1, cpu_millis: 1000, memory_mib: 1024, storage_gib: 10 };
            let verdict = store::quotas::lock_and_check(&mut tx, tenant_id, growth).await.unwrap();
            if verdict.is_err() {
                return false;
            }
            sqlx::query(
                "insert into clusters (id, tenant_id, name, spec, instances, cpu_millis, memory_mib, storage_gib)
                 values ($1, $2, $3, '{}', 1, 1000, 1024, 10)",
            )
            .bind(Uuid::now_v7())
            .bind(tenant_id)
            .bind(format!("c{i}"))
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            true
        })
    });
    let accepted = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(accepted, 3);
    let usage = store::quotas::usage(&app.db, tenant_id).await.unwrap();
    assert_eq!(usage.clusters, 3);
}

#[tokio::test]
async fn a_refused_growth_names_each_exceeded_limit() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let limits: serde_json::Value = serde_json::from_str(LIMITS).unwrap();
    app.admin()
        .put("/v1/tenants/acme/quota", limits)
        .await
        .expect(200);
    insert_cluster(&app, "acme", "big", 3).await;
    let tenant_id: Uuid = sqlx::query_scalar("select id from tenants where name = 'acme'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut tx = store::begin(&app.db).await.unwrap();
    let growth = ResourceUsage {
        clusters: 1,
        instances: 4,
        cpu_millis: 4000,
        memory_mib: 1024,
        storage_gib: 10,
    };
    let exceeded = store::quotas::lock_and_check(&mut tx, tenant_id, growth)
        .await
        .unwrap()
        .unwrap_err();
    let names: Vec<&str> = exceeded.iter().map(|e| e.limit).collect();
    assert_eq!(names, ["max_instances", "max_cpu_millis"]);
}
