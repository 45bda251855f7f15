//! Clusters whose data starts as another cluster's, from that cluster's pgBackRest repository,
//! as PGO bootstraps them: a **clone** (`spec.source`) is restored to a point in time (or the
//! source's latest state) and promoted, then gets its own repository; a **standby**
//! (`spec.standby`) is restored as a standby that keeps replaying the source's repository and
//! streams from the source's primary, until it is promoted into a primary of its own.
//!
//! The copy starts with the source's superuser password (it is in the restored data); pgplane
//! alone knows it, and the tenant's roles get the copy's own passwords (a standby keeps the
//! source's until it is promoted, since its data is read-only).

use anyhow::Context;
use uuid::Uuid;

use super::backups::seal_archive;
use super::error::LocalError;
use super::instance::ProcessState;
use super::pgbackrest::RestoreTarget;
use super::state::ClusterState;
use super::{Inner, LocalPlatform, config};
use crate::platform::{ActionProgress, ClusterTarget};

impl Inner {
    /// The cluster of tenant `tenant` named `name` on this platform.
    pub(super) fn find_cluster(&self, tenant: Uuid, name: &str) -> Option<ClusterState> {
        self.layout
            .cluster_ids()
            .into_iter()
            .filter_map(|id| self.load(id).ok().flatten())
            .find(|state| state.tenant_id == tenant && state.spec.name == name)
    }

    /// The cluster this one copies its data from (the source of a clone or a standby's).
    pub(super) fn copy_source(&self, state: &ClusterState) -> Option<ClusterState> {
        self.find_cluster(state.tenant_id, copy_source_name(state)?)
    }

    /// For a standby: the port of the source's primary, which its primary streams from.
    pub(super) fn standby_upstream(&self, state: &ClusterState) -> Option<u16> {
        state.spec.standby.as_ref()?;
        let source = self.copy_source(state)?;
        source.instances.first().map(|i| i.port)
    }

    /// For a standby: how its instances fetch WAL (from the source's repository; it archives
    /// nothing of its own until promoted).
    pub(super) fn standby_archiving(
        &self,
        state: &ClusterState,
        position: usize,
    ) -> Option<config::Archiving> {
        state.spec.standby.as_ref()?;
        let source = self.copy_source(state);
        let repository = source.and_then(|s| self.pgbackrest(s.cluster_id));
        Some(config::Archiving {
            archive_command: "true".into(),
            restore_command: repository
                .map(|r| r.archive_get_command(&self.instance(state, position).dir)),
        })
    }

    /// Creates the copy's primary from the source's repository: a clone recovers and is
    /// promoted; a standby is left to start as one. A failed attempt leaves no data directory,
    /// so the next one starts over.
    pub(super) async fn bootstrap_copy(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let wanted = copy_source_name(state).unwrap_or_default().to_string();
        let source = self
            .copy_source(state)
            .with_context(|| format!("cluster {wanted} is not on this platform"))?;
        let repository = self
            .pgbackrest(source.cluster_id)
            .ok_or_else(super::backups::missing_pgbackrest)?;
        if !source.repository.stanza_created || source.repository.initial_backup_at.is_none() {
            anyhow::bail!("cluster {wanted} has no backup to copy from yet");
        }
        state.superuser_password = source.superuser_password.clone();
        let standby = state.spec.standby.is_some();
        if standby {
            for (role, password) in &source.passwords {
                if let Some(mine) = state.passwords.get_mut(role) {
                    mine.clone_from(password);
                }
            }
        }
        let source_runs =
            !source.spec.suspended && self.instance(&source, 0).process() == ProcessState::Ready;
        if source_runs {
            // What the source committed until now becomes restorable.
            seal_archive(source.instances[0].port, &source.superuser_password).await?;
        }
        let target = match (&state.spec.source, standby) {
            (_, true) => RestoreTarget::Standby,
            (Some(source), false) => source
                .target_time
                .map_or(RestoreTarget::Latest, RestoreTarget::Time),
            (None, false) => RestoreTarget::Latest,
        };
        let primary = self.instance(state, 0);
        primary.create_empty()?;
        let copied = async {
            repository.restore(&primary.dir, target).await?;
            if standby {
                primary.make_replica()
            } else {
                self.recover(state, 0).await
            }
        }
        .await;
        if let Err(error) = copied {
            let _ = primary.stop().await;
            let _ = std::fs::remove_dir_all(&primary.dir);
            return Err(error.context(format!("copying cluster {wanted}")));
        }
        Ok(())
    }
}

/// The name of the cluster a clone or a standby copies, if it is one.
fn copy_source_name(state: &ClusterState) -> Option<&str> {
    match (&state.spec.source, &state.spec.standby) {
        (Some(source), _) => Some(&source.cluster),
        (None, Some(standby)) => Some(&standby.source),
        (None, None) => None,
    }
}

impl LocalPlatform {
    /// Makes a standby a primary of its own: its primary leaves recovery, stops reading the
    /// source's repository, and the supervisor gives it its own repository (stanza, initial
    /// backup) and sets its roles' own passwords.
    pub(super) async fn promote_standby(
        &self,
        target: &ClusterTarget,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let lock = inner.lock(target.cluster_id);
        let _guard = lock.lock().await;
        let mut state = inner.running_state(target.cluster_id, true)?;
        if state.spec.standby.is_none() {
            return Ok(ActionProgress::done()); // promoted already
        }
        let primary = inner.instance(&state, 0);
        primary.promote().await?;
        primary.clear_recovery_settings()?;
        primary.write_replication(&config::replication_config(None, ""))?;
        state.spec.standby = None;
        // Its configuration changes (its own repository): restarted before clients are told
        // it is done.
        inner.run_instance(&mut state, 0).await?;
        inner.save(&state)?;
        inner.ensure_roles(&state).await?;
        inner.kick.notify_one();
        Ok(ActionProgress::done())
    }
}
