//! In-place restores, as PGO's `reconcileDataSource`/`prepareForRestore`/`observeRestoreEnv`:
//! the annotation `postgres-operator.crunchydata.com/pgbackrest-restore` plus
//! `spec.backups.pgbackrest.restore` (`enabled: true`, `repoName`, `options`) restore once per
//! new annotation value (or again when `repoName`/`options` change while it is unfinished).
//!
//! 1. Preparing (one `job_duration`): `status.pgbackrest` is reset to
//!    `{restore: {id, finished: false}}` (the repos come back with `stanzaCreated: false`; a
//!    manual backup's status disappears), every instance Pod is removed (`readyReplicas` 0),
//!    `patroni.systemIdentifier` is cleared, and the condition `PGBackRestoreProgressing` is
//!    True `RestoreInPlaceRequested`.
//! 2. Options PGO rejects (`--repo`, `--stanza`, `--pg1-path`, `--target-action`,
//!    `--link-map`) or a `repoName` not in the spec record the Warning Event
//!    `InvalidDataSource` and nothing more happens: the instances stay down, as with PGO.
//! 3. Restoring: `PGBackRestoreProgressing` True `ReadyForRestore`, and the restore Job runs
//!    (`restore.active`, `startTime`). It fails when the scenario says so, when the repository
//!    holds no backup, when `--type=time` has a `--target` that does not parse, that is before
//!    the end of the oldest backup or after the moment the restore started (PostgreSQL ends
//!    recovery before reaching it). A failing Job counts failed Pods up to 7 (backoff limit 6),
//!    then `restore.finished: true`, `failed: 7`, and `PostgresDataInitialized` False
//!    `PGBackRestRestoreFailed` "pgBackRest restore failed" (PGO surfaces no more than that;
//!    pgBackRest's message is in the Job's Pod log). The instances stay down until a new
//!    annotation value (or changed options) restores again.
//! 4. Success: `restore.finished: true`, `succeeded: 1`, `completionTime`;
//!    `PostgresDataInitialized` True `PGBackRestRestoreComplete`; `PGBackRestoreProgressing`
//!    is removed; the recovered cluster promotes onto a new timeline, and after one more
//!    `job_duration` its instances are ready again with the same system identifier.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::jobs::{DEFAULT_BACKOFF_LIMIT, Job, Transition, pending_status};
use super::repository::{Repository, repo_key};
use super::sim::{ClusterSim, Tick};

/// The annotation that requests an in-place restore.
pub const RESTORE_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-restore";

#[derive(Clone, Debug)]
enum Phase {
    Preparing { since: Instant },
    Invalid,
    Restoring(Job),
    Restarting { job: Job, since: Instant },
    Done(Job),
    Failed(Job),
}

#[derive(Clone, Debug)]
pub(crate) struct Restore {
    pub id: String,
    phase: Phase,
    repo_name: String,
    options: Vec<String>,
}

impl Restore {
    /// PostgreSQL cannot run (the restore has not finished successfully).
    pub fn blocks_instances(&self) -> bool {
        !matches!(self.phase, Phase::Done(_))
    }

    /// The instance Pods are gone (they come back once the restore succeeded).
    pub fn removes_pods(&self) -> bool {
        !matches!(self.phase, Phase::Done(_) | Phase::Restarting { .. })
    }

    /// `status.pgbackrest.restore`.
    pub fn status(&self) -> Value {
        match &self.phase {
            Phase::Preparing { .. } | Phase::Invalid => pending_status(&self.id),
            Phase::Restoring(job)
            | Phase::Restarting { job, .. }
            | Phase::Done(job)
            | Phase::Failed(job) => job.status(&self.id),
        }
    }

    /// The conditions PGO sets: (type, ok, reason, message).
    pub fn conditions(&self) -> Vec<(&'static str, bool, &'static str, &'static str)> {
        const PROGRESSING: &str = "PGBackRestoreProgressing";
        const INITIALIZED: &str = "PostgresDataInitialized";
        let ready = (
            PROGRESSING,
            true,
            "ReadyForRestore",
            "Restoring cluster in-place",
        );
        match &self.phase {
            Phase::Preparing { .. } => vec![(
                PROGRESSING,
                true,
                "RestoreInPlaceRequested",
                "Preparing cluster to restore in-place: removing runners",
            )],
            Phase::Invalid | Phase::Restoring(_) => vec![ready],
            Phase::Failed(_) => vec![
                ready,
                (
                    INITIALIZED,
                    false,
                    "PGBackRestRestoreFailed",
                    "pgBackRest restore failed",
                ),
            ],
            Phase::Restarting { .. } | Phase::Done(_) => vec![(
                INITIALIZED,
                true,
                "PGBackRestRestoreComplete",
                "pgBackRest restore completed successfully",
            )],
        }
    }
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// PGO's checks in `reconcileRestoreJob`.
pub(crate) fn rejected_option(options: &[String]) -> Option<&'static str> {
    options.iter().find_map(|opt| {
        if opt.contains("--repo=") || opt.contains("--repo ") {
            Some("Option '--repo' is not allowed: please use the 'repoName' field instead.")
        } else if opt.contains("--stanza") {
            Some("Option '--stanza' is not allowed: the operator will automatically set this option")
        } else if opt.contains("--pg1-path") {
            Some("Option '--pg1-path' is not allowed: the operator will automatically set this option")
        } else if opt.contains("--target-action") {
            Some("Option '--target-action' is not allowed: the operator will automatically set this option ")
        } else if opt.contains("--link-map") {
            Some("Option '--link-map' is not allowed: the operator will automatically set this option ")
        } else {
            None
        }
    })
}

/// A PostgreSQL timestamp as `recovery_target_time` takes it (`2024-05-01 10:00:00+00`,
/// with optional fraction and zone minutes; RFC 3339; no zone means UTC, the server's zone).
pub(crate) fn parse_target(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let text = text.strip_suffix(" UTC").unwrap_or(text);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// The value of `--name=value` or `--name value` among `options`.
fn option_value(options: &[String], name: &str) -> Option<String> {
    let mut words = options.iter();
    while let Some(o) = words.next() {
        if let Some(rest) = o.strip_prefix(name) {
            if let Some(v) = rest.strip_prefix('=') {
                return Some(v.to_string());
            }
            if let Some(v) = rest.strip_prefix(' ') {
                return Some(v.to_string());
            }
            if rest.is_empty() {
                return words.next().cloned();
            }
        }
    }
    None
}

/// Whether pgBackRest and PostgreSQL can reach what `options` ask from `repo`.
pub(crate) fn reachable(
    options: &[String],
    repo: &Repository,
    key: u32,
    started: DateTime<Utc>,
) -> bool {
    let Some(earliest) = repo.earliest_recovery(key) else {
        return false;
    };
    let kind = option_value(options, "--type").map(|t| t.trim_matches('"').to_string());
    if kind.as_deref() != Some("time") {
        return true;
    }
    let Some(target) = option_value(options, "--target").and_then(|t| parse_target(&t)) else {
        return false;
    };
    target.timestamp() >= earliest && target <= started
}

pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>, repo: &mut Repository) {
    let annotation = t.annotation(RESTORE_ANNOTATION).to_string();
    let spec = t.c.spec.pointer("/backups/pgbackrest/restore");
    let enabled = spec
        .and_then(|s| s.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(spec) = spec.filter(|_| enabled && !annotation.is_empty()) else {
        return;
    };
    let repo_name = spec
        .get("repoName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let options = strings(spec.get("options"));
    let restarting = match &sim.restore {
        None => true,
        Some(r) if r.id != annotation => true,
        Some(r) => {
            r.blocks_instances()
                && !matches!(r.phase, Phase::Restarting { .. })
                && (r.repo_name != repo_name || r.options != options)
        }
    };
    if restarting {
        sim.restore = Some(Restore {
            id: annotation,
            phase: Phase::Preparing { since: t.now },
            repo_name,
            options,
        });
        sim.manual.clear_status();
        sim.stanza_created = false;
        sim.running = false;
        return;
    }
    let step = t.scenario.job_duration;
    let wall = t.wall_str();
    let Some(r) = sim.restore.as_mut() else {
        return;
    };
    let mut event = None;
    match &mut r.phase {
        Phase::Preparing { since } if t.now >= *since + step => {
            if let Some(message) = rejected_option(&r.options) {
                event = Some(message.to_string());
                r.phase = Phase::Invalid;
            } else if !t.repo_names().contains(&r.repo_name) {
                event = Some(format!(
                    "PostgresCluster {} does not have a repo named {} defined",
                    json!(t.c.name),
                    json!(r.repo_name)
                ));
                r.phase = Phase::Invalid;
            } else {
                let fails = t.scenario.restores_fail
                    || !reachable(&r.options, repo, repo_key(&r.repo_name), t.wall);
                r.phase = Phase::Restoring(Job::start(t.now, &wall, fails, DEFAULT_BACKOFF_LIMIT));
            }
        }
        Phase::Restoring(job) => match job.advance(t.now, step, &wall) {
            Transition::Succeeded => {
                sim.timeline += 1;
                repo.archive(sim.timeline);
                r.phase = Phase::Restarting {
                    job: job.clone(),
                    since: t.now,
                };
            }
            Transition::Failed => r.phase = Phase::Failed(job.clone()),
            Transition::None => {}
        },
        Phase::Restarting { job, since } if t.now >= *since + step => {
            r.phase = Phase::Done(job.clone());
        }
        _ => {}
    }
    if let Some(message) = event {
        sim.event(true, "InvalidDataSource", message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_in_the_forms_postgres_accepts() {
        let expected = DateTime::parse_from_rfc3339("2025-05-01T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        for text in [
            "\"2025-05-01 10:00:00+00\"",
            "2025-05-01 10:00:00.000000+00",
            "2025-05-01 12:00:00+02:00",
            "2025-05-01T10:00:00Z",
            "2025-05-01 10:00:00",
        ] {
            assert_eq!(parse_target(text), Some(expected), "{text}");
        }
        assert_eq!(parse_target("yesterday"), None);
    }

    #[test]
    fn option_values_come_in_both_forms() {
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            option_value(&opts(&["--type=time"]), "--type").as_deref(),
            Some("time")
        );
        assert_eq!(
            option_value(&opts(&["--target", "x"]), "--target").as_deref(),
            Some("x")
        );
        assert_eq!(
            option_value(&opts(&["--target-action=x"]), "--target"),
            None
        );
        assert!(rejected_option(&opts(&["--repo=2"])).is_some());
        assert!(rejected_option(&opts(&["--type=time", "--target=\"x\""])).is_none());
    }
}
