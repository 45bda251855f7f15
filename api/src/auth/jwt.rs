//! Access tokens: short-lived JWTs signed with one of several keys, each named by a `kid`.
//!
//! EdDSA (Ed25519) by default: the public keys are published at `/.well-known/jwks.json`, so
//! anything that verifies pgplane's tokens needs no secret. HS256 (a shared secret) only when
//! configured so explicitly. The first configured key signs; every configured key verifies, so
//! a new key can be added in front and the old one removed after one token lifetime without
//! logging anyone out. The algorithm comes from configuration only: a token naming any other
//! algorithm (including `none`, or HS256 "signed" with a public key) or an unknown `kid` is
//! rejected before its signature is looked at.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Smallest accepted HMAC secret, in bytes (the size of the SHA-256 output).
const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated on `exp`/`nbf` between replicas, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// The registered claims pgplane writes and requires.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
}

/// Why a token was refused. Callers answer 401 for all of them alike.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token header is malformed or names an unsupported algorithm")]
    BadHeader,
    #[error("token has no key id or an unknown one")]
    UnknownKey,
    #[error("token is invalid: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("token subject is not a user id")]
    BadSubject,
}

struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The Ed25519 public key, published in the JWKS (none for HS256).
    public: Option<[u8; 32]>,
}

/// PKCS#8 v1 (RFC 8410) of an Ed25519 private key is this prefix and the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 key from its 32-byte private seed.
fn ed25519_key(seed: &[u8; 32]) -> Result<Key, String> {
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| "not an Ed25519 private key".to_string())?;
    let public: [u8; 32] = ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .try_into()
        .map_err(|_| "unexpected Ed25519 public key length".to_string())?;
    let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
    pkcs8.extend_from_slice(seed);
    Ok(Key {
        encoding: EncodingKey::from_ed_der(&pkcs8),
        decoding: DecodingKey::from_ed_der(&public),
        public: Some(public),
    })
}

/// Signing and verifying keys plus the fixed token parameters.
pub struct JwtKeys {
    algorithm: Algorithm,
    signing_kid: String,
    keys: HashMap<String, Key>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

/// Parses `kid:secret,kid:secret`, checking ids are unique and secrets long enough.
pub fn parse_keys(spec: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    parse_entries(spec, |kid, secret| {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "secret of key `{kid}` needs at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(secret.as_bytes().to_vec())
    })
}

/// Parses `kid:base64,kid:base64` of 32-byte Ed25519 private keys (any 32 random bytes:
/// `openssl rand -base64 32`).
pub fn parse_ed25519_keys(spec: &str) -> Result<Vec<(String, [u8; 32])>, String> {
    parse_entries(spec, |kid, encoded| {
        let bytes = STANDARD.decode(encoded).map_err(|_| {
            format!("key `{kid}` must be the base64 of a 32-byte Ed25519 private key (with PGPLANE_JWT_ALGORITHM=hs256 it is a shared secret instead)")
        })?;
        bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "key `{kid}` has {} bytes; an Ed25519 private key has 32 (`openssl rand -base64 32`)",
                b.len()
            )
        })
    })
}

/// The keys of `spec` for `algorithm`, checked.
pub fn check_keys(algorithm: crate::config::JwtAlgorithm, spec: &str) -> Result<(), String> {
    match algorithm {
        crate::config::JwtAlgorithm::Eddsa => parse_ed25519_keys(spec).map(drop),
        crate::config::JwtAlgorithm::Hs256 => parse_keys(spec).map(drop),
    }
}

fn parse_entries<T>(
    spec: &str,
    mut value: impl FnMut(&str, &str) -> Result<T, String>,
) -> Result<Vec<(String, T)>, String> {
    let mut keys: Vec<(String, T)> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, secret) = part.split_once(':').ok_or("each key must be `kid:key`")?;
        if kid.is_empty()
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "key id `{kid}` must be letters, digits, `-`, `_` or `.`"
            ));
        }
        let parsed = value(kid, secret.trim())?;
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("key id `{kid}` appears twice"));
        }
        keys.push((kid.to_string(), parsed));
    }
    if keys.is_empty() {
        return Err("at least one key is required".into());
    }
    Ok(keys)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl JwtKeys {
    /// HS256 keys; the first one signs.
    pub fn hs256(
        keys: Vec<(String, Vec<u8>)>,
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, String> {
        let signing_kid = keys.first().map(|(kid, _)| kid.clone()).ok_or("no keys")?;
        let keys = keys
            .into_iter()
            .map(|(kid, secret)| {
                let unusable = |e: jsonwebtoken::errors::Error| format!("key `{kid}`: {e}");
                let key = Key {
                    encoding: EncodingKey::from_secret(&secret).map_err(unusable)?,
                    decoding: DecodingKey::from_secret(&secret).map_err(unusable)?,
                    public: None,
                };
                Ok((kid, key))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            algorithm: Algorithm::HS256,
            signing_kid,
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        })
    }

    /// EdDSA (Ed25519) keys from their private seeds; the first one signs.
    pub fn eddsa(
        keys: Vec<(String, [u8; 32])>,
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, String> {
        let signing_kid = keys.first().map(|(kid, _)| kid.clone()).ok_or("no keys")?;
        let keys = keys
            .into_iter()
            .map(|(kid, seed)| {
                let key = ed25519_key(&seed).map_err(|e| format!("key `{kid}`: {e}"))?;
                Ok((kid, key))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            algorithm: Algorithm::EdDSA,
            signing_kid,
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        })
    }

    /// A single random EdDSA key, for development when no keys are configured.
    pub fn random(issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let kid = format!("ephemeral-{}", &Uuid::new_v4().simple().to_string()[..8]);
        // Any 32 bytes are an Ed25519 private key.
        Self::eddsa(vec![(kid, seed)], issuer, audience, ttl)
            .unwrap_or_else(|_| unreachable!("one valid key is always present"))
    }

    /// The public keys, as a JSON Web Key Set (RFC 7517; OKP keys of RFC 8037). Empty for
    /// HS256, whose keys are secrets.
    pub fn jwks(&self) -> serde_json::Value {
        let mut keys: Vec<(&String, &Key)> = self.keys.iter().collect();
        // The signing key first, then the rest by id: a stable document.
        keys.sort_by_key(|(kid, _)| (*kid != &self.signing_kid, (*kid).clone()));
        let keys: Vec<serde_json::Value> = keys
            .into_iter()
            .filter_map(|(kid, key)| {
                let public = key.public?;
                Some(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Claims for a new token for `user_id`, valid from now for the configured lifetime.
    pub fn claims_for(&self, user_id: Uuid) -> Claims {
        let now = now_seconds();
        Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            jti: Uuid::now_v7().to_string(),
        }
    }

    /// Signs claims with the current signing key.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.signing_kid.clone());
        let key = &self.keys[&self.signing_kid].encoding;
        jsonwebtoken::encode(&header, claims, key)
    }

    /// Verifies a token and returns the user id it was issued to.
    pub fn verify(&self, token: &str) -> Result<(Uuid, Claims), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::BadHeader)?;
        if header.alg != self.algorithm {
            return Err(TokenError::BadHeader);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid));
        let key = key.ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(self.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "iss", "aud", "jti"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(TokenError::Invalid)?;
        let user_id = data
            .claims
            .sub
            .parse()
            .map_err(|_| TokenError::BadSubject)?;
        Ok((user_id, data.claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> JwtKeys {
        JwtKeys::hs256(
            parse_keys(spec).unwrap(),
            "pgplane",
            "pgplane-api",
            Duration::from_secs(900),
        )
        .unwrap()
    }

    const A: &str = "a:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "b:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn a_signed_token_verifies_and_names_its_user() {
        let k = keys(A);
        let user = Uuid::new_v4();
        let token = k.sign(&k.claims_for(user)).unwrap();
        assert_eq!(k.verify(&token).unwrap().0, user);
    }

    #[test]
    fn tokens_signed_by_an_older_key_still_verify_after_rotation() {
        let old = keys(A);
        let token = old.sign(&old.claims_for(Uuid::new_v4())).unwrap();
        let rotated = keys(&format!("{B},{A}"));
        assert!(rotated.verify(&token).is_ok());
        let retired = keys(B);
        assert!(matches!(
            retired.verify(&token),
            Err(TokenError::UnknownKey)
        ));
    }

    const SEED_1: [u8; 32] = [1; 32];
    const SEED_2: [u8; 32] = [2; 32];

    fn ed(keys: Vec<(&str, [u8; 32])>) -> JwtKeys {
        let keys = keys.into_iter().map(|(k, s)| (k.to_string(), s)).collect();
        JwtKeys::eddsa(keys, "pgplane", "pgplane-api", Duration::from_secs(900)).unwrap()
    }

    #[test]
    fn eddsa_tokens_verify_with_the_published_key_and_survive_a_rotation() {
        let old = ed(vec![("old", SEED_1)]);
        let user = Uuid::new_v4();
        let token = old.sign(&old.claims_for(user)).unwrap();
        assert_eq!(old.verify(&token).unwrap().0, user);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (Algorithm::EdDSA, Some("old"))
        );

        // Anyone can verify it with the JWKS alone.
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(old.jwks()).unwrap();
        let jwk = jwks.find("old").expect("the key is published");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["pgplane-api"]);
        let decoded = jsonwebtoken::decode::<Claims>(
            &token,
            &DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims.sub, user.to_string());

        let rotated = ed(vec![("new", SEED_2), ("old", SEED_1)]);
        assert!(rotated.verify(&token).is_ok(), "the old key still verifies");
        let fresh = rotated.sign(&rotated.claims_for(user)).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
            Some("new")
        );
        let jwks = rotated.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["new", "old"]);
        let retired = ed(vec![("new", SEED_2)]);
        assert!(matches!(
            retired.verify(&token),
            Err(TokenError::UnknownKey)
        ));
        // The same kid with another key: the signature does not verify.
        let impostor = ed(vec![("old", SEED_2)]);
        assert!(matches!(
            impostor.verify(&token),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn hs256_keys_publish_nothing() {
        assert_eq!(keys(A).jwks(), serde_json::json!({"keys": []}));
    }

    #[test]
    fn ed25519_key_specs_are_checked() {
        let good = format!("k:{}", STANDARD.encode([7u8; 32]));
        assert_eq!(parse_ed25519_keys(&good).unwrap()[0].1, [7u8; 32]);
        assert!(parse_ed25519_keys("k:not-base64!").is_err());
        let short = format!("k:{}", STANDARD.encode([7u8; 16]));
        assert!(parse_ed25519_keys(&short).unwrap_err().contains("16 bytes"));
        assert!(parse_ed25519_keys(&format!("{good},{good}")).is_err());
    }

    #[test]
    fn key_specs_are_checked() {
        assert!(parse_keys("").is_err());
        assert!(parse_keys("a:short").is_err());
        assert!(parse_keys(&format!("{A},{A}")).is_err());
        assert!(parse_keys("nocolon").is_err());
        assert_eq!(parse_keys(&format!("{A},{B}")).unwrap().len(), 2);
    }
}
