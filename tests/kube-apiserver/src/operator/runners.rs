//! The instance StatefulSets ("runners", PGO's word) of one simulated cluster: what PGO last
//! applied (`reconcileInstance`), what the StatefulSet controller reports for it (the
//! simulated operator plays that controller too: a real API server in the tests runs none),
//! and what PGO saw of its instances at the start of its last reconcile (`observeInstances`).
//!
//! - Applying a StatefulSet whose template or replicas changed bumps its `generation`; the
//!   StatefulSet controller catches up [`Scenario::statefulset_status_delay`] later
//!   (`observedGeneration`, `updateRevision`). `currentRevision` is the revision the
//!   StatefulSet was created with: with `updateStrategy: OnDelete` the controller never moves
//!   it (`completeRollingUpdate` only does for `RollingUpdate`).
//! - A Pod is *updated* (PGO's `PodMatchesPodTemplate`) only while its StatefulSet's status is
//!   current (`observedGeneration == generation`) and its `controller-revision-hash` is the
//!   `updateRevision`; while the status lags it is unknown and not counted.
//!
//! [`Scenario::statefulset_status_delay`]: super::Scenario::statefulset_status_delay

use std::time::Duration;

use tokio::time::Instant;

use super::statefulsets::{RunnerStatus, Template};

/// The Pod of one instance as the StatefulSet controller last created it.
#[derive(Clone, Debug)]
pub(crate) struct Incarnation {
    pub template: Template,
    /// `status.startTime` (RFC 3339).
    pub started: String,
    /// Bumped each time the Pod is recreated.
    pub count: u32,
}

/// One instance StatefulSet.
#[derive(Clone, Debug)]
pub(crate) struct Runner {
    pub set: String,
    /// `spec.template` as PGO last applied it.
    pub template: Template,
    pub replicas: i64,
    pub generation: i64,
    pub observed_generation: i64,
    /// `status.currentRevision`: the revision it was created with.
    pub current_revision: String,
    changed_at: Instant,
}

impl Runner {
    pub fn new(set: &str, instance: &str, template: Template, replicas: i64, now: Instant) -> Self {
        Self {
            set: set.to_string(),
            current_revision: template.revision(instance),
            template,
            replicas,
            generation: 1,
            observed_generation: 0,
            changed_at: now,
        }
    }

    /// PGO applies its intent; whether the spec (and so the generation) changed.
    pub fn apply(&mut self, template: &Template, replicas: i64, now: Instant) -> bool {
        if self.template == *template && self.replicas == replicas {
            return false;
        }
        self.template = template.clone();
        self.replicas = replicas;
        self.generation += 1;
        self.changed_at = now;
        true
    }

    /// Follows the generation the API server gave the StatefulSet (it differs from the
    /// simulation's count when the object outlived an operator restart), keeping the
    /// controller's lag.
    pub fn follow_generation(&mut self, server: i64) {
        let offset = server - self.generation;
        if offset != 0 {
            self.generation = server;
            self.observed_generation = (self.observed_generation + offset).max(0);
        }
    }

    /// The StatefulSet controller catches up with the spec `delay` after a change.
    pub fn catch_up(&mut self, now: Instant, delay: Duration) {
        if self.observed_generation != self.generation && now >= self.changed_at + delay {
            self.observed_generation = self.generation;
        }
    }

    /// Whether `status` reflects the current spec.
    pub fn known(&self) -> bool {
        self.observed_generation == self.generation
    }

    /// The status the StatefulSet controller writes, given its Pod (if any) and whether it is
    /// Ready. Before the controller first observed the StatefulSet it reports the revisions it
    /// is about to compute.
    pub fn status(&self, instance: &str, pod: Option<(&Template, bool)>) -> RunnerStatus {
        let update_revision = self.template.revision(instance);
        let revision = pod.map(|(t, _)| t.revision(instance));
        let count = |want: &str| i64::from(revision.as_deref() == Some(want));
        RunnerStatus {
            observed_generation: self.observed_generation,
            replicas: i64::from(pod.is_some()),
            ready: i64::from(pod.is_some_and(|(_, ready)| ready)),
            current: count(&self.current_revision),
            updated: count(&update_revision),
            current_revision: self.current_revision.clone(),
            update_revision,
        }
    }
}

/// What PGO saw of one instance when its last reconcile began.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub set: String,
    /// The instance has its Pod.
    pub pod: bool,
    /// The Pod is Ready (PGO's `IsAvailable`: Ready and not terminating).
    pub ready: bool,
    /// The Pod carries Patroni's leader role label.
    pub primary: bool,
    /// `PodMatchesPodTemplate`: `None` when unknown (no Pod, or the StatefulSet's status lags).
    pub matches: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(image: &str) -> Template {
        Template {
            image: image.into(),
            resources: None,
        }
    }

    #[test]
    fn the_status_lags_the_spec_and_the_current_revision_stays_under_on_delete() {
        let t0 = Instant::now();
        let delay = Duration::from_millis(20);
        let mut r = Runner::new("set", "i", template("a"), 1, t0);
        assert!(!r.known());
        r.catch_up(t0 + delay, delay);
        assert!(r.known());
        let first = r.current_revision.clone();

        assert!(!r.apply(&template("a"), 1, t0 + delay));
        assert!(r.apply(&template("b"), 1, t0 + delay));
        assert_eq!(r.generation, 2);
        r.catch_up(t0 + delay + Duration::from_millis(5), delay);
        assert!(!r.known(), "the controller has not caught up yet");
        r.catch_up(t0 + delay * 2, delay);
        assert!(r.known());

        let old = template("a");
        let status = r.status("i", Some((&old, true)));
        assert_eq!((status.replicas, status.ready), (1, 1));
        assert_eq!((status.current, status.updated), (1, 0));
        assert_eq!(status.current_revision, first);
        assert_ne!(status.update_revision, first);
        let new = template("b");
        let status = r.status("i", Some((&new, false)));
        assert_eq!((status.ready, status.current, status.updated), (0, 0, 1));
        assert_eq!(status.current_revision, first, "OnDelete never moves it");
    }
}
