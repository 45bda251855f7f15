//! Keeping the stored secrets and the configured keys in step: the start-up check (every key
//! a stored secret needs is configured and is the right one), sealing plaintext left from
//! before encryption, and `pgplane secrets rotate-key` (every secret rewrapped under the
//! active key, while the service runs: each row is replaced only if nobody changed it since
//! it was read, and rewrapping leaves the secret itself as it was).

use sqlx::PgPool;
use uuid::Uuid;

use super::envelope::PREFIX;
use super::{Keyring, OpenError, Sealed};
use crate::store::sealed::{self, Place, StoredSecret};

/// Rows read per query.
const BATCH: i64 = 500;

/// What a pass over the stored secrets did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// Plaintext values sealed.
    pub sealed: u64,
    /// Values moved from another key to the active one.
    pub rewrapped: u64,
    /// Values changed by someone else between read and write (written by a running pgplane,
    /// so under a key it has).
    pub changed_meanwhile: u64,
    /// Values that could not be opened, with why.
    pub failed: Vec<String>,
}

/// The key in which `secret` is stored.
pub fn context_of(secret: &StoredSecret) -> String {
    let cluster = || Uuid::from_slice(&secret.owner).unwrap_or_default();
    match secret.place {
        Place::OwnerPassword => super::owner_password_context(cluster()),
        Place::RolePassword => super::role_password_context(cluster(), &secret.name),
        Place::IdempotentResponse => super::idempotency_context(&secret.owner, &secret.name),
    }
}

/// Checks that every key the stored secrets are sealed under is configured and opens them.
/// Reads only: a wrong key at start changes nothing.
pub async fn check_keys(db: &PgPool, keyring: &Keyring) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for used in sealed::key_uses(db).await? {
        let Some(key_id) = &used.key_id else {
            continue; // plaintext, sealed after the check
        };
        let Some(value) = std::str::from_utf8(&used.sample.value)
            .ok()
            .and_then(Sealed::parse)
        else {
            continue;
        };
        match keyring.open(&value, &context_of(&used.sample)) {
            Ok(_) => {}
            Err(OpenError::UnknownKey(_)) => problems.push(format!(
                "{} {} are sealed under key `{key_id}`, which the configured keys ({}) do not include: add it back (a rotation removes a key only once `pgplane secrets rotate-key` reports nothing left under it)",
                used.count,
                used.sample.place.describe(),
                keyring.key_ids().join(", ")
            )),
            Err(error) => problems.push(format!(
                "key `{key_id}` does not open the stored {}: {error}; the configured key of that name is not the one they were sealed with",
                used.sample.place.describe()
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the secrets key does not match the metadata database (nothing was changed):\n  {}",
            problems.join("\n  ")
        )
    }
}

/// Seals plaintext secrets (from before encryption) under the active key.
pub async fn seal_plaintext(db: &PgPool, keyring: &Keyring) -> anyhow::Result<Resealed> {
    pass(db, keyring, PREFIX).await
}

/// Moves every stored secret under the active key (and seals plaintext).
pub async fn rotate(db: &PgPool, keyring: &Keyring) -> anyhow::Result<Resealed> {
    let active_prefix = format!("{PREFIX}{}:", keyring.active_id());
    pass(db, keyring, &active_prefix).await
}

/// How many stored secrets are sealed under each key (`None`: plaintext).
pub async fn census(db: &PgPool) -> anyhow::Result<Vec<(Option<String>, i64)>> {
    let mut counts = std::collections::BTreeMap::new();
    for used in sealed::key_uses(db).await? {
        *counts.entry(used.key_id).or_insert(0) += used.count;
    }
    Ok(counts.into_iter().collect())
}

async fn pass(db: &PgPool, keyring: &Keyring, keep_prefix: &str) -> anyhow::Result<Resealed> {
    let mut done = Resealed::default();
    for place in Place::ALL {
        let mut after: Option<StoredSecret> = None;
        loop {
            let batch =
                sealed::not_starting_with(db, place, keep_prefix, after.as_ref(), BATCH).await?;
            for secret in &batch {
                reseal_one(db, keyring, secret, &mut done).await?;
            }
            match batch.last() {
                Some(last) if batch.len() as i64 == BATCH => after = Some(last.clone()),
                _ => break,
            }
        }
    }
    Ok(done)
}

async fn reseal_one(
    db: &PgPool,
    keyring: &Keyring,
    secret: &StoredSecret,
    done: &mut Resealed,
) -> anyhow::Result<()> {
    let context = context_of(secret);
    let sealed_value = std::str::from_utf8(&secret.value)
        .ok()
        .and_then(Sealed::parse);
    let (new, counter) = match sealed_value {
        None => (keyring.seal(&secret.value, &context), &mut done.sealed),
        Some(value) => match keyring.rewrap(&value) {
            Ok(Some(moved)) => (moved, &mut done.rewrapped),
            Ok(None) => return Ok(()),
            Err(error) => {
                done.failed
                    .push(format!("{} at {context}: {error}", secret.place.describe()));
                return Ok(());
            }
        },
    };
    if sealed::replace(db, secret, new.as_str()).await? {
        *counter += 1;
    } else {
        done.changed_meanwhile += 1;
    }
    Ok(())
}
