//! Personal and tenant service API keys.

use pgplane_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_personal_key_is_shown_once_stored_as_a_hash_and_acts_as_its_user() {
    let app = TestApp::spawn().await;
    let created = app
        .admin()
        .post("/v1/me/api-keys", json!({"name": "terraform"}))
        .await
        .expect(201)
        .json();
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("pgp_"));
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    let me = app.client(key).get("/v1/me").await.expect(200).json();
    assert_eq!(me["api_key_id"], created["id"]);

    let listed = app.admin().get("/v1/me/api-keys").await.expect(200);
    assert!(
        !String::from_utf8_lossy(&listed.body).contains(key),
        "the secret must never be listed"
    );
    let item = listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .cloned()
        .unwrap();
    assert!(item["last_used_at"].is_string(), "use is recorded: {item}");
    assert!(item.get("key").is_none());

    let stored: Vec<u8> = sqlx::query_scalar("select key_hash from api_keys where id = $1::uuid")
        .bind(created["id"].as_str().unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32, "only a SHA-256 is stored");
    let as_text: i64 =
        sqlx::query_scalar("select count(*) from api_keys where prefix = $1 or name = $1")
            .bind(key)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(as_text, 0);
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused() {
    let app = TestApp::spawn().await;
    let revoked = app
        .admin()
        .post("/v1/me/api-keys", json!({"name": "old"}))
        .await
        .expect(201)
        .json();
    let key = revoked["key"].as_str().unwrap();
    app.admin()
        .delete(&format!(
            "/v1/me/api-keys/{}",
            revoked["id"].as_str().unwrap()
        ))
        .await
        .expect(204);
    app.client(key)
        .get("/v1/me")
        .await
        .expect_problem(401, None);

    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let expiring = app
        .admin()
        .post("/v1/me/api-keys", json!({"name": "ci", "expires_at": soon}))
        .await
        .expect(201)
        .json();
    let key = expiring["key"].as_str().unwrap();
    app.client(key).get("/v1/me").await.expect(200);
    sqlx::query("update api_keys set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(expiring["id"].as_str().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    app.client(key)
        .get("/v1/me")
        .await
        .expect_problem(401, None);
}

#[tokio::test]
async fn a_key_cannot_be_created_already_expired_or_with_a_role_when_personal() {
    let app = TestApp::spawn().await;
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    app.admin()
        .post("/v1/me/api-keys", json!({"name": "x", "expires_at": past}))
        .await
        .expect_problem(422, Some("expires_at"));
    app.admin()
        .post("/v1/me/api-keys", json!({"name": "x", "role": "owner"}))
        .await
        .expect_problem(422, Some("role"));
    app.admin()
        .post("/v1/me/api-keys", json!({"name": ""}))
        .await
        .expect_problem(422, Some("name"));
}

#[tokio::test]
async fn a_tenant_service_key_acts_with_its_role_in_its_tenant_only() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let created = app
        .admin()
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "ci", "role": "viewer"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["kind"], "tenant");
    assert_eq!(created["role"], "viewer");
    let key = app.client(created["key"].as_str().unwrap());
    key.get("/v1/tenants/acme").await.expect(200);
    key.get("/v1/tenants/acme/quota").await.expect(200);
    key.patch("/v1/tenants/acme", json!({"display_name": "x"}))
        .await
        .expect_problem(403, None);
    key.get("/v1/tenants/globex")
        .await
        .expect_problem(404, None);
    let tenants = key.get("/v1/tenants").await.expect(200).json();
    let names: Vec<&str> = tenants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme"]);
    let me = key.get("/v1/me").await.expect(200).json();
    assert_eq!(me["kind"], "service_key");
    key.get("/v1/me/api-keys").await.expect_problem(403, None);
}

#[tokio::test]
async fn a_tenant_key_cannot_hold_a_higher_role_than_its_creator() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let admin = app.member("acme", "admin").await;
    admin
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "deploy", "role": "developer"}),
        )
        .await
        .expect(201);
    admin
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "boss", "role": "owner"}),
        )
        .await
        .expect_problem(403, None);
    admin
        .post("/v1/tenants/acme/api-keys", json!({"name": "norole"}))
        .await
        .expect_problem(422, Some("role"));
    let developer = app.member("acme", "developer").await;
    developer
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "x", "role": "viewer"}),
        )
        .await
        .expect_problem(403, None);
}

#[tokio::test]
async fn revoking_a_tenant_key_stops_it() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let created = app
        .admin()
        .post(
            "/v1/tenants/acme/api-keys",
            json!({"name": "ci", "role": "developer"}),
        )
        .await
        .expect(201)
        .json();
    let key = app.client(created["key"].as_str().unwrap());
    key.get("/v1/tenants/acme").await.expect(200);
    app.admin()
        .delete(&format!(
            "/v1/tenants/acme/api-keys/{}",
            created["id"].as_str().unwrap()
        ))
        .await
        .expect(204);
    key.get("/v1/tenants/acme").await.expect_problem(401, None);
    let listed = app
        .admin()
        .get("/v1/tenants/acme/api-keys")
        .await
        .expect(200)
        .json();
    assert!(listed["items"][0]["revoked_at"].is_string());
}

#[tokio::test]
async fn a_key_records_where_it_was_last_used_from() {
    let app = TestApp::spawn_with(&["--trust-forwarded-for"]).await;
    let created = app
        .admin()
        .post("/v1/me/api-keys", json!({"name": "laptop"}))
        .await
        .expect(201)
        .json();
    let key = created["key"].as_str().unwrap();
    assert!(created["last_used_at"].is_null() && created["last_used_from"].is_null());
    let last_use = || async {
        let listed = app.admin().get("/v1/me/api-keys").await.expect(200).json();
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == created["id"])
            .cloned()
            .unwrap()
    };
    let from = |address: &'static str| {
        let client = app.client(key);
        async move {
            client
                .send(
                    http::Method::GET,
                    "/v1/me",
                    None,
                    &[("X-Forwarded-For", address)],
                )
                .await
                .expect(200);
        }
    };
    from("203.0.113.7, 10.0.0.1").await;
    let used = last_use().await;
    assert_eq!(used["last_used_from"], "203.0.113.7", "{used}");
    assert!(used["last_used_at"].is_string());
    // Another address within the minute is recorded too (only the time is throttled).
    from("198.51.100.20").await;
    assert_eq!(last_use().await["last_used_from"], "198.51.100.20");
}

#[tokio::test]
async fn platform_admins_list_keys_nobody_used_for_a_number_of_days() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let key = |path: &'static str, body: serde_json::Value| {
        let admin = app.admin();
        async move { admin.post(path, body).await.expect(201).json() }
    };
    let stale = key("/v1/me/api-keys", json!({"name": "old-laptop"})).await;
    let never = key(
        "/v1/tenants/acme/api-keys",
        json!({"name": "forgotten-ci", "role": "viewer"}),
    )
    .await;
    let fresh = key("/v1/me/api-keys", json!({"name": "today"})).await;
    let revoked = key("/v1/me/api-keys", json!({"name": "gone"})).await;
    app.client(fresh["key"].as_str().unwrap())
        .get("/v1/me")
        .await
        .expect(200);
    app.client(stale["key"].as_str().unwrap())
        .get("/v1/me")
        .await
        .expect(200);
    // Time passes: the stale key was last used 40 days ago; the others were made then.
    for (id, used) in [
        (&stale, true),
        (&never, false),
        (&fresh, false),
        (&revoked, false),
    ] {
        sqlx::query(
            "update api_keys set created_at = now() - interval '50 days',
                    last_used_at = case when $2 then now() - interval '40 days' else last_used_at end
             where id = $1::uuid",
        )
        .bind(id["id"].as_str().unwrap())
        .bind(used)
        .execute(&app.db)
        .await
        .unwrap();
    }
    app.admin()
        .delete(&format!(
            "/v1/me/api-keys/{}",
            revoked["id"].as_str().unwrap()
        ))
        .await
        .expect(204);

    let listed = app
        .admin()
        .get("/v1/api-keys?unused_days=30")
        .await
        .expect(200)
        .json();
    let items = listed["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|k| k["name"].as_str().unwrap()).collect();
    // The never-used key counts from its creation (50 days), before the one used 40 days ago;
    // the one used today and the revoked one are not listed (the admin's bootstrap key is
    // new and in use).
    assert_eq!(names, ["forgotten-ci", "old-laptop"], "{listed}");
    assert_eq!(items[0]["tenant_name"], "acme");
    assert_eq!(items[1]["user_email"], pgplane_tests::app::ADMIN_EMAIL);
    assert!(items.iter().all(|k| k.get("key").is_none()));
    let longer = app
        .admin()
        .get("/v1/api-keys?unused_days=45")
        .await
        .expect(200)
        .json();
    assert_eq!(longer["items"].as_array().unwrap().len(), 1, "{longer}");

    // One page at a time.
    let first = app
        .admin()
        .get("/v1/api-keys?unused_days=30&page_size=1")
        .await
        .expect(200)
        .json();
    assert_eq!(first["items"][0]["name"], "forgotten-ci");
    let token = first["next_page_token"].as_str().unwrap();
    let second = app
        .admin()
        .get(&format!(
            "/v1/api-keys?unused_days=30&page_size=1&page_token={token}"
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(second["items"][0]["name"], "old-laptop");

    // 90 days unless asked: none of these is that old.
    let default = app.admin().get("/v1/api-keys").await.expect(200).json();
    assert_eq!(default["items"], json!([]), "{default}");
    for bad in ["?unused_days=0", "?unused_days=3651", "?unused_days=x"] {
        app.admin()
            .get(&format!("/v1/api-keys{bad}"))
            .await
            .expect_problem(400, Some("unused_days"));
    }
    let member = app.member("acme", "owner").await;
    member.get("/v1/api-keys?unused_days=30").await.expect(403);
}
