//! Password login, its rate limits, and the JWT attack set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pgplane_tests::TestApp;
use pgplane_tests::app::{ADMIN_EMAIL, JWT_AUDIENCE, JWT_ISSUER, JWT_KID, JWT_SECRET, PASSWORD};
use serde_json::{Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn admin_id(app: &TestApp) -> String {
    app.admin().get("/v1/me").await.expect(200).json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn claims(sub: &str) -> Value {
    json!({"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": sub, "iat": now(), "nbf": now() - 5,
           "exp": now() + 600, "jti": uuid::Uuid::new_v4().to_string()})
}

fn sign(claims: &Value, kid: Option<&str>, secret: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(String::from);
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("an HS256 key"),
    )
    .unwrap()
}

/// An HS256 token signed with an empty key (which jsonwebtoken refuses to build), the way
/// an attacker guessing that a `kid` pointing at an empty file selects one would sign it.
fn signed_with_empty_key(claims: &Value, kid: &str) -> String {
    use sha2::{Digest, Sha256};
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let message = format!("{h}.{p}");
    // HMAC-SHA256 (RFC 2104) with an empty key: the key block is 64 zero bytes.
    let inner = Sha256::new()
        .chain_update([0x36u8; 64])
        .chain_update(message.as_bytes())
        .finalize();
    let mac = Sha256::new()
        .chain_update([0x5cu8; 64])
        .chain_update(inner)
        .finalize();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// A token with an arbitrary header and payload and the given signature part.
fn raw_token(header: Value, payload: &Value, signature: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{h}.{p}.{signature}")
}

#[tokio::test]
async fn password_login_returns_a_short_lived_bearer_token_that_authenticates() {
    let app = TestApp::spawn().await;
    let body = app
        .anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": ADMIN_EMAIL, "password": PASSWORD}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me = app.client(token).get("/v1/me").await.expect(200).json();
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me["user"]["is_platform_admin"], true);
}

#[tokio::test]
async fn a_wrong_email_and_a_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    let wrong_password = app
        .anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": ADMIN_EMAIL, "password": "not the password"}),
        )
        .await;
    let wrong_email = app
        .anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    let a = wrong_password.expect_problem(401, None);
    let b = wrong_email.expect_problem(401, None);
    assert_eq!(a, b);
}

#[tokio::test]
async fn repeated_failed_logins_for_one_account_are_answered_429_with_retry_after() {
    let app = TestApp::spawn_with(&["--login-max-failures", "3"]).await;
    for _ in 0..3 {
        app.anonymous()
            .post(
                "/v1/auth/token",
                json!({"email": ADMIN_EMAIL, "password": "wrong password!"}),
            )
            .await
            .expect(401);
    }
    // Even the right password is refused while the account is locked.
    let call = app
        .anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": ADMIN_EMAIL, "password": PASSWORD}),
        )
        .await;
    let retry_after: u64 = call
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    call.expect_problem(429, None);
}

#[tokio::test]
async fn failed_logins_from_one_client_address_are_limited_across_accounts() {
    let app = TestApp::spawn_with(&["--login-max-failures", "4"]).await;
    for i in 0..4 {
        let email = format!("guess{i}@example.com");
        app.anonymous()
            .post(
                "/v1/auth/token",
                json!({"email": email, "password": "guess guess guess"}),
            )
            .await
            .expect(401);
    }
    let call = app
        .anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": "another@example.com", "password": "x"}),
        )
        .await;
    assert!(call.header("retry-after").is_some());
    call.expect_problem(429, None);
}

#[tokio::test]
async fn a_correctly_signed_token_is_accepted_so_the_attacks_below_are_meaningful() {
    let app = TestApp::spawn().await;
    let token = sign(&claims(&admin_id(&app).await), Some(JWT_KID), JWT_SECRET);
    app.client(&token).get("/v1/me").await.expect(200);
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let sub = admin_id(&app).await;
    let good = claims(&sub);
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let good_token = sign(&good, Some(JWT_KID), JWT_SECRET);
    let (head, _, sig) = {
        let parts: Vec<&str> = good_token.split('.').collect();
        (
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
        )
    };
    let tampered_payload =
        URL_SAFE_NO_PAD.encode(with("sub", json!(uuid::Uuid::new_v4().to_string())).to_string());
    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            raw_token(
                json!({"alg": "none", "typ": "JWT", "kid": JWT_KID}),
                &good,
                "",
            ),
        ),
        (
            "alg none, upper case",
            raw_token(json!({"alg": "NONE", "kid": JWT_KID}), &good, ""),
        ),
        (
            "RS256 header over an HMAC signature (HS/RS confusion)",
            raw_token(json!({"alg": "RS256", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "EdDSA header",
            raw_token(json!({"alg": "EdDSA", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "HS512 header",
            raw_token(json!({"alg": "HS512", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "wrong key",
            sign(
                &good,
                Some(JWT_KID),
                "another-secret-that-is-long-enough-000000",
            ),
        ),
        ("unknown kid", sign(&good, Some("rotated-away"), JWT_SECRET)),
        ("no kid", sign(&good, None, JWT_SECRET)),
        (
            "expired",
            sign(&with("exp", json!(now() - 3600)), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "not yet valid",
            sign(&with("nbf", json!(now() + 3600)), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "wrong audience",
            sign(
                &with("aud", json!("someone-else")),
                Some(JWT_KID),
                JWT_SECRET,
            ),
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("evil")), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "missing jti",
            sign(&without("jti"), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "missing exp",
            sign(&without("exp"), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "missing nbf",
            sign(&without("nbf"), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "subject not a user id",
            sign(&with("sub", json!("admin")), Some(JWT_KID), JWT_SECRET),
        ),
        (
            "unknown user",
            sign(
                &with("sub", json!(uuid::Uuid::new_v4().to_string())),
                Some(JWT_KID),
                JWT_SECRET,
            ),
        ),
        (
            "tampered payload",
            format!("{head}.{tampered_payload}.{sig}"),
        ),
        ("truncated", good_token[..good_token.len() - 4].to_string()),
        ("garbage", "not.a.token".to_string()),
    ];
    for (name, token) in attacks {
        let call = app.client(&token).get("/v1/me").await;
        assert_eq!(
            call.status,
            401,
            "attack `{name}` was not rejected: {}",
            String::from_utf8_lossy(&call.body)
        );
        assert!(call.header("www-authenticate").is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_401_not_500() {
    let app = TestApp::spawn().await;
    for header in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer ",
        "bearer pgp_nope",
        "Token abc",
    ] {
        let call = app
            .anonymous()
            .send(
                pgplane_tests::client::Method::GET,
                "/v1/me",
                None,
                &[("authorization", header)],
            )
            .await;
        call.expect_problem(401, None);
    }
}

#[tokio::test]
async fn a_disabled_users_tokens_and_keys_stop_working() {
    let app = TestApp::spawn().await;
    app.create_user("leaver@example.com").await;
    let token = app.login("leaver@example.com").await;
    let key = app
        .client(&token)
        .post("/v1/me/api-keys", json!({"name": "laptop"}))
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    app.client(&key).get("/v1/me").await.expect(200);
    app.admin()
        .patch("/v1/users/leaver@example.com", json!({"disabled": true}))
        .await
        .expect(200);
    app.client(&token).get("/v1/me").await.expect(401);
    app.client(&key).get("/v1/me").await.expect(401);
    app.anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": "leaver@example.com", "password": PASSWORD}),
        )
        .await
        .expect(401);
}

#[tokio::test]
async fn tokens_with_a_tampered_signature_or_attacker_supplied_keys_are_rejected() {
    let app = TestApp::spawn().await;
    let good = claims(&admin_id(&app).await);
    let attacker = "attacker-secret-that-is-long-enough-0000000";
    let attacker_key = EncodingKey::from_secret(attacker.as_bytes()).expect("an HS256 key");
    let signed = |header: Value| {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(good.to_string());
        let message = format!("{h}.{p}");
        let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &attacker_key, Algorithm::HS256)
            .unwrap();
        format!("{message}.{sig}")
    };
    let valid = sign(&good, Some(JWT_KID), JWT_SECRET);
    let (message, sig) = valid.rsplit_once('.').unwrap();
    // Flip a character in the middle: the last one of a base64 signature may only carry
    // padding bits.
    let mut flipped: Vec<char> = sig.chars().collect();
    flipped[10] = if flipped[10] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    let attacks: Vec<(&str, String)> = vec![
        ("tampered signature", format!("{message}.{flipped}")),
        ("signature of another token", {
            let other = sign(
                &claims(&uuid::Uuid::new_v4().to_string()),
                Some(JWT_KID),
                JWT_SECRET,
            );
            format!("{message}.{}", other.rsplit_once('.').unwrap().1)
        }),
        ("empty signature", format!("{message}.")),
        (
            "embedded jwk (the attacker's key in the header)",
            signed(json!({"alg": "HS256", "kid": JWT_KID, "jwk": {
                "kty": "oct", "k": URL_SAFE_NO_PAD.encode(attacker)}})),
        ),
        (
            "jku pointing at the attacker's key set",
            signed(json!({"alg": "HS256", "kid": JWT_KID,
                "jku": "https://attacker.example/jwks.json"})),
        ),
        (
            "kid path traversal with an empty key",
            signed_with_empty_key(&good, "../../../../../../dev/null"),
        ),
        (
            "kid injection",
            sign(&good, Some("x' or '1'='1"), JWT_SECRET),
        ),
        (
            "the attacker's key under the real kid",
            signed(json!({"alg": "HS256", "typ": "JWT", "kid": JWT_KID})),
        ),
    ];
    for (name, token) in attacks {
        let call = app.client(&token).get("/v1/me").await;
        assert_eq!(
            call.status,
            401,
            "attack `{name}` was not rejected: {}",
            String::from_utf8_lossy(&call.body)
        );
    }
    app.client(&valid).get("/v1/me").await.expect(200);
}
