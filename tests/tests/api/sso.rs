//! Single sign-on against a real OpenID provider (npm `oidc-provider` on loopback): sign-in
//! with the authorization-code flow (PKCE, state, nonce) ending in a portal session, users made
//! on first sign-in with the roles their groups give, and the provider's access tokens at the
//! API, with the forgeries a verifier must refuse.

use pgplane_tests::app::ADMIN_EMAIL;
use pgplane_tests::client::{Method, request};
use pgplane_tests::oidc::{Browser, OidcProvider};
use pgplane_tests::{PASSWORD, TestApp};
use serde_json::{Value, json};

const CLIENT_SECRET: &str = "a client secret with: odd characters&=";
const AUDIENCE: &str = "pgplane-api";

struct Sso {
    app: TestApp,
    provider: OidcProvider,
    _secret_dir: tempfile::TempDir,
}

fn user(sub: &str, email: &str, groups: &[&str]) -> Value {
    json!({"sub": sub, "email": email, "name": sub, "password": "correct horse", "groups": groups})
}

/// pgplane on a port known in advance (its redirect URI is registered with the provider) with
/// the provider `corp` configured.
async fn start(extra: &[&str]) -> Sso {
    let port = pgplane::embedded_pg::free_port().expect("a free port");
    let base = format!("http://127.0.0.1:{port}");
    let provider = OidcProvider::start(json!({
        "clients": [
            {"client_id": "pgplane", "client_secret": CLIENT_SECRET,
             "redirect_uris": [format!("{base}/v1/auth/oidc/corp/callback")]},
            // A command-line client of the same provider, asking for tokens for pgplane's API.
            {"client_id": "cli", "client_secret": "cli-secret", "redirect_uris": ["http://127.0.0.1:9/cb"]}
        ],
        "users": [
            user("alice", "alice@example.com", &["dbas", "acme-devs"]),
            user("bob", "bob@example.com", &[]),
        ],
        "audience": AUDIENCE,
    }));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let providers = dir.path().join("providers.json");
    std::fs::write(
        &providers,
        json!([{
            "name": "corp", "display_name": "Corp SSO", "issuer": provider.issuer,
            "client_id": "pgplane", "client_secret_file": secret,
            "scopes": ["openid", "email", "profile", "groups"], "audience": AUDIENCE
        }])
        .to_string(),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--listen",
        &listen,
        "--public-url",
        &base,
        "--oidc-providers-file",
        providers.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let app = TestApp::spawn_with(&args).await;
    Sso {
        app,
        provider,
        _secret_dir: dir,
    }
}

impl Sso {
    /// Signs in through the provider as `email`; the final redirect and the browser.
    async fn sign_in(&self, email: &str, return_to: &str) -> (String, Browser) {
        let mut browser = Browser::default();
        let start = format!(
            "{}/v1/auth/oidc/corp/start?return_to={}",
            self.app.base_url,
            form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        let (landed, _) = browser
            .sign_in(&start, (email, "correct horse"), &self.app.base_url)
            .await;
        (landed, browser)
    }

    async fn me(&self, browser: &Browser) -> Value {
        let session = browser
            .cookie(&self.app.base_url, "pgplane_session")
            .expect("a session cookie");
        let cookie = format!("pgplane_session={session}");
        let answer = request(
            Method::GET,
            &format!("{}/v1/me", self.app.base_url),
            &[("cookie", &cookie)],
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json().unwrap()
    }

    async fn rule(&self, body: Value) -> Value {
        self.app
            .admin()
            .post("/v1/group-rules", body)
            .await
            .expect(201)
            .json()
    }

    /// An access token for pgplane's API from the provider, by the command-line client's own
    /// authorization-code flow.
    async fn access_token(&self, email: &str) -> String {
        let verifier = "a-pkce-verifier-long-enough-for-the-rules-0123456789";
        let challenge = {
            use base64::Engine;
            use sha2::Digest;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()))
        };
        let authorize = format!(
            "{}/auth?client_id=cli&response_type=code&scope=openid%20email%20groups&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
            self.provider.issuer
        );
        let mut browser = Browser::default();
        let (landed, _) = browser
            .sign_in(&authorize, (email, "correct horse"), "http://127.0.0.1:9")
            .await;
        let code = url::Url::parse(&landed)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("a code")
            .1
            .to_string();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", verifier),
            ])
            .finish();
        let basic = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode("cli:cli-secret")
        };
        let answer = request(
            Method::POST,
            &format!("{}/token", self.provider.issuer),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &format!("Basic {basic}")),
            ],
            body.into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn signing_in_through_the_provider_makes_the_user_with_the_roles_their_groups_give() {
    let sso = start(&[]).await;
    let options = sso
        .app
        .anonymous()
        .get("/v1/auth/providers")
        .await
        .expect(200)
        .json();
    assert_eq!(options["password"], true);
    assert_eq!(options["providers"][0]["display_name"], "Corp SSO");
    sso.app.create_tenant("acme").await;
    let admin_rule = sso
        .rule(json!({"provider": "corp", "group": "dbas", "platform_admin": true}))
        .await;
    sso.rule(
        json!({"provider": "corp", "group": "acme-devs", "tenant": "acme", "role": "developer"}),
    )
    .await;

    let (landed, browser) = sso.sign_in("alice@example.com", "/t/acme/clusters").await;
    assert!(landed.ends_with("/t/acme/clusters"), "{landed}");
    // The sign-in cookie is gone; a portal session took its place.
    assert!(browser.cookie(&sso.app.base_url, "pgplane_oidc").is_none());
    let me = sso.me(&browser).await;
    assert_eq!(me["user"]["email"], "alice@example.com");
    assert_eq!(me["user"]["is_platform_admin"], true, "{me}");
    assert_eq!(
        me["tenants"],
        json!([{"tenant": "acme", "tenant_id": me["tenants"][0]["tenant_id"], "role": "developer"}])
    );

    // The rule goes: the next sign-in takes back what it gave, and only that.
    sso.app
        .admin()
        .delete(&format!(
            "/v1/group-rules/{}",
            admin_rule["id"].as_str().unwrap()
        ))
        .await
        .expect(204);
    let (_, again) = sso.sign_in("alice@example.com", "/").await;
    let me = sso.me(&again).await;
    assert_eq!(me["user"]["is_platform_admin"], false, "{me}");
    assert_eq!(me["tenants"][0]["role"], "developer");

    // Someone in no group gets an account and nothing else; another site is no place to land.
    let (landed, bob) = sso
        .sign_in("bob@example.com", "https://evil.example/")
        .await;
    assert_eq!(url::Url::parse(&landed).unwrap().path(), "/");
    let me = sso.me(&bob).await;
    assert_eq!(
        (
            me["user"]["is_platform_admin"].clone(),
            me["tenants"].clone()
        ),
        (json!(false), json!([]))
    );
}

#[tokio::test]
async fn a_callback_that_is_not_this_browser_s_sign_in_is_refused() {
    let sso = start(&[]).await;
    let start_url = format!("{}/v1/auth/oidc/corp/start", sso.app.base_url);
    let mut browser = Browser::default();
    let started = browser.send(Method::GET, &start_url, None).await;
    assert_eq!(started.status, 303);
    let authorize = started
        .headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for param in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "code_challenge=",
    ] {
        assert!(authorize.contains(param), "{param} missing: {authorize}");
    }
    let callback = |query: &str| format!("{}/v1/auth/oidc/corp/callback?{query}", sso.app.base_url);
    // Another state than the one this browser holds (a login forced on someone else).
    let forged = browser
        .send(Method::GET, &callback("code=x&state=forged"), None)
        .await;
    let to = forged.headers.get("location").unwrap().to_str().unwrap();
    assert!(
        to.starts_with("/sign-in?sso_error=") && to.contains("state"),
        "{to}"
    );
    // No sign-in cookie at all.
    let stranger = request(Method::GET, &callback("code=x&state=y"), &[], Vec::new())
        .await
        .unwrap();
    let to = stranger.headers.get("location").unwrap().to_str().unwrap();
    assert!(to.contains("started+no+sign-in"), "{to}");
    assert!(
        stranger
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("pgplane_session="))
    );
    // The provider's own refusal is passed on.
    let refused = request(
        Method::GET,
        &callback("error=access_denied&error_description=no"),
        &[],
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(
        refused
            .headers
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("access_denied")
    );
    sso.app
        .anonymous()
        .get("/v1/auth/oidc/nope/start")
        .await
        .expect(404);
}

#[tokio::test]
async fn the_api_takes_the_providers_access_tokens_and_refuses_forgeries() {
    let sso = start(&[]).await;
    let token = sso.access_token("bob@example.com").await;
    let me = sso
        .app
        .client(&token)
        .get("/v1/me")
        .await
        .expect(200)
        .json();
    assert_eq!(me["user"]["email"], "bob@example.com");

    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let with = |key: &str, value: Value| {
        let mut c = claims.clone();
        c[key] = value;
        c
    };
    let kid = sso.provider.kid();
    let valid = sso.provider.sign(&claims, Some(&kid));
    sso.app.client(&valid).get("/v1/me").await.expect(200);
    let (head, _, sig) = {
        let p: Vec<&str> = valid.split('.').collect();
        (p[0].to_string(), p[1].to_string(), p[2].to_string())
    };
    let encode = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let public_x = {
        let jwks = pgplane_tests::client::get(&format!("{}/jwks", sso.provider.issuer))
            .await
            .unwrap();
        jwks.json().unwrap()["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hs256_with_public_key = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let key = jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let attacks = [
        (
            "expired",
            sso.provider
                .sign(&with("exp", json!(now - 3600)), Some(&kid)),
        ),
        (
            "another audience",
            sso.provider
                .sign(&with("aud", json!("someone-else")), Some(&kid)),
        ),
        (
            "another issuer",
            sso.provider
                .sign(&with("iss", json!("https://evil.example")), Some(&kid)),
        ),
        (
            "unknown kid",
            sso.provider.sign(&claims, Some("rotated-away")),
        ),
        ("no kid", sso.provider.sign(&claims, None)),
        (
            "alg none",
            format!(
                "{}.{}.",
                encode(&json!({"alg": "none", "kid": kid})),
                encode(&claims)
            ),
        ),
        ("HS256 signed with the public key", hs256_with_public_key),
        (
            "tampered payload",
            format!("{head}.{}.{sig}", encode(&with("sub", json!("alice")))),
        ),
        ("another key under the real kid", {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
            header.kid = Some(kid.clone());
            let key = pgplane_tests::app::jwt_encoding_key(pgplane_tests::app::JWT_PRIVATE_KEY);
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        }),
    ];
    for (name, forged) in attacks {
        let call = sso.app.client(&forged).get("/v1/me").await;
        assert_eq!(
            call.status,
            401,
            "attack `{name}` was not refused: {}",
            String::from_utf8_lossy(&call.body)
        );
        call.expect_problem(401, None);
    }
}

#[tokio::test]
async fn password_sign_in_can_be_switched_off() {
    let sso = start(&["--password-login", "false"]).await;
    let options = sso
        .app
        .anonymous()
        .get("/v1/auth/providers")
        .await
        .expect(200)
        .json();
    assert_eq!(options["password"], false);
    for path in ["/v1/auth/token", "/v1/auth/session"] {
        sso.app
            .anonymous()
            .post(path, json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .await
            .expect_problem(403, None);
    }
    // API keys still work, and so does the provider.
    sso.app.admin().get("/v1/me").await.expect(200);
    let (_, browser) = sso.sign_in("bob@example.com", "/").await;
    assert_eq!(sso.me(&browser).await["user"]["email"], "bob@example.com");
}
