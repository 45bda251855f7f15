//! Backups and point-in-time restore on the local platform, the way PostgreSQL does them by
//! hand: a base backup (`pg_basebackup`) per backup operation, WAL archived continuously in
//! between, and a restore that replays a base backup plus archived WAL up to the target time
//! (`recovery_target_time`, then promote). Only full backups; the newest `retention_full` are
//! kept.

use chrono::{DateTime, Utc};
use std::time::Duration;

use super::error::LocalError;
use super::instance::{ProcessState, base_backup};
use super::state::{ClusterState, LocalBackup};
use super::{LocalPlatform, config, roles};
use crate::platform::{ActionProgress, BackupFacts, BackupType, ClusterTarget};

/// Longest wait for archived WAL or for a restored server to finish recovery.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);

impl LocalPlatform {
    /// The cluster's state, refusing suspended clusters; `need_primary` also waits for a
    /// primary that accepts connections.
    fn running_state(
        &self,
        id: uuid::Uuid,
        need_primary: bool,
    ) -> Result<ClusterState, LocalError> {
        let state = self.inner.load(id)?.ok_or(LocalError::NotCreated)?;
        if state.spec.suspended {
            return Err(LocalError::Suspended("first"));
        }
        if state.instances.is_empty()
            || (need_primary && self.inner.instance(&state, 0).process() != ProcessState::Ready)
        {
            return Err(LocalError::PrimaryNotRunning);
        }
        Ok(state)
    }

    pub(super) async fn backup(
        &self,
        target: &ClusterTarget,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = self.running_state(id, true)?;
        if let Some(done) = state.backups.iter().find(|b| b.id == operation) {
            return Ok(done_backup(done)); // a repeated run after the backup was taken
        }
        let dir = inner.layout.backup_dir(id, operation);
        let _ = std::fs::remove_dir_all(&dir); // a half-written one from an interrupted run
        let started_at = Utc::now();
        base_backup(
            inner.instance(&state, 0).bins,
            &dir,
            state.instances[0].port,
            &state.superuser_password,
            false,
        )
        .await
        .map_err(LocalError::BackupFailed)?;
        let backup = LocalBackup {
            id: operation,
            started_at,
            finished_at: Utc::now(),
        };
        state.backups.push(backup.clone());
        // Retention: the newest `retention_full` backups stay.
        let keep = state.spec.backups.retention_full.max(1) as usize;
        while state.backups.len() > keep {
            let expired = state.backups.remove(0);
            let _ = std::fs::remove_dir_all(inner.layout.backup_dir(id, expired.id));
        }
        inner.save(&state)?;
        Ok(done_backup(&backup))
    }

    /// Restores the primary from the newest base backup taken before `target_time` (or the
    /// newest) plus archived WAL, promotes it, and lets the supervisor re-clone the replicas.
    /// If recovery fails, the previous data directory is put back and the cluster keeps running.
    pub(super) async fn restore(
        &self,
        target: &ClusterTarget,
        target_time: Option<DateTime<Utc>>,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = self.running_state(id, false)?;
        let base = state
            .backups
            .iter()
            .rev()
            .find(|b| target_time.is_none_or(|at| b.finished_at <= at))
            .cloned()
            .ok_or(LocalError::NoBackupBefore)?;
        let primary = inner.instance(&state, 0);
        let previous = primary
            .dir
            .with_extension(format!("before-restore-{operation}"));
        if previous.exists() {
            // An earlier attempt was interrupted: put the data it moved aside back first.
            let _ = primary.stop().await;
            let _ = std::fs::remove_dir_all(&primary.dir);
            std::fs::rename(&previous, &primary.dir)?;
            state.instances[0].started_with = None;
        }
        inner.run_instance(&mut state, 0).await?;
        // Everything written so far must be in the archive before the servers stop.
        archive_current_wal(&state).await?;
        for index in (0..state.instances.len()).rev() {
            inner.instance(&state, index).stop().await?;
        }
        for index in (1..state.instances.len()).rev() {
            inner.instance(&state, index).destroy().await?;
        }
        state.instances.truncate(1);
        inner.save(&state)?;
        std::fs::rename(&primary.dir, &previous)?;
        let outcome = self.recover(&state, &base, target_time).await;
        match outcome {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&previous);
                // Back to the plain configuration (no recovery target) before reporting done.
                state.instances[0].started_with = None;
                inner.run_instance(&mut state, 0).await?;
                inner.save(&state)?;
                inner.kick.notify_one();
                Ok(ActionProgress::done())
            }
            Err(error) => {
                let _ = primary.stop().await;
                let _ = std::fs::remove_dir_all(&primary.dir);
                std::fs::rename(&previous, &primary.dir)?;
                state.instances[0].started_with = None; // the supervisor starts it again
                inner.save(&state)?;
                inner.kick.notify_one();
                Err(LocalError::RestoreFailed(error))
            }
        }
    }

    async fn recover(
        &self,
        state: &ClusterState,
        base: &LocalBackup,
        target_time: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let id = state.cluster_id;
        let primary = self.inner.instance(state, 0);
        primary
            .copy_from(&self.inner.layout.backup_dir(id, base.id))
            .await?;
        let mut conf = config::server_config(
            &state.spec,
            state.instances[0].port,
            &self.inner.layout.archive_dir(id),
        );
        if let Some(at) = target_time {
            conf.push_str(&format!(
                "recovery_target_time = '{}'\nrecovery_target_action = 'promote'\n",
                at.format("%Y-%m-%d %H:%M:%S%.6f+00")
            ));
        }
        primary.write_config(&conf, &state.tls)?;
        std::fs::write(primary.dir.join("recovery.signal"), "")?;
        self.inner.bins.give_to_server_user(&primary.dir)?;
        primary.start().await?;
        let started = std::time::Instant::now();
        loop {
            if primary.process() == ProcessState::Stopped {
                anyhow::bail!(
                    "PostgreSQL stopped during recovery (is there archived WAL up to the target time?); see {}",
                    primary.dir.join("server.log").display()
                );
            }
            if let Ok(mut conn) =
                roles::connect(state.instances[0].port, &state.superuser_password).await
            {
                let in_recovery: Result<bool, _> = sqlx::query_scalar("select pg_is_in_recovery()")
                    .fetch_one(&mut conn)
                    .await;
                roles::close(conn).await;
                if in_recovery.is_ok_and(|r| !r) {
                    return Ok(());
                }
            }
            if started.elapsed() > RECOVERY_TIMEOUT {
                anyhow::bail!("recovery did not finish within {RECOVERY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Switches to a new WAL file and waits until the archiver has copied it, so a restore can
/// replay everything committed until now.
async fn archive_current_wal(state: &ClusterState) -> anyhow::Result<()> {
    let mut conn = roles::connect(state.instances[0].port, &state.superuser_password).await?;
    let switched: String = sqlx::query_scalar("select pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut conn)
        .await?;
    let started = std::time::Instant::now();
    loop {
        let archived: Option<String> =
            sqlx::query_scalar("select last_archived_wal from pg_stat_archiver")
                .fetch_one(&mut conn)
                .await?;
        if archived.is_some_and(|a| a >= switched) {
            break;
        }
        if started.elapsed() > RECOVERY_TIMEOUT {
            roles::close(conn).await;
            anyhow::bail!("WAL file {switched} was not archived within {RECOVERY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    roles::close(conn).await;
    Ok(())
}

fn done_backup(backup: &LocalBackup) -> ActionProgress {
    ActionProgress::Done {
        connection: None,
        backup: Some(BackupFacts {
            backup_type: BackupType::Full,
            started_at: Some(backup.started_at),
            finished_at: Some(backup.finished_at),
        }),
    }
}
