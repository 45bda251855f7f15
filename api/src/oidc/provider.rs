//! One OpenID provider as pgplane uses it: its discovery document (cached an hour), its key set
//! (cached, fetched again when a token names a `kid` it does not have, at most every 30 s), and
//! the verification of the JWTs it signs — ID tokens at sign-in, access tokens at the API.
//!
//! Only asymmetric algorithms are accepted, and only the one the key itself is for: `none` and
//! HMAC are refused before any key is looked at (an HMAC "signed" with the public key is the
//! classic forgery), as is a token without a `kid`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

use super::config::ProviderConfig;
use super::http::HttpClient;

/// How long the discovery document is trusted.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// How long the key set is trusted before it is fetched again anyway.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Least time between two fetches of the key set (a flood of unknown `kid`s fetches once).
const KEYS_REFRESH_MIN: Duration = Duration::from_secs(30);
/// Clock skew allowed on `exp`/`nbf`/`iat`.
const LEEWAY_SECONDS: u64 = 30;

/// The algorithms a provider's token may use: asymmetric only.
const ALLOWED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// The endpoints discovery gives.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Why a provider's token or answer was refused. Shown in logs; clients see a plain 401.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider cannot be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the token's header is malformed or names an algorithm that is not accepted")]
    Algorithm,
    #[error("the token names no key, or a key the provider does not publish")]
    UnknownKey,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

struct Cached<T> {
    value: Option<T>,
    fetched: Option<Instant>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            value: None,
            fetched: None,
        }
    }
}

pub struct Provider {
    pub config: ProviderConfig,
    http: Arc<HttpClient>,
    metadata: RwLock<Cached<Metadata>>,
    keys: RwLock<Cached<JwkSet>>,
}

impl Provider {
    pub fn new(config: ProviderConfig, http: Arc<HttpClient>) -> Self {
        Self {
            config,
            http,
            metadata: RwLock::default(),
            keys: RwLock::default(),
        }
    }

    /// The HTTP client it is reached with.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The discovery document, whose `issuer` must be the configured one exactly.
    pub async fn metadata(&self) -> Result<Metadata, OidcError> {
        if let Some(found) = fresh(&*self.metadata.read().await, METADATA_TTL) {
            return Ok(found);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let json = self
            .http
            .get_json(&url)
            .await
            .map_err(OidcError::Provider)?;
        let metadata: Metadata =
            serde_json::from_value(json).map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        if metadata.issuer != self.config.issuer {
            return Err(OidcError::Provider(format!(
                "{url} names the issuer `{}`, not `{}`",
                metadata.issuer, self.config.issuer
            )));
        }
        let mut cached = self.metadata.write().await;
        *cached = Cached {
            value: Some(metadata.clone()),
            fetched: Some(Instant::now()),
        };
        Ok(metadata)
    }

    /// The published key `kid`, fetching the key set again if it is not known yet.
    async fn key(&self, kid: &str) -> Result<Jwk, OidcError> {
        {
            let keys = self.keys.read().await;
            let current = keys.fetched.is_some_and(|at| at.elapsed() < KEYS_TTL);
            if let (true, Some(found)) = (current, keys.value.as_ref().and_then(|s| s.find(kid))) {
                return Ok(found.clone());
            }
        }
        let mut keys = self.keys.write().await;
        let recently = keys
            .fetched
            .is_some_and(|at| at.elapsed() < KEYS_REFRESH_MIN);
        if !recently {
            let uri = self.metadata().await?.jwks_uri;
            let json = self
                .http
                .get_json(&uri)
                .await
                .map_err(OidcError::Provider)?;
            let set: JwkSet = serde_json::from_value(json)
                .map_err(|e| OidcError::Provider(format!("{uri}: {e}")))?;
            *keys = Cached {
                value: Some(set),
                fetched: Some(Instant::now()),
            };
        }
        keys.value
            .as_ref()
            .and_then(|s| s.find(kid))
            .cloned()
            .ok_or(OidcError::UnknownKey)
    }

    /// Verifies a JWT the provider signed for `audience` (an ID token: with its `nonce`) and
    /// returns its claims.
    pub async fn verify(
        &self,
        token: &str,
        audience: &str,
        nonce: Option<&str>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcError::Algorithm)?;
        if !ALLOWED.contains(&header.alg) {
            return Err(OidcError::Algorithm);
        }
        let kid = header.kid.as_deref().ok_or(OidcError::UnknownKey)?;
        let jwk = self.key(kid).await?;
        // The key says which algorithm it is for; a token may not pick another one.
        if let Some(key_alg) = jwk.common.key_algorithm
            && key_alg.to_string() != format!("{:?}", header.alg)
        {
            return Err(OidcError::Algorithm);
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| OidcError::Invalid(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| OidcError::Invalid(e.to_string()))?;
        if let Some(expected) = nonce
            && data.claims.get("nonce").and_then(|n| n.as_str()) != Some(expected)
        {
            return Err(OidcError::Invalid("the nonce is not the one sent".into()));
        }
        Ok(data.claims)
    }

    /// The groups a token's claims name (the configured claim; a string or a list).
    pub fn groups(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
        match claims.get(&self.config.groups_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }
}

fn fresh<T: Clone>(cached: &Cached<T>, ttl: Duration) -> Option<T> {
    match (&cached.value, cached.fetched) {
        (Some(value), Some(at)) if at.elapsed() < ttl => Some(value.clone()),
        _ => None,
    }
}
