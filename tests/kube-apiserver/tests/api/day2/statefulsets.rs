//! Instance StatefulSets as PGO writes them and as the StatefulSet controller reports them, and
//! rollouts of any pod template change (here: resources).

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use serde_json::{Value, json};

use super::*;

const CLUSTER: &str = "postgres-operator.crunchydata.com/cluster";

fn sized(name: &str, replicas: i64, cpu: &str) -> Value {
    let mut m = ha(name, replicas);
    m["spec"]["instances"][0]["resources"] = json!({ "requests": { "cpu": cpu, "memory": "1Gi" }, "limits": { "cpu": cpu, "memory": "1Gi" } });
    m
}

fn template_cpu(sts: &StatefulSet) -> Option<String> {
    let container = sts
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?;
    let limits = container.resources.as_ref()?.limits.as_ref()?;
    limits.get("cpu").map(|q| q.0.clone())
}

fn pod_cpu(pod: &Pod) -> Option<String> {
    let container = pod.spec.as_ref()?.containers.first()?;
    let limits = container.resources.as_ref()?.limits.as_ref()?;
    limits.get("cpu").map(|q| q.0.clone())
}

fn observed(sts: &StatefulSet) -> (Option<i64>, Option<i64>) {
    (
        sts.metadata.generation,
        sts.status.as_ref().and_then(|s| s.observed_generation),
    )
}

#[tokio::test]
async fn each_instance_runs_in_an_on_delete_statefulset_owned_by_the_cluster() {
    let env = Env::start(fast()).await;
    let cluster = env.ready(sized("hippo", 2, "500m")).await;
    eventually(WAIT, "rolled out", || async {
        env.rolled_out("hippo").await.then_some(())
    })
    .await;
    let sets = env.statefulsets("hippo").await;
    let pods = env.pods("hippo").await;
    assert_eq!(sets.len(), 2);
    for sts in &sets {
        let name = sts.metadata.name.clone().expect("name");
        let labels = sts.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get(CLUSTER).map(String::as_str), Some("hippo"));
        assert_eq!(labels.get(INSTANCE), Some(&name));
        assert_eq!(
            labels
                .get("postgres-operator.crunchydata.com/data")
                .map(String::as_str),
            Some("postgres")
        );
        let owner = &sts.metadata.owner_references.as_ref().expect("owned")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("PostgresCluster", "hippo")
        );
        assert_eq!(Some(&owner.uid), cluster.metadata.uid.as_ref());
        assert_eq!(owner.controller, Some(true));
        let spec = sts.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.service_name.as_deref(), Some("hippo-pods"));
        assert_eq!(spec.revision_history_limit, Some(0));
        assert_eq!(
            spec.update_strategy
                .as_ref()
                .and_then(|u| u.type_.as_deref()),
            Some("OnDelete")
        );
        let selector = spec.selector.match_labels.clone().unwrap_or_default();
        assert_eq!(selector.get(INSTANCE), Some(&name));
        assert_eq!(template_cpu(sts).as_deref(), Some("500m"));

        let status = sts.status.as_ref().expect("status");
        assert_eq!(status.observed_generation, sts.metadata.generation);
        assert_eq!((status.replicas, status.ready_replicas), (1, Some(1)));
        assert_eq!(status.updated_replicas, Some(1));
        assert_eq!(status.current_revision, status.update_revision);
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(&format!("{name}-0")))
            .expect("its Pod");
        assert_eq!(label(pod, REVISION), status.update_revision.as_deref());
        assert_eq!(pod_cpu(pod).as_deref(), Some("500m"));
        let pod_owner = &pod.metadata.owner_references.as_ref().expect("owned")[0];
        assert_eq!(
            (pod_owner.kind.as_str(), pod_owner.name.as_str()),
            ("StatefulSet", name.as_str())
        );
        assert_eq!(Some(&pod_owner.uid), sts.metadata.uid.as_ref());
    }

    // Shut down: the StatefulSets stay, scaled to zero.
    let mut down = sized("hippo", 2, "500m");
    down["spec"]["shutdown"] = json!(true);
    env.apply(down).await;
    eventually(WAIT, "scaled to zero", || async {
        let sets = env.statefulsets("hippo").await;
        (sets.len() == 2
            && sets.iter().all(|s| {
                s.spec.as_ref().and_then(|s| s.replicas) == Some(0)
                    && s.status.as_ref().is_some_and(|st| st.replicas == 0)
            }))
        .then_some(())
    })
    .await;
    assert!(env.pods("hippo").await.is_empty());

    // Scaled down to one instance: the other StatefulSet is deleted.
    env.apply(sized("hippo", 1, "500m")).await;
    eventually(WAIT, "one StatefulSet", || async {
        (env.statefulsets("hippo").await.len() == 1 && env.rolled_out("hippo").await).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_resources_change_is_reported_done_before_the_statefulsets_change_and_rolls_after() {
    let scenario = fast()
        .reobserves_after(Duration::from_millis(1000))
        .statefulset_status_after(Duration::from_millis(700))
        .restarts_take(Duration::from_millis(100));
    let env = Env::start(scenario).await;
    env.ready(sized("hippo", 2, "500m")).await;
    eventually(WAIT, "rolled out", || async {
        env.rolled_out("hippo").await.then_some(())
    })
    .await;
    let before: Vec<(String, Option<String>)> = env
        .pods("hippo")
        .await
        .iter()
        .map(|p| {
            (
                p.metadata.uid.clone().unwrap_or_default(),
                label(p, REVISION).map(String::from),
            )
        })
        .collect();
    let applied_at = tokio::time::Instant::now();
    env.apply(sized("hippo", 2, "1")).await;

    let mut early = None;
    let mut lagging = false;
    loop {
        let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
        let pods = env.pods("hippo").await;
        let sets = env.statefulsets("hippo").await;
        let all_old = pods.iter().all(|p| pod_cpu(p).as_deref() == Some("500m"));
        let said_done = status["observedGeneration"] == 2
            && status["instances"][0]["updatedReplicas"] == 2
            && status["instances"][0]["readyReplicas"] == 2;
        if said_done && all_old && early.is_none() {
            early = Some(applied_at.elapsed());
        }
        lagging |= sets.iter().any(|s| {
            let (generation, seen) = observed(s);
            seen < generation && template_cpu(s).as_deref() == Some("1")
        });
        if said_done && env.rolled_out("hippo").await && !all_old {
            break;
        }
        assert!(applied_at.elapsed() < WAIT, "never rolled: {status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        early.is_some(),
        "status said done while every Pod had the old resources"
    );
    assert!(lagging, "the StatefulSet status lagged its new template");
    let pods = env.pods("hippo").await;
    for p in &pods {
        assert_eq!(pod_cpu(p).as_deref(), Some("1"));
        assert!(
            !before
                .iter()
                .any(|(uid, rev)| Some(uid) == p.metadata.uid.as_ref()
                    || rev.as_deref() == label(p, REVISION)),
            "recreated from a new revision"
        );
    }
    let restarts = env.operator.restarts("default", "hippo");
    assert_eq!(restarts.len(), 2, "{restarts:?}");
    let primary = env.leader("hippo").await.expect("a leader");
    assert_ne!(
        restarts[1].0,
        format!("{primary}-0"),
        "the old primary restarted last, as a replica"
    );
    let sets = env.statefulsets("hippo").await;
    for s in &sets {
        let status = s.status.as_ref().expect("status");
        assert_ne!(
            status.current_revision, status.update_revision,
            "OnDelete never moves currentRevision"
        );
        assert_eq!(status.current_replicas, Some(0));
        assert_eq!(status.updated_replicas, Some(1));
    }
}
