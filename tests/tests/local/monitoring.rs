//! Monitoring on the local platform (issue 20): `monitoring.enabled` runs a real
//! `postgres_exporter` per cluster, signed in as PGO's monitoring role (`ccp_monitoring`, a
//! member of `pg_monitor`); the cluster's status carries its metrics URL, where a scrape shows
//! the server up and the tenant's database counted. Disabling it stops the exporter.

use serde_json::json;

use crate::harness::{LocalWorld, TENANT, connect, port_in_use, small_cluster};

#[tokio::test]
async fn a_scrape_of_the_exporter_shows_the_cluster_and_disabling_stops_it() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let mut body = small_cluster("watched", 1);
    body["monitoring"] = json!({"enabled": true});
    let created = world.create(body).await;
    assert_eq!(created["state"], "succeeded", "{created}");
    let cluster = world.wait_for_phase("watched", "ready").await;
    let started = std::time::Instant::now();
    let url = loop {
        let cluster = world.cluster("watched").await;
        if let Some(url) = cluster["status"]["metrics_url"].as_str() {
            break url.to_string();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no metrics URL in {cluster}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(cluster["status"]["phase"], "ready");

    // Some activity in the tenant's database, then a scrape.
    let connection = world.connection("watched").await;
    let ca = connection["ca_certificate"].as_str().unwrap();
    let mut owner = connect(connection["primary"]["uri"].as_str().unwrap(), ca)
        .await
        .unwrap();
    sqlx::query("select 1").execute(&mut owner).await.unwrap();
    let scrape = pgplane_tests::client::get(&url)
        .await
        .expect("the exporter answers");
    assert_eq!(scrape.status, 200);
    let metrics = scrape.text();
    assert!(
        metrics.lines().any(|l| l == "pg_up 1"),
        "the exporter reaches the server: {}",
        metrics
            .lines()
            .filter(|l| l.starts_with("pg_up"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let database = connection["database"].as_str().unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pg_stat_database_xact_commit")
                && l.contains(&format!("datname=\"{database}\""))),
        "the tenant's database is counted"
    );

    // Disabled: the URL goes and nothing listens there any more.
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    let op = admin
        .patch(
            &format!("/v1/tenants/{TENANT}/clusters/watched"),
            json!({"monitoring": {"enabled": false}}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(world.finished(&op).await["state"], "succeeded");
    let cluster = world.wait_for_phase("watched", "ready").await;
    assert!(cluster["status"]["metrics_url"].is_null(), "{cluster}");
    assert!(!port_in_use(port), "the exporter still listens on {port}");
    world.stop().await;
}
