//! Backups and restores on the local platform, with pgBackRest as PGO runs it: backups of
//! every type from the primary into the cluster's repository (annotated with what asked for
//! them, so a repeated request finds the backup it already took), and restores in place —
//! to the latest state or to a point in time — with `pgbackrest restore` into a fresh data
//! directory while the previous one waits aside, put back if recovery fails.

use std::ops::Deref;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::LocalError;
use super::instance::ProcessState;
use super::pgbackrest::{self, Primary, RestoreTarget, Taken};
use super::state::ClusterState;
use super::{Inner, LocalPlatform, config, roles};
use crate::domain::cluster::repository::parse_info;
use crate::platform::{ActionProgress, BackupFacts, BackupType, ClusterTarget};

/// Longest wait for archived WAL or for a restored server to finish recovery.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// The annotation that names the operation a backup was taken for.
pub const OPERATION_ANNOTATION: &str = "pgplane-operation";

/// Marks a cluster as being backed up for as long as it lives (one backup per cluster at a
/// time; pgBackRest would refuse a second one anyway, with a less helpful message).
pub(super) struct BackingUp<I: Deref<Target = Inner>> {
    inner: I,
    id: uuid::Uuid,
}

impl<I: Deref<Target = Inner>> BackingUp<I> {
    pub(super) fn claim(inner: I, id: uuid::Uuid) -> Option<Self> {
        let claimed = inner
            .backing_up
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        // Lazily: a claim that failed must not exist, or dropping it would end the other one.
        claimed.then(move || BackingUp { inner, id })
    }
}

impl<I: Deref<Target = Inner>> Drop for BackingUp<I> {
    fn drop(&mut self) {
        let mut running = self
            .inner
            .backing_up
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        running.remove(&self.id);
    }
}

impl Inner {
    /// The cluster's state, refusing suspended clusters; `need_primary` also waits for a
    /// primary that accepts connections.
    pub(super) fn running_state(
        &self,
        id: uuid::Uuid,
        need_primary: bool,
    ) -> Result<ClusterState, LocalError> {
        let state = self.load(id)?.ok_or(LocalError::NotCreated)?;
        if state.spec.suspended {
            return Err(LocalError::Suspended("first"));
        }
        if state.instances.is_empty()
            || (need_primary && self.instance(&state, 0).process() != ProcessState::Ready)
        {
            return Err(LocalError::PrimaryNotRunning);
        }
        Ok(state)
    }

    /// Takes a backup of `kind` annotated `annotation=value`, unless the repository already
    /// holds one (a repeated request). Runs outside the cluster's lock, so the supervisor
    /// keeps watching the cluster meanwhile; the caller holds the cluster's [`BackingUp`].
    pub(super) async fn take_backup(
        &self,
        id: uuid::Uuid,
        kind: BackupType,
        annotation: &str,
        value: &str,
    ) -> Result<Taken, LocalError> {
        let repository = self.pgbackrest(id).ok_or_else(missing_pgbackrest)?;
        let state = {
            let lock = self.lock(id);
            let _guard = lock.lock().await;
            let state = self.running_state(id, true)?;
            if !state.spec.backups.enabled {
                return Err(LocalError::Unsupported(
                    "the cluster keeps no backups (backups.enabled is false)".into(),
                ));
            }
            if !state.repository.stanza_created {
                return Err(LocalError::RepositoryNotReady);
            }
            state
        };
        if let Some(taken) =
            pgbackrest::annotated_backup(&repository.info().await?, annotation, value)
        {
            return Ok(taken);
        }
        let primary = self.instance(&state, 0);
        repository
            .backup(
                &Primary {
                    dir: &primary.dir,
                    port: state.instances[0].port,
                    superuser_password: &state.superuser_password,
                },
                kind,
                &format!("{annotation}={value}"),
            )
            .await
            .map_err(LocalError::BackupFailed)?;
        pgbackrest::annotated_backup(&repository.info().await?, annotation, value).ok_or_else(
            || {
                LocalError::BackupFailed(anyhow::anyhow!(
                    "pgBackRest does not list the backup it took"
                ))
            },
        )
    }
}

impl LocalPlatform {
    pub(super) async fn backup(
        &self,
        target: &ClusterTarget,
        kind: BackupType,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let _running =
            BackingUp::claim(&*self.inner, target.cluster_id).ok_or(LocalError::BackupRunning)?;
        let taken = self
            .inner
            .take_backup(
                target.cluster_id,
                kind,
                OPERATION_ANNOTATION,
                &operation.to_string(),
            )
            .await?;
        Ok(ActionProgress::Done {
            connection: None,
            backup: Some(BackupFacts {
                backup_type: taken.kind,
                started_at: Some(taken.started_at),
                finished_at: Some(taken.finished_at),
            }),
        })
    }

    /// `pgbackrest info --output=json` of the cluster's repository, when it keeps one.
    pub(super) async fn repository_info(
        &self,
        target: &ClusterTarget,
    ) -> Result<Option<String>, LocalError> {
        let state = self
            .inner
            .load(target.cluster_id)?
            .ok_or(LocalError::NotCreated)?;
        match self.inner.pgbackrest(target.cluster_id) {
            Some(repository) if state.spec.backups.enabled && state.repository.stanza_created => {
                Ok(Some(repository.info().await?))
            }
            _ => Ok(None),
        }
    }

    /// Restores the primary from the repository to `target_time` (or the latest state),
    /// promotes it, and lets the supervisor re-clone the replicas. If recovery fails, the
    /// previous data directory is put back and the cluster keeps running.
    pub(super) async fn restore(
        &self,
        target: &ClusterTarget,
        target_time: Option<DateTime<Utc>>,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let repository = inner.pgbackrest(id).ok_or_else(missing_pgbackrest)?;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = inner.running_state(id, false)?;
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
        let report = parse_info(&repository.info().await?).map_err(anyhow::Error::msg)?;
        let reachable = report
            .backups
            .iter()
            .any(|b| target_time.is_none_or(|at| b.finished_at <= at));
        if !reachable {
            return Err(LocalError::NoBackupBefore);
        }
        inner.run_instance(&mut state, 0).await?;
        // Everything committed so far must be in the repository before the servers stop.
        seal_archive(state.instances[0].port, &state.superuser_password).await?;
        for index in (0..state.instances.len()).rev() {
            inner.instance(&state, index).stop().await?;
        }
        for index in (1..state.instances.len()).rev() {
            inner.instance(&state, index).destroy().await?;
        }
        state.instances.truncate(1);
        inner.save(&state)?;
        std::fs::rename(&primary.dir, &previous)?;
        let outcome = async {
            primary.create_empty()?;
            let target = target_time.map_or(RestoreTarget::Latest, RestoreTarget::Time);
            repository.restore(&primary.dir, target).await?;
            inner.recover(&state, 0).await
        }
        .await;
        match outcome {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&previous);
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
}

impl Inner {
    /// Starts the instance at `position`, just restored (its recovery settings written by
    /// pgBackRest), with the cluster's own configuration; waits until recovery ended in a
    /// promotion, then clears the recovery settings and restarts it plainly.
    pub(super) async fn recover(
        &self,
        state: &ClusterState,
        position: usize,
    ) -> anyhow::Result<()> {
        let instance = self.instance(state, position);
        let port = state.instances[position].port;
        let conf = config::server_config(&state.spec, port, &self.archiving(state, position));
        instance.write_config(&conf, &state.tls)?;
        instance.write_replication(&config::replication_config(None, ""))?;
        self.bins.give_to_server_user(&instance.dir)?;
        instance.start().await?;
        let started = std::time::Instant::now();
        loop {
            if instance.process() == ProcessState::Stopped {
                anyhow::bail!(
                    "PostgreSQL stopped during recovery (is there archived WAL up to the target time?); see {}",
                    instance.dir.join("server.log").display()
                );
            }
            if let Ok(mut conn) = roles::connect(port, &state.superuser_password).await {
                let in_recovery: Result<bool, _> = sqlx::query_scalar("select pg_is_in_recovery()")
                    .fetch_one(&mut conn)
                    .await;
                roles::close(conn).await;
                if in_recovery.is_ok_and(|r| !r) {
                    break;
                }
            }
            if started.elapsed() > RECOVERY_TIMEOUT {
                anyhow::bail!("recovery did not finish within {RECOVERY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        instance.clear_recovery_settings()?;
        instance.stop().await?;
        instance.start().await
    }
}

/// Makes everything committed until now restorable: a commit record stamped now (a recovery
/// to a time stops only at a commit after it), then a switch to a new WAL file, waiting until
/// the archiver has pushed it.
pub(super) async fn seal_archive(port: u16, superuser_password: &str) -> anyhow::Result<()> {
    let mut conn = roles::connect(port, superuser_password).await?;
    let result = async {
        sqlx::query("select txid_current()")
            .execute(&mut conn)
            .await?;
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
                return Ok(());
            }
            if started.elapsed() > RECOVERY_TIMEOUT {
                anyhow::bail!("WAL file {switched} was not archived within {RECOVERY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    roles::close(conn).await;
    result
}

/// Why nothing can be backed up or restored on this host.
pub(super) fn missing_pgbackrest() -> LocalError {
    LocalError::Unsupported(format!(
        "pgBackRest is not installed on this host: install the `{}` package",
        pgbackrest::PACKAGE
    ))
}
