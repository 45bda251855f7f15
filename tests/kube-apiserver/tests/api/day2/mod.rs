//! The simulated operator's day-2 flows: manual backups and the pgBackRest repository,
//! in-place restores, switchovers, password regeneration, major upgrades, instance Pods and
//! StatefulSets, rollouts of the pod template, parameters that need a restart, pausing,
//! repository claims and their ownership, clones, streaming standbys and their promotion.

mod backups;
mod clone;
mod exec;
mod instances;
mod ownership;
mod parameters;
mod passwords;
mod paused;
mod restore;
mod rolling;
mod standby;
mod statefulsets;
mod switchover;
mod upgrade;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube_test_apiserver::TestApiServer;
use kube_test_apiserver::operator::{OperatorOptions, ROLE_LEADER, Scenario, SimulatedOperator};
use serde_json::{Value, json};

use crate::support::*;

pub const WAIT: Duration = Duration::from_secs(10);
pub const INSTANCE: &str = "postgres-operator.crunchydata.com/instance";
pub const ROLE: &str = "postgres-operator.crunchydata.com/role";
pub const REVISION: &str = "controller-revision-hash";

/// Fast defaults: a change settles in 20 ms, a Job or step takes 20 ms.
pub fn fast() -> Scenario {
    Scenario::slow(Duration::from_millis(20)).jobs_take(Duration::from_millis(20))
}

pub struct Env {
    pub server: TestApiServer,
    pub operator: SimulatedOperator,
    pub api: Api<DynamicObject>,
}

impl Env {
    pub async fn start(scenario: Scenario) -> Self {
        Self::start_with(OperatorOptions::with_scenario(scenario)).await
    }

    pub async fn start_with(options: OperatorOptions) -> Self {
        let server = server().await;
        let operator = SimulatedOperator::start(&server, options);
        let api = clusters(server.client(), "default");
        Self {
            server,
            operator,
            api,
        }
    }

    pub async fn apply(&self, manifest: Value) -> DynamicObject {
        let name = manifest["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        self.api
            .patch(
                &name,
                &PatchParams::apply("pgplane").force(),
                &Patch::Apply(manifest),
            )
            .await
            .expect("applied")
    }

    /// A merge patch as pgplane's actions write them (annotation and spec block together).
    pub async fn merge(&self, name: &str, patch: Value) -> DynamicObject {
        self.api
            .patch(
                name,
                &PatchParams {
                    field_manager: Some("pgplane-actions".into()),
                    ..Default::default()
                },
                &Patch::Merge(patch),
            )
            .await
            .expect("patched")
    }

    /// Waits until the cluster's status satisfies `ready`.
    pub async fn until(
        &self,
        name: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> DynamicObject {
        eventually(WAIT, what, || async {
            let o = self.api.get(name).await.ok()?;
            ready(o.data.get("status").unwrap_or(&Value::Null)).then_some(o)
        })
        .await
    }

    /// Starts a cluster and waits until it is ready with its first backup taken.
    pub async fn ready(&self, manifest: Value) -> DynamicObject {
        let name = manifest["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        let want = manifest["spec"]["instances"][0]["replicas"]
            .as_i64()
            .unwrap_or(1);
        self.apply(manifest).await;
        self.until(&name, "ready with its first backup", |s| {
            ready_replicas(s) == want
                && s["pgbackrest"]["repos"][0]["replicaCreateBackupComplete"] == true
        })
        .await
    }

    pub async fn pods(&self, cluster: &str) -> Vec<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.server.client(), "default");
        pods.list(&ListParams::default().labels(&format!(
            "postgres-operator.crunchydata.com/cluster={cluster},{INSTANCE}"
        )))
        .await
        .expect("pods")
        .items
    }

    /// The cluster's instance StatefulSets, by name.
    pub async fn statefulsets(&self, cluster: &str) -> Vec<StatefulSet> {
        let api: Api<StatefulSet> = Api::namespaced(self.server.client(), "default");
        let mut all = api
            .list(&ListParams::default().labels(&format!(
                "postgres-operator.crunchydata.com/cluster={cluster},{INSTANCE}"
            )))
            .await
            .expect("statefulsets")
            .items;
        all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        all
    }

    /// What actually rolled: every instance StatefulSet's status is current and its Pod runs
    /// its `updateRevision` and is Ready (what status alone cannot tell).
    pub async fn rolled_out(&self, cluster: &str) -> bool {
        let sets = self.statefulsets(cluster).await;
        let pods = self.pods(cluster).await;
        !sets.is_empty()
            && pods.len() == sets.len()
            && sets.iter().all(|sts| {
                let status = sts.status.as_ref();
                let current = status.and_then(|s| s.observed_generation) == sts.metadata.generation;
                let revision = status.and_then(|s| s.update_revision.as_deref());
                let name = sts.metadata.name.as_deref().unwrap_or("");
                current
                    && pods.iter().any(|p| {
                        p.metadata.name.as_deref() == Some(&format!("{name}-0"))
                            && label(p, REVISION) == revision
                            && pod_ready(p)
                    })
            })
    }

    /// The instance (StatefulSet) name of the Pod labelled as Patroni's leader.
    pub async fn leader(&self, cluster: &str) -> Option<String> {
        self.pods(cluster)
            .await
            .into_iter()
            .find(|p| label(p, ROLE) == Some(ROLE_LEADER))
            .and_then(|p| label(&p, INSTANCE).map(String::from))
    }

    pub async fn events(&self, cluster: &str) -> Vec<Event> {
        let events: Api<Event> = Api::namespaced(self.server.client(), "default");
        events
            .list(&ListParams::default().fields(&format!(
                "involvedObject.kind=PostgresCluster,involvedObject.name={cluster}"
            )))
            .await
            .expect("events")
            .items
    }

    pub async fn secret(&self, name: &str) -> BTreeMap<String, String> {
        let secrets: Api<Secret> = Api::namespaced(self.server.client(), "default");
        decoded(&secrets.get(name).await.expect("secret"))
    }

    /// `pgbackrest info --output=json` for the cluster's stanza.
    pub fn info(&self, cluster: &str) -> Value {
        self.operator
            .backup_info("default", cluster)
            .expect("the operator knows the cluster")
    }

    /// Labels of the backups in the repository, oldest first.
    pub fn backups(&self, cluster: &str) -> Vec<(String, String)> {
        self.info(cluster)[0]["backup"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                (
                    b["type"].as_str().unwrap_or("").to_string(),
                    b["label"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

pub fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

pub fn ready_replicas(status: &Value) -> i64 {
    status["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["readyReplicas"].as_i64().unwrap_or(0))
        .sum()
}

pub fn pod_count(status: &Value) -> i64 {
    status["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["replicas"].as_i64().unwrap_or(0))
        .sum()
}

pub fn condition<'a>(status: &'a Value, ty: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
        .unwrap_or(&Value::Null)
}

pub fn decoded(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).to_string()))
        .collect()
}

/// `cluster_manifest` with `replicas` instances.
pub fn ha(name: &str, replicas: i64) -> Value {
    let mut m = cluster_manifest(name);
    m["spec"]["instances"][0]["replicas"] = json!(replicas);
    m
}
