//! PostgreSQL parameters that need a restart, as Patroni and PGO handle them: PGO writes the
//! spec's parameters to Patroni's dynamic configuration (`reconcilePatroniDynamicConfiguration`,
//! not the pod template, so nothing rolls), each Patroni member compares them with what its
//! running postmaster started with and flags `"pending_restart":true` in its Pod's `status`
//! annotation, and PGO's `handlePatroniRestarts` runs `patronictl restart --pending` on the
//! primary if it is flagged, else on every flagged replica.
//!
//! - The parameters are `spec.patroni.dynamicConfiguration.postgresql.parameters` overridden
//!   by `spec.config.parameters` (what pgplane writes), values compared as strings; only
//!   [`RESTART_PARAMETERS`] (context `postmaster`) can become pending.
//! - Patroni notices a new configuration one [`Scenario::patroni_loop_wait`] after PGO wrote it
//!   on a replica and one more on the primary (the note in `handlePatroniRestarts`: the primary
//!   flags one `loop_wait` after the replicas), so although PGO prefers the primary, replicas
//!   normally restart first and the primary last. PGO acts on a flag
//!   [`Scenario::reobserve_delay`] after it appeared (the reconcile its Pod watch triggers).
//!   `status.observedGeneration` is written before any of this.
//! - A restart keeps the Pod (same uid, Patroni restarts PostgreSQL in the container) but it
//!   is not Ready for [`Scenario::restart_duration`]; the role label stays, Patroni's state is
//!   `restarting`. Afterwards the member runs the configuration of the moment it restarted,
//!   which clears the flag. A Pod created later (a rollout) starts with the current one.
//!   PGO ignores members that are not running (e.g. being recreated).
//!
//! [`Scenario::patroni_loop_wait`]: super::Scenario::patroni_loop_wait
//! [`Scenario::reobserve_delay`]: super::Scenario::reobserve_delay
//! [`Scenario::restart_duration`]: super::Scenario::restart_duration

use std::collections::BTreeMap;

use serde_json::Value;
use tokio::time::Instant;

use super::children::Cluster;

/// Parameters whose change needs a PostgreSQL restart (`pg_settings.context = 'postmaster'`).
pub const RESTART_PARAMETERS: &[&str] = &[
    "archive_mode",
    "autovacuum_freeze_max_age",
    "autovacuum_max_workers",
    "autovacuum_multixact_freeze_max_age",
    "huge_pages",
    "listen_addresses",
    "max_connections",
    "max_files_per_process",
    "max_locks_per_transaction",
    "max_logical_replication_workers",
    "max_pred_locks_per_transaction",
    "max_prepared_transactions",
    "max_replication_slots",
    "max_wal_senders",
    "max_worker_processes",
    "port",
    "shared_buffers",
    "shared_memory_type",
    "shared_preload_libraries",
    "superuser_reserved_connections",
    "track_commit_timestamp",
    "wal_buffers",
    "wal_level",
    "wal_log_hints",
];

type Params = BTreeMap<String, String>;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The restart-only parameters the spec asks for.
pub(crate) fn spec_parameters(c: &Cluster<'_>) -> Params {
    let mut out = Params::new();
    for pointer in [
        "/patroni/dynamicConfiguration/postgresql/parameters",
        "/config/parameters",
    ] {
        for (k, v) in c
            .spec
            .pointer(pointer)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if RESTART_PARAMETERS.contains(&k.as_str()) {
                out.insert(k.clone(), text(v));
            }
        }
    }
    out
}

/// Patroni's view of the parameters of one cluster.
#[derive(Debug, Default)]
pub(crate) struct Parameters {
    /// The restart-only parameters in Patroni's dynamic configuration.
    dcs: Params,
    /// When PGO last changed them.
    dcs_since: Option<Instant>,
    /// What each member's running postmaster started with.
    postmaster: BTreeMap<String, Params>,
    /// Members whose PostgreSQL Patroni is restarting, and since when.
    restarting: BTreeMap<String, Instant>,
}

impl Parameters {
    /// PGO writes the dynamic configuration (every reconcile).
    pub fn write(&mut self, spec: Params, now: Instant) {
        if spec != self.dcs {
            self.dcs = spec;
            self.dcs_since = Some(now);
        }
    }

    /// A member's PostgreSQL starts (a new Pod, a first start): it reads the configuration.
    pub fn started(&mut self, instance: &str) {
        self.postmaster
            .insert(instance.to_string(), self.dcs.clone());
        self.restarting.remove(instance);
    }

    /// Forgets members that are gone.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.postmaster.retain(|k, _| keep(k));
        self.restarting.retain(|k, _| keep(k));
    }

    /// Whether Patroni restarts the member's PostgreSQL now.
    pub fn restarting(&self, instance: &str) -> bool {
        self.restarting.contains_key(instance)
    }

    /// Finishes restarts that took `duration`.
    pub fn advance(&mut self, now: Instant, duration: std::time::Duration) {
        let done: Vec<String> = self
            .restarting
            .iter()
            .filter(|(_, since)| now >= **since + duration)
            .map(|(k, _)| k.clone())
            .collect();
        for k in done {
            self.restarting.remove(&k);
        }
    }

    /// Whether the member flags `pending_restart` now (`primary` flags one loop later).
    pub fn pending(
        &self,
        instance: &str,
        primary: bool,
        now: Instant,
        loop_wait: std::time::Duration,
    ) -> bool {
        let Some(since) = self.dcs_since else {
            return false;
        };
        let loops = if primary { 2 } else { 1 };
        !self.restarting(instance)
            && self
                .postmaster
                .get(instance)
                .is_some_and(|running| *running != self.dcs)
            && now >= since + loop_wait * loops
    }

    /// `patronictl restart --pending`: the member restarts with the current configuration.
    pub fn restart(&mut self, instance: &str, now: Instant) {
        self.postmaster
            .insert(instance.to_string(), self.dcs.clone());
        self.restarting.insert(instance.to_string(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn replicas_flag_a_loop_before_the_primary_and_a_restart_clears_the_flag() {
        let t0 = Instant::now();
        let wait = Duration::from_millis(10);
        let mut p = Parameters::default();
        p.started("a");
        p.started("b");
        let mut spec = Params::new();
        spec.insert("max_connections".into(), "200".into());
        p.write(spec, t0);
        assert!(!p.pending("a", true, t0, wait));
        assert!(p.pending("b", false, t0 + wait, wait));
        assert!(!p.pending("a", true, t0 + wait, wait));
        assert!(p.pending("a", true, t0 + wait * 2, wait));
        p.restart("b", t0 + wait);
        assert!(p.restarting("b"));
        assert!(!p.pending("b", false, t0 + wait * 2, wait));
        p.advance(t0 + wait * 3, wait);
        assert!(!p.restarting("b"));
        assert!(!p.pending("b", false, t0 + wait * 3, wait));
    }
}
