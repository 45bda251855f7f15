//! What a running cluster writes into its repositories and PostgreSQL: the stanza (PGO's
//! `reconcileStanzaCreate`), the replica-create backup (`reconcileReplicaCreateBackup`), one
//! run of each backup schedule, and the users' and databases' revisions.

use serde_json::Value;

use super::children::Cluster;
use super::credentials::revision;
use super::repository::{BackupKind, Repository, repo_key};
use super::sim::{ClusterSim, Tick};

/// The error PGO records when both `stanza-create` and `stanza-upgrade` fail (its Event carries
/// the exec error and pgBackRest's stderr).
const STANZA_FAILURE: &str = "command terminated with exit code 28: ERROR: [028]: backup and \
archive info files exist but do not match the database\nHINT: is this the correct stanza?\n\
HINT: did an error occur during stanza-upgrade?";

impl ClusterSim {
    /// Stanza creation, the replica-create backup and one run of each backup schedule.
    pub(crate) fn backups(&mut self, t: &Tick<'_>, repo: &mut Repository) {
        let names = t.repo_names();
        if names.is_empty() {
            return;
        }
        let keys: Vec<u32> = names.iter().map(|n| repo_key(n)).collect();
        repo.set_repos(keys.clone());
        if !self.stanza_created {
            // PGO's `reconcileStanzaCreate` runs `stanza-create || stanza-upgrade` in the
            // primary: over a repository that holds another system's stanza (a claim adopted
            // from a deleted cluster of the same name) `stanza-create` fails and
            // `stanza-upgrade` makes this system the stanza's current database, keeping the
            // other's backups in its history. PGO reports plain success either way.
            if t.scenario.stanza_create_fails {
                self.event(true, "UnableToCreateStanzas", STANZA_FAILURE.into());
                return;
            }
            let system_id = self
                .system_identifier
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            repo.stanza_create(
                keys.clone(),
                self.data_version.unwrap_or(0),
                system_id,
                self.timeline,
            );
            self.stanza_created = true;
            self.event(
                false,
                "StanzasCreated",
                "pgBackRest stanza creation completed successfully".into(),
            );
        }
        let due = self
            .started_at
            .is_none_or(|at| t.now >= at + t.scenario.first_backup_after);
        if !self.first_backup_done && due {
            repo.backup(keys[0], BackupKind::Full, t.unix(), self.timeline);
            self.first_backup_done = true;
        }
        if !self.first_backup_done {
            return;
        }
        for (name, schedule) in scheduled(t.c) {
            let key = format!("{name}/{schedule}");
            if self.scheduled_recorded.insert(key) {
                let kind = match schedule {
                    "full" => BackupKind::Full,
                    "differential" => BackupKind::Diff,
                    _ => BackupKind::Incr,
                };
                repo.backup(repo_key(&name), kind, t.unix(), self.timeline);
            }
        }
    }

    /// `usersRevision`/`databaseRevision`: hashes of what PGO executed in PostgreSQL, which
    /// include each user's verifier, so a new password changes the revision (once PostgreSQL
    /// runs to receive it).
    pub(crate) fn users(&mut self, t: &Tick<'_>) {
        let users = t.c.users();
        let with_verifiers: Vec<(&String, &Vec<String>, Option<&String>)> = users
            .iter()
            .map(|u| (&u.name, &u.databases, self.verifiers.get(&u.name)))
            .collect();
        let databases: Vec<&Vec<String>> = users.iter().map(|u| &u.databases).collect();
        self.users_revision = Some(revision(&format!(
            "users/{}",
            serde_json::to_string(&with_verifiers).unwrap_or_default()
        )));
        self.database_revision = Some(revision(&format!(
            "databases/{}",
            serde_json::to_string(&databases).unwrap_or_default()
        )));
    }
}

/// `(repo, schedule)` for every `repos[].schedules.{full,differential,incremental}`.
pub(crate) fn scheduled(c: &Cluster<'_>) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for repo in c
        .spec
        .pointer("/backups/pgbackrest/repos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = repo.get("name").and_then(Value::as_str).unwrap_or("");
        for ty in ["full", "differential", "incremental"] {
            if repo.pointer(&format!("/schedules/{ty}")).is_some() {
                out.push((name.to_string(), ty));
            }
        }
    }
    out
}
