//! The audit log records every mutation, allowed or refused, and is readable per tenant.

use pgplane_tests::TestApp;
use pgplane_tests::client::Method;
use serde_json::{Value, json};

fn events(page: &Value) -> Vec<Value> {
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn allowed_and_refused_mutations_are_recorded_with_actor_tenant_action_and_request_id() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let viewer = app.member("acme", "viewer").await;
    app.admin()
        .send(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"display_name": "Acme"})),
            &[("x-request-id", "audit-ok-1")],
        )
        .await
        .expect(200);
    viewer
        .send(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"display_name": "Hacked"})),
            &[("x-request-id", "audit-denied-1")],
        )
        .await
        .expect(403);
    app.anonymous()
        .send(
            Method::DELETE,
            "/v1/tenants/acme",
            None,
            &[("x-request-id", "audit-anon-1")],
        )
        .await
        .expect(401);

    let log = events(
        &app.admin()
            .get("/v1/tenants/acme/audit-events?action=tenants.update")
            .await
            .expect(200)
            .json(),
    );
    let allowed = log
        .iter()
        .find(|e| e["request_id"] == "audit-ok-1")
        .expect("allowed update recorded");
    assert_eq!(allowed["outcome"], "allowed");
    assert_eq!(allowed["actor_type"], "user");
    assert_eq!(allowed["actor_label"], "admin@example.com");
    assert_eq!(allowed["tenant_name"], "acme");
    assert_eq!(allowed["target"], "/v1/tenants/acme");
    assert_eq!(allowed["status_code"], 200);
    let denied = log
        .iter()
        .find(|e| e["request_id"] == "audit-denied-1")
        .expect("refused update recorded");
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["status_code"], 403);
    assert!(
        denied["actor_label"]
            .as_str()
            .unwrap()
            .starts_with("viewer-")
    );

    let anonymous = events(
        &app.admin()
            .get("/v1/audit-events?action=tenants.delete")
            .await
            .expect(200)
            .json(),
    );
    let anon = anonymous
        .iter()
        .find(|e| e["request_id"] == "audit-anon-1")
        .expect("anonymous attempt recorded");
    assert_eq!(anon["actor_type"], "anonymous");
    assert_eq!(anon["outcome"], "denied");
}

#[tokio::test]
async fn reads_are_not_audited_but_creates_name_their_new_resource() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.admin().get("/v1/tenants/acme").await.expect(200);
    let log = events(&app.admin().get("/v1/audit-events").await.expect(200).json());
    assert!(log.iter().all(|e| e["action"] != "tenants.get"));
    let create = log
        .iter()
        .find(|e| e["action"] == "tenants.create")
        .expect("create recorded");
    assert_eq!(create["target"], "/v1/tenants/acme");
    assert_eq!(create["tenant_name"], "acme");
    assert!(create["tenant_id"].is_string());
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_audit_events_and_only_owners_and_admins_read_them() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    app.admin()
        .patch("/v1/tenants/globex", json!({"display_name": "Globex"}))
        .await
        .expect(200);
    app.admin()
        .patch("/v1/tenants/acme", json!({"display_name": "Acme"}))
        .await
        .expect(200);
    let owner = app.member("acme", "owner").await;
    let log = events(
        &owner
            .get("/v1/tenants/acme/audit-events")
            .await
            .expect(200)
            .json(),
    );
    assert!(!log.is_empty());
    assert!(log.iter().all(|e| e["tenant_name"] == "acme"), "{log:?}");
    owner
        .get("/v1/audit-events")
        .await
        .expect_problem(403, None);
    let developer = app.member("acme", "developer").await;
    developer
        .get("/v1/tenants/acme/audit-events")
        .await
        .expect_problem(403, None);
    let globex_only = events(
        &app.admin()
            .get("/v1/audit-events?tenant=globex")
            .await
            .expect(200)
            .json(),
    );
    assert!(!globex_only.is_empty() && globex_only.iter().all(|e| e["tenant_name"] == "globex"));
}

#[tokio::test]
async fn audit_events_page_newest_first_and_filter_by_outcome() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        app.create_tenant(&format!("t{i}")).await;
    }
    app.admin()
        .post("/v1/tenants", json!({"name": "t0"}))
        .await
        .expect(409);
    let first = app
        .admin()
        .get("/v1/audit-events?page_size=3")
        .await
        .expect(200)
        .json();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["items"][0]["status_code"], 409, "newest first");
    let token = first["next_page_token"].as_str().unwrap();
    let second = app
        .admin()
        .get(&format!("/v1/audit-events?page_size=3&page_token={token}"))
        .await
        .expect(200)
        .json();
    assert_ne!(first["items"][2]["id"], second["items"][0]["id"]);
    let failed = events(
        &app.admin()
            .get("/v1/audit-events?outcome=failed")
            .await
            .expect(200)
            .json(),
    );
    assert_eq!(failed.len(), 1);
}

#[tokio::test]
async fn a_member_probing_another_tenant_is_recorded_in_its_own_and_the_platform_log_not_the_probed_tenants()
 {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let prober = app.member("acme", "owner").await;
    for (method, path) in [
        (Method::PATCH, "/v1/tenants/globex"),
        (Method::DELETE, "/v1/tenants/globex/clusters/orders"),
        (Method::POST, "/v1/tenants/globex/clusters/orders/backups"),
    ] {
        prober
            .send(
                method,
                path,
                Some(json!({})),
                &[("x-request-id", "probe-1")],
            )
            .await
            .expect(404);
    }
    let is_probe = |e: &Value| e["request_id"] == "probe-1";

    let globex_log = events(
        &app.admin()
            .get("/v1/tenants/globex/audit-events?page_size=500")
            .await
            .expect(200)
            .json(),
    );
    assert!(!globex_log.is_empty(), "the tenant's own creation is there");
    assert!(
        !globex_log.iter().any(is_probe),
        "globex's log names a user of acme: {globex_log:?}"
    );
    assert!(
        globex_log
            .iter()
            .all(|e| !e["actor_label"].as_str().unwrap_or("").contains("acme")),
        "{globex_log:?}"
    );

    let acme_log = events(
        &prober
            .get("/v1/tenants/acme/audit-events?page_size=500")
            .await
            .expect(200)
            .json(),
    );
    let own: Vec<_> = acme_log.iter().filter(|e| is_probe(e)).collect();
    assert_eq!(own.len(), 3, "{acme_log:?}");
    assert!(
        own.iter()
            .all(|e| e["outcome"] == "denied" && e["tenant_name"] == "acme")
    );

    let platform_log = events(
        &app.admin()
            .get("/v1/audit-events?outcome=denied&page_size=500")
            .await
            .expect(200)
            .json(),
    );
    let seen: Vec<_> = platform_log
        .iter()
        .filter(|e| is_probe(e) && e["tenant_name"] == "globex")
        .collect();
    assert_eq!(seen.len(), 3, "{platform_log:?}");
    assert!(seen.iter().all(|e| e["tenant_id"].is_null()));
    assert!(
        seen.iter()
            .all(|e| e["actor_label"].as_str().unwrap().starts_with("owner-"))
    );
}
