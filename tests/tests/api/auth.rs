//! Password login, its rate limits, and the JWT attack set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pgplane_tests::TestApp;
use pgplane_tests::app::{
    ADMIN_EMAIL, JWT_AUDIENCE, JWT_ISSUER, JWT_KID, JWT_PRIVATE_KEY, PASSWORD, jwt_encoding_key,
};
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

/// The test servers' signing key.
fn server_key() -> EncodingKey {
    jwt_encoding_key(JWT_PRIVATE_KEY)
}

/// Another Ed25519 key, nobody's.
fn other_key() -> EncodingKey {
    jwt_encoding_key(&base64::engine::general_purpose::STANDARD.encode([9u8; 32]))
}

/// An EdDSA token, as the servers sign them, with `key`.
fn sign(claims: &Value, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid.map(String::from);
    encode(&header, claims, key).unwrap()
}

/// An HS256 token with `secret` as the HMAC key.
fn sign_hs256(claims: &Value, kid: Option<&str>, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(String::from);
    let key = EncodingKey::from_secret(secret).expect("an HS256 key");
    encode(&header, claims, &key).unwrap()
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
    let token = sign(&claims(&admin_id(&app).await), Some(JWT_KID), &server_key());
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
    let jwks = app
        .anonymous()
        .get("/.well-known/jwks.json")
        .await
        .expect(200)
        .json();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_string();
    let public_key = URL_SAFE_NO_PAD.decode(&public_x).unwrap();
    let good_token = sign(&good, Some(JWT_KID), &server_key());
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
            "RS256 header over the EdDSA signature",
            raw_token(json!({"alg": "RS256", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "HS256 header over the EdDSA signature",
            raw_token(json!({"alg": "HS256", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "ES256 header",
            raw_token(json!({"alg": "ES256", "kid": JWT_KID}), &good, &sig),
        ),
        (
            "HS512 header",
            raw_token(json!({"alg": "HS512", "kid": JWT_KID}), &good, &sig),
        ),
        ("wrong key", sign(&good, Some(JWT_KID), &other_key())),
        (
            "HS256 signed with the published public key (algorithm confusion)",
            sign_hs256(&good, Some(JWT_KID), &public_key),
        ),
        (
            "HS256 signed with the public key as the JWKS spells it",
            sign_hs256(&good, Some(JWT_KID), public_x.as_bytes()),
        ),
        (
            "HS256 signed with an HS256 secret (explicit HS256 only)",
            sign_hs256(
                &good,
                Some(JWT_KID),
                b"a-shared-secret-that-is-long-enough-00",
            ),
        ),
        (
            "unknown kid",
            sign(&good, Some("rotated-away"), &server_key()),
        ),
        ("no kid", sign(&good, None, &server_key())),
        (
            "expired",
            sign(
                &with("exp", json!(now() - 3600)),
                Some(JWT_KID),
                &server_key(),
            ),
        ),
        (
            "not yet valid",
            sign(
                &with("nbf", json!(now() + 3600)),
                Some(JWT_KID),
                &server_key(),
            ),
        ),
        (
            "wrong audience",
            sign(
                &with("aud", json!("someone-else")),
                Some(JWT_KID),
                &server_key(),
            ),
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("evil")), Some(JWT_KID), &server_key()),
        ),
        (
            "missing jti",
            sign(&without("jti"), Some(JWT_KID), &server_key()),
        ),
        (
            "missing exp",
            sign(&without("exp"), Some(JWT_KID), &server_key()),
        ),
        (
            "missing nbf",
            sign(&without("nbf"), Some(JWT_KID), &server_key()),
        ),
        (
            "subject not a user id",
            sign(&with("sub", json!("admin")), Some(JWT_KID), &server_key()),
        ),
        (
            "unknown user",
            sign(
                &with("sub", json!(uuid::Uuid::new_v4().to_string())),
                Some(JWT_KID),
                &server_key(),
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
    let valid = sign(&good, Some(JWT_KID), &server_key());
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
                &server_key(),
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
            sign(&good, Some("x' or '1'='1"), &server_key()),
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

#[tokio::test]
async fn the_jwks_publishes_the_keys_tokens_verify_with_through_a_rotation() {
    use base64::engine::general_purpose::STANDARD;
    let mut app = TestApp::spawn().await;
    let kid_of = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwks = |app: &TestApp| {
        let anonymous = app.anonymous();
        async move {
            let call = anonymous.get("/.well-known/jwks.json").await.expect(200);
            assert!(call.header("cache-control").unwrap().contains("max-age"));
            serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(call.json()).unwrap()
        }
    };

    // A token verifies with the published key alone: nobody but pgplane holds a secret.
    let token = app.login(ADMIN_EMAIL).await;
    assert_eq!(kid_of(&token), JWT_KID);
    let set = jwks(&app).await;
    let jwk = set.find(JWT_KID).expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[JWT_AUDIENCE]);
    validation.set_issuer(&[JWT_ISSUER]);
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.claims["sub"], admin_id(&app).await);
    let published = serde_json::to_string(&set).unwrap();
    assert!(
        !published.contains("\"d\""),
        "a private part is published: {published}"
    );

    // Rotation: the new key signs, the old one still verifies its tokens.
    let next = STANDARD.encode([42u8; 32]);
    let both = format!("next:{next},{JWT_KID}:{JWT_PRIVATE_KEY}");
    app.restart_api_with(&["--jwt-keys", &both]).await;
    app.client(&token).get("/v1/me").await.expect(200);
    let fresh = app.login(ADMIN_EMAIL).await;
    assert_eq!(kid_of(&fresh), "next");
    let kids: Vec<String> = jwks(&app)
        .await
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, ["next", JWT_KID]);

    // The old key removed: its tokens stop, the new ones go on.
    app.restart_api_with(&["--jwt-keys", &format!("next:{next}")])
        .await;
    app.client(&token)
        .get("/v1/me")
        .await
        .expect_problem(401, None);
    app.client(&fresh).get("/v1/me").await.expect(200);
}

#[tokio::test]
async fn hs256_is_an_explicit_choice_and_publishes_no_key() {
    let app = TestApp::spawn_with(&[
        "--jwt-algorithm",
        "hs256",
        "--jwt-keys",
        "shared:a-shared-secret-that-is-long-enough-0000",
    ])
    .await;
    let token = app.login(ADMIN_EMAIL).await;
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        Algorithm::HS256
    );
    app.client(&token).get("/v1/me").await.expect(200);
    let jwks = app
        .anonymous()
        .get("/.well-known/jwks.json")
        .await
        .expect(200)
        .json();
    assert_eq!(jwks, json!({"keys": []}));
}
