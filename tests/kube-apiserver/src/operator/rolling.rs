//! Instance StatefulSets and rollouts in PGO v5's real order, for any change of the pod
//! template (image, resources; see [`Template`]): PGO's `observeInstances`,
//! `reconcileInstanceSets`/`reconcileInstance`, `rolloutInstances`/`rolloutInstance` and
//! `handlePatroniRestarts`, and the StatefulSet controller's part (`runners.rs`).
//!
//! One PGO reconcile (a settled tick in which PGO is not waiting for its requeue):
//!
//! 1. observes every instance (Pod, Ready, leader role, `PodMatchesPodTemplate` against its
//!    StatefulSet as it is *now*), and `status.instances[]` is counted from that observation;
//! 2. applies the StatefulSets (the template of the current spec; `replicas` 0 while the
//!    cluster is shut down or restoring). When an existing one changed, PGO's next look at the
//!    instances comes [`Scenario::reobserve_delay`] later (the requeue its StatefulSet watch
//!    triggers): until then the status keeps what step 1 saw. So the first reconcile of a
//!    generation that changes the template reports that generation with every instance
//!    *updated* and Ready while every Pod still runs the old template;
//! 3. the StatefulSet controller reports the new `observedGeneration`/`updateRevision`
//!    [`Scenario::statefulset_status_delay`] after the change; until then PGO counts no Pod of
//!    that StatefulSet as updated and rolls nothing;
//! 4. rolls out from what step 1 saw: outdated Pods that are not available are deleted at
//!    once; an available one only while no instance is unavailable (`maxUnavailable` 1),
//!    replicas first (by name) and the primary last, after a Patroni switchover (one
//!    [`Scenario::job_duration`]; the leader moves to the first replica by name, the timeline
//!    grows by one) when there are other instances. The StatefulSet controller recreates a deleted Pod
//!    from its current template (new uid, `startTime`, `controller-revision-hash`); it is not
//!    Ready for [`Scenario::restart_duration`];
//! 5. restarts members Patroni flags `pending_restart` (`parameters.rs`).
//!
//! An image in [`Scenario::unpullable_images`] never starts (`ImagePullBackOff`), an image of
//! another major than the data never becomes Ready: either way the roll stops at that Pod
//! (PGO does not delete another available Pod while one is unavailable) until the template
//! changes again, when that Pod, outdated and unavailable, is recreated at once.
//!
//! Done is what actually rolled: every Pod's `controller-revision-hash` equals its
//! StatefulSet's `status.updateRevision` with `status.observedGeneration` equal to the
//! StatefulSet's `metadata.generation`, and every Pod is Ready. `status.observedGeneration` of
//! the cluster and `instances[].updatedReplicas` alone say nothing during step 2's window.
//!
//! Every recreation is recorded as (Pod, image) in order;
//! [`SimulatedOperator::restarts`](super::SimulatedOperator::restarts) returns them.
//!
//! [`Scenario::reobserve_delay`]: super::Scenario::reobserve_delay
//! [`Scenario::statefulset_status_delay`]: super::Scenario::statefulset_status_delay
//! [`Scenario::job_duration`]: super::Scenario::job_duration
//! [`Scenario::restart_duration`]: super::Scenario::restart_duration
//! [`Scenario::unpullable_images`]: super::Scenario::unpullable_images

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use tokio::time::Instant;

use super::instances::spec_sets;
use super::parameters::{self, Parameters};
use super::repository::Repository;
use super::runners::{Incarnation, Runner, Seen};
use super::sim::{ClusterSim, Tick};
use super::statefulsets::Template;

/// Restarts per (namespace, cluster): (Pod, image), oldest first.
pub(crate) type Restarts = Mutex<HashMap<(String, String), Vec<(String, String)>>>;

#[derive(Debug, Default)]
pub(crate) struct Rolling {
    /// The Pod of each instance.
    pods: BTreeMap<String, Incarnation>,
    /// The StatefulSet of each instance.
    pub runners: BTreeMap<String, Runner>,
    /// The instances whose Pods are being recreated, and since when.
    restarting: BTreeMap<String, Instant>,
    /// When the switchover away from the outdated primary began.
    switchover_since: Option<Instant>,
    /// What PGO saw when its last reconcile began.
    pub seen: BTreeMap<String, Seen>,
    /// PGO looks at the instances again only from then on (after changing a StatefulSet).
    next_look: Option<Instant>,
    /// Patroni's parameters and restarts.
    pub parameters: Parameters,
    /// The members whose Pods show `pending_restart`, since when (what PGO reads).
    flagged: BTreeMap<String, Instant>,
    /// Restarts not yet published to [`super::SimulatedOperator::restarts`]: (Pod, image).
    pub pending: Vec<(String, String)>,
}

impl Rolling {
    /// (template, startTime, incarnation) of an instance's Pod.
    pub fn pod(&self, instance: &str) -> Option<(&Template, &str, u32)> {
        self.pods
            .get(instance)
            .map(|p| (&p.template, p.started.as_str(), p.count))
    }

    /// Whether the instance's Pod is being recreated.
    pub fn restarting(&self, instance: &str) -> bool {
        self.restarting.contains_key(instance)
    }

    /// `(replicas, readyReplicas, updatedReplicas)` per set, as PGO last observed them.
    pub fn counts(&self) -> BTreeMap<String, (i64, i64, i64)> {
        let mut out: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for s in self.seen.values() {
            let e = out.entry(s.set.clone()).or_default();
            e.0 += i64::from(s.pod);
            e.1 += i64::from(s.ready);
            e.2 += i64::from(s.matches == Some(true));
        }
        out
    }

    /// The StatefulSet controller creates a missing Pod from the current template.
    fn create(&mut self, instance: &str, template: &Template, t: &Tick<'_>) {
        self.pods.insert(
            instance.to_string(),
            Incarnation {
                template: template.clone(),
                started: t.wall_str(),
                count: 0,
            },
        );
        self.parameters.started(instance);
    }

    /// PGO deletes the instance's Pod; its StatefulSet recreates it from `template`.
    fn recreate(&mut self, instance: &str, template: &Template, t: &Tick<'_>) {
        let Some(pod) = self.pods.get_mut(instance) else {
            return;
        };
        pod.template = template.clone();
        pod.started = t.wall_str();
        pod.count += 1;
        self.restarting.insert(instance.to_string(), t.now);
        self.parameters.started(instance);
        self.pending
            .push((format!("{instance}-0"), template.image.clone()));
    }
}

/// One tick of the instances' StatefulSets, Pods and rollout (see the module docs).
pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository) {
    let exist = sim.pods_exist(t);
    // Preparing or running a restore (in place or from a data source), PGO returns before it
    // reconciles instances and deletes the StatefulSets (`prepareForRestore`).
    let restoring = sim.restore.as_ref().is_some_and(|r| r.removes_pods())
        || sim.clone.as_ref().is_some_and(|c| !c.initialized());
    if restoring {
        sim.rolling.runners.clear();
        sim.rolling.pods.clear();
        sim.rolling.restarting.clear();
        sim.rolling.seen.clear();
        sim.rolling.next_look = None;
        sim.rolling.switchover_since = None;
        return;
    }
    let restart_duration = t.scenario.restart_duration;
    sim.rolling
        .restarting
        .retain(|_, since| t.now < *since + restart_duration);
    sim.rolling.parameters.advance(t.now, restart_duration);
    if !exist {
        sim.rolling.pods.clear();
        sim.rolling.restarting.clear();
        sim.rolling.switchover_since = None;
    }

    let reconciles = sim.rolling.next_look.is_none_or(|at| t.now >= at);
    if reconciles {
        sim.rolling.next_look = None;
        sim.rolling.seen = observe(sim, t);
        if apply(sim, t, exist) {
            sim.rolling.next_look = Some(t.now + t.scenario.reobserve_delay);
        }
        sim.rolling
            .parameters
            .write(parameters::spec_parameters(t.c), t.now);
    }

    // The StatefulSet controller.
    let delay = t.scenario.statefulset_status_delay;
    let mut missing = Vec::new();
    for (name, runner) in &mut sim.rolling.runners {
        runner.catch_up(t.now, delay);
        if exist && runner.replicas > 0 && !sim.rolling.pods.contains_key(name) {
            missing.push((name.clone(), runner.template.clone()));
        }
    }
    for (name, template) in missing {
        sim.rolling.create(&name, &template, t);
        // The controller creates the Pod from the spec it has just observed.
        if let Some(r) = sim.rolling.runners.get_mut(&name) {
            r.catch_up(t.now, std::time::Duration::ZERO);
        }
    }

    if reconciles && exist {
        rollout(sim, t, repo);
        restart_pending(sim, t);
    }
    // What the Pods' annotations say now, for PGO's next reconcile.
    let flagged: Vec<String> = sim
        .instances
        .all()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| sim.pending_restart(t, n))
        .collect();
    sim.rolling.flagged.retain(|n, _| flagged.contains(n));
    for n in flagged {
        sim.rolling.flagged.entry(n).or_insert(t.now);
    }
}

/// PGO's `observeInstances`.
fn observe(sim: &ClusterSim, t: &Tick<'_>) -> BTreeMap<String, Seen> {
    sim.instances
        .all()
        .into_iter()
        .map(|(set, name)| {
            let pod = sim.rolling.pods.get(&name);
            let runner = sim.rolling.runners.get(&name);
            let ready = pod.is_some() && sim.pod_available(t, &name);
            let matches = match (pod, runner) {
                (Some(p), Some(r)) if r.known() => Some(p.template == r.template),
                _ => None,
            };
            let seen = Seen {
                set,
                pod: pod.is_some(),
                ready,
                primary: pod.is_some()
                    && sim.has_role(t, &name)
                    && sim.instances.primary.as_deref() == Some(name.as_str()),
                matches,
            };
            (name, seen)
        })
        .collect()
}

/// PGO's `scaleUpInstances`/`reconcileInstance`/`deleteInstance`: whether an existing
/// StatefulSet changed.
fn apply(sim: &mut ClusterSim, t: &Tick<'_>, exist: bool) -> bool {
    let replicas = i64::from(exist);
    let all = sim.instances.all();
    let rolling = &mut sim.rolling;
    rolling
        .runners
        .retain(|name, _| all.iter().any(|(_, n)| n == name));
    rolling
        .pods
        .retain(|name, _| all.iter().any(|(_, n)| n == name));
    rolling
        .parameters
        .retain(|name| all.iter().any(|(_, n)| n == name));
    let mut changed = false;
    for (set, name) in all {
        let template = Template::desired(t.c, &set);
        match rolling.runners.get_mut(&name) {
            Some(r) => changed |= r.apply(&template, replicas, t.now),
            None => {
                let r = Runner::new(&set, &name, template, replicas, t.now);
                rolling.runners.insert(name, r);
            }
        }
    }
    changed
}

/// PGO's `rolloutInstances` with `rolloutInstance`, from what this reconcile observed.
fn rollout(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository) {
    let specified: i64 = spec_sets(t.c).iter().map(|(_, n)| (*n).max(0)).sum();
    let available = sim.rolling.seen.values().filter(|s| s.ready).count() as i64;
    let mut unavailable = specified - available;
    // byPriority: the primary last, available instances after unavailable ones, then by name.
    let mut consider: Vec<(bool, bool, String)> = sim
        .rolling
        .seen
        .iter()
        .filter(|(_, s)| s.pod && s.matches == Some(false))
        .map(|(n, s)| (s.primary, s.ready, n.clone()))
        .collect();
    consider.sort();
    if !consider.iter().any(|(primary, _, _)| *primary) {
        sim.rolling.switchover_since = None;
    }
    for (primary, ready, name) in consider {
        if ready && unavailable >= 1 {
            continue;
        }
        if ready {
            unavailable += 1;
        }
        let template = match sim.rolling.runners.get(&name) {
            Some(r) => r.template.clone(),
            None => continue,
        };
        if primary && sim.instances.count() > 1 {
            // Patroni's switchover (`ChangePrimaryAndWait`); the old primary is recreated on
            // a later reconcile, as a replica.
            let since = *sim.rolling.switchover_since.get_or_insert(t.now);
            if t.now >= since + t.scenario.job_duration
                && let Some(next) = sim.instances.best_replica()
            {
                sim.rolling.switchover_since = None;
                sim.instances.primary = Some(next);
                sim.timeline += 1;
                repo.archive(sim.timeline);
            }
            continue;
        }
        sim.rolling.recreate(&name, &template, t);
    }
}

/// PGO's `handlePatroniRestarts`, from the `pending_restart` flags the Pods showed: the
/// primary if it is flagged, else every flagged replica; members whose container does not run
/// (or that no longer need it) are skipped. PGO reacts to a flag with the reconcile its Pod
/// watch triggers, [`Scenario::reobserve_delay`](super::Scenario::reobserve_delay) after the
/// flag appeared.
fn restart_pending(sim: &mut ClusterSim, t: &Tick<'_>) {
    let react = t.scenario.reobserve_delay;
    let flagged: Vec<(bool, String)> = sim
        .rolling
        .flagged
        .iter()
        .filter(|(_, since)| t.now >= **since + react)
        .map(|(n, _)| n)
        .filter(|n| sim.pod_available(t, n) && sim.pending_restart(t, n))
        .map(|n| {
            (
                sim.instances.primary.as_deref() == Some(n.as_str()),
                n.clone(),
            )
        })
        .collect();
    let primary: Vec<&String> = flagged.iter().filter(|(p, _)| *p).map(|(_, n)| n).collect();
    let targets: Vec<String> = if primary.is_empty() {
        flagged.iter().map(|(_, n)| n.clone()).collect()
    } else {
        primary.into_iter().cloned().collect()
    };
    for name in targets {
        sim.rolling.parameters.restart(&name, t.now);
    }
}
