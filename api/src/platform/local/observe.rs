//! What the local platform reports about a cluster, as the typed [`Report`] the phase rules
//! read on both platforms: the observed generation is the one the supervisor has fully carried
//! out, the instance counts are running, ready and up-to-date servers, a bootstrapped cluster
//! has a system identifier, and the repository reports its stanza, its initial backup and the
//! scheduled runs. Repeated
//! failures stop the cluster's reconciling, with the last error as the reason.

use serde_json::{Value, json};

use super::instance::ProcessState;
use super::state::ClusterState;
use crate::domain::cluster::naming::{BACKUP_REPO_NAME, INSIGHTS_ROLE};
use crate::domain::cluster::{
    InitialBackup, InstanceCounts, PoolerState, Report, RepositoryState, ScheduledBackup,
};
use crate::platform::{
    CertificateFacts, ConnectionFacts, Endpoint, ObservedCluster, PlatformEvent,
};

pub fn observe(
    state: &ClusterState,
    process: impl Fn(usize) -> ProcessState,
    pooler_ready: bool,
    metrics_port: Option<u16>,
    failures_before_failed: u32,
) -> ObservedCluster {
    let desired = state.desired_instances();
    let processes: Vec<ProcessState> = (0..state.instances.len()).map(process).collect();
    let running = processes
        .iter()
        .filter(|p| **p != ProcessState::Stopped)
        .count();
    // Kubernetes counts pods, which exist while their server is down; here an instance
    // "exists" once created, so servers that are down (pgplane restarting) read as not ready,
    // not as missing. While suspended only running servers count, as the pods are gone then.
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
    let bootstrapped = state.reconciled_generation.is_some();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let report = Report {
        observed_generation: state.reconciled_generation.filter(|g| *g > 0),
        system_identifier: bootstrapped.then(|| state.cluster_id.simple().to_string()),
        instances: InstanceCounts {
            existing: count(existing),
            ready: count(ready),
            updated: count(updated),
        },
        primary_instance: Some(state.instance_name(0)),
        stopped_reconciling: (state.failures >= failures_before_failed)
            .then(|| state.last_error.clone().unwrap_or_default()),
        repository: RepositoryState {
            stanza_created: state.spec.backups.enabled && state.repository.stanza_created,
            initial_backup_complete: state.spec.backups.enabled
                && state.repository.initial_backup_at.is_some(),
        },
        initial_backup: state
            .repository
            .initial_backup_at
            .filter(|_| state.spec.backups.enabled)
            .map(|at| InitialBackup {
                repository: BACKUP_REPO_NAME.to_string(),
                finished_at: Some(at),
            }),
        scheduled_backups: state
            .repository
            .scheduled_runs
            .iter()
            .map(|run| ScheduledBackup {
                name: Some(run.name.clone()),
                kind: Some(run.kind.clone()),
                started_at: Some(run.started_at),
                completed: run.finished_at.is_some(),
                finished_at: run.finished_at,
                failed: run.failed,
            })
            .collect(),
        // One PgBouncer serves the cluster here (the API refuses more replicas on this
        // platform), so a running one is all the replicas asked for.
        pooler: PoolerState {
            ready_replicas: if pooler_ready {
                i64::from(state.spec.pooler.replicas)
            } else {
                0
            },
            unavailable: false,
        },
        metrics_url: metrics_port
            .filter(|_| state.spec.monitoring.enabled)
            .map(super::exporter::metrics_url),
        ..Report::default()
    };
    ObservedCluster {
        tenant_id: state.tenant_id,
        cluster_id: state.cluster_id,
        applied_generation: Some(state.generation),
        object_generation: state.generation,
        caught_up,
        report,
        deleting: false,
        connection: if bootstrapped {
            connection(state)
        } else {
            ConnectionFacts::default()
        },
    }
}

/// Endpoints and the owner's credentials: the primary is the instance listed first, the next
/// one serves reads.
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
        pooler: state
            .pooler
            .as_ref()
            .filter(|_| state.spec.pooler.enabled)
            .map(|p| Endpoint {
                host: "127.0.0.1".into(),
                port: p.port,
            }),
        ca_certificate: Some(state.tls.ca_certificate.clone()),
        certificate: state.tls.expires_at().map(|expires_at| CertificateFacts {
            expires_at,
            renewal_error: state.tls.renewal_error.clone(),
        }),
        user: Some(state.spec.owner.clone()),
        database: Some(state.spec.database.clone()),
        password: state.passwords.get(&state.spec.owner).cloned(),
        role_passwords: state
            .spec
            .users
            .iter()
            .filter(|u| u.name != state.spec.owner)
            .filter_map(|u| Some((u.name.clone(), state.passwords.get(&u.name)?.clone())))
            .chain(
                state
                    .insights
                    .as_ref()
                    .filter(|i| i.ready)
                    .map(|i| (INSIGHTS_ROLE.to_string(), i.password.clone())),
            )
            .collect(),
    }
}

/// What an event says, to report only changes between ticks.
pub fn fingerprint(event: &PlatformEvent) -> String {
    match event {
        PlatformEvent::Observed(seen) => {
            let value: Value = json!({
                "report": seen.report,
                "generation": seen.object_generation,
                "caught_up": seen.caught_up,
                "connection": seen.connection,
            });
            value.to_string()
        }
        other => format!("{other:?}"),
    }
}
