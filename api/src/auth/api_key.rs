//! API keys: `pgp_` + 43 characters of base64url randomness (256 bits). The key is shown once;
//! only its SHA-256 is stored, which is enough for a secret with that much entropy and lets a
//! request be authenticated with one indexed lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Recognisable prefix so leaked keys are easy to spot (and to tell from JWTs).
pub const PREFIX: &str = "pgp_";
/// Characters of the key kept in clear for display (`pgp_` plus a few), never enough to use.
const DISPLAY_PREFIX_CHARS: usize = 12;

/// A freshly generated key: the secret to show once, and what is stored.
pub struct NewApiKey {
    pub secret: String,
    pub display_prefix: String,
    pub hash: Vec<u8>,
}

/// Generates a new random key.
pub fn generate() -> NewApiKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    NewApiKey {
        display_prefix: secret.chars().take(DISPLAY_PREFIX_CHARS).collect(),
        hash: hash(&secret),
        secret,
    }
}

/// The stored form of a presented key.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// True when a bearer credential is shaped like one of our API keys rather than a JWT.
pub fn looks_like_api_key(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_prefixed_unique_and_hash_to_their_stored_form() {
        let a = generate();
        let b = generate();
        assert!(a.secret.starts_with(PREFIX) && looks_like_api_key(&a.secret));
        assert_eq!(a.secret.len(), PREFIX.len() + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(hash(&a.secret), a.hash);
        assert!(a.secret.starts_with(&a.display_prefix));
    }
}
