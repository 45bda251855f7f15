//! The PostgreSQL instances of a simulated cluster and their Pods.
//!
//! PGO runs each instance as a one-replica StatefulSet named `<cluster>-<set>-<4 chars>` (the
//! name `spec.patroni.switchover.targetInstance` takes; see `statefulsets.rs`) whose Pod is
//! `<instance>-0`, controlled by that StatefulSet (its ownerReference carries the
//! StatefulSet's uid). The Pods are labelled `postgres-operator.crunchydata.com/cluster`,
//! `.../instance-set`, `.../instance`, `.../data=postgres` and `.../patroni=<cluster>-ha`, plus
//! `controller-revision-hash` (the revision of the template the Pod was created from), with
//! Patroni's `.../role` (`master` on the leader, `replica` on the others, set only while
//! PostgreSQL runs) and its `status` annotation (JSON with `role`, `state`, `timeline`, and
//! `"pending_restart":true` while a parameter change waits for a restart, see
//! `parameters.rs`; role `standby_leader` on a standby cluster's leader, see `standby.rs`). A
//! standby waiting for its source has its container running but not Ready (Patroni retries
//! the bootstrap). Each Pod's `database` container has the image and resources of its
//! template (the image is echoed in `status.containerStatuses[0].image`), `status.startTime`
//! (when this Pod was created; a rollout recreates the Pod, see `rolling.rs`) and, while
//! Ready, the container's `state.running.startedAt`; a Pod whose image cannot be pulled waits
//! in `ImagePullBackOff`. The image is `spec.image`, else PGO's default for
//! `spec.postgresVersion`; its tag gives the PostgreSQL major (`major_of`). Names are derived
//! from the cluster's uid, set and ordinal, so they are stable for a cluster and survive an
//! operator restart; scaling down keeps the primary, like PGO's `byPriority`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::children::{Cluster, LABEL_ROLE};
use super::statefulsets::{Template, instance_labels, set_name};

pub(crate) const LABEL_INSTANCE: &str = "postgres-operator.crunchydata.com/instance";
pub(crate) const LABEL_INSTANCE_SET: &str = "postgres-operator.crunchydata.com/instance-set";
pub(crate) const LABEL_DATA: &str = "postgres-operator.crunchydata.com/data";
pub(crate) const LABEL_PATRONI: &str = "postgres-operator.crunchydata.com/patroni";
/// Patroni's role label value on the leader (PGO's `RolePatroniLeader`).
pub const ROLE_LEADER: &str = "master";
/// Patroni's role label value on followers.
pub const ROLE_REPLICA: &str = "replica";

/// Kubernetes' `rand.String` alphabet, which PGO's instance names use.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn suffix(uid: &str, set: &str, ordinal: u32) -> String {
    let digest = Sha256::digest(format!("{uid}/{set}/{ordinal}").as_bytes());
    digest[..4]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The instance sets of the spec: (name, replicas), PGO's default names `00`, `01`.. for
/// unnamed sets.
pub(crate) fn spec_sets(c: &Cluster<'_>) -> Vec<(String, i64)> {
    c.spec
        .get("instances")
        .and_then(Value::as_array)
        .map(|sets| {
            sets.iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        set_name(s, i),
                        s.get("replicas").and_then(Value::as_i64).unwrap_or(1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The instances of one cluster and which one leads.
#[derive(Debug, Default)]
pub(crate) struct Instances {
    /// Per set, (ordinal, instance name) in creation order.
    sets: BTreeMap<String, Vec<(u32, String)>>,
    next: BTreeMap<String, u32>,
    pub primary: Option<String>,
}

impl Instances {
    /// Grows or shrinks every set to its `replicas`; a set gone from the spec loses its
    /// instances. Shrinking removes replicas before the primary, newest first.
    pub fn sync(&mut self, c: &Cluster<'_>, sets: &[(String, i64)]) {
        self.sets
            .retain(|name, _| sets.iter().any(|(n, _)| n == name));
        for (set, replicas) in sets {
            let want = usize::try_from((*replicas).max(0)).unwrap_or(0);
            let next = self.next.entry(set.clone()).or_insert(0);
            let members = self.sets.entry(set.clone()).or_default();
            while members.len() < want {
                let mut ordinal = *next;
                let mut name;
                loop {
                    name = format!("{}-{set}-{}", c.name, suffix(c.uid, set, ordinal));
                    if !members.iter().any(|(_, n)| *n == name) {
                        break;
                    }
                    ordinal += 1;
                }
                *next = ordinal + 1;
                members.push((ordinal, name));
            }
            while members.len() > want {
                let victim = members
                    .iter()
                    .rposition(|(_, n)| Some(n) != self.primary.as_ref())
                    .unwrap_or(members.len() - 1);
                members.remove(victim);
            }
        }
        if self.primary.as_ref().is_some_and(|p| !self.contains(p)) {
            self.primary = None;
        }
    }

    /// Adopts instances observed as Pods (after an operator restart): (set, instance, leader).
    pub fn adopt(&mut self, observed: &[(String, String, bool)]) {
        for (set, name, leader) in observed {
            let members = self.sets.entry(set.clone()).or_default();
            if !members.iter().any(|(_, n)| n == name) {
                let ordinal = members.iter().map(|(o, _)| o + 1).max().unwrap_or(0);
                members.push((ordinal, name.clone()));
                let next = self.next.entry(set.clone()).or_insert(0);
                *next = (*next).max(ordinal + 100);
            }
            if *leader {
                self.primary = Some(name.clone());
            }
        }
    }

    /// Every instance: (set, name), sets in name order.
    pub fn all(&self) -> Vec<(String, String)> {
        self.sets
            .iter()
            .flat_map(|(set, members)| members.iter().map(|(_, n)| (set.clone(), n.clone())))
            .collect()
    }

    pub fn count(&self) -> usize {
        self.sets.values().map(Vec::len).sum()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.sets.values().flatten().any(|(_, n)| n == name)
    }

    /// The set of an instance.
    pub fn set_of(&self, name: &str) -> Option<String> {
        self.sets
            .iter()
            .find(|(_, members)| members.iter().any(|(_, n)| n == name))
            .map(|(set, _)| set.clone())
    }

    /// Elects the first instance of the first spec set when there is no leader.
    pub fn elect(&mut self, spec_order: &[(String, i64)]) {
        if self.primary.is_some() {
            return;
        }
        self.primary = spec_order
            .iter()
            .filter_map(|(set, _)| self.sets.get(set).and_then(|m| m.first()))
            .map(|(_, n)| n.clone())
            .next();
    }

    /// The replica Patroni picks for a switchover without a target: the first by name.
    pub fn best_replica(&self) -> Option<String> {
        let mut replicas: Vec<String> = self
            .all()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| Some(n) != self.primary.as_ref())
            .collect();
        replicas.sort();
        replicas.into_iter().next()
    }
}

/// How an instance Pod is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PodState {
    /// PostgreSQL runs and Patroni has a role for it (role label, `status` annotation).
    pub running: bool,
    /// The Pod is Ready (running, and Patroni is not restarting PostgreSQL).
    pub ready: bool,
    /// Patroni flags `"pending_restart":true`.
    pub pending_restart: bool,
    /// The container runs although PostgreSQL does not (Patroni retries a standby's
    /// bootstrap): running and not Ready, rather than waiting.
    pub container_running: bool,
    pub leader: bool,
    /// The leader of a standby cluster (Patroni's role `standby_leader`, label `master`).
    pub standby_leader: bool,
    pub timeline: u32,
    /// The container's waiting reason while PostgreSQL does not run.
    pub waiting: &'static str,
    /// The waiting container's message (e.g. `Back-off pulling image "..."`).
    pub message: Option<String>,
    /// The template the Pod was created from.
    pub template: Template,
    /// When this Pod was created (RFC 3339): `status.startTime` and the container's
    /// `state.running.startedAt`.
    pub started: String,
    /// Bumped each time the Pod is recreated (a rollout deletes the old Pod first).
    pub incarnation: u32,
}

/// The StatefulSet label naming the revision of the pod template a Pod was created from.
pub(crate) const LABEL_REVISION: &str = "controller-revision-hash";

/// The image of the cluster's instance Pod template: `spec.image`, else PGO's default image
/// for `spec.postgresVersion` (`...crunchy-postgres:ubi9-<major>`).
pub(crate) fn image_of(c: &Cluster<'_>) -> String {
    c.spec
        .get("image")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty())
        .map(String::from)
        .unwrap_or_else(|| {
            let version = c
                .spec
                .get("postgresVersion")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            format!(
                "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-{version}"
            )
        })
}

/// The PostgreSQL major version in an image tag: the first `-`-separated part of the tag made
/// of digits and dots (`crunchy-postgres:ubi9-17.5-2520` -> 17, `postgres:16.4` -> 16), or
/// `None` without such a tag.
pub(crate) fn major_of(image: &str) -> Option<i64> {
    let (repository, tag) = image.split('@').next()?.rsplit_once(':')?;
    if tag.contains('/') || repository.is_empty() {
        return None;
    }
    tag.split('-')
        .find(|part| {
            part.starts_with(|ch: char| ch.is_ascii_digit())
                && part.chars().all(|ch| ch.is_ascii_digit() || ch == '.')
        })
        .and_then(|part| part.split('.').next()?.parse().ok())
}

/// The Pod of `instance` (metadata and spec; the status goes to `/status`), controlled by the
/// StatefulSet whose uid is `owner`.
pub(crate) fn pod(
    c: &Cluster<'_>,
    set: &str,
    instance: &str,
    state: &PodState,
    owner: &str,
) -> Value {
    let mut labels = instance_labels(c, set, instance);
    labels.insert(LABEL_PATRONI.into(), Value::from(format!("{}-ha", c.name)));
    labels.insert(
        LABEL_REVISION.into(),
        Value::from(state.template.revision(instance)),
    );
    let role = if state.leader {
        ROLE_LEADER
    } else {
        ROLE_REPLICA
    };
    let mut annotations = serde_json::Map::new();
    if state.running {
        labels.insert(LABEL_ROLE.into(), Value::from(role));
        let host = format!("{instance}-0.{}-pods", c.name);
        let mut member = json!({
            "conn_url": format!("postgres://{host}:{}/postgres", c.port()),
            "api_url": format!("https://{host}:8008/patroni"),
            "state": if state.ready { "running" } else { "restarting" },
            "role": if state.standby_leader { "standby_leader" } else { role },
            "version": "4.0.5",
            "timeline": state.timeline,
        });
        if !state.leader || state.standby_leader {
            member["replication_state"] = Value::from("streaming");
        }
        if state.pending_restart {
            member["pending_restart"] = Value::from(true);
        }
        annotations.insert("status".into(), Value::from(member.to_string()));
    }
    // PGO mounts the instance's data volume (`reconcilePostgresDataVolume`) at /pgdata.
    let mut container = state.template.container();
    container["volumeMounts"] = json!([{ "name": "postgres-data", "mountPath": "/pgdata" }]);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{instance}-0"),
            "namespace": c.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "StatefulSet", "name": instance,
                "uid": owner, "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "hostname": format!("{instance}-0"),
            "subdomain": format!("{}-pods", c.name),
            "containers": [container],
            "volumes": [{
                "name": "postgres-data",
                "persistentVolumeClaim": { "claimName": format!("{instance}-pgdata") },
            }],
        },
    })
}

/// The Pod status: `Running` with a running `database` container and `Ready` while
/// PostgreSQL runs; otherwise not ready, `Pending` while containers are being created and
/// `Running` with a waiting container otherwise.
pub(crate) fn pod_status(pod: &Value, state: &PodState) -> Value {
    let ready = if state.ready { "True" } else { "False" };
    let image = pod
        .pointer("/spec/containers/0/image")
        .cloned()
        .unwrap_or(Value::Null);
    let container_state = if state.running || state.container_running {
        json!({ "running": { "startedAt": state.started } })
    } else if let Some(message) = &state.message {
        json!({ "waiting": { "reason": state.waiting, "message": message } })
    } else {
        json!({ "waiting": { "reason": state.waiting } })
    };
    let phase =
        if !state.running && !state.container_running && state.waiting == "ContainerCreating" {
            "Pending"
        } else {
            "Running"
        };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"] },
        "status": {
            "phase": phase,
            "startTime": state.started,
            "conditions": [
                { "type": "Ready", "status": ready },
                { "type": "ContainersReady", "status": ready },
            ],
            "containerStatuses": [{
                "name": "database", "image": image, "imageID": "", "ready": state.ready,
                "restartCount": 0, "started": state.running || state.container_running,
                "state": container_state,
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_comes_from_the_image_tag() {
        let crunchy = "registry.developers.crunchydata.com/crunchydata/crunchy-postgres";
        assert_eq!(major_of(&format!("{crunchy}:ubi9-17.5-2520")), Some(17));
        assert_eq!(major_of(&format!("{crunchy}:ubi8-16.4-0")), Some(16));
        assert_eq!(major_of(&format!("{crunchy}:ubi9-17")), Some(17));
        assert_eq!(major_of("postgres:16.4"), Some(16));
        assert_eq!(major_of("registry:5000/postgres:18.1@sha256:abc"), Some(18));
        assert_eq!(major_of("registry:5000/postgres"), None);
        assert_eq!(major_of("postgres:latest"), None);
        assert_eq!(major_of("postgres"), None);
    }
}
