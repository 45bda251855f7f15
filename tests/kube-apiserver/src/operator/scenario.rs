//! [`Scenario`]: how the simulated operator behaves for a cluster, named so tests read like
//! specs (`Scenario::healthy()`, `Scenario::slow(..)`, `Scenario::never_ready()`,
//! `Scenario::fails_with("..")`, `.stuck_on_delete()`, `.jobs_take(..)`,
//! `.first_backup_after(..)`, `.restarts_take(..)`, `.unpullable_images(..)`,
//! `.manual_backups_fail()`, `.restores_fail()`, `.upgrades_fail()`,
//! `.without_extensions([..])`, `.promotions_take(..)`, `.promotion_stalls()`,
//! `.reobserves_after(..)`, `.statefulset_status_after(..)`, `.patroni_loop_wait(..)`,
//! `.stanza_creation_fails()`, `.volumes_grow_in(..)`).

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
    /// How long one simulated Job (a backup, a restore, an upgrade) or one step of a day-2
    /// flow (stopping instances for a restore, a switchover) takes. A failing Job retries
    /// like a Kubernetes Job: one failed Pod per `job_duration` up to its backoff limit. Read
    /// on every reconcile, so a test can hold a flow in one state with a long duration and
    /// release it with [`crate::operator::SimulatedOperator::set_scenario`].
    pub job_duration: Duration,
    /// Time between the cluster's first start and its first full backup (the replica-create
    /// backup a manual backup waits for). Read on every reconcile: a test can hold the backup
    /// with a long delay and release it with [`crate::operator::SimulatedOperator::set_scenario`].
    pub first_backup_after: Duration,
    /// How long one instance Pod of a rollout (a changed pod template) is down, from its
    /// deletion until the recreated Pod is Ready; also how long a Patroni restart of a member
    /// with a pending restart keeps its Pod not Ready. Read on every reconcile.
    pub restart_duration: Duration,
    /// How long PGO takes to react to a watched change of its objects with a reconcile. After
    /// PGO changed an instance StatefulSet, its next reconcile looks at the instances again
    /// this much later (the requeue its StatefulSet watch triggers); until then
    /// `status.instances[]` keeps what the reconcile that changed it saw, i.e. the window in
    /// which the new `observedGeneration` reports every instance updated and Ready while every
    /// Pod still runs the old template (`rolling.rs`). A Pod's `pending_restart` flag is acted
    /// upon this long after it appeared (`parameters.rs`). Never zero in PGO.
    pub reobserve_delay: Duration,
    /// How long the StatefulSet controller takes to report a changed StatefulSet
    /// (`status.observedGeneration`, `updateRevision`); until then PGO counts none of its Pods
    /// as updated and rolls none.
    pub statefulset_status_delay: Duration,
    /// Patroni's `loop_wait`: a replica flags `pending_restart` one loop after PGO changed a
    /// parameter that needs a restart, the primary one loop later (`parameters.rs`).
    pub patroni_loop_wait: Duration,
    /// `pgbackrest stanza-create` and `stanza-upgrade` both fail: PGO records a Warning Event
    /// `UnableToCreateStanzas`, the stanza is never created and no backup is taken.
    pub stanza_create_fails: bool,
    /// Images whose pull fails: a Pod with one stays not Ready in `ImagePullBackOff`.
    pub unpullable_images: Vec<String>,
    /// Manual backup Jobs fail (pgBackRest exits non-zero, e.g. the repository is full).
    pub manual_backups_fail: bool,
    /// In-place restore Jobs fail even when the target is inside what the repository holds
    /// (a target outside it, or a repository without backups, fails regardless).
    pub restores_fail: bool,
    /// PGUpgrade Jobs fail (`pg_upgrade --check` rejects the cluster); the data stays on the
    /// old version.
    pub upgrades_fail: bool,
    /// Extensions of [`crate::operator::EXTENSION_CATALOG`] the image does not carry
    /// (`CREATE EXTENSION` reports them not available).
    pub missing_extensions: Vec<String>,
    /// How long a streaming standby's leader takes to promote once `spec.standby` is disabled
    /// or removed (`standby.rs`). Read on every reconcile.
    pub promotion_duration: Duration,
    /// The standby leader never leaves recovery (a promotion that hangs, e.g. Patroni cannot
    /// update the DCS): `pg_is_in_recovery()` stays `t` and writes stay refused.
    pub promotion_stalls: bool,
    /// How long the storage side (the CSI driver's controller expansion, then the kubelet's
    /// filesystem expansion) takes to grow a data volume once its claim asks for more: until
    /// then the claim's `status.capacity` keeps the old size. Read on every reconcile.
    pub volume_growth: Duration,
}

impl Scenario {
    /// Becomes ready 50 ms after each change; deletes promptly.
    pub fn healthy() -> Self {
        Self {
            ready_after: Duration::from_millis(50),
            outcome: Outcome::Ready,
            deletion: Deletion::After(Duration::from_millis(10)),
            job_duration: Duration::from_millis(20),
            first_backup_after: Duration::ZERO,
            restart_duration: Duration::from_millis(50),
            reobserve_delay: Duration::from_millis(50),
            statefulset_status_delay: Duration::from_millis(20),
            patroni_loop_wait: Duration::from_millis(20),
            stanza_create_fails: false,
            unpullable_images: Vec::new(),
            manual_backups_fail: false,
            restores_fail: false,
            upgrades_fail: false,
            missing_extensions: Vec::new(),
            promotion_duration: Duration::from_millis(20),
            promotion_stalls: false,
            volume_growth: Duration::from_millis(20),
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

    /// Sets how long each simulated Job or day-2 step takes (see [`Scenario::job_duration`]).
    pub fn jobs_take(mut self, duration: Duration) -> Self {
        self.job_duration = duration;
        self
    }

    /// Delays the first full backup after the cluster first starts.
    pub fn first_backup_after(mut self, delay: Duration) -> Self {
        self.first_backup_after = delay;
        self
    }

    /// Sets how long each Pod of a rollout (or a Patroni restart) is down (see
    /// [`Scenario::restart_duration`]).
    pub fn restarts_take(mut self, duration: Duration) -> Self {
        self.restart_duration = duration;
        self
    }

    /// Makes pulls of `images` fail (see [`Scenario::unpullable_images`]).
    pub fn unpullable_images<I, S>(mut self, images: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.unpullable_images = images.into_iter().map(Into::into).collect();
        self
    }

    /// Whether pulling `image` fails.
    pub(crate) fn pull_fails(&self, image: &str) -> bool {
        self.unpullable_images.iter().any(|i| i == image)
    }

    /// Makes manual backups fail.
    pub fn manual_backups_fail(mut self) -> Self {
        self.manual_backups_fail = true;
        self
    }

    /// Makes in-place restores fail.
    pub fn restores_fail(mut self) -> Self {
        self.restores_fail = true;
        self
    }

    /// Makes major upgrades (PGUpgrade) fail.
    pub fn upgrades_fail(mut self) -> Self {
        self.upgrades_fail = true;
        self
    }
}

impl Scenario {
    /// Sets [`Scenario::reobserve_delay`] (the window a template change reports done early).
    pub fn reobserves_after(mut self, delay: Duration) -> Self {
        self.reobserve_delay = delay;
        self
    }

    /// Sets [`Scenario::statefulset_status_delay`].
    pub fn statefulset_status_after(mut self, delay: Duration) -> Self {
        self.statefulset_status_delay = delay;
        self
    }

    /// Sets [`Scenario::patroni_loop_wait`].
    pub fn patroni_loop_wait(mut self, delay: Duration) -> Self {
        self.patroni_loop_wait = delay;
        self
    }

    /// Makes stanza creation fail (see [`Scenario::stanza_create_fails`]).
    pub fn stanza_creation_fails(mut self) -> Self {
        self.stanza_create_fails = true;
        self
    }

    /// Plays an image without these extensions (see [`Scenario::missing_extensions`]).
    pub fn without_extensions<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.missing_extensions
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Sets how long a standby's promotion takes (see [`Scenario::promotion_duration`]).
    pub fn promotions_take(mut self, duration: Duration) -> Self {
        self.promotion_duration = duration;
        self
    }

    /// Data volumes take `duration` to grow (see [`Scenario::volume_growth`]).
    pub fn volumes_grow_in(mut self, duration: Duration) -> Self {
        self.volume_growth = duration;
        self
    }

    /// Makes standby promotions hang (see [`Scenario::promotion_stalls`]).
    pub fn promotion_stalls(mut self) -> Self {
        self.promotion_stalls = true;
        self
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self::healthy()
    }
}
