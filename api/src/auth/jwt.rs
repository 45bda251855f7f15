//! Access tokens: short-lived JWTs signed with one of several keys, each named by a `kid`.
//!
//! The first configured key signs; every configured key verifies, so a new key can be added in
//! front and the old one removed after one token lifetime without logging anyone out. The
//! algorithm comes from configuration only: a token naming any other algorithm (including
//! `none`) or an unknown `kid` is rejected before its signature is looked at.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, secret) = part
            .split_once(':')
            .ok_or("each key must be `kid:secret`")?;
        if kid.is_empty()
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "key id `{kid}` must be letters, digits, `-`, `_` or `.`"
            ));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "secret of key `{kid}` needs at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("key id `{kid}` appears twice"));
        }
        keys.push((kid.to_string(), secret.as_bytes().to_vec()));
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

    /// A single random HS256 key, for development when no keys are configured.
    pub fn random(issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut secret = vec![0u8; 48];
        rand::rng().fill_bytes(&mut secret);
        let kid = format!("ephemeral-{}", &Uuid::new_v4().simple().to_string()[..8]);
        // A single 48-byte key cannot fail the checks in `hs256`.
        Self::hs256(vec![(kid, secret)], issuer, audience, ttl)
            .unwrap_or_else(|_| unreachable!("one key is always present"))
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

    #[test]
    fn key_specs_are_checked() {
        assert!(parse_keys("").is_err());
        assert!(parse_keys("a:short").is_err());
        assert!(parse_keys(&format!("{A},{A}")).is_err());
        assert!(parse_keys("nocolon").is_err());
        assert_eq!(parse_keys(&format!("{A},{B}")).unwrap().len(), 2);
    }
}
