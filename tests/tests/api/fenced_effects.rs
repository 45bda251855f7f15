//! What a finished operation changes beside itself (a rotated password, the version an upgrade
//! reached) is written only by the worker that still holds the operation: a worker whose lease
//! expired, and whose successor took the operation over, writes nothing when it wakes up.

use pgplane::jobs::effects::{self, Effects};
use pgplane::store::{self, operations::Claimed};
use pgplane_tests::TestApp;
use serde_json::json;

/// The owner's password as stored, opened with the test key.
async fn stored_password(app: &TestApp, cluster: &str) -> Option<String> {
    let (id, stored): (uuid::Uuid, Option<String>) =
        sqlx::query_as("select id, connection_password from clusters where name = $1")
            .bind(cluster)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let context = pgplane::secrets::owner_password_context(id);
    stored.map(|s| {
        let sealed = pgplane::secrets::Sealed::parse(s).expect("stored sealed");
        app.secrets().open_str(&sealed, &context).expect("opens")
    })
}

async fn claim(app: &TestApp, worker: &str) -> Claimed {
    store::operations::claim(&app.db, worker, 30)
        .await
        .unwrap()
        .expect("the queued create is due")
}

async fn finish(app: &TestApp, claim: &Claimed, password: &str) -> bool {
    let effects = Effects {
        password: Some(password.into()),
        postgres_version: Some(18),
        ..Effects::default()
    };
    let mut tx = store::begin(&app.db).await.unwrap();
    let ended = effects::finish(
        &mut tx,
        claim,
        pgplane::domain::operation::OperationState::Succeeded,
        None,
        &effects,
        &app.secrets(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    ended
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_writes_no_effects() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.admin()
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "postgres_version": 17}),
        )
        .await
        .expect(202);
    let before = stored_password(&app, "orders").await;

    let stale = claim(&app, "worker-a").await;
    // worker-a stalls past its lease; worker-b takes the operation over.
    sqlx::query("update operations set lease_expires_at = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .unwrap();
    let current = claim(&app, "worker-b").await;
    assert_eq!(current.attempt, stale.attempt + 1);

    assert!(!finish(&app, &stale, "stale-password").await);
    assert_eq!(stored_password(&app, "orders").await, before);
    let version: i32 = sqlx::query_scalar(
        "select (spec->>'postgres_version')::int from clusters where name = 'orders'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(version, 17, "the superseded worker changed no version");

    assert!(finish(&app, &current, "current-password").await);
    assert_eq!(
        stored_password(&app, "orders").await.as_deref(),
        Some("current-password")
    );
}
