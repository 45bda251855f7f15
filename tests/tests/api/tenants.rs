//! Tenants: creation rules, visibility, suspension, deletion, and isolation between tenants.

use pgplane_tests::TestApp;
use pgplane_tests::client::Method;
use serde_json::json;

use crate::fixtures::insert_cluster;

#[tokio::test]
async fn a_platform_admin_creates_a_tenant_with_a_dns_label_name() {
    let app = TestApp::spawn().await;
    let call = app
        .admin()
        .post(
            "/v1/tenants",
            json!({"name": "acme", "display_name": "Acme Inc."}),
        )
        .await
        .expect(201);
    assert_eq!(call.header("location").as_deref(), Some("/v1/tenants/acme"));
    let tenant = call.json();
    assert_eq!(tenant["display_name"], "Acme Inc.");
    assert_eq!(tenant["suspended"], false);
    assert!(tenant["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(tenant["created_at"].as_str().unwrap()).is_ok());
    for bad in ["Acme", "-acme", "acme_corp", "a.b", &"x".repeat(64), ""] {
        app.admin()
            .post("/v1/tenants", json!({"name": bad}))
            .await
            .expect_problem(422, Some("name"));
    }
    app.admin()
        .post("/v1/tenants", json!({"name": "acme"}))
        .await
        .expect_problem(409, None);
}

#[tokio::test]
async fn only_platform_admins_create_tenants() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let owner = app.member("acme", "owner").await;
    owner
        .post("/v1/tenants", json!({"name": "mine"}))
        .await
        .expect_problem(403, None);
    app.anonymous()
        .post("/v1/tenants", json!({"name": "mine"}))
        .await
        .expect_problem(401, None);
}

#[tokio::test]
async fn members_see_only_their_own_tenants() {
    let app = TestApp::spawn().await;
    for name in ["acme", "globex", "initech"] {
        app.create_tenant(name).await;
    }
    let dev = app.member("globex", "developer").await;
    let listed = dev.get("/v1/tenants").await.expect(200).json();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["globex"]);
    let all = app.admin().get("/v1/tenants").await.expect(200).json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_member_of_one_tenant_gets_404_for_every_path_of_another() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let globex_key = app
        .admin()
        .post(
            "/v1/tenants/globex/api-keys",
            json!({"name": "ci", "role": "viewer"}),
        )
        .await
        .expect(201)
        .json();
    let globex_key_id = globex_key["id"].as_str().unwrap();
    app.member("globex", "viewer").await; // globex has members to guess at
    let acme_owner = app.member("acme", "owner").await;
    let paths: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, "/v1/tenants/globex".into(), None),
        (
            Method::PATCH,
            "/v1/tenants/globex".into(),
            Some(json!({"display_name": "pwned"})),
        ),
        (Method::DELETE, "/v1/tenants/globex".into(), None),
        (Method::GET, "/v1/tenants/globex/members".into(), None),
        (
            Method::PUT,
            "/v1/tenants/globex/members/admin@example.com".into(),
            Some(json!({"role": "owner"})),
        ),
        (
            Method::DELETE,
            "/v1/tenants/globex/members/admin@example.com".into(),
            None,
        ),
        (Method::GET, "/v1/tenants/globex/quota".into(), None),
        (
            Method::PUT,
            "/v1/tenants/globex/quota".into(),
            Some(
                json!({"max_clusters": 1, "max_instances": 1, "max_cpu_millis": 1, "max_memory_mib": 1, "max_storage_gib": 1}),
            ),
        ),
        (Method::GET, "/v1/tenants/globex/api-keys".into(), None),
        (
            Method::POST,
            "/v1/tenants/globex/api-keys".into(),
            Some(json!({"name": "x", "role": "viewer"})),
        ),
        (
            Method::DELETE,
            format!("/v1/tenants/globex/api-keys/{globex_key_id}"),
            None,
        ),
        (Method::GET, "/v1/tenants/globex/audit-events".into(), None),
        (Method::GET, "/v1/tenants/does-not-exist".into(), None),
    ];
    for (method, path, body) in paths {
        let call = acme_owner.send(method.clone(), &path, body, &[]).await;
        let problem = call.expect_problem(404, None);
        assert!(
            !problem.to_string().contains(globex_key_id),
            "{method} {path} leaked an id"
        );
    }
    // A guessed id of globex's key under acme's own path is also just not found.
    acme_owner
        .delete(&format!("/v1/tenants/acme/api-keys/{globex_key_id}"))
        .await
        .expect_problem(404, None);
    app.client(globex_key["key"].as_str().unwrap())
        .get("/v1/tenants/globex")
        .await
        .expect(200);
    let globex = app
        .admin()
        .get("/v1/tenants/globex")
        .await
        .expect(200)
        .json();
    assert_eq!(
        globex["display_name"], "globex",
        "nothing changed in globex"
    );
}

#[tokio::test]
async fn tenant_admins_rename_but_only_platform_admins_suspend() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let admin = app.member("acme", "admin").await;
    let renamed = admin
        .patch("/v1/tenants/acme", json!({"display_name": "ACME Corp"}))
        .await
        .expect(200)
        .json();
    assert_eq!(renamed["display_name"], "ACME Corp");
    admin
        .patch("/v1/tenants/acme", json!({"suspended": true}))
        .await
        .expect_problem(403, None);
    let suspended = app
        .admin()
        .patch("/v1/tenants/acme", json!({"suspended": true}))
        .await
        .expect(200)
        .json();
    assert_eq!(suspended["suspended"], true);
    assert_eq!(suspended["display_name"], "ACME Corp");
    admin
        .patch("/v1/tenants/acme", json!({"display_name": "  "}))
        .await
        .expect_problem(422, Some("display_name"));
    admin
        .patch("/v1/tenants/acme", json!({"name": "renamed"}))
        .await
        .expect_problem(422, Some("name"));
}

#[tokio::test]
async fn deleting_a_tenant_that_still_has_clusters_is_refused_with_409() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    insert_cluster(&app, "acme", "orders", 1).await;
    let problem = app
        .admin()
        .delete("/v1/tenants/acme")
        .await
        .expect_problem(409, None);
    assert!(problem["detail"].as_str().unwrap().contains("1 cluster"));
    app.admin().get("/v1/tenants/acme").await.expect(200);
    sqlx::query("delete from clusters")
        .execute(&app.db)
        .await
        .unwrap();
    app.admin().delete("/v1/tenants/acme").await.expect(204);
    app.admin()
        .get("/v1/tenants/acme")
        .await
        .expect_problem(404, None);
}

#[tokio::test]
async fn only_platform_admins_delete_tenants() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let owner = app.member("acme", "owner").await;
    owner
        .delete("/v1/tenants/acme")
        .await
        .expect_problem(403, None);
}
