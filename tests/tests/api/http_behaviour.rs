//! Cross-cutting HTTP behaviour: problem+json for every class of bad input, request ids,
//! idempotent replays, ETag / If-Match, pagination, CORS, health and metrics, the docs page.

use std::collections::HashSet;

use pgplane_tests::TestApp;
use pgplane_tests::client::Method;
use serde_json::json;

#[tokio::test]
async fn every_class_of_bad_input_is_a_4xx_problem_naming_what_was_wrong() {
    let app = TestApp::spawn_with(&["--body-limit-bytes", "4096"]).await;
    let admin = app.admin();
    // malformed JSON
    admin
        .send_raw(
            Method::POST,
            "/v1/tenants",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await
        .expect_problem(400, None);
    admin
        .send_raw(
            Method::POST,
            "/v1/tenants",
            "application/json",
            b"not json".to_vec(),
        )
        .await
        .expect_problem(400, None);
    // wrong type, unknown field, missing field
    admin
        .post("/v1/tenants", json!({"name": 42}))
        .await
        .expect_problem(422, Some("name"));
    admin
        .post("/v1/tenants", json!({"name": "ok", "colour": "blue"}))
        .await
        .expect_problem(422, Some("colour"));
    admin
        .post("/v1/tenants", json!({"display_name": "No name"}))
        .await
        .expect_problem(422, None);
    admin
        .post("/v1/tenants", json!([1, 2]))
        .await
        .expect_problem(422, None);
    admin.post("/v1/users", json!({"email": "a@b.c", "password": "a long password", "name": "x", "is_platform_admin": "yes"}))
        .await
        .expect_problem(422, Some("is_platform_admin"));
    // wrong content type
    admin
        .send_raw(Method::POST, "/v1/tenants", "text/plain", b"{}".to_vec())
        .await
        .expect_problem(415, None);
    // oversize body
    let huge = json!({"name": "x".repeat(10_000)}).to_string().into_bytes();
    admin
        .send_raw(Method::POST, "/v1/tenants", "application/json", huge)
        .await
        .expect_problem(413, None);
    // bad path ids and query values
    admin
        .delete("/v1/me/api-keys/not-a-uuid")
        .await
        .expect_problem(400, None);
    admin
        .get("/v1/tenants?page_size=0")
        .await
        .expect_problem(400, Some("page_size"));
    admin
        .get("/v1/tenants?page_size=lots")
        .await
        .expect_problem(400, Some("page_size"));
    admin
        .get("/v1/tenants?page_token=garbage")
        .await
        .expect_problem(400, Some("page_token"));
    admin
        .get("/v1/audit-events?since=yesterday")
        .await
        .expect_problem(400, Some("since"));
    admin
        .get("/v1/audit-events?outcome=maybe")
        .await
        .expect_problem(400, Some("outcome"));
    // unknown routes and methods
    admin
        .get("/v1/nothing-here")
        .await
        .expect_problem(404, None);
    admin
        .send(Method::PUT, "/v1/tenants", Some(json!({})), &[])
        .await
        .expect_problem(405, None);
    // nothing was created by any of it
    let tenants = admin.get("/v1/tenants").await.expect(200).json();
    assert_eq!(tenants["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let call = app
        .anonymous()
        .send(
            Method::GET,
            "/healthz",
            None,
            &[("x-request-id", "req-123")],
        )
        .await
        .expect(200);
    assert_eq!(call.header("x-request-id").as_deref(), Some("req-123"));
    let call = app.anonymous().get("/v1/me").await;
    assert!(call.header("x-request-id").is_some_and(|id| id.len() >= 32));
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_replays_the_first_response() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "acme"});
    let headers = [("idempotency-key", "create-acme-1")];
    let first = app
        .admin()
        .send(Method::POST, "/v1/tenants", Some(body.clone()), &headers)
        .await
        .expect(201);
    let second = app
        .admin()
        .send(Method::POST, "/v1/tenants", Some(body.clone()), &headers)
        .await
        .expect(201);
    assert_eq!(first.json(), second.json());
    assert_eq!(
        second.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(
        second.header("location").as_deref(),
        Some("/v1/tenants/acme")
    );
    let count: i64 = sqlx::query_scalar("select count(*) from tenants")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // same key, different body
    app.admin()
        .send(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "other"})),
            &headers,
        )
        .await
        .expect_problem(422, Some("Idempotency-Key"));
    // another caller's identical key is a different key
    let other = app
        .admin()
        .post("/v1/me/api-keys", json!({"name": "second"}))
        .await
        .expect(201)
        .json();
    app.client(other["key"].as_str().unwrap())
        .send(Method::POST, "/v1/tenants", Some(body), &headers)
        .await
        .expect_problem(409, None);
}

#[tokio::test]
async fn patch_with_a_stale_if_match_is_412_and_with_the_current_etag_succeeds() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let read = app.admin().get("/v1/tenants/acme").await.expect(200);
    let etag = read.header("etag").expect("ETag on reads");
    app.admin()
        .patch("/v1/tenants/acme", json!({"display_name": "First"}))
        .await
        .expect(200);
    let stale = app
        .admin()
        .send(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"display_name": "Lost update"})),
            &[("if-match", &etag)],
        )
        .await;
    stale.expect_problem(412, None);
    let fresh = app.admin().get("/v1/tenants/acme").await.expect(200);
    let current = fresh.header("etag").unwrap();
    assert_ne!(current, etag);
    let updated = app
        .admin()
        .send(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"display_name": "Second"})),
            &[("if-match", &current)],
        )
        .await
        .expect(200);
    assert_eq!(updated.json()["display_name"], "Second");
    assert_ne!(updated.header("etag").unwrap(), current);
}

#[tokio::test]
async fn pagination_walks_every_item_once_across_many_pages() {
    let app = TestApp::spawn().await;
    let names: Vec<String> = (0..57).map(|i| format!("t{i:03}")).collect();
    for chunk in names.chunks(10) {
        let creates = chunk.iter().map(|n| app.create_tenant(n));
        futures::future::join_all(creates).await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &token {
            Some(t) => format!("/v1/tenants?page_size=5&page_token={t}"),
            None => "/v1/tenants?page_size=5".to_string(),
        };
        let page = app.admin().get(&path).await.expect(200).json();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(
            items
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        // A tenant created mid-walk must not shift what the walk sees.
        if pages == 3 {
            app.create_tenant("zz-late").await;
        }
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    for name in &names {
        assert!(unique.contains(name), "no gaps: {name} missing");
    }
    assert!(pages >= 12);
}

#[tokio::test]
async fn health_readiness_metrics_and_offline_docs_are_served() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/healthz").await.expect(200);
    app.anonymous().get("/readyz").await.expect(200);
    app.admin().get("/v1/tenants").await.expect(200);
    let metrics =
        String::from_utf8(app.anonymous().get("/metrics").await.expect(200).body).unwrap();
    assert!(metrics.contains("pgplane_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/v1/tenants\""));
    assert!(metrics.contains("pgplane_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("pgplane_db_pool_connections"));
    let spec = app
        .anonymous()
        .get("/openapi.json")
        .await
        .expect(200)
        .json();
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
    let docs = app.anonymous().get("/docs/").await.expect(200);
    let html = String::from_utf8_lossy(&docs.body);
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("https://"),
        "docs must not load assets from the internet"
    );
}

#[tokio::test]
async fn readiness_fails_when_migrations_are_not_current() {
    let app = TestApp::spawn().await;
    sqlx::query("update _sqlx_migrations set success = false")
        .execute(&app.db)
        .await
        .unwrap();
    app.anonymous().get("/readyz").await.expect(503);
}

#[tokio::test]
async fn cors_allows_only_the_configured_portal_origin() {
    let app = TestApp::spawn_with(&["--cors-origins", "http://portal.example.com"]).await;
    let client = app.anonymous();
    let preflight = async |origin: &str| {
        let headers = [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ];
        client
            .send(Method::OPTIONS, "/v1/tenants", None, &headers)
            .await
    };
    let allowed = preflight("http://portal.example.com").await;
    assert_eq!(
        allowed.header("access-control-allow-origin").as_deref(),
        Some("http://portal.example.com")
    );
    let refused = preflight("http://evil.example.com").await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn graceful_shutdown_lets_the_server_stop_cleanly() {
    let app = TestApp::spawn().await;
    let base = app.base_url.clone();
    app.stop().await;
    assert!(
        pgplane_tests::client::get(&format!("{base}/healthz"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn operations_declaring_no_security_ignore_an_invalid_credential() {
    let app = TestApp::spawn().await;
    let stale = app.client("not-a-valid-token");
    let spec = pgplane::http::openapi();
    let public = pgplane::openapi::public_operations(&spec);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            public.contains(&(axum::http::Method::GET, path.to_string())),
            "{path}"
        );
        stale.get(path).await.expect(200);
        app.client("pgp_revoked0000000000000000")
            .get(path)
            .await
            .expect(200);
        app.anonymous()
            .send(
                Method::GET,
                path,
                None,
                &[("authorization", "Basic Zm9vOmJhcg==")],
            )
            .await
            .expect(200);
    }
    // A login form that still holds an old token can log in.
    app.create_user("someone@example.com").await;
    stale
        .post(
            "/v1/auth/token",
            json!({"email": "someone@example.com", "password": pgplane_tests::PASSWORD}),
        )
        .await
        .expect(200);
    // Everything else still refuses a bad credential.
    stale.get("/v1/me").await.expect_problem(401, None);
    app.stop().await;
}
