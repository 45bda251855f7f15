//! Minor version upgrade: the cluster moves to a newer approved image of its major version.
//! PGO rolls the instances one at a time (replicas first, then a switchover to an updated
//! replica, then the old primary), so an HA cluster keeps serving. Each run reads where things
//! stand and does the next step:
//!
//! 1. An earlier run put the old image back (the cluster carries [`ROLLBACK_ANNOTATION`] = this
//!    operation): fail with the reason it recorded.
//! 2. A Pod cannot start the new image (`ImagePullBackOff`, `ErrImagePull`, `InvalidImageName`,
//!    `CrashLoopBackOff`): the roll stops there by itself (a StatefulSet waits for each Pod),
//!    so apply the old image again, record the reason, and fail; the instances not yet
//!    restarted never stopped.
//! 3. The live `spec.image` is not the new one: apply the desired state with it.
//! 4. Done once PGO observed that generation, counts every instance updated and ready
//!    (`updatedReplicas`), and every instance Pod really runs its StatefulSet's new revision
//!    ([`super::rollout`]: PGO's counts run ahead of the Pods).

use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use serde_json::json;
use uuid::Uuid;

use super::actions::{annotation, clusters, instances_sum, trigger};
use super::cluster;
use super::errors::classify;
use super::exec::instance_pods;
use super::rollout;
use crate::platform::{ActionProgress, ClusterTarget, PlatformError};

/// On the cluster: the operation whose new image was rolled back.
pub const ROLLBACK_ANNOTATION: &str = "pgplane.io/minor-upgrade-rolled-back";
/// On the cluster: why (what the Pod reported).
pub const ROLLBACK_REASON_ANNOTATION: &str = "pgplane.io/minor-upgrade-failure";

/// Container `waiting` reasons that mean the image will not run without a change.
const STUCK: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
];

pub async fn run(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    from_image: Option<&str>,
    to_image: &str,
    operation: Uuid,
) -> Result<ActionProgress, PlatformError> {
    let name = &target.spec.name;
    let id = operation.to_string();
    let live = clusters(client, namespace)
        .get(name)
        .await
        .map_err(|e| classify(&e))?;
    let old = from_image.unwrap_or("the operator's default image");

    if annotation(&live, ROLLBACK_ANNOTATION) == Some(id.as_str()) {
        let reason = annotation(&live, ROLLBACK_REASON_ANNOTATION).unwrap_or("it did not start");
        return Err(PlatformError::Rejected(format!(
            "{name} cannot run {to_image}: {reason}; it is back on {old}"
        )));
    }

    if let Some(reason) = stuck_pod(client, namespace, name, to_image).await? {
        // `None`: the API refuses upgrades of standbys, so no standby block is applied here.
        let back = ClusterTarget {
            image: from_image.map(String::from),
            ..target.clone()
        };
        cluster::apply(client, namespace, None, &back)
            .await
            .map_err(|e| classify(&e))?;
        let patch = json!({"metadata": {"annotations": {
            ROLLBACK_ANNOTATION: id,
            ROLLBACK_REASON_ANNOTATION: reason,
        }}});
        trigger(client, namespace, name, patch).await?;
        return Err(PlatformError::Rejected(format!(
            "{name} cannot run {to_image}: {reason}; it is back on {old}"
        )));
    }

    if live.data["spec"]["image"].as_str() != Some(to_image) {
        let upgraded = ClusterTarget {
            image: Some(to_image.to_string()),
            ..target.clone()
        };
        cluster::apply(client, namespace, None, &upgraded)
            .await
            .map_err(|e| classify(&e))?;
        return Ok(ActionProgress::Waiting(format!(
            "the operator to restart {name} on {to_image}, replicas first"
        )));
    }

    let (updated, ready) = rolled(&live);
    let instances = i64::from(target.spec.instances);
    if !caught_up(&live) || updated < instances || ready < instances {
        return Ok(ActionProgress::Waiting(format!(
            "the operator to restart {name} on {to_image} ({updated} of {instances} instances updated, {ready} ready)"
        )));
    }
    // PGO's counts can say "updated" before a single Pod restarted (see `rollout`).
    if let Some(what) = rollout::pending(client, namespace, target).await? {
        return Ok(ActionProgress::Waiting(format!("{what} (to {to_image})")));
    }
    Ok(ActionProgress::done())
}

fn caught_up(live: &DynamicObject) -> bool {
    let observed = live.data["status"]["observedGeneration"].as_i64();
    observed.is_some() && observed == live.metadata.generation
}

/// Instances on the current pod template, and instances ready, over every instance set.
fn rolled(live: &DynamicObject) -> (i64, i64) {
    (
        instances_sum(live, "updatedReplicas"),
        instances_sum(live, "readyReplicas"),
    )
}

/// Why a Pod of the cluster running `image` cannot start it, if one cannot.
async fn stuck_pod(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    image: &str,
) -> Result<Option<String>, PlatformError> {
    let pods = instance_pods(client, namespace, cluster).await?;
    Ok(pods.iter().find_map(|pod| stuck_reason(pod, image)))
}

fn stuck_reason(pod: &Pod, image: &str) -> Option<String> {
    let runs_image = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .any(|c| c.image.as_deref() == Some(image));
    if !runs_image {
        return None;
    }
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|status| {
        let waiting = status.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        STUCK.contains(&reason).then(|| {
            let pod_name = pod.metadata.name.as_deref().unwrap_or("a pod");
            match waiting.message.as_deref() {
                Some(message) if !message.is_empty() => format!("{pod_name}: {reason}: {message}"),
                _ => format!("{pod_name}: {reason}"),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(image: &str, waiting: Option<(&str, &str)>) -> Pod {
        let state = match waiting {
            Some((reason, message)) => json!({"waiting": {"reason": reason, "message": message}}),
            None => json!({"running": {"startedAt": "2026-12-02T07:00:00Z"}}),
        };
        serde_json::from_value(json!({
            "metadata": {"name": "orders-instance1-abcd-0"},
            "spec": {"containers": [{"name": "database", "image": image}]},
            "status": {"containerStatuses": [{
                "name": "database", "image": image, "imageID": "", "ready": waiting.is_none(),
                "restartCount": 0, "state": state,
            }]},
        }))
        .unwrap()
    }

    #[test]
    fn a_pod_that_cannot_pull_the_new_image_is_the_reason_to_roll_back() {
        let stuck = pod(
            "pg:17.9",
            Some(("ImagePullBackOff", "Back-off pulling image \"pg:17.9\"")),
        );
        assert_eq!(
            stuck_reason(&stuck, "pg:17.9").as_deref(),
            Some("orders-instance1-abcd-0: ImagePullBackOff: Back-off pulling image \"pg:17.9\"")
        );
        assert_eq!(stuck_reason(&stuck, "pg:17.6"), None, "another image");
        assert_eq!(stuck_reason(&pod("pg:17.9", None), "pg:17.9"), None);
        assert_eq!(
            stuck_reason(&pod("pg:17.9", Some(("ContainerCreating", ""))), "pg:17.9"),
            None,
            "still starting"
        );
    }

    #[test]
    fn the_roll_is_done_when_every_instance_is_updated_and_ready() {
        let live: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "postgres-operator.crunchydata.com/v1beta1", "kind": "PostgresCluster",
            "metadata": {"name": "orders", "generation": 4},
            "status": {"observedGeneration": 4, "instances": [
                {"name": "instance1", "replicas": 3, "readyReplicas": 2, "updatedReplicas": 1},
            ]},
        }))
        .unwrap();
        assert!(caught_up(&live));
        assert_eq!(rolled(&live), (1, 2));
    }
}
