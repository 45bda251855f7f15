//! `deletion_policy: keep_backups` on Kubernetes. PGO's pgBackRest repository lives on a
//! claim (`<cluster>-repo1`) owned by the PostgresCluster, so Kubernetes' garbage collector
//! removes it with the cluster. Before deleting a cluster that keeps its backups, pgplane takes
//! the claim out of the cluster's ownership and marks it, with the deleted cluster's id, with
//! the time it may go; the status sync leader deletes marked claims whose time has come
//! ([`expire`]).
//!
//! Two windows of the real operator shape this:
//! - PGO server-side applies the repository claim, with its ownerReference, on every reconcile
//!   (`reconcileRepos` → `applyRepoVolumeIntent`), so a detached claim is owned again a moment
//!   later. The driver first pauses the cluster (`spec.paused`: PGO's `Reconcile` then
//!   reconciles no children), detaches only once PGO has acknowledged the pause (condition
//!   `Progressing` `Paused` for the paused generation), and deletes right after; a deleting
//!   cluster is never reconciled again (`handleDelete` returns first).
//! - PGO finds a cluster's repository claim by name, so a new cluster of a dead cluster's name
//!   would adopt its backups (and pgBackRest would refuse them: the stanza belongs to another
//!   system). The API reserves such names while their backups are kept; as a last guard,
//!   [`clear_the_way`] refuses to create a cluster over a kept claim and removes expired ones
//!   first. [`expire`] never deletes a claim that is owned, mounted, or named for a live
//!   cluster.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::errors::classify;
use super::labels::{CLUSTER_ID, MANAGED_BY, MANAGED_BY_VALUE, PGO_CLUSTER, TENANT_NAME};
use super::resources::postgrescluster;
use crate::platform::{ClusterTarget, PlatformError};

/// PGO's label on its pgBackRest repository volume claims.
pub const PGO_REPO_VOLUME: &str = "postgres-operator.crunchydata.com/pgbackrest-volume";
/// Marks a claim kept after its cluster was deleted.
pub const RETAINED: &str = "pgplane.io/retained-backups";
/// When a retained claim may be deleted (RFC 3339).
pub const RETAIN_UNTIL: &str = "pgplane.io/retain-until";
/// The deleted cluster's name (its claim's name says it too, but not for sure).
pub const RETAINED_CLUSTER: &str = "pgplane.io/cluster";

fn claims(client: &kube::Client, namespace: &str) -> Api<PersistentVolumeClaim> {
    Api::namespaced(client.clone(), namespace)
}

/// The repository claims of the cluster named `name` in `namespace` (PGO's labels).
async fn repository_claims(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<PersistentVolumeClaim>, PlatformError> {
    let selector = format!("{PGO_CLUSTER}={name},{PGO_REPO_VOLUME}");
    Ok(claims(client, namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?
        .items)
}

fn owned_by(claim: &PersistentVolumeClaim, cluster_uid: &str) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "PostgresCluster" && o.uid == cluster_uid)
}

/// Whether PGO reconciles nothing of `cluster` any more: it is paused (`spec.paused`) and PGO
/// said so for this generation (`Reconcile`: condition `Progressing`, status False, reason
/// `Paused`, `observedGeneration` = the paused generation), or it is being deleted.
pub fn reconciliation_stopped(cluster: &DynamicObject) -> bool {
    if cluster.metadata.deletion_timestamp.is_some() {
        return true;
    }
    let paused = cluster.data["spec"]["paused"].as_bool() == Some(true);
    let generation = cluster.metadata.generation;
    let acknowledged = cluster.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| {
            c["type"] == "Progressing"
                && c["status"] == "False"
                && c["reason"] == "Paused"
                && c["observedGeneration"].as_i64() == generation
        });
    paused && acknowledged
}

/// Asks PGO to stop reconciling the cluster (`spec.paused: true`, a merge patch by pgplane:
/// the cluster is about to be deleted, so the next apply never comes).
pub async fn pause(
    client: &kube::Client,
    namespace: &str,
    cluster: &DynamicObject,
) -> Result<(), PlatformError> {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &postgrescluster());
    let params = PatchParams {
        field_manager: Some(super::labels::FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(
        name,
        &params,
        &Patch::Merge(json!({"spec": {"paused": true}})),
    )
    .await
    .map_err(|e| classify(&e))?;
    Ok(())
}

/// Detaches the repository claims of the cluster `cluster_uid` (the target's) from it, marked
/// with the cluster's id and kept until `until`; returns how many are still owned by the
/// cluster afterwards as seen by a fresh read (0 when every one is detached). Idempotent.
/// The caller has stopped PGO's reconciliation first ([`reconciliation_stopped`]).
pub async fn detach(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    cluster_uid: &str,
    until: DateTime<Utc>,
) -> Result<usize, PlatformError> {
    for claim in repository_claims(client, namespace, &target.spec.name).await? {
        let Some(name) = claim.metadata.name.as_deref() else {
            continue;
        };
        if !owned_by(&claim, cluster_uid) {
            continue;
        }
        let patch = json!({
            "metadata": {
                "ownerReferences": null,
                "labels": {
                    RETAINED: "true",
                    MANAGED_BY: MANAGED_BY_VALUE,
                    CLUSTER_ID: target.cluster_id.to_string(),
                    TENANT_NAME: target.tenant.tenant_name,
                },
                "annotations": {
                    RETAIN_UNTIL: until.to_rfc3339(),
                    RETAINED_CLUSTER: target.spec.name,
                },
            }
        });
        claims(client, namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| classify(&e))?;
        tracing::info!(%namespace, claim = name, until = %until, "kept the backup repository of a deleted cluster");
    }
    let still_owned = repository_claims(client, namespace, &target.spec.name)
        .await?
        .iter()
        .filter(|c| owned_by(c, cluster_uid))
        .count();
    Ok(still_owned)
}

/// Before the PostgresCluster of `target` is first created: a claim kept after the deletion of
/// an earlier cluster of the same name would be adopted by it (PGO finds repositories by
/// name). An expired one is removed first (the operation waits for it); one still kept refuses
/// the create. Only the first generation creates the object, so only it is checked.
pub async fn clear_the_way(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
) -> Result<(), PlatformError> {
    if target.generation != 1 {
        return Ok(());
    }
    let name = &target.spec.name;
    let selector = format!("{PGO_CLUSTER}={name},{RETAINED}=true");
    let kept = claims(client, namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?
        .items;
    let now = Utc::now();
    let mut removing = Vec::new();
    for claim in &kept {
        let claim_name = claim.metadata.name.clone().unwrap_or_default();
        let label = |k: &str| {
            claim
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(k))
                .cloned()
        };
        if label(CLUSTER_ID).as_deref() == Some(target.cluster_id.to_string().as_str()) {
            continue;
        }
        if !is_due(claim, now) {
            let until = retain_until(claim).map_or("an unreadable time".into(), |t| t.to_rfc3339());
            let dead = label(CLUSTER_ID).unwrap_or_else(|| "unknown".into());
            return Err(PlatformError::Rejected(format!(
                "volume claim {claim_name} keeps the backups of a deleted cluster named `{name}` \
                 (cluster {dead}) until {until}; PGO would give them to this cluster, whose \
                 pgBackRest stanza could not be created over them: choose another name"
            )));
        }
        if claim.metadata.deletion_timestamp.is_none() {
            if let Some(why) = still_in_use(client, namespace, claim).await? {
                return Err(PlatformError::Rejected(format!(
                    "volume claim {claim_name} keeps the expired backups of a deleted cluster \
                     named `{name}` and is {why}: it cannot be removed to make room"
                )));
            }
            delete_claim(client, namespace, claim).await?;
        }
        removing.push(claim_name);
    }
    if removing.is_empty() {
        Ok(())
    } else {
        Err(PlatformError::NotYet(format!(
            "the expired backups of a deleted cluster named `{name}` to be removed ({})",
            removing.join(", ")
        )))
    }
}

/// Deletes exactly this claim (a UID precondition: never a newer claim of the same name).
async fn delete_claim(
    client: &kube::Client,
    namespace: &str,
    claim: &PersistentVolumeClaim,
) -> Result<bool, PlatformError> {
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: claim.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match claims(client, namespace).delete(name, &params).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(false),
        Err(e) => Err(classify(&e)),
    }
}

/// Deletes retained claims whose time has come, in every namespace; returns how many. A due
/// claim that is still in use ([`still_in_use`]) is kept and logged: deleting backups is the
/// one mistake that cannot be undone.
pub async fn expire(client: &kube::Client, now: DateTime<Utc>) -> Result<usize, PlatformError> {
    let all: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let selector = format!("{RETAINED}=true,{MANAGED_BY}={MANAGED_BY_VALUE}");
    let listed = all
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?;
    let mut expired = 0;
    for claim in listed.items {
        if !is_due(&claim, now) || claim.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let (Some(namespace), Some(name)) = (
            claim.metadata.namespace.as_deref(),
            claim.metadata.name.as_deref(),
        ) else {
            continue;
        };
        if let Some(why) = still_in_use(client, namespace, &claim).await? {
            tracing::warn!(%namespace, claim = name, %why, "kept backups past their retention: still in use");
            continue;
        }
        if delete_claim(client, namespace, &claim).await? {
            tracing::info!(%namespace, claim = name, "deleted the backups kept after a cluster's deletion: their time is up");
            expired += 1;
        }
    }
    Ok(expired)
}

/// Why a retained claim must not be deleted even though its time has come: something owns it
/// (PGO adopted it for a cluster), a Pod mounts it, or a live PostgresCluster carries the name
/// or the id it was kept for.
pub async fn still_in_use(
    client: &kube::Client,
    namespace: &str,
    claim: &PersistentVolumeClaim,
) -> Result<Option<String>, PlatformError> {
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    if let Some(owner) = claim.metadata.owner_references.iter().flatten().next() {
        return Ok(Some(format!("owned by {} {}", owner.kind, owner.name)));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pods = pods
        .list(&ListParams::default())
        .await
        .map_err(|e| classify(&e))?;
    let mounted_by = pods.items.iter().find(|pod| {
        pod.spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .any(|c| c.claim_name == name)
    });
    if let Some(pod) = mounted_by {
        let pod = pod.metadata.name.as_deref().unwrap_or_default();
        return Ok(Some(format!("mounted by Pod {pod}")));
    }
    let label = |k: &str| {
        claim
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
    };
    let (cluster_name, cluster_id) = (label(PGO_CLUSTER), label(CLUSTER_ID));
    let clusters: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &postgrescluster());
    let live = clusters
        .list(&ListParams::default())
        .await
        .map_err(|e| classify(&e))?;
    let claimed_by = live.items.iter().find(|c| {
        let id = c.metadata.labels.as_ref().and_then(|l| l.get(CLUSTER_ID));
        c.metadata.name == cluster_name || (cluster_id.is_some() && id == cluster_id.as_ref())
    });
    Ok(claimed_by.map(|c| {
        let live = c.metadata.name.as_deref().unwrap_or_default();
        format!("the live cluster `{live}` carries the name or id it was kept for")
    }))
}

/// The time a retained claim may go, if it can be read.
fn retain_until(claim: &PersistentVolumeClaim) -> Option<DateTime<Utc>> {
    claim
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RETAIN_UNTIL))
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
}

/// True when the claim's retention has passed. A claim whose mark cannot be read is kept:
/// deleting backups is the one mistake that cannot be undone.
fn is_due(claim: &PersistentVolumeClaim, now: DateTime<Utc>) -> bool {
    retain_until(claim).is_some_and(|until| until <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(until: Option<&str>) -> PersistentVolumeClaim {
        let annotations = until
            .map(|u| json!({ RETAIN_UNTIL: u }))
            .unwrap_or(json!({}));
        serde_json::from_value(json!({
            "metadata": {"name": "orders-repo1", "namespace": "pgplane-acme", "annotations": annotations},
        }))
        .unwrap()
    }

    #[test]
    fn only_claims_past_a_readable_retention_are_due() {
        let now: DateTime<Utc> = "2026-12-10T00:00:00Z".parse().unwrap();
        assert!(is_due(&claim(Some("2026-12-09T00:00:00+00:00")), now));
        assert!(!is_due(&claim(Some("2026-12-11T00:00:00+00:00")), now));
        assert!(!is_due(&claim(Some("next week")), now), "unreadable: kept");
        assert!(!is_due(&claim(None), now));
    }
}
