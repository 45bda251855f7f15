//! The pgBackRest repository claims `<cluster>-<repoName>`, as PGO's `reconcileRepos` /
//! `applyRepoVolumeIntent` apply them: server-side apply of the whole intent, controller
//! ownerReference to the cluster included, on every reconcile.
//!
//! - A claim that lost its ownerReference to the cluster (or was deleted) is applied again at
//!   once: the claims are watched and a change reconciles the cluster that owned the claim
//!   (controller-runtime's owner handler enqueues the owner of the old object too), so
//!   removing the ownerReference of a live, unpaused, undeleted cluster's claim lasts
//!   milliseconds. A cluster being deleted (or paused) never re-applies anything.
//! - A claim of that name that already exists is patched, not replaced: a new cluster named
//!   like a deleted one whose claim was kept adopts it (ownerReference to the new cluster)
//!   together with what the volume holds. The sim keeps a deleted cluster's repositories per
//!   claim uid and hands them to the cluster that adopts the claim: its `pgbackrest info` shows
//!   the dead cluster's stanza and backups, and its stanza creation turns into a
//!   `stanza-upgrade` onto the new system (see `sim.rs`), as PGO's
//!   `stanza-create || stanza-upgrade` does.

use super::*;

/// The key under which the repositories of a deleted cluster wait with its claim: cluster
/// names are DNS labels, so no cluster is ever keyed like this.
pub(super) fn retained_key(namespace: &str, claim_uid: &str) -> (String, String) {
    (namespace.to_string(), format!("claim:{claim_uid}"))
}

impl Controller {
    /// Records a watched claim; returns the uid of the cluster to reconcile (its owner, or the
    /// cluster that applied it last).
    pub(super) fn claim_changed(
        &mut self,
        pvc: PersistentVolumeClaim,
        deleted: bool,
    ) -> Option<String> {
        let ns = pvc.metadata.namespace.clone()?;
        let name = pvc.metadata.name.clone()?;
        let uid = pvc.metadata.uid.clone()?;
        let owner = pvc
            .metadata
            .owner_references
            .as_ref()
            .and_then(|r| r.iter().find(|o| o.controller == Some(true)))
            .map(|o| o.uid.clone())
            .or_else(|| {
                self.tracked
                    .iter()
                    .find(|(_, t)| t.claims.get(&name) == Some(&uid))
                    .map(|(k, _)| k.clone())
            });
        // A claim that merely stopped matching the watch's selector also arrives as deleted,
        // so what a kept claim holds stays until a cluster adopts it.
        if deleted {
            self.claims.remove(&(ns, name));
        } else {
            self.claims.insert((ns, name), pvc);
        }
        owner
    }

    /// Whether a claim the cluster wants is missing or not controlled by it.
    pub(super) fn claims_lost_owner(&self, c: &Cluster<'_>) -> bool {
        children::repo_volume_claims(c).iter().any(|(claim, _)| {
            let name = crate::meta::meta_str(claim, "name").unwrap_or("");
            let key = (c.namespace.to_string(), name.to_string());
            !self.claims.get(&key).is_some_and(|pvc| {
                pvc.metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|r| r.iter().any(|o| o.uid == c.uid))
            })
        })
    }

    /// The volume repositories' claims: applied (and bound through `/status`) per volume repo;
    /// a claim of a repo removed from `spec.backups.pgbackrest.repos` is deleted, and with
    /// `spec.backups` removed only when the cluster is annotated `authorizeBackupRemoval:
    /// "true"` (PGO's `cleanupRepoResources`; otherwise it keeps them).
    pub(super) async fn apply_repo_volumes(&mut self, c: &Cluster<'_>) -> Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let claims: Api<PersistentVolumeClaim> = self.api_for(c.namespace);
        let desired = children::repo_volume_claims(c);
        let mut wanted = Vec::new();
        for (claim, status) in desired {
            let name = crate::meta::meta_str(&claim, "name")
                .unwrap_or("")
                .to_string();
            let applied = claims.patch(&name, &params, &Patch::Apply(claim)).await?;
            let bound = claims
                .patch_status(&name, &params, &Patch::Apply(status))
                .await?;
            if let Some(uid) = applied.metadata.uid.clone() {
                self.adopt_repository(c, &uid);
                if let Some(t) = self.tracked.get_mut(c.uid) {
                    t.claims.insert(name.clone(), uid);
                }
            }
            self.claims
                .insert((c.namespace.to_string(), name.clone()), bound);
            wanted.push(name);
        }
        if !children::backups_enabled(c) && !children::backup_removal_authorized(c) {
            return Ok(());
        }
        let selector = format!("{LABEL_CLUSTER}={},{LABEL_PGBACKREST_VOLUME}", c.name);
        for claim in claims
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            let owned = claim
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|r| r.iter().any(|o| o.uid == c.uid));
            if let Some(name) = &claim.metadata.name
                && owned
                && !wanted.contains(name)
            {
                ignore_not_found(claims.delete(name, &DeleteParams::background()).await)?;
            }
        }
        Ok(())
    }

    /// A claim that outlived its cluster brings that cluster's repositories to the cluster
    /// that now applies it (unless this cluster already created a stanza of its own).
    fn adopt_repository(&self, c: &Cluster<'_>, claim_uid: &str) {
        let Ok(mut repos) = self.shared.repositories.lock() else {
            return;
        };
        let Some(retained) = repos.remove(&retained_key(c.namespace, claim_uid)) else {
            return;
        };
        let key = (c.namespace.to_string(), c.name.to_string());
        if repos.get(&key).is_none_or(|r| !r.has_stanza()) {
            repos.insert(key, retained);
        }
    }
}
