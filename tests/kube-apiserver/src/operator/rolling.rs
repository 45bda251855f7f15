//! Rolling updates of the instance Pods when their template changes, as PGO's
//! `rolloutInstances` with its `OnDelete` instance StatefulSets. The template is the image
//! (`spec.image`, else PGO's default for `spec.postgresVersion`), so this is how a minor
//! version upgrade (a newer image of the same major) reaches the Pods:
//!
//! - Every instance remembers the image its Pod was created from; a new instance (or the
//!   first start) takes the current one. A Pod is *updated* when its image is the current
//!   one (Pods adopted after an operator restart count as updated); its
//!   `controller-revision-hash` label (`<instance>-<hash of the image>`) tells revisions
//!   apart.
//! - One Pod at a time, replicas first (by instance name): PGO deletes the Pod and the
//!   StatefulSet recreates it from the new template (a new Pod: new uid and `startTime`). It
//!   is not Ready (`Pending`, waiting `ContainerCreating`) for
//!   [`restart_duration`](super::Scenario::restart_duration), then Ready with the new image.
//!   The next Pod goes only once every instance is available again (PGO's `maxUnavailable`
//!   of 1); an outdated Pod that is not available anyway is recreated at once.
//! - Once only the primary is outdated, a cluster with other instances switches over first
//!   (Patroni, one [`job_duration`](super::Scenario::job_duration)): the leader moves to the
//!   first updated replica by name, the timeline grows by one; `status.patroni.switchover` is
//!   not touched (that is the user-requested switchover's). Then the old primary, now a
//!   replica, is restarted last. A single instance just restarts (downtime).
//! - An image in [`unpullable_images`](super::Scenario::unpullable_images) never starts: the
//!   Pod stays not Ready with its container waiting `ImagePullBackOff` (`Back-off pulling
//!   image "<image>"`), and the roll stops there (PGO does not delete another available Pod
//!   while one is not), so the primary keeps the old image. Setting `spec.image` back makes
//!   that Pod outdated and unavailable, so it is recreated from the restored template right
//!   away and the cluster becomes ready again.
//! - While PostgreSQL cannot run at all (a major version that differs from the data, a
//!   scenario outcome that never gets ready, a restore holding the instances) nothing rolls:
//!   the Pods take the current image in place and stay down, as before (a Pod whose image's
//!   major differs from the data's is never available). No Pods (shut down, restoring) means
//!   no roll either; they come back with the current image.
//!
//! A client knows the roll finished when `status.observedGeneration` is the cluster's
//! generation and every `status.instances[]` has `updatedReplicas == readyReplicas ==
//! replicas` (each Pod then shows the new image and is Ready).
//!
//! Every recreation is recorded as (Pod, image) in order;
//! [`SimulatedOperator::restarts`](super::SimulatedOperator::restarts) returns them (PGO
//! records no Event for a rollout, so a test reads them there, or from the Pods'
//! `status.startTime`, which only has seconds precision).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use tokio::time::Instant;

use super::instances::{Instances, image_of};
use super::repository::Repository;
use super::sim::{ClusterSim, Tick};

/// Restarts per (namespace, cluster): (Pod, image), oldest first.
pub(crate) type Restarts = Mutex<HashMap<(String, String), Vec<(String, String)>>>;

/// The Pod of one instance as last created.
#[derive(Clone, Debug)]
struct Incarnation {
    image: String,
    started: String,
    count: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Rolling {
    pods: BTreeMap<String, Incarnation>,
    /// The instances whose Pods are being recreated, and since when.
    restarting: BTreeMap<String, Instant>,
    /// When the switchover away from the outdated primary began.
    switchover_since: Option<Instant>,
    /// Restarts not yet published to [`super::SimulatedOperator::restarts`]: (Pod, image).
    pub pending: Vec<(String, String)>,
}

impl Rolling {
    /// (image, startTime, incarnation) of an instance's Pod.
    pub fn pod(&self, instance: &str) -> Option<(&str, &str, u32)> {
        self.pods
            .get(instance)
            .map(|p| (p.image.as_str(), p.started.as_str(), p.count))
    }

    /// Whether the instance's Pod is being recreated.
    pub fn restarting(&self, instance: &str) -> bool {
        self.restarting.contains_key(instance)
    }

    fn clear(&mut self) {
        self.restarting.clear();
        self.switchover_since = None;
    }

    /// Forgets removed instances and gives new ones the current image.
    fn sync(&mut self, instances: &Instances, image: &str, wall: &str) {
        let all: Vec<String> = instances.all().into_iter().map(|(_, n)| n).collect();
        self.pods.retain(|name, _| all.contains(name));
        self.restarting.retain(|name, _| all.contains(name));
        for name in all {
            self.pods.entry(name).or_insert_with(|| Incarnation {
                image: image.to_string(),
                started: wall.to_string(),
                count: 0,
            });
        }
    }

    /// Deletes the instance's Pod and recreates it from `image`.
    fn restart(&mut self, instance: &str, image: &str, t: &Tick<'_>) {
        let Some(pod) = self.pods.get_mut(instance) else {
            return;
        };
        pod.image = image.to_string();
        pod.started = t.wall_str();
        pod.count += 1;
        self.restarting.insert(instance.to_string(), t.now);
        self.pending
            .push((format!("{instance}-0"), image.to_string()));
    }
}

/// Advances the roll of `sim` to `t.now`, as PGO's `rolloutInstances`: outdated Pods that are
/// not available are recreated at once; an available one only while every instance is
/// available (`maxUnavailable` 1), replicas first (by name) and the primary last, which is
/// demoted by a switchover instead when there are other instances. `can_run` is whether
/// PostgreSQL may run at all.
pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository, can_run: bool) {
    let image = image_of(t.c);
    if !sim.pods_exist(t) {
        sim.rolling.pods.clear();
        sim.rolling.clear();
        return;
    }
    let wall = t.wall_str();
    sim.rolling.sync(&sim.instances, &image, &wall);
    if !can_run || !sim.bootstrapped {
        for pod in sim.rolling.pods.values_mut() {
            pod.image.clone_from(&image);
        }
        sim.rolling.clear();
        return;
    }
    let restart_duration = t.scenario.restart_duration;
    sim.rolling
        .restarting
        .retain(|_, since| t.now < *since + restart_duration);

    let primary = sim.instances.primary.clone();
    // (is primary, name, available) of the outdated instances, replicas first.
    let mut outdated: Vec<(bool, String, bool)> = sim
        .rolling
        .pods
        .iter()
        .filter(|(_, p)| p.image != image)
        .map(|(n, _)| {
            (
                Some(n) == primary.as_ref(),
                n.clone(),
                sim.pod_available(t, n),
            )
        })
        .collect();
    outdated.sort();
    let mut unavailable = sim
        .rolling
        .pods
        .keys()
        .filter(|n| !sim.pod_available(t, n))
        .count();
    if outdated.is_empty() {
        sim.rolling.switchover_since = None;
        return;
    }
    let others: Vec<String> = sim
        .rolling
        .pods
        .keys()
        .filter(|n| Some(*n) != primary.as_ref())
        .cloned()
        .collect();
    for (is_primary, name, available) in outdated {
        if !available {
            sim.rolling.restart(&name, &image, t);
            continue;
        }
        if unavailable > 0 {
            continue;
        }
        unavailable += 1;
        let Some(next) = others.first().filter(|_| is_primary) else {
            sim.rolling.restart(&name, &image, t);
            continue;
        };
        // Patroni's switchover; the old primary is recreated on a later pass, as a replica.
        let since = *sim.rolling.switchover_since.get_or_insert(t.now);
        if t.now >= since + t.scenario.job_duration {
            sim.rolling.switchover_since = None;
            sim.instances.primary = Some(next.clone());
            sim.timeline += 1;
            repo.archive(sim.timeline);
        }
    }
}
