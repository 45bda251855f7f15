//! PGO's instance StatefulSets as values: one per instance, named after the instance (what the
//! Pods' `.../instance` label and `spec.patroni.switchover.targetInstance` carry), built as
//! PGO's `generateInstanceStatefulSetIntent` and `reconcileInstance` build them (controller
//! ownerReference to the cluster, labels `.../cluster`, `.../instance-set`, `.../instance`,
//! `.../data=postgres`, selector on the first three, `serviceName: <cluster>-pods`,
//! `revisionHistoryLimit: 0`, `updateStrategy: OnDelete`, `spec.replicas` 1, or 0 while the
//! cluster is shut down), and the `status` the StatefulSet controller writes for them.
//!
//! The pod template is reduced to what a pgplane change can alter in PGO's template: the
//! `database` container's image (`spec.image`, else PGO's default for `spec.postgresVersion`)
//! and its resources (`spec.instances[].resources`). Its revision is
//! `<instance>-<hash of the template>` (the ControllerRevision name a StatefulSet reports as
//! `updateRevision` and stamps on its Pods as `controller-revision-hash`).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::children::{Cluster, LABEL_CLUSTER};
use super::instances::{LABEL_DATA, LABEL_INSTANCE, LABEL_INSTANCE_SET, image_of};

/// Kubernetes' `rand.String` alphabet (what revision hashes and instance suffixes use).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The part of PGO's instance pod template a change can alter here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    /// The `database` container's image.
    pub image: String,
    /// The `database` container's `resources` (the instance set's), if any.
    pub resources: Option<Value>,
}

impl Template {
    /// The template PGO writes now for instances of `set`.
    pub fn desired(c: &Cluster<'_>, set: &str) -> Self {
        let resources = instance_set(c, set)
            .and_then(|s| s.get("resources"))
            .filter(|r| r.as_object().is_some_and(|m| !m.is_empty()))
            .cloned();
        Self {
            image: image_of(c),
            resources,
        }
    }

    /// The `database` container of this template.
    pub fn container(&self) -> Value {
        let mut container = json!({ "name": "database", "image": self.image });
        if let Some(resources) = &self.resources {
            container["resources"] = resources.clone();
        }
        container
    }

    /// The revision name of this template for StatefulSet `instance`:
    /// `<instance>-<hash>`, the instance part shortened to keep a valid label value.
    pub fn revision(&self, instance: &str) -> String {
        let digest = Sha256::digest(format!("pod-template/{}", self.container()).as_bytes());
        let hash: String = digest[..10]
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let keep = instance.len().min(63 - hash.len() - 1);
        let prefix = instance
            .get(..keep)
            .unwrap_or(instance)
            .trim_end_matches('-');
        format!("{prefix}-{hash}")
    }
}

/// The entry of `spec.instances` named `set` (see [`set_name`]).
pub(crate) fn instance_set<'a>(c: &Cluster<'a>, set: &str) -> Option<&'a Value> {
    c.spec
        .get("instances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(i, s)| set_name(s, *i) == set)
        .map(|(_, s)| s)
}

/// An instance set's name: its `name`, else PGO's default `00`, `01`, ...
pub(crate) fn set_name(set: &Value, index: usize) -> String {
    set.get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .unwrap_or_else(|| format!("{index:02}"))
}

fn merged_metadata(c: &Cluster<'_>, set: &str, field: &str) -> Map<String, Value> {
    let mut out = c
        .spec
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let set_meta = instance_set(c, set)
        .and_then(|s| s.pointer(&format!("/metadata/{field}")))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    out.extend(set_meta);
    out
}

/// The instance labels PGO puts on the StatefulSet and its pod template.
pub(crate) fn instance_labels(c: &Cluster<'_>, set: &str, instance: &str) -> Map<String, Value> {
    let mut labels = merged_metadata(c, set, "labels");
    for (k, v) in [
        (LABEL_CLUSTER, c.name),
        (LABEL_INSTANCE_SET, set),
        (LABEL_INSTANCE, instance),
        (LABEL_DATA, "postgres"),
    ] {
        labels.insert(k.into(), Value::from(v));
    }
    labels
}

/// The StatefulSet of `instance` as PGO applies it (metadata and spec).
pub(crate) fn statefulset(
    c: &Cluster<'_>,
    set: &str,
    instance: &str,
    template: &Template,
    replicas: i64,
) -> Value {
    let labels = instance_labels(c, set, instance);
    let mut annotations = merged_metadata(c, set, "annotations");
    let mut meta = json!({
        "name": instance,
        "namespace": c.namespace,
        "labels": labels,
        "ownerReferences": [c.owner_reference()],
    });
    if !annotations.is_empty() {
        meta["annotations"] = Value::Object(annotations.clone());
    }
    annotations.insert(
        "kubectl.kubernetes.io/default-container".into(),
        Value::from("database"),
    );
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": {
                LABEL_CLUSTER: c.name, LABEL_INSTANCE_SET: set, LABEL_INSTANCE: instance,
            } },
            "serviceName": format!("{}-pods", c.name),
            "revisionHistoryLimit": 0,
            "updateStrategy": { "type": "OnDelete" },
            "template": {
                "metadata": { "labels": labels, "annotations": annotations },
                "spec": {
                    "containers": [template.container()],
                    "restartPolicy": "Always",
                    "enableServiceLinks": false,
                    "shareProcessNamespace": true,
                },
            },
        },
    })
}

/// What the StatefulSet controller reports for one instance StatefulSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunnerStatus {
    pub observed_generation: i64,
    pub replicas: i64,
    pub ready: i64,
    pub current: i64,
    pub updated: i64,
    pub current_revision: String,
    pub update_revision: String,
}

/// The `/status` body of a StatefulSet.
pub(crate) fn statefulset_status(namespace: &str, name: &str, s: &RunnerStatus) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name, "namespace": namespace },
        "status": {
            "observedGeneration": s.observed_generation,
            "replicas": s.replicas,
            "readyReplicas": s.ready,
            "availableReplicas": s.ready,
            "currentReplicas": s.current,
            "updatedReplicas": s.updated,
            "currentRevision": s.current_revision,
            "updateRevision": s.update_revision,
            "collisionCount": 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(image: &str, cpu: Option<&str>) -> Template {
        Template {
            image: image.into(),
            resources: cpu.map(|c| json!({ "limits": { "cpu": c } })),
        }
    }

    #[test]
    fn the_revision_names_the_instance_and_changes_with_image_and_resources() {
        let a = template("img:1", None).revision("hippo-instance1-abcd");
        assert!(a.starts_with("hippo-instance1-abcd-"), "{a}");
        assert_eq!(a, template("img:1", None).revision("hippo-instance1-abcd"));
        assert_ne!(a, template("img:2", None).revision("hippo-instance1-abcd"));
        let b = template("img:1", Some("1")).revision("hippo-instance1-abcd");
        assert_ne!(a, b);
        assert_ne!(
            b,
            template("img:1", Some("2")).revision("hippo-instance1-abcd")
        );
        let long = "x".repeat(70);
        assert!(template("img:1", None).revision(&long).len() <= 63);
    }
}
