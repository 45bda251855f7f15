//! Secrets never reach the logs: a `pgplane serve` with verbose logging (debug everywhere,
//! trace for pgplane, text and JSON) goes through every flow that handles a secret — the
//! metadata database password, the JWT signing key, user passwords (created, right, wrong,
//! changed), access tokens, API keys (valid and unknown), cluster passwords read from the
//! operator's Secrets and revealed to a client — and its log is searched for each of them.

use std::time::{Duration, Instant};

use pgplane::config::DatabaseConfig;
use pgplane_tests::app::JWT_PRIVATE_KEY;
use pgplane_tests::{PASSWORD, TestClient};
use serde_json::json;

use crate::support::Kube;

fn secret(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4().simple())
}

/// Runs every secret-bearing flow against a fresh process logging in `format`; returns the
/// log and the secrets that must not be in it.
async fn exercise(format: &str) -> (String, Vec<(String, String)>) {
    let kube = Kube::start(3).await;
    let database_password = secret("dbpw");
    // Trust authentication ignores the password, but pgplane still holds it in its URL.
    let database_url = pgplane_tests::postgres::fresh_database().await.replacen(
        "://postgres@",
        &format!("://postgres:{database_password}@"),
        1,
    );
    let log = kube.log("serve.log");
    let serve = kube
        .serve(
            &database_url,
            &log,
            &[
                ("RUST_LOG", "debug,pgplane=trace"),
                ("PGPLANE_LOG_FORMAT", format),
            ],
        )
        .await;
    let admin_key = pgplane::cli::bootstrap_admin(
        &DatabaseConfig {
            database_url: database_url.clone(),
            db_max_connections: 1,
        },
        "admin@example.com",
        PASSWORD,
        "Admin",
    )
    .await
    .unwrap();
    let admin = TestClient::new(&serve.base_url, Some(admin_key.clone()));
    let anonymous = TestClient::new(&serve.base_url, None);
    admin
        .post("/v1/tenants", json!({"name": "acme"}))
        .await
        .expect(201);

    let password = secret("pw");
    let user = admin
        .post(
            "/v1/users",
            json!({"email": "dev@acme.example.com", "password": password, "name": "Dev"}),
        )
        .await
        .expect(201)
        .json();
    admin
        .put(
            "/v1/tenants/acme/members/dev@acme.example.com",
            json!({"role": "owner"}),
        )
        .await
        .expect(201);
    let wrong_password = secret("wrongpw");
    anonymous
        .post(
            "/v1/auth/token",
            json!({"email": "dev@acme.example.com", "password": wrong_password}),
        )
        .await
        .expect(401);
    let token = anonymous
        .post(
            "/v1/auth/token",
            json!({"email": "dev@acme.example.com", "password": password}),
        )
        .await
        .expect(200)
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let dev = TestClient::new(&serve.base_url, Some(token.clone()));
    let personal_key = dev
        .post("/v1/me/api-keys", json!({"name": "laptop"}))
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let service_key = dev
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "ci", "role": "developer"}),
        )
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    TestClient::new(&serve.base_url, Some(service_key.clone()))
        .get("/v1/tenants/acme/clusters")
        .await
        .expect(200);
    let unknown_key = format!("pgp_{}", uuid::Uuid::new_v4().simple());
    TestClient::new(&serve.base_url, Some(unknown_key.clone()))
        .get("/v1/me")
        .await
        .expect(401);
    let new_password = secret("newpw");
    admin
        .patch(
            &format!("/v1/users/{}", user["id"].as_str().unwrap()),
            json!({"password": new_password}),
        )
        .await
        .expect(200);

    // A cluster whose password comes from the operator's Secret, read by the sync and revealed.
    let with_key = TestClient::new(&serve.base_url, Some(personal_key.clone()));
    with_key
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202);
    let started = Instant::now();
    let cluster_password = loop {
        let connection = with_key
            .get("/v1/tenants/acme/clusters/orders/connection?reveal=true")
            .await;
        if connection.status == 200
            && let Some(p) = connection.json()["password"].as_str()
        {
            break p.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no cluster password revealed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(serve);
    let text = std::fs::read_to_string(&log).unwrap();
    let secrets = vec![
        ("metadata database password".into(), database_password),
        ("JWT signing key".into(), JWT_PRIVATE_KEY.to_string()),
        ("user password".into(), password),
        ("wrong password".into(), wrong_password),
        ("changed password".into(), new_password),
        ("access token".into(), token.clone()),
        (
            "access token signature".into(),
            token.rsplit('.').next().unwrap().to_string(),
        ),
        ("admin API key".into(), admin_key),
        ("personal API key".into(), personal_key),
        ("service API key".into(), service_key),
        ("unknown API key".into(), unknown_key),
        ("cluster password".into(), cluster_password),
    ];
    (text, secrets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_or_key_the_tests_used_appears_in_the_logs() {
    for format in ["text", "json"] {
        let (log, secrets) = exercise(format).await;
        assert!(
            log.lines().count() > 50 && log.contains("/v1/auth/token"),
            "the {format} log is too thin to prove anything:\n{log}"
        );
        for (what, value) in secrets {
            assert!(
                !log.contains(&value),
                "the {what} appears in the {format} log:\n{}",
                log.lines()
                    .filter(|l| l.contains(&value))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
