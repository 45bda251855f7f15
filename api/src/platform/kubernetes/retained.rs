//! `deletion_policy: keep_backups` on Kubernetes. PGO's pgBackRest repository lives on a
//! claim (`<cluster>-repo1`) owned by the PostgresCluster, so Kubernetes' garbage collector
//! removes it with the cluster. Before deleting a cluster that keeps its backups, pgplane takes
//! the claim out of the cluster's ownership and marks it with the time it may go; the status
//! sync leader deletes marked claims whose time has come ([`expire`]).
//!
//! PGO applies its children again while it reconciles, which would put the ownership back: the
//! claim is detached right before the cluster is deleted, and a deleting cluster is not
//! reconciled by PGO any more.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::errors::classify;
use super::labels::{CLUSTER_ID, MANAGED_BY, MANAGED_BY_VALUE, PGO_CLUSTER, TENANT_NAME};
use crate::platform::{ClusterTarget, PlatformError};

/// PGO's label on its pgBackRest repository volume claims.
pub const PGO_REPO_VOLUME: &str = "postgres-operator.crunchydata.com/pgbackrest-volume";
/// Marks a claim kept after its cluster was deleted.
pub const RETAINED: &str = "pgplane.io/retained-backups";
/// When a retained claim may be deleted (RFC 3339).
pub const RETAIN_UNTIL: &str = "pgplane.io/retain-until";
/// The deleted cluster's name (its claim's name says it too, but not for sure).
pub const RETAINED_CLUSTER: &str = "pgplane.io/cluster";

/// Detaches the cluster's repository claims from the cluster, marked to be kept until
/// `until`; returns how many it detached. Idempotent: claims already detached are left.
pub async fn detach(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    cluster_uid: Option<&str>,
    until: DateTime<Utc>,
) -> Result<usize, PlatformError> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{PGO_CLUSTER}={},{PGO_REPO_VOLUME}", target.spec.name);
    let listed = claims
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?;
    let mut detached = 0;
    for claim in listed.items {
        let owned_by_cluster = claim
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "PostgresCluster" && cluster_uid.is_none_or(|uid| o.uid == uid));
        let Some(name) = claim.metadata.name.as_deref() else {
            continue;
        };
        if !owned_by_cluster {
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
        claims
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|e| classify(&e))?;
        tracing::info!(%namespace, claim = name, until = %until, "kept the backup repository of a deleted cluster");
        detached += 1;
    }
    Ok(detached)
}

/// Deletes retained claims whose time has come, in every namespace; returns how many.
pub async fn expire(client: &kube::Client, now: DateTime<Utc>) -> Result<usize, PlatformError> {
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let selector = format!("{RETAINED}=true,{MANAGED_BY}={MANAGED_BY_VALUE}");
    let listed = claims
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?;
    let mut expired = 0;
    for claim in listed.items {
        if !is_due(&claim, now) {
            continue;
        }
        let (Some(namespace), Some(name)) = (
            claim.metadata.namespace.as_deref(),
            claim.metadata.name.as_deref(),
        ) else {
            continue;
        };
        let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {
                tracing::info!(%namespace, claim = name, "deleted the backups kept after a cluster's deletion: their time is up");
                expired += 1;
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(classify(&e)),
        }
    }
    Ok(expired)
}

/// True when the claim's retention has passed. A claim whose mark cannot be read is kept:
/// deleting backups is the one mistake that cannot be undone.
fn is_due(claim: &PersistentVolumeClaim, now: DateTime<Utc>) -> bool {
    claim
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RETAIN_UNTIL))
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        .is_some_and(|until| until <= now)
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
