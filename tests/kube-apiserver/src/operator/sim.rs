//! One simulated cluster's life beyond its spec: the instances and their leader, bootstrap,
//! the data's major version, the timeline, the stanza, first (replica-create) and scheduled
//! backups ([`super::backups`]), the instance StatefulSets, Pods, rollouts and Patroni restarts
//! ([`super::rolling`]), bootstrap from a data source ([`super::clone`]), standby bootstrap
//! and promotion ([`super::standby`]), and the day-2 flows ([`super::manual`],
//! [`super::restore`], [`super::switchover`]; the upgrade is driven from [`super::upgrade`]).
//! [`ClusterSim::tick`] advances it to `now`; [`super::status`] renders what PGO would report
//! from it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rand::RngExt;
use serde_json::Value;
use tokio::time::Instant;

use super::children::Cluster;
use super::clone::DataSource;
use super::instances::{Instances, PodState, image_of, major_of, spec_sets};
use super::manual::Manual;
use super::repository::Repository;
use super::restore::Restore;
use super::rolling::Rolling;
use super::scenario::{Outcome, Scenario};
use super::standby::Standby;
use super::switchover::Switchover;
use super::{clone, manual, restore, rolling, standby, switchover};

/// What one reconcile sees.
pub(crate) struct Tick<'a> {
    pub c: &'a Cluster<'a>,
    pub scenario: &'a Scenario,
    pub now: Instant,
    pub wall: DateTime<Utc>,
}

impl Tick<'_> {
    /// RFC 3339 in UTC, seconds precision (how Kubernetes serializes `metav1.Time`).
    pub fn wall_str(&self) -> String {
        self.wall.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    pub fn unix(&self) -> i64 {
        self.wall.timestamp()
    }

    pub fn annotation(&self, key: &str) -> &str {
        self.c
            .object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `spec.backups.pgbackrest.repos[].name`.
    pub fn repo_names(&self) -> Vec<String> {
        self.c
            .spec
            .pointer("/backups/pgbackrest/repos")
            .and_then(Value::as_array)
            .map(|repos| {
                repos
                    .iter()
                    .filter_map(|r| r.get("name").and_then(Value::as_str))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn spec_version(&self) -> Option<i64> {
        self.c.spec.get("postgresVersion").and_then(Value::as_i64)
    }

    /// The PostgreSQL major the instance image runs: from the image tag, else
    /// `spec.postgresVersion`.
    pub fn image_version(&self) -> Option<i64> {
        Self::image_version_of(self.c)
    }

    /// [`Tick::image_version`] of a cluster.
    pub fn image_version_of(c: &Cluster<'_>) -> Option<i64> {
        major_of(&image_of(c)).or_else(|| c.spec.get("postgresVersion").and_then(Value::as_i64))
    }
}

/// A Kubernetes Event PGO records on the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub(crate) struct ClusterSim {
    pub instances: Instances,
    /// Instances were adopted from existing Pods (or there were none).
    pub adopted: bool,
    pub timeline: u32,
    pub system_identifier: Option<String>,
    pub bootstrapped: bool,
    /// The major version of the data directory.
    pub data_version: Option<i64>,
    /// `status.postgresVersion`, written only by a completed PGUpgrade.
    pub status_version: Option<i64>,
    /// A PGUpgrade rewrote the data: the next start brings a new system identifier, a
    /// `stanza-upgrade` and a new replica-create backup.
    pub upgraded: bool,
    /// PostgreSQL runs on every instance and Patroni has a leader.
    pub running: bool,
    /// The leader's Pod is Ready (what a standby of this cluster connects to).
    pub leader_ready: bool,
    /// Standby mode: bootstrap from a source, recovery, promotion (`standby.rs`).
    pub standby: Standby,
    pub stanza_created: bool,
    /// When PostgreSQL (re)started on fresh data; the first backup follows
    /// `first_backup_after` later (read from the current scenario, so a test can hold it).
    pub started_at: Option<Instant>,
    pub first_backup_done: bool,
    pub(crate) scheduled_recorded: BTreeSet<String>,
    pub manual: Manual,
    pub restore: Option<Restore>,
    pub switchover: Switchover,
    /// The instance StatefulSets, their Pods and rollouts (`rolling.rs`).
    pub rolling: Rolling,
    /// Bootstrapping from another cluster's repository (`spec.dataSource`, `clone.rs`).
    pub clone: Option<DataSource>,
    /// Each user's SCRAM verifier, as in its Secret.
    pub verifiers: BTreeMap<String, String>,
    pub users_revision: Option<String>,
    pub database_revision: Option<String>,
    /// `status.startupInstance`: the first instance, then the primary when the cluster stops.
    pub startup_instance: Option<(String, String)>,
    pub events: Vec<Event>,
    emitted: BTreeSet<(String, String)>,
}

fn new_system_identifier() -> String {
    format!(
        "7{:018}",
        rand::rng().random_range(0..1_000_000_000_000_000_000u64)
    )
}

impl ClusterSim {
    /// Records an Event once per distinct reason and message.
    pub fn event(&mut self, warning: bool, reason: &str, message: String) {
        if self.emitted.insert((reason.to_string(), message.clone())) {
            self.events.push(Event {
                warning,
                reason: reason.to_string(),
                message,
            });
        }
    }

    /// Whether an image's PostgreSQL major can run the data (its tag's major, else
    /// `spec.postgresVersion`; anything while there is no data yet).
    pub fn major_runs(&self, t: &Tick<'_>, image: &str) -> bool {
        let major = major_of(image).or_else(|| t.spec_version());
        self.data_version
            .is_none_or(|v| major.is_none_or(|m| m == v))
    }

    /// Whether PostgreSQL may run at all now: the outcome allows it, the cluster is not shut
    /// down, no restore holds the instances down, a first start's (or a first start after a
    /// major upgrade's) image can be pulled and is of the data's major. Once running, a
    /// template of another major only breaks the Pods recreated from it (`rolling.rs`).
    fn can_run(&self, t: &Tick<'_>) -> bool {
        let first_start = !self.bootstrapped || self.upgraded;
        t.scenario.outcome == Outcome::Ready
            && !t.c.shutdown()
            && self.restore.as_ref().is_none_or(|r| !r.blocks_instances())
            && self.clone.as_ref().is_none_or(|c| c.initialized())
            && (!first_start || self.major_runs(t, &image_of(t.c)))
            && (self.bootstrapped || !t.scenario.pull_fails(&image_of(t.c)))
    }

    /// Whether instance Pods exist (they do not while shut down, while a restore has them
    /// removed, or before a clone's data is restored).
    pub fn pods_exist(&self, t: &Tick<'_>) -> bool {
        !t.c.shutdown()
            && self.restore.as_ref().is_none_or(|r| !r.removes_pods())
            && self.clone.as_ref().is_none_or(|c| c.initialized())
    }

    /// Whether PostgreSQL runs in the instance's Pod (Patroni gives it a role): the cluster
    /// runs, the Pod is not being recreated, its image can be pulled and is of the data's
    /// major version.
    pub fn has_role(&self, t: &Tick<'_>, instance: &str) -> bool {
        let Some((template, _, _)) = self.rolling.pod(instance) else {
            return false;
        };
        self.running
            && !self.rolling.restarting(instance)
            && !t.scenario.pull_fails(&template.image)
            && self.major_runs(t, &template.image)
    }

    /// Whether the instance's Pod is Ready: PostgreSQL runs ([`ClusterSim::has_role`]) and
    /// Patroni is not restarting it.
    pub fn pod_available(&self, t: &Tick<'_>, instance: &str) -> bool {
        self.has_role(t, instance) && !self.rolling.parameters.restarting(instance)
    }

    /// Whether Patroni flags the instance `pending_restart` (`parameters.rs`).
    pub fn pending_restart(&self, t: &Tick<'_>, instance: &str) -> bool {
        let primary = self.instances.primary.as_deref() == Some(instance);
        self.has_role(t, instance)
            && self.rolling.parameters.pending(
                instance,
                primary,
                t.now,
                t.scenario.patroni_loop_wait,
            )
    }

    /// Every instance Pod that exists now, with its state.
    pub fn pods(&self, t: &Tick<'_>) -> Vec<(String, String, PodState)> {
        if !self.pods_exist(t) {
            return Vec::new();
        }
        let waiting = if t.scenario.outcome != Outcome::Ready {
            "ContainerCreating"
        } else if self.restore.as_ref().is_some_and(Restore::blocks_instances) {
            "PodInitializing"
        } else {
            "CrashLoopBackOff"
        };
        // Patroni runs and retries the standby's bootstrap; PostgreSQL has no data yet.
        let awaiting_source = t.scenario.outcome == Outcome::Ready
            && !self.bootstrapped
            && standby::spec(t.c).is_some();
        self.instances
            .all()
            .into_iter()
            .filter_map(|(set, name)| {
                let (template, started, incarnation) = self.rolling.pod(&name)?;
                let leader = self.instances.primary.as_deref() == Some(name.as_str());
                let pull_fails = t.scenario.pull_fails(&template.image);
                let restarting = self.rolling.restarting(&name);
                let (waiting, message) = if pull_fails {
                    (
                        "ImagePullBackOff",
                        Some(format!("Back-off pulling image \"{}\"", template.image)),
                    )
                } else if restarting {
                    ("ContainerCreating", None)
                } else {
                    (waiting, None)
                };
                let has_role = self.has_role(t, &name);
                let state = PodState {
                    running: has_role,
                    ready: self.pod_available(t, &name),
                    pending_restart: self.pending_restart(t, &name),
                    container_running: awaiting_source && !pull_fails && !restarting,
                    standby_leader: leader && self.standby.in_recovery,
                    leader,
                    timeline: self.timeline,
                    waiting,
                    message,
                    template: template.clone(),
                    started: started.to_string(),
                    incarnation,
                };
                Some((set, name, state))
            })
            .collect()
    }

    /// Advances the cluster to `t.now` (called once the current generation is observed).
    pub fn tick(&mut self, t: &Tick<'_>, repo: &mut Repository) {
        let sets = spec_sets(t.c);
        self.instances.sync(t.c, &sets);
        if self.timeline == 0 {
            self.timeline = 1;
        }

        switchover::reconcile(self, t, repo);
        restore::reconcile(self, t, repo);
        clone::reconcile(self, t);

        let can_run = self.can_run(t);
        if can_run && !self.bootstrapped && standby::spec(t.c).is_some() {
            // A standby's data comes from its source; without it Patroni keeps retrying.
            standby::bootstrap(self, t);
        } else if can_run && (!self.bootstrapped || self.upgraded) {
            self.start_fresh(t, repo);
        }
        self.running = can_run && self.bootstrapped && self.primary_major_runs(t);
        if self.running {
            standby::reconcile(self, t);
            self.instances.elect(&sets);
            if self.startup_instance.is_none() {
                self.startup_instance = self
                    .instances
                    .primary
                    .as_ref()
                    .and_then(|p| Some((self.instances.set_of(p)?, p.clone())));
            }
            // In recovery nothing can be written: no stanza, no backups, no users (PGO).
            if !self.standby.in_recovery {
                self.backups(t, repo);
                self.users(t);
            }
        }
        rolling::reconcile(self, t, repo);
        self.running = self.running && self.primary_major_runs(t);
        self.leader_ready = self
            .instances
            .primary
            .as_ref()
            .is_some_and(|p| self.pod_available(t, p));
        if t.c.shutdown()
            && let Some(p) = self.instances.primary.clone()
            && let Some(set) = self.instances.set_of(&p)
        {
            self.startup_instance = Some((set, p));
        }

        manual::reconcile(self, t, repo);
    }

    /// Whether the primary's Pod (if it has one) runs an image of the data's major: a single
    /// instance recreated from another major's image leaves nothing running.
    fn primary_major_runs(&self, t: &Tick<'_>) -> bool {
        self.instances
            .primary
            .as_deref()
            .and_then(|p| self.rolling.pod(p))
            .is_none_or(|(template, _, _)| self.major_runs(t, &template.image))
    }

    /// First start, or the first start after a major upgrade (new data directory).
    fn start_fresh(&mut self, t: &Tick<'_>, repo: &mut Repository) {
        self.bootstrapped = true;
        self.upgraded = false;
        self.data_version = t.image_version();
        self.system_identifier = Some(new_system_identifier());
        self.stanza_created = false;
        self.first_backup_done = false;
        self.started_at = Some(t.now);
        self.scheduled_recorded.clear();
        let _ = repo;
    }
}
