//! Streaming standby clusters and their promotion, as PGO v5.8/v6 configures Patroni's
//! `standby_cluster` from `spec.standby`:
//!
//! - Standby mode is `spec.standby` present with `enabled` not false (the CRD defaults it to
//!   true). A *streaming* standby names its source with `host` (and `port`, default 5432):
//!   `<source>-primary.<ns>.svc`, `.svc.cluster.local`, `<source>-primary.<ns>` or a bare
//!   `<source>-primary` in the standby's namespace, or `.svc.clusterset.local` for a source in
//!   another test API server of the operator's clusterset (`clusterset.rs`; without one, that
//!   host does not resolve). A standby with only `repoName` follows a
//!   pgBackRest repository; PGO's volume repositories are private to their cluster, so the sim
//!   never bootstraps one (shared cloud repositories are not modelled).
//! - Bootstrap (Patroni's `pg_basebackup` from the source as `_crunchyrepl`, authenticated by
//!   certificate with `sslmode=verify-ca`) happens only when: the source PostgresCluster exists,
//!   is not shut down and has a Ready leader; `port` is the source's port; the image's major
//!   is the source data's; both clusters set `customTLSSecret` and `customReplicationTLSSecret`;
//!   those four Secrets exist with `tls.crt`, `tls.key` and `ca.crt`; and all four `ca.crt` are
//!   byte-identical (what "signed by one CA" looks like without parsing certificates; the
//!   client certificate's CN is not checked; the check is `upstream.rs`'s). Until then the
//!   Pods exist, their container runs (Patroni retries) but they are not Ready and carry no
//!   role label; no Event (PGO and Patroni only log: [`Blocker`]'s text is what they would
//!   log, readable through [`super::SimulatedOperator::standby_waiting_for`]). Every
//!   reconcile checks again (the Secrets are read at most every 100 ms), so fixing the cause
//!   lets it bootstrap.
//! - Bootstrapped, the standby is a physical copy: `status.patroni.systemIdentifier` and the
//!   timeline are the source's (the timeline follows the source's switchovers while it runs
//!   with that system identifier); the leader is labelled role `master` (Patroni's
//!   `standby_leader_label_value`) with role `standby_leader` in its `status` annotation. Every
//!   instance is in recovery: `pg_is_in_recovery()` is `t`, writes are refused, the databases
//!   and extensions are the source's (see `recovery.rs`); PGO reconciles no users or databases
//!   into it (`usersRevision`/`databaseRevision` stay as they were) and creates no stanza and
//!   no backups (every instance is in recovery). Losing the source afterwards (deleted, shut
//!   down) does not make it unready: it keeps serving what it last replayed.
//! - Promotion: once a bootstrapped standby leaves standby mode (`enabled: false` or
//!   `spec.standby` removed), the leader promotes after
//!   [`Scenario::promotion_duration`](super::Scenario::promotion_duration) (never with
//!   [`Scenario::promotion_stalls`](super::Scenario::promotion_stalls)): out of recovery, a
//!   new timeline (+1), the same system identifier, the catalog it had replayed becomes its own, and PGO reconciles
//!   users again (and backups, once `spec.backups` is added). Back in standby mode before the
//!   promotion finished, it keeps following.
//! - Leaving standby mode before bootstrapping makes Patroni `initdb` a brand-new cluster (a
//!   new system identifier, an empty catalog): what a promotion without data looks like.
//!
//! Not modelled: a promoted cluster put back in standby mode stays a primary (Patroni would
//! demote it and need `pg_rewind`); TLS changes after bootstrap; replication lag figures.

use serde_json::Value;

use super::children::Cluster;
use super::sim::{ClusterSim, Tick};
use super::upstream::{Blocker, Key, Upstream};

/// `spec.standby` of a cluster in standby mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StandbySpec {
    pub host: Option<String>,
    pub port: i64,
}

/// `spec.standby` when the cluster is in standby mode (present, `enabled` not false).
pub(crate) fn spec(c: &Cluster<'_>) -> Option<StandbySpec> {
    let standby = c.spec.get("standby").filter(|s| s.is_object())?;
    if standby.get("enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    Some(StandbySpec {
        host: standby
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .map(String::from),
        port: standby.get("port").and_then(Value::as_i64).unwrap_or(5432),
    })
}

/// The standby side of a cluster's life.
#[derive(Debug, Default)]
pub(crate) struct Standby {
    /// What this reconcile found (`None` out of standby mode): set before each tick.
    pub upstream: Option<Result<Upstream, Blocker>>,
    /// PostgreSQL is in recovery as a standby (bootstrapped, not promoted).
    pub in_recovery: bool,
    /// The source being followed (while in recovery and the source is there).
    pub following: Option<Key>,
    promoting_since: Option<tokio::time::Instant>,
}

impl Standby {
    /// Why the standby has not bootstrapped, if it is waiting.
    pub fn waiting_for(&self, bootstrapped: bool) -> Option<String> {
        match &self.upstream {
            Some(Err(b)) if !bootstrapped => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Bootstraps a standby from its source when the check passed; `false` when it cannot yet.
pub(crate) fn bootstrap(sim: &mut ClusterSim, t: &Tick<'_>) -> bool {
    let Some(Ok(up)) = sim.standby.upstream.clone() else {
        return false;
    };
    sim.bootstrapped = true;
    sim.upgraded = false;
    sim.data_version = t.image_version();
    sim.system_identifier = Some(up.system_identifier);
    sim.timeline = up.timeline;
    sim.started_at = Some(t.now);
    sim.standby.in_recovery = true;
    sim.standby.following = Some(up.key);
    true
}

/// Follows the source's timeline, or promotes once standby mode is left (PostgreSQL runs).
pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>) {
    let scenario = t.scenario;
    if !sim.standby.in_recovery {
        return;
    }
    if spec(t.c).is_some() {
        sim.standby.promoting_since = None;
        match &sim.standby.upstream {
            Some(Ok(up)) => {
                sim.timeline = sim.timeline.max(up.timeline);
                sim.standby.following = Some(up.key.clone());
            }
            _ => sim.standby.following = None,
        }
        return;
    }
    let since = *sim.standby.promoting_since.get_or_insert(t.now);
    if scenario.promotion_stalls || t.now < since + scenario.promotion_duration {
        return;
    }
    sim.standby = Standby::default();
    sim.timeline += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::upstream::resolve;
    use serde_json::json;

    #[test]
    fn standby_mode_is_spec_standby_not_disabled() {
        let object = |standby: Value| {
            json!({ "metadata": { "name": "dr", "namespace": "ns", "uid": "u" },
                    "spec": { "standby": standby } })
        };
        let on = object(json!({ "host": "a-primary" }));
        let s = spec(&Cluster::of(&on).unwrap()).unwrap();
        assert_eq!((s.host.as_deref(), s.port), (Some("a-primary"), 5432));
        let off = object(json!({ "enabled": false, "host": "a-primary" }));
        assert_eq!(spec(&Cluster::of(&off).unwrap()), None);
        let repo = object(json!({ "repoName": "repo1" }));
        let c = Cluster::of(&repo).unwrap();
        assert_eq!(resolve(&c, &spec(&c).unwrap()), Err(Blocker::NoHost));
    }
}
