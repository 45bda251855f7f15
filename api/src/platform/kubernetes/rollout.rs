//! Whether what runs is what was applied. PGO's status cannot say it alone: PGO v5 reports a new
//! `observedGeneration` at the end of the reconcile that *starts* a rollout, with
//! `instances[].updatedReplicas` counted against the StatefulSets it had not yet updated — so
//! every instance looks updated and ready while every Pod still runs the old template. What
//! actually rolled is read where Kubernetes keeps it (PGO `instance.go`: one StatefulSet per
//! instance, `updateStrategy: OnDelete`, Pods recreated one at a time by `rolloutInstances`):
//!
//! - each instance StatefulSet's controller has seen its latest template
//!   (`status.observedGeneration` ≥ `metadata.generation`, an `updateRevision`);
//! - each instance's Pod was created from that revision (label `controller-revision-hash`),
//!   is Ready, and Patroni reports no restart pending (`status` annotation
//!   `pending_restart`: a parameter that only applies after a restart, which PGO's
//!   `handlePatroniRestarts` carries out);
//! - a suspended cluster has no Pods left;
//! - every data volume has grown to the requested size (see [`super::volumes`]).
//!
//! [`pending`] reads the StatefulSets and Pods (two lists), then the data volume claims;
//! [`what_is_pending`] is the pure rule for the first two.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::errors::classify;
use super::labels::{PGO_CLUSTER, PGO_INSTANCE};
use super::volumes;
use crate::platform::{ClusterTarget, PlatformError};

/// The Pod label naming the StatefulSet revision a Pod was created from.
pub const REVISION_HASH: &str = "controller-revision-hash";
/// Patroni's member status on each instance Pod (JSON with `role`, `state`, `pending_restart`).
pub const PATRONI_STATUS: &str = "status";

/// What the rollout of `target` still waits for, or `None` when every instance runs the
/// applied template.
pub async fn pending(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
) -> Result<Option<String>, PlatformError> {
    let selector = format!("{PGO_CLUSTER}={},{PGO_INSTANCE}", target.spec.name);
    let params = ListParams::default().labels(&selector);
    let sets = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(|e| classify(&e))?
        .items;
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(|e| classify(&e))?
        .items;
    if let Some(what) = what_is_pending(&sets, &pods, target.spec.instances, target.spec.suspended)
    {
        return Ok(Some(what));
    }
    let claims = volumes::data_claims(client, namespace, target).await?;
    Ok(volumes::still_growing(&claims, &target.spec.storage.size))
}

/// The rule of the module doc over listed StatefulSets and Pods of one cluster.
pub fn what_is_pending(
    sets: &[StatefulSet],
    pods: &[Pod],
    instances: u32,
    suspended: bool,
) -> Option<String> {
    let live: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    if suspended {
        return (!pods.is_empty()).then(|| {
            format!(
                "{} instance Pod(s) to stop ({})",
                pods.len(),
                names(pods.iter().collect())
            )
        });
    }
    let wanted = usize::try_from(instances).unwrap_or(usize::MAX);
    if sets.len() < wanted {
        return Some(format!(
            "the operator to create the instance StatefulSets ({} of {wanted})",
            sets.len()
        ));
    }
    let mut behind = Vec::new();
    for set in sets {
        let name = set.metadata.name.clone().unwrap_or_default();
        let status = set.status.as_ref();
        let observed = status.and_then(|s| s.observed_generation);
        let revision = status.and_then(|s| s.update_revision.as_deref());
        let (Some(revision), true) = (revision, observed >= set.metadata.generation) else {
            behind.push(format!("{name}: new template not yet observed"));
            continue;
        };
        let pod = live
            .iter()
            .find(|p| label(p, PGO_INSTANCE) == Some(name.as_str()));
        let Some(pod) = pod else {
            behind.push(format!("{name}: Pod not running"));
            continue;
        };
        let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
        if label(pod, REVISION_HASH) != Some(revision) {
            behind.push(format!("{pod_name}: still on the previous template"));
        } else if !ready(pod) {
            behind.push(format!("{pod_name}: not ready"));
        } else if restart_pending(pod) {
            behind.push(format!("{pod_name}: restart pending to apply parameters"));
        }
    }
    let stale = live.len().saturating_sub(sets.len());
    if stale > 0 {
        behind.push(format!("{stale} Pod(s) of removed instances to stop"));
    }
    (!behind.is_empty()).then(|| {
        format!(
            "the operator to roll out the new pod template ({} of {} instances done; {})",
            sets.len().saturating_sub(behind.len()),
            sets.len(),
            behind.join("; ")
        )
    })
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn restart_pending(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PATRONI_STATUS))
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .is_some_and(|s| s["pending_restart"].as_bool() == Some(true))
}

fn names(pods: Vec<&Pod>) -> String {
    pods.iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
