//! What an operation changes in pgplane's own records beside the operation itself: a rotated
//! password, a backup taken or refused, the version an upgrade reached, a standby promoted.
//! `execute` returns them as data and the worker writes them in the transaction that ends the
//! operation, fenced by its attempt. A worker whose lease expired (its successor may have
//! finished the operation, and a later one changed the cluster again) writes nothing: otherwise
//! it could put an outdated password or version over a newer one.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use crate::domain::cluster::{BackupFacts, BackupType};
use crate::domain::operation::OperationState;
use crate::secrets::{self, Keyring};
use crate::store::{self, StoreResult, operations::Claimed};

/// The record changes of one operation's end; empty for most.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// The owner's new password.
    pub password: Option<String>,
    /// New passwords of the cluster's other roles, by name.
    pub role_passwords: BTreeMap<String, String>,
    /// The backup the operation took.
    pub backup_taken: Option<BackupFacts>,
    /// The backup the platform refused to take, and why.
    pub backup_refused: Option<(BackupType, String)>,
    /// The PostgreSQL major version the cluster now runs.
    pub postgres_version: Option<u32>,
    /// The image the cluster now runs (`Some(None)`: the operator's default).
    pub postgres_image: Option<Option<String>>,
    /// The cluster stopped following its source.
    pub promoted: bool,
}

impl Effects {
    /// Writes the effects in `tx` for the claimed operation's cluster.
    async fn write(
        &self,
        tx: &mut PgConnection,
        claim: &Claimed,
        secrets: &Keyring,
    ) -> StoreResult<()> {
        let op = &claim.operation;
        let Some(cluster_id) = op.cluster_id else {
            return Ok(());
        };
        if let Some(password) = &self.password {
            let context = secrets::owner_password_context(cluster_id);
            let sealed = secrets.seal_str(password, &context);
            store::clusters::set_password(&mut *tx, cluster_id, &sealed).await?;
        }
        if !self.role_passwords.is_empty() {
            let sealed = secrets::seal_role_passwords(secrets, cluster_id, &self.role_passwords);
            store::clusters::set_role_passwords(&mut *tx, cluster_id, &sealed).await?;
        }
        if let Some(backup) = &self.backup_taken {
            store::backups::record_succeeded(&mut *tx, op.tenant_id, cluster_id, op.id, backup)
                .await?;
        }
        if let Some((backup_type, reason)) = &self.backup_refused {
            store::backups::record_failed(
                &mut *tx,
                op.tenant_id,
                cluster_id,
                op.id,
                *backup_type,
                reason,
            )
            .await?;
        }
        if let Some(version) = self.postgres_version {
            store::clusters::set_postgres_version(&mut *tx, cluster_id, version).await?;
        }
        if let Some(image) = &self.postgres_image {
            store::clusters::set_postgres_image(&mut *tx, cluster_id, image.as_deref()).await?;
        }
        if self.promoted {
            store::clusters::clear_standby(&mut *tx, cluster_id).await?;
        }
        Ok(())
    }
}

/// Ends the claimed operation as `state` (with `error`) and writes `effects`, in `tx`. Returns
/// false, having written nothing, when the claim was superseded (see the module comment).
pub async fn finish(
    tx: &mut PgConnection,
    claim: &Claimed,
    state: OperationState,
    error: Option<&str>,
    effects: &Effects,
    secrets: &Keyring,
) -> StoreResult<bool> {
    let ended = store::operations::finish_claimed(&mut *tx, claim, state, error).await?;
    if ended {
        effects.write(tx, claim, secrets).await?;
    }
    Ok(ended)
}
