//! A local cluster reported the way PGO reports a `PostgresCluster`, so the status sync and
//! `domain::cluster::observe` treat both platforms alike: `observedGeneration` is the generation
//! the supervisor has fully carried out, `instances[0]` counts running, ready and up-to-date
//! servers, `patroni.systemIdentifier` marks a bootstrapped cluster, and the WAL archive stands
//! in for the pgBackRest repository. Repeated failures surface as PGO's `Progressing=False`.

use serde_json::{Value, json};

use super::instance::ProcessState;
use super::state::ClusterState;
use crate::domain::cluster::naming::INSTANCE_SET_NAME;
use crate::platform::{ConnectionFacts, Endpoint, ObservedCluster, PlatformEvent};

pub fn observe(
    state: &ClusterState,
    process: impl Fn(usize) -> ProcessState,
    failures_before_failed: u32,
) -> ObservedCluster {
    let desired = state.desired_instances();
    let processes: Vec<ProcessState> = (0..state.instances.len()).map(process).collect();
    let running = processes
        .iter()
        .filter(|p| **p != ProcessState::Stopped)
        .count();
    // PGO counts pods, which exist while their server is down; here an instance "exists" once
    // created, so servers that are down (pgplane restarting) read as not ready, not as missing.
    // While suspended only running servers count, as PGO's pods are gone then.
    let existing = if state.spec.suspended {
        running
    } else {
        state.instances.len().min(desired)
    };
    let ready = processes
        .iter()
        .take(desired)
        .filter(|p| **p == ProcessState::Ready)
        .count();
    let caught_up = state.reconciled_generation == Some(state.generation);
    let updated = if caught_up { existing } else { 0 };
    let mut status = json!({
        "instances": [{
            "name": INSTANCE_SET_NAME,
            "replicas": existing,
            "readyReplicas": ready,
            "updatedReplicas": updated,
        }],
        "startupInstance": state.instance_name(0),
    });
    if let Some(generation) = state.reconciled_generation {
        status["observedGeneration"] = json!(generation);
        status["patroni"] = json!({ "systemIdentifier": state.cluster_id.simple().to_string() });
    }
    if state.spec.backups.enabled {
        // The archive is ready from the start; replicas are cloned from the running primary,
        // so there is no first backup to wait for.
        let created = state.reconciled_generation.is_some();
        status["pgbackrest"] = json!({ "repos": [{
            "name": "repo1",
            "stanzaCreated": true,
            "replicaCreateBackupComplete": created,
        }] });
    }
    if state.failures >= failures_before_failed {
        status["conditions"] = json!([{
            "type": "Progressing",
            "status": "False",
            "reason": "LocalPlatformError",
            "message": state.last_error.clone().unwrap_or_default(),
        }]);
    }
    ObservedCluster {
        tenant_id: state.tenant_id,
        cluster_id: state.cluster_id,
        applied_generation: Some(state.generation),
        object_generation: state.generation,
        caught_up,
        status: Some(status),
        deleting: false,
        connection: if state.reconciled_generation.is_some() {
            connection(state)
        } else {
            ConnectionFacts::default()
        },
    }
}

/// Endpoints and the owner's credentials: the primary is `pg0`, the first replica serves reads.
pub fn connection(state: &ClusterState) -> ConnectionFacts {
    let endpoint = |index: usize| {
        state.instances.get(index).map(|i| Endpoint {
            host: "127.0.0.1".into(),
            port: i.port,
        })
    };
    ConnectionFacts {
        primary: endpoint(0),
        replicas: if state.spec.instances > 1 {
            endpoint(1)
        } else {
            None
        },
        pooler: None,
        ca_certificate: Some(state.tls.ca_certificate.clone()),
        user: Some(state.spec.owner.clone()),
        database: Some(state.spec.database.clone()),
        password: state.passwords.get(&state.spec.owner).cloned(),
        role_passwords: state
            .spec
            .users
            .iter()
            .filter(|u| u.name != state.spec.owner)
            .filter_map(|u| Some((u.name.clone(), state.passwords.get(&u.name)?.clone())))
            .collect(),
    }
}

/// What an event says, to report only changes between ticks.
pub fn fingerprint(event: &PlatformEvent) -> String {
    match event {
        PlatformEvent::Observed(seen) => {
            let value: Value = json!({
                "status": seen.status,
                "generation": seen.object_generation,
                "caught_up": seen.caught_up,
                "connection": seen.connection,
            });
            value.to_string()
        }
        other => format!("{other:?}"),
    }
}
