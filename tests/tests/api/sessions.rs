//! Portal sessions (`/v1/auth/session`): an HttpOnly, SameSite=Lax cookie (Secure over TLS)
//! that only the server can end, and a CSRF token every cookie-authenticated change needs.

use pgplane_tests::app::ADMIN_EMAIL;
use pgplane_tests::client::Method;
use pgplane_tests::{Call, PASSWORD, TestApp, TestClient};
use serde_json::{Value, json};

/// Signs in; returns the answer, the cookie's `name=value` and the CSRF token.
async fn sign_in(client: &TestClient, headers: &[(&str, &str)]) -> (Call, String, String) {
    let call = client
        .send(
            Method::POST,
            "/v1/auth/session",
            Some(json!({"email": ADMIN_EMAIL, "password": PASSWORD})),
            headers,
        )
        .await
        .expect(201);
    let set_cookie = call.header("set-cookie").expect("a session cookie");
    let pair = set_cookie.split(';').next().unwrap().trim().to_string();
    let csrf = call.json()["csrf_token"].as_str().unwrap().to_string();
    (call, pair, csrf)
}

async fn with_cookie(
    client: &TestClient,
    method: Method,
    path: &str,
    body: Option<Value>,
    cookie: &str,
    csrf: Option<&str>,
) -> Call {
    let mut headers = vec![("cookie", cookie)];
    if let Some(token) = csrf {
        headers.push(("x-csrf-token", token));
    }
    client.send(method, path, body, &headers).await
}

#[tokio::test]
async fn a_session_cookie_is_http_only_same_site_and_secure_only_over_tls() {
    let app = TestApp::spawn_with(&["--trust-forwarded-for"]).await;
    let anonymous = app.anonymous();
    let (call, cookie, csrf) = sign_in(&anonymous, &[]).await;
    let set_cookie = call.header("set-cookie").unwrap();
    assert!(cookie.starts_with("pgplane_session="), "{set_cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(flag), "{flag} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    assert!(call.json()["expires_at"].is_string());
    // The cookie signs requests in; a reloaded page learns its CSRF token again.
    let me = with_cookie(&anonymous, Method::GET, "/v1/me", None, &cookie, None).await;
    assert_eq!(me.expect(200).json()["user"]["email"], ADMIN_EMAIL);
    let session = with_cookie(
        &anonymous,
        Method::GET,
        "/v1/auth/session",
        None,
        &cookie,
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(session["csrf_token"], csrf.as_str());
    // Only the id's hash is stored.
    let id = cookie.split_once('=').unwrap().1;
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from sessions where encode(id_hash, 'escape') like '%' || $1 || '%'",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, 0, "the session id is stored as it is");

    // Behind a TLS-terminating proxy pgplane trusts, the cookie is Secure.
    let (tls, _, _) = sign_in(&anonymous, &[("x-forwarded-proto", "https")]).await;
    assert!(tls.header("set-cookie").unwrap().contains("; Secure"));
    let always = TestApp::spawn_with(&["--session-cookie-secure"]).await;
    let (forced, _, _) = sign_in(&always.anonymous(), &[]).await;
    assert!(forced.header("set-cookie").unwrap().contains("; Secure"));
}

#[tokio::test]
async fn a_change_made_with_the_cookie_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let anonymous = app.anonymous();
    let (_, cookie, csrf) = sign_in(&anonymous, &[]).await;
    let create = |name: &str| Some(json!({ "name": name }));
    // As a form on another site would send it: the cookie, no token.
    let forged = with_cookie(
        &anonymous,
        Method::POST,
        "/v1/tenants",
        create("evil"),
        &cookie,
        None,
    )
    .await;
    let problem = forged.expect_problem(403, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("CSRF"),
        "{problem}"
    );
    let wrong = with_cookie(
        &anonymous,
        Method::POST,
        "/v1/tenants",
        create("evil"),
        &cookie,
        Some("not-the-token"),
    )
    .await;
    wrong.expect_problem(403, None);
    app.admin().get("/v1/tenants/evil").await.expect(404);
    // Another session's token does not do either.
    let (_, _, other_csrf) = sign_in(&anonymous, &[]).await;
    with_cookie(
        &anonymous,
        Method::DELETE,
        "/v1/auth/session",
        None,
        &cookie,
        Some(&other_csrf),
    )
    .await
    .expect_problem(403, None);
    // With its own token it goes through.
    with_cookie(
        &anonymous,
        Method::POST,
        "/v1/tenants",
        create("acme"),
        &cookie,
        Some(&csrf),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let anonymous = app.anonymous();
    let (_, cookie, csrf) = sign_in(&anonymous, &[]).await;
    with_cookie(
        &anonymous,
        Method::DELETE,
        "/v1/auth/session",
        None,
        &cookie,
        None,
    )
    .await
    .expect_problem(403, None);
    let out = with_cookie(
        &anonymous,
        Method::DELETE,
        "/v1/auth/session",
        None,
        &cookie,
        Some(&csrf),
    )
    .await
    .expect(204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The cookie, kept by whoever copied it, no longer works anywhere.
    with_cookie(&anonymous, Method::GET, "/v1/me", None, &cookie, None)
        .await
        .expect_problem(401, None);
    with_cookie(
        &anonymous,
        Method::GET,
        "/v1/auth/session",
        None,
        &cookie,
        None,
    )
    .await
    .expect_problem(401, None);
    let revoked: bool = sqlx::query_scalar("select revoked_at is not null from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(revoked);
}

#[tokio::test]
async fn a_wrong_password_or_a_disabled_account_gets_no_session() {
    let app = TestApp::spawn().await;
    let anonymous = app.anonymous();
    let refused = anonymous
        .post(
            "/v1/auth/session",
            json!({"email": ADMIN_EMAIL, "password": "not the password"}),
        )
        .await;
    assert!(refused.header("set-cookie").is_none());
    refused.expect_problem(401, None);
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);

    app.create_user("leaver@example.com").await;
    let call = anonymous
        .post(
            "/v1/auth/session",
            json!({"email": "leaver@example.com", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let cookie = call
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    with_cookie(&anonymous, Method::GET, "/v1/me", None, &cookie, None)
        .await
        .expect(200);
    app.admin()
        .patch("/v1/users/leaver@example.com", json!({"disabled": true}))
        .await
        .expect(200);
    with_cookie(&anonymous, Method::GET, "/v1/me", None, &cookie, None)
        .await
        .expect_problem(401, None);
    // A session cookie that never existed is 401 too, never 500.
    with_cookie(
        &anonymous,
        Method::GET,
        "/v1/me",
        None,
        "pgplane_session=forged",
        None,
    )
    .await
    .expect_problem(401, None);
}
