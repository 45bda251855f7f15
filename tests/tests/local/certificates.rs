//! Server certificates renewed before they expire (issue 22), with a lifetime of 30 seconds:
//! clients verifying the server with `sslmode=verify-full` and the CA they were given keep
//! connecting to the primary, the replicas and PgBouncer past the first certificate's expiry;
//! a connection opened before the renewal stays open and no server restarts (they reload);
//! the cluster shows the new expiry and the same CA.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgplane::platform::CertificatePolicy;
use pgplane::platform::local::LocalOptions;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::harness::{LocalWorld, connect, small_cluster};

fn expiry(cluster: &Value) -> DateTime<Utc> {
    let at = cluster["status"]["certificate"]["expires_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no certificate expiry: {cluster}"));
    at.parse().expect("an RFC 3339 time")
}

async fn started_at(conn: &mut PgConnection) -> (i32, DateTime<Utc>) {
    sqlx::query_as("select pg_backend_pid(), pg_postmaster_start_time()")
        .fetch_one(conn)
        .await
        .expect("the held connection still answers")
}

#[tokio::test]
async fn certificates_are_renewed_before_expiry_and_verify_full_clients_keep_connecting() {
    let world = LocalWorld::start_with_options(LocalOptions {
        certificates: CertificatePolicy {
            validity: Duration::from_secs(30),
        },
        ..LocalOptions::default()
    })
    .await;
    let mut body = small_cluster("orders", 2);
    body["pooler"] = json!({"enabled": true, "replicas": 1});
    let created = world.create(body).await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let cluster = world.wait_for_phase("orders", "ready").await;
    let first = expiry(&cluster);
    assert!(
        first - Utc::now() <= chrono::Duration::seconds(30),
        "{cluster}"
    );
    assert!(cluster["status"]["certificate"]["renewal_error"].is_null());

    let connection = world.connection("orders").await;
    let ca = connection["ca_certificate"]
        .as_str()
        .expect("a CA")
        .to_string();
    assert_eq!(
        connection["certificate_expires_at"]
            .as_str()
            .map(str::parse::<DateTime<Utc>>),
        Some(Ok(first))
    );
    let mut held = connect(connection["primary"]["uri"].as_str().unwrap(), &ca)
        .await
        .expect("connects with verify-full");
    let before = started_at(&mut held).await;

    // New verified connections to every endpoint, every second, until past the first
    // certificate's expiry: had it not been renewed in time, one of them would be refused.
    let mut rounds = 0;
    while Utc::now() < first + chrono::Duration::seconds(2) {
        for endpoint in ["primary", "replicas", "pooler"] {
            let uri = connection[endpoint]["uri"].as_str().expect("an endpoint");
            let mut conn = connect(uri, &ca).await.unwrap_or_else(|e| {
                panic!(
                    "{endpoint} refused a verify-full client at {}: {e}",
                    Utc::now()
                )
            });
            let one: i32 = sqlx::query_scalar("select 1")
                .fetch_one(&mut conn)
                .await
                .expect("a query");
            assert_eq!(one, 1);
        }
        rounds += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(rounds >= 10, "only {rounds} rounds");
    assert_eq!(
        started_at(&mut held).await,
        before,
        "the connection made before the renewal is the same session on the same server"
    );

    let cluster = world.cluster("orders").await;
    let renewed = expiry(&cluster);
    assert!(renewed > first, "{cluster}");
    assert!(
        cluster["status"]["certificate"]["renewal_error"].is_null(),
        "{cluster}"
    );
    let connection = world.connection("orders").await;
    assert_eq!(
        connection["ca_certificate"].as_str(),
        Some(ca.as_str()),
        "the same CA"
    );
    world.stop().await;
}
