//! The instances' data volumes and their growth. PGO applies one claim per instance,
//! `<instance>-pgdata` (labels `.../cluster`, `.../instance`, `.../role=pgdata`), with the spec
//! of the instance set's `dataVolumeClaimSpec` (PGO `reconcilePostgresDataVolume`). A larger
//! `storage` request reaches the volumes only through Kubernetes' volume expansion:
//!
//! - the apiserver's `PersistentVolumeClaimResize` admission refuses to grow a claim unless it
//!   is Bound and its StorageClass says `allowVolumeExpansion: true`. PGO then records a
//!   Warning Event and a `PersistentVolumeResizing` False condition and carries on, so the
//!   PostgresCluster would say the larger size while every volume keeps the old one. The driver
//!   checks first ([`refuse_impossible_growth`]) and refuses the change before applying it.
//! - the storage driver grows the volume and the kubelet the filesystem; only then does the
//!   claim's `status.capacity` reach the request. Until every data volume has, the resize is
//!   not done ([`still_growing`]).

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};

use super::errors::classify;
use super::labels::{PGO_CLUSTER, PGO_ROLE};
use crate::domain::cluster::parse_bytes;
use crate::platform::{ClusterTarget, PlatformError};

/// PGO: the `role` value of the instances' data volume claims.
pub const PGO_ROLE_PGDATA: &str = "pgdata";

/// The data volume claims of `target`'s instances.
pub async fn data_claims(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
) -> Result<Vec<PersistentVolumeClaim>, PlatformError> {
    let selector = format!(
        "{PGO_CLUSTER}={},{PGO_ROLE}={PGO_ROLE_PGDATA}",
        target.spec.name
    );
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map(|list| list.items)
        .map_err(|e| classify(&e))
}

/// Refuses `target` when it asks a data volume to grow that Kubernetes will not grow: one whose
/// StorageClass is unnamed, missing, or does not allow volume expansion (the checks of the
/// `PersistentVolumeClaimResize` admission plugin).
pub async fn refuse_impossible_growth(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
) -> Result<(), PlatformError> {
    let Ok(wanted) = parse_bytes(&target.spec.storage.size) else {
        return Ok(());
    };
    let claims = data_claims(client, namespace, target).await?;
    let growing: Vec<&PersistentVolumeClaim> = claims
        .iter()
        .filter(|c| requested(c).is_some_and(|now| now < wanted))
        .collect();
    let Some(first) = growing.first() else {
        return Ok(());
    };
    let class = first
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone())
        .unwrap_or_default();
    let classes = Api::<StorageClass>::all(client.clone());
    let found = if class.is_empty() {
        None
    } else {
        classes.get_opt(&class).await.map_err(|e| classify(&e))?
    };
    match expansion_refusal(&class, found.as_ref()) {
        None => Ok(()),
        Some(why) => Err(PlatformError::Rejected(format!(
            "storage.size: cannot grow the data volumes of cluster {} to {}: {why}; the \
             volumes keep their current size {}",
            target.spec.name,
            target.spec.storage.size,
            quantity_of(first).unwrap_or_default()
        ))),
    }
}

/// Why a claim of StorageClass `name` (as found, if at all) cannot grow; `None` if it can.
pub fn expansion_refusal(name: &str, class: Option<&StorageClass>) -> Option<String> {
    if name.is_empty() {
        return Some(
            "they have no StorageClass, and only dynamically provisioned volumes can \
                     be expanded"
                .into(),
        );
    }
    match class {
        None => Some(format!("their StorageClass {name} does not exist")),
        Some(c) if c.allow_volume_expansion != Some(true) => Some(format!(
            "their StorageClass {name} does not allow volume expansion \
             (allowVolumeExpansion is not true); a platform admin can enable it on the class"
        )),
        Some(_) => None,
    }
}

/// What the growth of the data volumes to `size` still waits for, or `None` when every claim's
/// capacity has reached it.
pub fn still_growing(claims: &[PersistentVolumeClaim], size: &str) -> Option<String> {
    let wanted = parse_bytes(size).ok()?;
    let behind: Vec<String> = claims
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter(|c| capacity(c).is_none_or(|have| have < wanted))
        .map(|c| {
            let name = c.metadata.name.as_deref().unwrap_or_default();
            let have = c
                .status
                .as_ref()
                .and_then(|s| s.capacity.as_ref())
                .and_then(|m| m.get("storage"))
                .map_or("no capacity yet", |q| q.0.as_str());
            format!("{name} at {have}")
        })
        .collect();
    (!behind.is_empty())
        .then(|| format!("the data volumes to grow to {size} ({})", behind.join(", ")))
}

fn quantity_of(claim: &PersistentVolumeClaim) -> Option<String> {
    claim
        .spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")
        .map(|q| q.0.clone())
}

fn requested(claim: &PersistentVolumeClaim) -> Option<u64> {
    parse_bytes(&quantity_of(claim)?).ok()
}

fn capacity(claim: &PersistentVolumeClaim) -> Option<u64> {
    let q = claim.status.as_ref()?.capacity.as_ref()?.get("storage")?;
    parse_bytes(&q.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(name: &str, request: &str, capacity: Option<&str>) -> PersistentVolumeClaim {
        let mut c = json!({
            "metadata": { "name": name },
            "spec": { "storageClassName": "fast", "resources": { "requests": { "storage": request } } },
        });
        if let Some(have) = capacity {
            c["status"] = json!({ "phase": "Bound", "capacity": { "storage": have } });
        }
        serde_json::from_value(c).unwrap()
    }

    #[test]
    fn growth_is_done_when_every_capacity_reached_the_size() {
        let claims = [
            claim("a-pgdata", "30Gi", Some("30Gi")),
            claim("b-pgdata", "30Gi", Some("20Gi")),
        ];
        let waiting = still_growing(&claims, "30Gi").expect("b is behind");
        assert!(waiting.contains("b-pgdata at 20Gi"), "{waiting}");
        assert!(!waiting.contains("a-pgdata"), "{waiting}");
        assert_eq!(still_growing(&claims[..1], "30Gi"), None);
        // Units differ but sizes compare as bytes: 30Gi = 30720Mi.
        assert_eq!(
            still_growing(&[claim("a-pgdata", "30Gi", Some("30720Mi"))], "30Gi"),
            None
        );
        let unbound = still_growing(&[claim("c-pgdata", "30Gi", None)], "30Gi").unwrap();
        assert!(unbound.contains("no capacity yet"), "{unbound}");
    }

    #[test]
    fn only_a_named_existing_class_that_allows_expansion_lets_volumes_grow() {
        let class = |allow: Option<bool>| StorageClass {
            allow_volume_expansion: allow,
            provisioner: "csi.example.com".into(),
            ..StorageClass::default()
        };
        assert_eq!(expansion_refusal("fast", Some(&class(Some(true)))), None);
        let refused = expansion_refusal("fast", Some(&class(None))).unwrap();
        assert!(
            refused.contains("does not allow volume expansion"),
            "{refused}"
        );
        assert!(expansion_refusal("fast", Some(&class(Some(false)))).is_some());
        assert!(
            expansion_refusal("gone", None)
                .unwrap()
                .contains("does not exist")
        );
        assert!(expansion_refusal("", None).is_some());
    }
}
