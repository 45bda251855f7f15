//! The `status` PGO writes for a PostgresCluster, as a pure function of the spec, the scenario
//! outcome and what was written before (transition times and identifiers stay stable).
//!
//! Field names and condition types/reasons come from PGO's `v1beta1` API and controllers:
//! `observedGeneration`, `instances[]` (`name`, `replicas`, `readyReplicas`,
//! `updatedReplicas`), `pgbackrest` (`repos[]`, `repoHost`, `manualBackup`,
//! `scheduledBackups[]`), `proxy.pgBouncer`, `patroni.systemIdentifier`, `usersRevision`,
//! `databaseRevision`, `postgresVersion`, `startupInstance(Set)`, `monitoring`, and the
//! conditions `PGBackRestRepoHostReady`, `PGBackRestReplicaRepoReady`,
//! `PGBackRestReplicaCreate`, `PGBackRestManualBackupSuccessful` and `ProxyAvailable`.

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::{Value, json};

use super::children::Cluster;
use super::credentials::revision;
use super::scenario::Outcome;

/// The annotation that requests a manual backup (its value is the backup id).
pub const BACKUP_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-backup";

/// Per-cluster values that must not change between status writes.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    system_identifier: Option<String>,
    startup_suffix: Option<String>,
    times: BTreeMap<String, String>,
}

impl Memo {
    fn system_identifier(&mut self) -> String {
        self.system_identifier
            .get_or_insert_with(|| {
                format!(
                    "7{:018}",
                    rand::rng().random_range(0..1_000_000_000_000_000_000u64)
                )
            })
            .clone()
    }

    fn startup_suffix(&mut self) -> String {
        self.startup_suffix
            .get_or_insert_with(|| {
                const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
                (0..4)
                    .map(|_| A[rand::rng().random_range(0..A.len())] as char)
                    .collect()
            })
            .clone()
    }

    /// A timestamp remembered under `key` (first call fixes it).
    fn time(&mut self, key: &str, now: &str) -> String {
        self.times
            .entry(key.to_string())
            .or_insert_with(|| now.to_string())
            .clone()
    }
}

fn instance_sets(c: &Cluster<'_>) -> Vec<(String, i64)> {
    c.spec
        .get("instances")
        .and_then(Value::as_array)
        .map(|sets| {
            sets.iter()
                .enumerate()
                .map(|(i, s)| {
                    let name = s
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty());
                    let name = name.map(String::from).unwrap_or_else(|| format!("{i:02}"));
                    (name, s.get("replicas").and_then(Value::as_i64).unwrap_or(1))
                })
                .collect()
        })
        .unwrap_or_default()
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

/// What a brand-new cluster reports before its first generation is observed.
pub(crate) fn initial(c: &Cluster<'_>) -> Value {
    let instances: Vec<Value> = instance_sets(c)
        .into_iter()
        .map(|(name, replicas)| json!({ "name": name, "replicas": replicas, "readyReplicas": 0, "updatedReplicas": 0 }))
        .collect();
    json!({ "instances": instances })
}

/// The status once generation `c.generation` has been observed with `outcome`.
pub(crate) fn settled(
    c: &Cluster<'_>,
    outcome: &Outcome,
    current: Option<&Value>,
    memo: &mut Memo,
    now: &str,
) -> Value {
    let ready = *outcome == Outcome::Ready;
    let g = c.generation;
    let running = !c.shutdown();
    let sets = instance_sets(c);
    let instances: Vec<Value> = sets
        .iter()
        .map(|(name, replicas)| {
            let r = if running { *replicas } else { 0 };
            json!({ "name": name, "replicas": r, "readyReplicas": if ready { r } else { 0 }, "updatedReplicas": r })
        })
        .collect();
    let mut status = json!({ "observedGeneration": g, "instances": instances });
    let mut conditions = Vec::new();
    let cond = |ty: &str, ok: bool, reason: &str, message: &str| {
        condition(current, now, g, ty, ok, reason, message)
    };

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
            let mut s = json!({ "name": name, "stanzaCreated": ready });
            if repo.get("volume").is_some() {
                s["bound"] = Value::from(true);
                s["volume"] = Value::from(format!(
                    "pvc-{}",
                    uuid::Uuid::new_v5(
                        &uuid::Uuid::NAMESPACE_OID,
                        format!("{}/{name}", c.uid).as_bytes()
                    )
                ));
                if i == 0 {
                    s["replicaCreateBackupComplete"] = Value::from(ready);
                }
            } else {
                s["repoOptionsHash"] = Value::from(revision(&repo.to_string()));
            }
            repo_status.push(s);
        }
        let mut pgbackrest = json!({ "repos": repo_status });
        if repos.iter().any(|r| r.get("volume").is_some()) {
            pgbackrest["repoHost"] =
                json!({ "apiVersion": "apps/v1", "kind": "StatefulSet", "ready": ready });
            conditions.push(if ready {
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
        conditions.push(if ready {
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
        conditions.push(if ready {
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
        let backup_id = c
            .object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(BACKUP_ANNOTATION))
            .and_then(Value::as_str);
        if ready
            && let Some(id) =
                backup_id.filter(|_| c.spec.pointer("/backups/pgbackrest/manual").is_some())
        {
            let start = memo.time(&format!("manual/{id}/start"), now);
            pgbackrest["manualBackup"] = json!({
                "id": id, "finished": true, "active": 0, "succeeded": 1, "failed": 0,
                "startTime": start, "completionTime": memo.time(&format!("manual/{id}/end"), now),
            });
            conditions.push(cond(
                "PGBackRestManualBackupSuccessful",
                true,
                "ManualBackupComplete",
                "Manual backup completed successfully",
            ));
        }
        let mut scheduled = Vec::new();
        for repo in repos.iter().filter(|_| ready) {
            let name = repo.get("name").and_then(Value::as_str).unwrap_or("");
            for ty in ["full", "differential", "incremental"] {
                if repo.pointer(&format!("/schedules/{ty}")).is_some() {
                    let key = format!("scheduled/{name}/{ty}");
                    scheduled.push(json!({
                        "cronJobName": format!("{}-{name}-{ty}", c.name), "repo": name, "type": ty,
                        "active": 0, "succeeded": 1, "failed": 0,
                        "startTime": memo.time(&format!("{key}/start"), now),
                        "completionTime": memo.time(&format!("{key}/end"), now),
                    }));
                }
            }
        }
        if !scheduled.is_empty() {
            pgbackrest["scheduledBackups"] = Value::Array(scheduled);
        }
        status["pgbackrest"] = pgbackrest;
    }

    if let Some(pgb) = c.pgbouncer() {
        let replicas = if running {
            pgb.get("replicas").and_then(Value::as_i64).unwrap_or(1)
        } else {
            0
        };
        status["proxy"] = json!({ "pgBouncer": {
            "replicas": replicas,
            "readyReplicas": if ready { replicas } else { 0 },
            "postgresRevision": revision(&format!("{}/pgbouncer", c.uid)),
        } });
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

    if ready {
        let users = c.users();
        let users_json = serde_json::to_string(
            &users
                .iter()
                .map(|u| (&u.name, &u.databases))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        status["usersRevision"] = Value::from(revision(&format!("users/{users_json}")));
        status["databaseRevision"] = Value::from(revision(&format!("databases/{users_json}")));
        status["patroni"] = json!({ "systemIdentifier": memo.system_identifier() });
        if let Some(v) = c.spec.get("postgresVersion") {
            status["postgresVersion"] = v.clone();
        }
        if let Some((first_set, _)) = sets.first() {
            status["startupInstance"] =
                Value::from(format!("{}-{first_set}-{}", c.name, memo.startup_suffix()));
            status["startupInstanceSet"] = Value::from(first_set.clone());
        }
    }
    if let Some(exporter) = c.spec.pointer("/monitoring/pgmonitor/exporter") {
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
