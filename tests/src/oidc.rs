//! A real OpenID provider for the tests: `web-client/e2e/oidc/provider.mjs` (the npm package
//! `oidc-provider`) run by Node on loopback with the users and clients a test gives it, and a
//! minimal browser that signs in through it (redirects followed by hand, one cookie jar per
//! host, the provider's login form filled in).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::client::{Answer, Method, request};

pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    /// The provider's Ed25519 signing key, private part included (to forge tokens with it).
    pub private_jwk: Value,
    _dir: tempfile::TempDir,
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web-client/e2e/oidc/provider.mjs")
}

impl OidcProvider {
    /// Starts the provider with `config` (clients, users, audience; see its README), signing
    /// with Ed25519.
    pub fn start(mut config: Value) -> OidcProvider {
        let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../web-client/node_modules/oidc-provider");
        assert!(
            modules.exists(),
            "the OpenID provider needs web-client's packages: run `npm ci` in web-client (scripts/test does)"
        );
        config["alg"] = "EdDSA".into();
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("provider.json");
        std::fs::write(&file, config.to_string()).expect("provider config");
        let mut child = Command::new("node")
            .arg(fixture())
            .args(["--port", "0", "--expose-private-key", "--config"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts (Node.js 20+ is needed)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the provider's ready line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider printed {line:?}: {e}"));
        OidcProvider {
            child,
            issuer: ready["issuer"].as_str().expect("issuer").to_string(),
            private_jwk: ready["privateJwk"].clone(),
            _dir: dir,
        }
    }

    /// The key id of its signing key.
    pub fn kid(&self) -> String {
        self.private_jwk["kid"].as_str().expect("kid").to_string()
    }

    /// Signs `claims` with the provider's own key (EdDSA), under `kid`.
    pub fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let seed = URL_SAFE_NO_PAD
            .decode(self.private_jwk["d"].as_str().expect("private part"))
            .expect("base64url seed");
        let key = crate::app::jwt_encoding_key(&STANDARD.encode(seed));
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &key).expect("signs")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser as far as sign-in needs one: cookies per host, redirects followed by hand.
#[derive(Default)]
pub struct Browser {
    jars: HashMap<String, HashMap<String, String>>,
}

impl Browser {
    fn host(url: &url::Url) -> String {
        format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port().unwrap_or(80)
        )
    }

    /// The cookie `name` this browser holds for `url`'s host.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = url::Url::parse(url).ok()?;
        self.jars.get(&Self::host(&url))?.get(name).cloned()
    }

    /// One request, sending and keeping cookies.
    pub async fn send(
        &mut self,
        method: Method,
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Answer {
        let parsed = url::Url::parse(url).expect("absolute URL");
        let jar = self.jars.entry(Self::host(&parsed)).or_default();
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let body = form
            .map(|f| {
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f)
                    .finish()
            })
            .unwrap_or_default();
        let mut headers = vec![("cookie", cookie.as_str())];
        if form.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let answer = request(method, url, &headers, body.into_bytes())
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        for set in answer.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap_or_default();
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let gone = value.is_empty()
                    || set.contains("Max-Age=0")
                    || set.contains("expires=Thu, 01 Jan 1970");
                if gone {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
        answer
    }

    /// Follows redirects from `url`, filling the provider's login form with `email` and
    /// `password` when it shows; stops at the first answer on `stop_at`'s host (or a non-
    /// redirect). Returns the last URL and answer.
    pub async fn sign_in(
        &mut self,
        url: &str,
        (email, password): (&str, &str),
        stop_at: &str,
    ) -> (String, Answer) {
        let stop_host = Self::host(&url::Url::parse(stop_at).expect("URL"));
        let mut url = url.to_string();
        let mut answer = self.send(Method::GET, &url, None).await;
        for _ in 0..20 {
            if let Some(location) = answer.headers.get("location") {
                let next = url::Url::parse(&url)
                    .and_then(|base| base.join(location.to_str().unwrap_or("")))
                    .expect("a redirect URL");
                url = next.to_string();
                if Self::host(&next) == stop_host && !url.contains("/v1/auth/oidc/") {
                    return (url, answer);
                }
                answer = self.send(Method::GET, &url, None).await;
            } else if answer.status == 200 && answer.text().contains("name=\"password\"") {
                let form = [("email", email), ("password", password)];
                answer = self.send(Method::POST, &url, Some(&form)).await;
                if answer.status == 200 {
                    return (url, answer); // the form again: refused
                }
            } else {
                return (url, answer);
            }
        }
        panic!("more than 20 redirects from {url}");
    }
}
