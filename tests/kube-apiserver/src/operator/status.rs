//! The `status` PGO writes for a PostgresCluster, rendered from the spec, the scenario outcome,
//! the cluster's simulated life ([`ClusterSim`]) and what was written before (transition
//! times stay stable).
//!
//! Field names and condition types/reasons come from PGO's `v1beta1` API and controllers:
//! `observedGeneration`, `instances[]` (`name`, `replicas`, `readyReplicas`, `updatedReplicas`
//! as PGO's `observeInstances` counts them from the Pods and their StatefulSets at the start
//! of its reconcile, zeros omitted as Go's `omitempty` does, sets sorted by name; see
//! `rolling.rs` for why they say "updated" before anything rolled), `pgbackrest` (`repos[]`
//! with `stanzaCreated` and, on the first repo once the first full backup is taken,
//! `replicaCreateBackupComplete`; `repoHost`, not ready while shut down; `manualBackup`;
//! `restore`, of an in-place restore or a clone's bootstrap; `scheduledBackups[]`, one
//! completed run per schedule), `proxy.pgBouncer`, `patroni` (`systemIdentifier`,
//! `switchover`, `switchoverTimeline`), `usersRevision`/`databaseRevision` (hashes that include
//! every user's verifier, updated only while PostgreSQL runs), `postgresVersion` (only after a
//! PGUpgrade, as upstream), `startupInstance(Set)` (the first primary; the primary when shut
//! down), `monitoring.exporterConfiguration`, and the conditions `PGBackRestRepoHostReady`,
//! `PGBackRestReplicaRepoReady`, `PGBackRestReplicaCreate`, `PGBackRestManualBackupSuccessful`,
//! `PGBackRestoreProgressing`, `PostgresDataInitialized` and `ProxyAvailable` (its reasons
//! `PgBouncerAvailable`/`PgBouncerUnavailable` are ours); `Progressing` (paused) is written by
//! `reconcile/paused.rs`. While a clone's data is not restored PGO returns early: only
//! `instances`, `pgbackrest.restore`, `patroni`, `startupInstance(Set)` and the restore's
//! conditions, no `observedGeneration` (`clone.rs`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::backups::scheduled;
use super::children::Cluster;
use super::clone;
use super::credentials::revision;
use super::instances::spec_sets;
use super::scenario::Outcome;
use super::sim::{ClusterSim, Tick};

/// The annotation that requests a manual backup (its value is the backup id).
pub const BACKUP_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-backup";

/// Timestamps that must not change between status writes.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    times: BTreeMap<String, String>,
}

impl Memo {
    /// A timestamp remembered under `key` (first call fixes it).
    fn time(&mut self, key: &str, now: &str) -> String {
        self.times
            .entry(key.to_string())
            .or_insert_with(|| now.to_string())
            .clone()
    }
}

fn condition(
    current: Option<&Value>,
    now: &str,
    generation: i64,
    ty: &str,
    ok: bool,
    reason: &str,
    message: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = current
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
        })
        .filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| Value::from(now));
    json!({
        "type": ty, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": since, "observedGeneration": generation,
    })
}

/// An `instances[]` entry (zero counts omitted).
fn instance_set(name: &str, replicas: i64, ready: i64, updated: i64) -> Value {
    let mut s = json!({ "name": name });
    for (key, n) in [
        ("readyReplicas", ready),
        ("replicas", replicas),
        ("updatedReplicas", updated),
    ] {
        if n > 0 {
            s[key] = json!(n);
        }
    }
    s
}

/// What a brand-new cluster reports before its first generation is observed.
pub(crate) fn initial(c: &Cluster<'_>) -> Value {
    let mut names: Vec<String> = spec_sets(c).into_iter().map(|(n, _)| n).collect();
    names.sort();
    let instances: Vec<Value> = names.iter().map(|n| instance_set(n, 0, 0, 0)).collect();
    json!({ "instances": instances })
}

/// The status once generation `c.generation` has been observed.
pub(crate) fn settled(
    t: &Tick<'_>,
    sim: &ClusterSim,
    current: Option<&Value>,
    memo: &mut Memo,
) -> Value {
    let c = t.c;
    let outcome = &t.scenario.outcome;
    let now = t.wall_str();
    let now = now.as_str();
    let ready = *outcome == Outcome::Ready;
    let g = c.generation;
    let restoring = sim.restore.as_ref().filter(|r| r.blocks_instances());

    // (replicas, ready, updated) as PGO's last observation of the instances counted them
    // (`rolling.rs`: a Pod is updated when its StatefulSet's status is current and names the
    // Pod's revision).
    let mut per_set: BTreeMap<String, (i64, i64, i64)> = spec_sets(c)
        .into_iter()
        .map(|(n, _)| (n, (0, 0, 0)))
        .collect();
    per_set.extend(sim.rolling.counts());
    let instances: Vec<Value> = per_set
        .iter()
        .map(|(name, (replicas, ready, updated))| instance_set(name, *replicas, *ready, *updated))
        .collect();
    let mut conditions = Vec::new();
    let cond = |ty: &str, ok: bool, reason: &str, message: &str| {
        condition(current, now, g, ty, ok, reason, message)
    };
    let cloning = sim.clone.as_ref();
    if let Some(ds) = cloning.filter(|d| !d.initialized()) {
        let mut status = clone::early_status(sim, ds, instances);
        let conditions: Vec<Value> = ds
            .conditions()
            .into_iter()
            .map(|(ty, ok, reason, message)| cond(ty, ok, reason, message))
            .collect();
        status["conditions"] = Value::Array(conditions);
        return status;
    }
    let mut status = json!({ "observedGeneration": g, "instances": instances });

    let repos: Vec<Value> = c
        .spec
        .pointer("/backups/pgbackrest/repos")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !repos.is_empty() {
        let mut repo_status = Vec::new();
        for (i, repo) in repos.iter().enumerate() {
            let name = repo.get("name").and_then(Value::as_str).unwrap_or("");
            let mut s = json!({ "name": name, "stanzaCreated": sim.stanza_created });
            if repo.get("volume").is_some() {
                s["bound"] = Value::from(true);
                s["volume"] = Value::from(format!(
                    "pvc-{}",
                    uuid::Uuid::new_v5(
                        &uuid::Uuid::NAMESPACE_OID,
                        format!("{}/{name}", c.uid).as_bytes()
                    )
                ));
            } else {
                s["repoOptionsHash"] = Value::from(revision(&repo.to_string()));
            }
            if i == 0 && sim.first_backup_done && sim.stanza_created {
                s["replicaCreateBackupComplete"] = Value::from(true);
            }
            repo_status.push(s);
        }
        repo_status.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let mut pgbackrest = json!({ "repos": repo_status });
        // PGO scales the repository host to zero once a shut-down cluster has no Pods left.
        let host_ready = ready && !c.shutdown();
        if repos.iter().any(|r| r.get("volume").is_some()) {
            pgbackrest["repoHost"] =
                json!({ "apiVersion": "apps/v1", "kind": "StatefulSet", "ready": host_ready });
            conditions.push(if host_ready {
                cond(
                    "PGBackRestRepoHostReady",
                    true,
                    "RepoHostReady",
                    "pgBackRest dedicated repository host is ready",
                )
            } else {
                cond(
                    "PGBackRestRepoHostReady",
                    false,
                    "RepoHostNotReady",
                    "pgBackRest dedicated repository host is not ready",
                )
            });
        }
        conditions.push(if sim.stanza_created {
            cond(
                "PGBackRestReplicaRepoReady",
                true,
                "StanzaCreated",
                "pgBackRest replica create repo is ready for backups",
            )
        } else {
            cond(
                "PGBackRestReplicaRepoReady",
                false,
                "StanzaNotCreated",
                "pgBackRest replica create repo is not ready for backups",
            )
        });
        conditions.push(if sim.first_backup_done && sim.stanza_created {
            cond(
                "PGBackRestReplicaCreate",
                true,
                "RepoBackupComplete",
                "pgBackRest replica creation is now possible",
            )
        } else {
            cond(
                "PGBackRestReplicaCreate",
                false,
                "RepoBackupNotComplete",
                "pgBackRest replica creation is not currently possible",
            )
        });
        if let Some(restore) = &sim.restore {
            pgbackrest["restore"] = restore.status();
            for (ty, ok, reason, message) in restore.conditions() {
                conditions.push(cond(ty, ok, reason, message));
            }
        } else if let Some(ds) = cloning {
            pgbackrest["restore"] = ds.status();
            for (ty, ok, reason, message) in ds.conditions() {
                conditions.push(cond(ty, ok, reason, message));
            }
        }
        if restoring.is_none() {
            if let Some(manual) = sim.manual.status() {
                pgbackrest["manualBackup"] = manual;
            }
            if let Some((ok, reason, message)) = sim.manual.condition() {
                conditions.push(cond(
                    "PGBackRestManualBackupSuccessful",
                    ok,
                    reason,
                    message,
                ));
            }
            let mut runs = Vec::new();
            for (name, ty) in scheduled(c).into_iter().filter(|_| sim.first_backup_done) {
                let key = format!("scheduled/{name}/{ty}");
                runs.push(json!({
                    "cronJobName": format!("{}-{name}-{ty}", c.name), "repo": name, "type": ty,
                    "succeeded": 1,
                    "startTime": memo.time(&format!("{key}/start"), now),
                    "completionTime": memo.time(&format!("{key}/end"), now),
                }));
            }
            if !runs.is_empty() {
                pgbackrest["scheduledBackups"] = Value::Array(runs);
            }
        }
        status["pgbackrest"] = pgbackrest;
    }

    if let Some(pgb) = c.pgbouncer() {
        let replicas = if c.shutdown() {
            0
        } else {
            pgb.get("replicas").and_then(Value::as_i64).unwrap_or(1)
        };
        let mut pooler = json!({});
        if replicas > 0 {
            pooler["replicas"] = json!(replicas);
            if ready {
                pooler["readyReplicas"] = json!(replicas);
            }
        }
        if restoring.is_none() {
            pooler["postgresRevision"] = Value::from(revision(&format!("{}/pgbouncer", c.uid)));
        }
        status["proxy"] = json!({ "pgBouncer": pooler });
        conditions.push(if ready {
            cond(
                "ProxyAvailable",
                true,
                "PgBouncerAvailable",
                "PgBouncer is available",
            )
        } else {
            cond(
                "ProxyAvailable",
                false,
                "PgBouncerUnavailable",
                "PgBouncer is not available",
            )
        });
    }

    let mut patroni = json!({});
    if restoring.is_none()
        && let Some(id) = &sim.system_identifier
    {
        patroni["systemIdentifier"] = json!(id);
    }
    if let Some(done) = &sim.switchover.done {
        patroni["switchover"] = json!(done);
    }
    if let Some(timeline) = sim.switchover.timeline {
        patroni["switchoverTimeline"] = json!(timeline);
    }
    status["patroni"] = patroni;
    if let Some(r) = &sim.users_revision {
        status["usersRevision"] = json!(r);
    }
    if let Some(r) = &sim.database_revision {
        status["databaseRevision"] = json!(r);
    }
    if let Some(v) = sim.status_version {
        status["postgresVersion"] = json!(v);
    }
    if let Some((set, instance)) = &sim.startup_instance {
        status["startupInstance"] = json!(instance);
        status["startupInstanceSet"] = json!(set);
    }
    if let Some(exporter) = c.spec.pointer("/monitoring/pgmonitor/exporter")
        && restoring.is_none()
    {
        status["monitoring"] = json!({ "exporterConfiguration": revision(&exporter.to_string()) });
    }

    if let Outcome::Fails {
        condition_type,
        reason,
        message,
    } = outcome
    {
        conditions
            .retain(|c| c.get("type").and_then(Value::as_str) != Some(condition_type.as_str()));
        conditions.push(cond(condition_type, false, reason, message));
    }
    if !conditions.is_empty() {
        status["conditions"] = Value::Array(conditions);
    }
    status
}
