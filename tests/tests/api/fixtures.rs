//! Fixtures that reach below the API, for states the API of this issue cannot create yet.

use pgplane_tests::TestApp;
use uuid::Uuid;

/// Inserts a cluster row (desired state only) for `tenant`, as the cluster API will.
pub async fn insert_cluster(app: &TestApp, tenant: &str, name: &str, instances: i32) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into clusters (id, tenant_id, name, spec, instances, cpu_millis, memory_mib, storage_gib)
         select $1, id, $3, '{}'::jsonb, $4, 1000 * $4, 2048 * $4, 20 * $4 from tenants where name = $2",
    )
    .bind(id)
    .bind(tenant)
    .bind(name)
    .bind(instances)
    .execute(&app.db)
    .await
    .expect("insert cluster");
    id
}
