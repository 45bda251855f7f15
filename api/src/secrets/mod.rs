//! Secrets at rest: every credential pgplane keeps in its metadata database (cluster and role
//! passwords, stored responses that carry a new API key) is sealed with envelope encryption
//! ([`envelope`]) under key-encryption keys that live outside the database ([`keyring`]). The
//! store only ever sees [`Sealed`] values; `store::sealed` knows every place one is kept, for
//! the start-up check and for key rotation ([`rotation`]).

pub mod envelope;
pub mod keyring;
pub mod rotation;

use std::sync::Arc;

use uuid::Uuid;

pub use envelope::{OpenError, Sealed};
pub use keyring::Keyring;

use crate::config::SecretsConfig;

/// The keyring `config` names.
pub fn keyring(config: &SecretsConfig) -> Result<Arc<Keyring>, String> {
    match (&config.secrets_key_file, &config.secrets_key) {
        (Some(path), None) => Keyring::from_file(path).map(Arc::new),
        (None, Some(text)) => Keyring::from_text(text)
            .map(Arc::new)
            .map_err(|e| format!("PGPLANE_SECRETS_KEY: {e}")),
        (Some(_), Some(_)) => {
            Err("set one of PGPLANE_SECRETS_KEY_FILE and PGPLANE_SECRETS_KEY, not both".into())
        }
        (None, None) => Err(
            "PGPLANE_SECRETS_KEY_FILE (or PGPLANE_SECRETS_KEY) is required: the key-encryption key that seals the secrets pgplane stores; `pgplane secrets generate-key` makes one"
                .into(),
        ),
    }
}

/// Opens a secret as the store returned it: sealed, or plaintext written before encryption
/// (by an older pgplane still running during an upgrade; sealed at the next start).
pub fn open_stored(keyring: &Keyring, stored: String, context: &str) -> Result<String, OpenError> {
    match Sealed::try_from_stored(stored) {
        Ok(sealed) => keyring.open_str(&sealed, context),
        Err(plaintext) => Ok(plaintext),
    }
}

/// Where the owner's password of cluster `id` is kept.
pub fn owner_password_context(cluster_id: Uuid) -> String {
    format!("clusters/{cluster_id}/password")
}

/// Where the password of role `role` of cluster `id` is kept.
pub fn role_password_context(cluster_id: Uuid, role: &str) -> String {
    format!("clusters/{cluster_id}/roles/{role}/password")
}

/// Role passwords sealed each for its place.
pub fn seal_role_passwords(
    keyring: &Keyring,
    cluster_id: Uuid,
    passwords: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, Sealed> {
    passwords
        .iter()
        .map(|(role, password)| {
            let context = role_password_context(cluster_id, role);
            (role.clone(), keyring.seal_str(password, &context))
        })
        .collect()
}

/// Where the stored response of an idempotent request is kept.
pub fn idempotency_context(scope: &[u8], key: &str) -> String {
    format!("idempotency/{}/{key}", hex::encode(scope))
}
