//! Users, managed by platform admins.

use pgplane_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn platform_admins_create_read_update_and_delete_users() {
    let app = TestApp::spawn().await;
    let user = app
        .admin()
        .post(
            "/v1/users",
            json!({"email": "Ana@Example.com", "password": "a long password", "name": "Ana"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(user["email"], "ana@example.com");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let id = user["id"].as_str().unwrap();
    app.admin()
        .get(&format!("/v1/users/{id}"))
        .await
        .expect(200);
    app.admin()
        .get("/v1/users/ana@example.com")
        .await
        .expect(200);
    let updated = app
        .admin()
        .patch(
            &format!("/v1/users/{id}"),
            json!({"name": "Ana B.", "password": "another long password"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated["name"], "Ana B.");
    app.anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": "ana@example.com", "password": "another long password"}),
        )
        .await
        .expect(200);
    app.admin()
        .delete(&format!("/v1/users/{id}"))
        .await
        .expect(204);
    app.admin()
        .get(&format!("/v1/users/{id}"))
        .await
        .expect_problem(404, None);
}

#[tokio::test]
async fn user_input_is_validated_per_field() {
    let app = TestApp::spawn().await;
    let problem = app
        .admin()
        .post(
            "/v1/users",
            json!({"email": "not-an-email", "password": "short", "name": ""}),
        )
        .await
        .expect_problem(422, None);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "name", "password"]);
    app.create_user("dup@example.com").await;
    app.admin()
        .post(
            "/v1/users",
            json!({"email": "DUP@example.com", "password": "a long password", "name": "x"}),
        )
        .await
        .expect_problem(409, None);
    app.admin()
        .patch("/v1/users/dup@example.com", json!({"password": "short"}))
        .await
        .expect_problem(422, Some("password"));
}

#[tokio::test]
async fn tenant_members_cannot_manage_users() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let owner = app.member("acme", "owner").await;
    owner.get("/v1/users").await.expect_problem(403, None);
    owner
        .post(
            "/v1/users",
            json!({"email": "x@example.com", "password": "a long password", "name": "x"}),
        )
        .await
        .expect_problem(403, None);
}

#[tokio::test]
async fn the_last_platform_admin_cannot_be_demoted_disabled_or_deleted() {
    let app = TestApp::spawn().await;
    let me = app.admin().get("/v1/me").await.expect(200).json();
    let id = me["user"]["id"].as_str().unwrap();
    app.admin()
        .patch(
            &format!("/v1/users/{id}"),
            json!({"is_platform_admin": false}),
        )
        .await
        .expect_problem(409, None);
    app.admin()
        .patch(&format!("/v1/users/{id}"), json!({"disabled": true}))
        .await
        .expect_problem(409, None);
    app.admin()
        .delete(&format!("/v1/users/{id}"))
        .await
        .expect_problem(409, None);
    // With a second admin, the first may step down.
    app.admin().post("/v1/users", json!({"email": "second@example.com", "password": "a long password", "name": "Second", "is_platform_admin": true})).await.expect(201);
    app.admin()
        .patch(
            &format!("/v1/users/{id}"),
            json!({"is_platform_admin": false}),
        )
        .await
        .expect(200);
}
