//! Switchovers, as PGO's `reconcilePatroniSwitchover`: the annotation
//! `postgres-operator.crunchydata.com/trigger-switchover` plus `spec.patroni.switchover`
//! (`enabled: true`, optional `targetInstance` naming an instance StatefulSet, `type`
//! `Switchover` (default) or `Failover`).
//!
//! - `enabled` false or absent clears `status.patroni.switchover` and `switchoverTimeline`.
//! - Nothing happens while the annotation is empty or equals `status.patroni.switchover`.
//! - PGO returns an error, records no Event and retries with backoff (so the request never
//!   completes) when the cluster has one instance, when `Failover` has no `targetInstance`,
//!   when `targetInstance` names no instance of the cluster, or when no instance runs.
//! - Otherwise the first pass records the current timeline in `status.patroni.
//!   switchoverTimeline`; one `job_duration` later Patroni switches: the leader becomes
//!   `targetInstance` (or the first replica by name), the Pods' `role` labels follow, the
//!   timeline grows by one, and `status.patroni.switchover` becomes the annotation value while
//!   `switchoverTimeline` is cleared. A target that already leads makes `patronictl` refuse
//!   ("unable to switchover"): no completion either.

use serde_json::Value;
use tokio::time::Instant;

use super::repository::Repository;
use super::sim::{ClusterSim, Tick};

/// The annotation that requests a switchover.
pub const SWITCHOVER_ANNOTATION: &str = "postgres-operator.crunchydata.com/trigger-switchover";

#[derive(Clone, Debug, Default)]
pub(crate) struct Switchover {
    /// `status.patroni.switchover`.
    pub done: Option<String>,
    /// `status.patroni.switchoverTimeline`.
    pub timeline: Option<u32>,
    since: Option<Instant>,
}

pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository) {
    let spec = t.c.spec.pointer("/patroni/switchover");
    let enabled = spec
        .and_then(|s| s.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(spec) = spec.filter(|_| enabled) else {
        sim.switchover = Switchover::default();
        return;
    };
    let annotation = t.annotation(SWITCHOVER_ANNOTATION).to_string();
    if annotation.is_empty() || sim.switchover.done.as_deref() == Some(annotation.as_str()) {
        sim.switchover.timeline = None;
        return;
    }
    if sim.instances.count() <= 1 || !sim.running {
        return;
    }
    let failover = spec.get("type").and_then(Value::as_str) == Some("Failover");
    let target = spec
        .get("targetInstance")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if failover && target.is_none() {
        return;
    }
    if target.is_some_and(|name| !sim.instances.contains(name)) {
        return;
    }
    match sim.switchover.timeline {
        None => {
            sim.switchover.timeline = Some(sim.timeline);
            sim.switchover.since = Some(t.now);
            return;
        }
        Some(recorded) if recorded != sim.timeline => {
            sim.switchover.done = Some(annotation);
            sim.switchover.timeline = None;
            return;
        }
        Some(_) => {}
    }
    if sim
        .switchover
        .since
        .is_some_and(|since| t.now < since + t.scenario.job_duration)
    {
        return;
    }
    let next = match target {
        Some(name) => Some(name.to_string()),
        None => sim.instances.best_replica(),
    };
    let Some(next) = next.filter(|n| Some(n) != sim.instances.primary.as_ref()) else {
        return;
    };
    sim.instances.primary = Some(next);
    sim.timeline += 1;
    repo.archive(sim.timeline);
    sim.switchover.done = Some(annotation);
    sim.switchover.timeline = None;
}
