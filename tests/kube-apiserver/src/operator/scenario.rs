//! [`Scenario`]: how the simulated operator behaves for a cluster, named so tests read like
//! specs (`Scenario::healthy()`, `Scenario::slow(..)`, `Scenario::never_ready()`,
//! `Scenario::fails_with("..")`, `.stuck_on_delete()`).

use std::time::Duration;

/// Where a cluster ends up once the operator has observed a generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every instance (and the pooler) becomes ready; backups are set up.
    Ready,
    /// The generation is observed but no instance ever becomes ready and the pgBackRest stanza
    /// is never created (what a cluster stuck on image pulls or storage looks like).
    NeverReady,
    /// Like [`Outcome::NeverReady`], and the condition `condition_type` is `False` with
    /// `reason`/`message`. PGO has no "Failed" phase: it reports trouble through conditions
    /// (and Events); this models that shape.
    Fails {
        /// Condition type set to `False`.
        condition_type: String,
        /// Its reason.
        reason: String,
        /// Its message.
        message: String,
    },
}

/// What happens when a cluster is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Children are deleted and the finalizer removed after this delay.
    After(Duration),
    /// The finalizer is never removed (the cluster stays Terminating).
    Never,
}

/// The simulated operator's behaviour for one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Time between a new generation being seen and its status being written
    /// (`observedGeneration` and ready replicas follow after this delay).
    pub ready_after: Duration,
    /// Where the cluster ends up.
    pub outcome: Outcome,
    /// Deletion behaviour.
    pub deletion: Deletion,
}

impl Scenario {
    /// Becomes ready 50 ms after each change; deletes promptly.
    pub fn healthy() -> Self {
        Self {
            ready_after: Duration::from_millis(50),
            outcome: Outcome::Ready,
            deletion: Deletion::After(Duration::from_millis(10)),
        }
    }

    /// Becomes ready `delay` after each change.
    pub fn slow(delay: Duration) -> Self {
        Self {
            ready_after: delay,
            ..Self::healthy()
        }
    }

    /// Observes each generation but never becomes ready.
    pub fn never_ready() -> Self {
        Self {
            outcome: Outcome::NeverReady,
            ..Self::healthy()
        }
    }

    /// Observes each generation, never becomes ready, and reports `reason` on a `False`
    /// `PGBackRestReplicaRepoReady` condition (see [`Outcome::Fails`]). `reason` must be a
    /// valid condition reason (CamelCase, e.g. `ImagePullBackOff`): the status is validated
    /// against the schema like any other write.
    pub fn fails_with(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            outcome: Outcome::Fails {
                condition_type: "PGBackRestReplicaRepoReady".into(),
                message: format!("simulated failure: {reason}"),
                reason,
            },
            ..Self::healthy()
        }
    }

    /// Sets the delay before the finalizer is removed on deletion.
    pub fn deleting_after(mut self, delay: Duration) -> Self {
        self.deletion = Deletion::After(delay);
        self
    }

    /// Never removes the finalizer, so deletion never completes.
    pub fn stuck_on_delete(mut self) -> Self {
        self.deletion = Deletion::Never;
        self
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self::healthy()
    }
}
