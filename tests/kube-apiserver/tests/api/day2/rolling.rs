//! Rollouts when `spec.image` changes (minor version upgrades), in PGO v5's real order: the
//! first reconcile reports the new generation with every instance "updated" and Ready while
//! every Pod still runs the old image; only what rolled (each Pod's revision against its
//! StatefulSet's `updateRevision`) says done.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube_test_apiserver::operator::{ROLE_LEADER, ROLE_REPLICA};
use serde_json::{Value, json};

use super::*;

const OLD: &str = "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.5-2520";
const NEW: &str = "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.6-2550";
const BAD: &str =
    "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.6-does-not-exist";
const NEXT_MAJOR: &str =
    "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-18.1-2600";
/// Each restarted Pod is down long enough to be seen by polling, and so is the window in
/// which status says done before anything rolled: long enough that a poll (two reads) still
/// lands in each window when the suite loads both cores (at 300 ms one was missed).
fn rolling() -> Scenario {
    fast()
        .restarts_take(Duration::from_millis(900))
        .reobserves_after(Duration::from_millis(1500))
}

fn with_image(name: &str, replicas: i64, image: &str) -> Value {
    let mut m = ha(name, replicas);
    m["spec"]["image"] = json!(image);
    m
}

fn image(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.as_deref())
        .unwrap_or("")
}

fn status_image(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map(|c| c.image.as_str())
        .unwrap_or("")
}

fn is_ready(pod: &Pod) -> bool {
    pod_ready(pod)
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn timeline(pod: &Pod) -> Option<i64> {
    let member: Value = serde_json::from_str(pod.metadata.annotations.as_ref()?.get("status")?)
        .expect("Patroni status annotation");
    member["timeline"].as_i64()
}

/// `(replicas, readyReplicas, updatedReplicas)` summed over the sets.
fn counts(status: &Value) -> (i64, i64, i64) {
    let updated = status["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["updatedReplicas"].as_i64().unwrap_or(0))
        .sum();
    (pod_count(status), ready_replicas(status), updated)
}

/// What status alone says: the generation is observed and every set is fully updated and
/// ready. During a rollout this is true before anything rolled.
fn status_done(status: &Value, generation: i64, replicas: i64) -> bool {
    status["observedGeneration"] == generation
        && status["instances"].as_array().is_some_and(|sets| {
            sets.iter().all(|s| {
                s["replicas"] == s["readyReplicas"] && s["replicas"] == s["updatedReplicas"]
            })
        })
        && counts(status) == (replicas, replicas, replicas)
}

/// One poll of the cluster during a roll.
struct Sample {
    generation: i64,
    counts: (i64, i64, i64),
    pods: Vec<Pod>,
}

impl Sample {
    /// Status says done while every Pod still has `image`.
    fn done_early(&self, generation: i64, replicas: i64, image_: &str) -> bool {
        self.generation == generation
            && self.counts == (replicas, replicas, replicas)
            && self.pods.len() as i64 == replicas
            && self.pods.iter().all(|p| image(p) == image_)
    }
}

/// Polls status and Pods until what actually rolled says done (and status agrees),
/// returning every sample.
async fn watch_roll(env: &Env, cluster: &str, generation: i64, replicas: i64) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + 3 * WAIT;
    let mut samples = Vec::new();
    loop {
        let o = env.api.get(cluster).await.expect("cluster");
        let status = o.data["status"].clone();
        let pods = env.pods(cluster).await;
        let finished = status_done(&status, generation, replicas) && env.rolled_out(cluster).await;
        samples.push(Sample {
            generation: status["observedGeneration"].as_i64().unwrap_or(0),
            counts: counts(&status),
            pods,
        });
        if finished {
            return samples;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the roll did not finish: {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_new_image_reports_done_first_then_rolls_replicas_first_and_the_primary_last() {
    let env = Env::start(rolling()).await;
    env.ready(with_image("hippo", 3, OLD)).await;
    let old_primary = env.leader("hippo").await.expect("a leader");
    let old_primary_pod = format!("{old_primary}-0");
    let before = env.pods("hippo").await;
    assert_eq!(before.len(), 3);
    assert!(
        before
            .iter()
            .all(|p| image(p) == OLD && status_image(p) == OLD)
    );
    assert!(env.operator.restarts("default", "hippo").is_empty());

    env.apply(with_image("hippo", 3, NEW)).await;
    let samples = watch_roll(&env, "hippo", 2, 3).await;

    // PGO's first reconcile of generation 2 counted the Pods against StatefulSets it had not
    // updated yet: observed, everything "updated" and Ready, every Pod on the old image.
    let first = samples
        .iter()
        .position(|s| s.generation == 2)
        .expect("generation 2 observed");
    assert!(
        samples[first].done_early(2, 3, OLD),
        "status says done before anything rolled: {:?}",
        samples[first].counts
    );
    // Then the next look sees the changed StatefulSets: no old Pod counts as updated any
    // more, and updatedReplicas climbs back as Pods are recreated, never going back,
    // readyReplicas dipping for the restarting Pod.
    let rolling: Vec<(i64, i64, i64)> = samples[first..]
        .iter()
        .skip_while(|s| s.counts.2 == 3)
        .map(|s| s.counts)
        .collect();
    assert!(rolling.first().is_some_and(|c| c.2 <= 1), "{rolling:?}");
    let updated: Vec<i64> = rolling.iter().map(|c| c.2).collect();
    assert!(updated.windows(2).all(|w| w[0] <= w[1]), "{rolling:?}");
    for n in 1..=3 {
        assert!(
            updated.contains(&n),
            "updatedReplicas {n} never seen: {rolling:?}"
        );
    }
    for n in 1..=3 {
        assert!(
            rolling.contains(&(3, 2, n)),
            "the {n}th restarted Pod is not ready for a while: {rolling:?}"
        );
    }
    assert!(
        rolling.iter().all(|c| c.1 >= 2),
        "one Pod at a time: {rolling:?}"
    );

    // Replicas first, the old primary last, each once, with the new image.
    let restarts = env.operator.restarts("default", "hippo");
    assert_eq!(restarts.len(), 3, "{restarts:?}");
    assert!(restarts.iter().all(|(_, i)| i == NEW), "{restarts:?}");
    assert_eq!(restarts[2].0, old_primary_pod, "{restarts:?}");
    assert_ne!(restarts[0].0, restarts[1].0);
    assert!(restarts[..2].iter().all(|(p, _)| *p != old_primary_pod));

    // While the old primary restarted, an updated replica already led on a new timeline.
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.pods
                .iter()
                .any(|p| name(p) == old_primary_pod && image(p) == NEW && !is_ready(p))
        })
        .collect();
    assert!(!during.is_empty(), "the old primary's restart was seen");
    for s in during {
        let leaders: Vec<&Pod> = s
            .pods
            .iter()
            .filter(|p| label(p, ROLE) == Some(ROLE_LEADER))
            .collect();
        assert_eq!(leaders.len(), 1);
        assert_ne!(name(leaders[0]), old_primary_pod);
        assert_eq!(image(leaders[0]), NEW);
        assert!(is_ready(leaders[0]));
        assert_eq!(timeline(leaders[0]), Some(2));
    }
    // And before that, no replica restarted while the old primary did not lead.
    let replicas_rolling = samples.iter().filter(|s| {
        s.pods
            .iter()
            .any(|p| name(p) != old_primary_pod && image(p) == NEW && !is_ready(p))
    });
    for s in replicas_rolling {
        let leader = s.pods.iter().find(|p| label(p, ROLE) == Some(ROLE_LEADER));
        assert_eq!(leader.map(name), Some(old_primary_pod.clone()));
        assert_eq!(leader.map(image), Some(OLD));
    }

    // The end: every Pod recreated from the new template, the leader moved once.
    let after = env.pods("hippo").await;
    assert_eq!(after.len(), 3);
    for p in &after {
        assert_eq!((image(p), status_image(p)), (NEW, NEW));
        assert!(is_ready(p));
        let was = before
            .iter()
            .find(|b| name(b) == name(p))
            .expect("same Pod names");
        assert_ne!(p.metadata.uid, was.metadata.uid, "recreated");
        let revision = label(p, REVISION).expect("a revision");
        let instance = label(p, INSTANCE).expect("instance");
        assert!(revision.starts_with(&format!("{instance}-")), "{revision}");
        assert_ne!(Some(revision), label(was, REVISION), "a new revision");
    }
    let leader = env.leader("hippo").await.expect("a leader");
    assert_ne!(leader, old_primary);
    assert_eq!(
        format!("{leader}-0"),
        restarts[0].0,
        "Patroni picks the first updated replica by name"
    );
    let old = after
        .iter()
        .find(|p| name(p) == old_primary_pod)
        .expect("old primary");
    assert_eq!(label(old, ROLE), Some(ROLE_REPLICA));
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert!(
        status["patroni"].get("switchover").is_none(),
        "not a requested switchover"
    );

    // Nothing more happens once rolled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.operator.restarts("default", "hippo").len(), 3);
}

#[tokio::test]
async fn a_single_instance_reports_done_then_restarts_with_downtime() {
    let env = Env::start(rolling()).await;
    env.ready(with_image("solo", 1, OLD)).await;
    let instance = env.leader("solo").await.expect("a leader");
    env.apply(with_image("solo", 1, NEW)).await;
    let samples = watch_roll(&env, "solo", 2, 1).await;
    assert!(
        samples.iter().any(|s| s.done_early(2, 1, OLD)),
        "done at once, on the old image"
    );
    assert!(
        samples
            .iter()
            .any(|s| s.generation == 2 && s.counts == (1, 0, 1)),
        "down while it restarts"
    );
    assert!(
        samples.iter().any(|s| s.counts.1 == 0
            && !s.pods.is_empty()
            && s.pods
                .iter()
                .all(|p| label(p, ROLE).is_none() && !is_ready(p))),
        "no leader while down"
    );
    assert_eq!(
        env.operator.restarts("default", "solo"),
        vec![(format!("{instance}-0"), NEW.to_string())]
    );
    let pods = env.pods("solo").await;
    assert_eq!(pods.len(), 1);
    assert_eq!((image(&pods[0]), status_image(&pods[0])), (NEW, NEW));
    assert_eq!(label(&pods[0], ROLE), Some(ROLE_LEADER));
    assert_eq!(timeline(&pods[0]), Some(1), "no switchover");
}

#[tokio::test]
async fn an_unpullable_image_stops_the_roll_and_restoring_the_image_rolls_back() {
    let env = Env::start(rolling().unpullable_images([BAD])).await;
    env.ready(with_image("hippo", 3, OLD)).await;
    let primary = env.leader("hippo").await.expect("a leader");
    env.apply(with_image("hippo", 3, BAD)).await;
    let stuck = eventually(WAIT, "a Pod in ImagePullBackOff", || async {
        env.pods("hippo").await.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first()?.state.as_ref()?.waiting.as_ref())
                .is_some_and(|w| w.reason.as_deref() == Some("ImagePullBackOff"))
        })
    })
    .await;
    let waiting = stuck
        .status
        .as_ref()
        .expect("status")
        .container_statuses
        .as_ref()
        .expect("containers")[0]
        .state
        .as_ref()
        .and_then(|s| s.waiting.clone())
        .expect("waiting");
    assert_eq!(
        waiting.message.as_deref(),
        Some(format!("Back-off pulling image \"{BAD}\"").as_str())
    );
    assert_ne!(
        label(&stuck, INSTANCE),
        Some(primary.as_str()),
        "a replica first"
    );

    // Well past several restart durations, the roll has not gone on.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(counts(&status), (3, 2, 1), "{status}");
    assert!(!env.rolled_out("hippo").await);
    let pods = env.pods("hippo").await;
    let on_bad: Vec<String> = pods.iter().filter(|p| image(p) == BAD).map(name).collect();
    assert_eq!(on_bad, vec![name(&stuck)]);
    let leader = pods
        .iter()
        .find(|p| label(p, ROLE) == Some(ROLE_LEADER))
        .expect("the primary runs");
    assert_eq!(label(leader, INSTANCE), Some(primary.as_str()));
    assert_eq!(image(leader), OLD);
    assert!(is_ready(leader));
    assert_eq!(
        env.operator.restarts("default", "hippo"),
        vec![(name(&stuck), BAD.to_string())]
    );

    // Back to the old image: that Pod is recreated from it and the cluster is whole again.
    env.apply(with_image("hippo", 3, OLD)).await;
    watch_roll(&env, "hippo", 3, 3).await;
    let pods = env.pods("hippo").await;
    assert!(pods.iter().all(|p| image(p) == OLD && is_ready(p)));
    assert_eq!(env.leader("hippo").await.as_deref(), Some(primary.as_str()));
    assert_eq!(
        env.operator.restarts("default", "hippo"),
        vec![
            (name(&stuck), BAD.to_string()),
            (name(&stuck), OLD.to_string())
        ]
    );
}

#[tokio::test]
async fn an_image_of_another_major_stops_the_roll_at_its_first_pod() {
    let env = Env::start(rolling()).await;
    env.ready(with_image("hippo", 2, OLD)).await;
    let primary = env.leader("hippo").await.expect("a leader");
    env.apply(with_image("hippo", 2, NEXT_MAJOR)).await;
    let broken = eventually(WAIT, "a Pod recreated on 18", || async {
        env.pods("hippo")
            .await
            .into_iter()
            .find(|p| image(p) == NEXT_MAJOR)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(
        counts(&status),
        (2, 1, 1),
        "18 cannot start on 17's data: {status}"
    );
    assert_ne!(
        label(&broken, INSTANCE),
        Some(primary.as_str()),
        "a replica"
    );
    let pods = env.pods("hippo").await;
    let leader = pods
        .iter()
        .find(|p| label(p, ROLE) == Some(ROLE_LEADER))
        .expect("the primary still runs");
    assert_eq!((image(leader), is_ready(leader)), (OLD, true));
    assert!(pods.iter().all(|p| image(p) != NEXT_MAJOR || !is_ready(p)));
    assert_eq!(
        env.operator.restarts("default", "hippo"),
        vec![(name(&broken), NEXT_MAJOR.to_string())]
    );

    // Back on a 17 image it rolls and runs again.
    env.apply(with_image("hippo", 2, NEW)).await;
    watch_roll(&env, "hippo", 3, 2).await;
}
