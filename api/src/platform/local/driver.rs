//! The local platform behind the `Platform` interface: what it supports, and each call
//! handed to the module that does the job.

use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::error::LocalError;
use super::{LocalPlatform, extensions, pgbackrest, retention};
use crate::domain::cluster::ClusterSpec;
use crate::platform::{
    ActionProgress, BoxFuture, ClusterAction, ClusterTarget, DeleteProgress, InstalledExtension,
    Platform, PlatformError, PlatformEvent, TenantTarget,
};

impl LocalPlatform {
    async fn set_extension(
        &self,
        target: &ClusterTarget,
        database: &str,
        name: &str,
        enable: bool,
    ) -> Result<ActionProgress, LocalError> {
        let (port, password) = self.primary(target)?;
        extensions::set(port, &password, database, name, enable)
            .await
            .map_err(LocalError::sql)?;
        Ok(ActionProgress::done())
    }
}

impl Platform for LocalPlatform {
    fn name(&self) -> &'static str {
        "local"
    }

    fn unsupported_action(&self, action: &ClusterAction) -> Option<String> {
        match action {
            ClusterAction::RotatePassword { .. }
            | ClusterAction::Extension { .. }
            | ClusterAction::Switchover { .. }
            | ClusterAction::Promote => None,
            ClusterAction::Backup { .. } | ClusterAction::Restore { .. }
                if self.inner.pgbackrest.is_none() =>
            {
                Some(format!(
                    "the local platform takes backups and restores with pgBackRest, which is not \
                     installed on this host: install the `{}` package",
                    pgbackrest::PACKAGE
                ))
            }
            ClusterAction::Backup { .. } | ClusterAction::Restore { .. } => None,
            ClusterAction::Upgrade { to_version, .. }
                if self.inner.server(*to_version).is_none() =>
            {
                Some(format!(
                    "cannot upgrade to PostgreSQL {to_version}: it is not installed on this host; \
                     the local platform runs {}",
                    versions_in_words(&self.inner.majors())
                ))
            }
            ClusterAction::Upgrade { .. } => None,
            ClusterAction::MinorUpgrade { .. } => None,
        }
    }

    fn own_images(&self) -> Option<crate::domain::cluster::images::ImageCatalog> {
        let majors = self.inner.majors();
        let images = majors
            .into_iter()
            .filter_map(|major| Some((major, self.inner.installed_image(major)?)));
        Some(crate::domain::cluster::images::ImageCatalog::from_images(
            images,
        ))
    }

    fn postgres_versions(&self) -> Option<Vec<u32>> {
        Some(self.inner.majors())
    }

    fn default_postgres_version(&self) -> Option<u32> {
        self.inner.majors().last().copied()
    }

    fn unsupported_features(&self, spec: &ClusterSpec) -> Option<String> {
        if self.inner.server(spec.postgres_version).is_none() {
            return Some(format!(
                "PostgreSQL {} is not installed on this host; the local platform runs {}",
                spec.postgres_version,
                versions_in_words(&self.inner.majors())
            ));
        }
        if spec.backups.enabled && self.inner.pgbackrest.is_none() {
            return Some(format!(
                "the local platform keeps backups with pgBackRest, which is not installed on \
                 this host: install the `{}` package (apt-get install {}) or set \
                 backups.enabled to false",
                pgbackrest::PACKAGE,
                pgbackrest::PACKAGE
            ));
        }
        if spec.pooler.enabled && self.inner.pgbouncer.is_none() {
            return Some(
                "the local platform runs the connection pooler with PgBouncer, which is not \
                 installed on this host: install the `pgbouncer` package (apt-get install \
                 pgbouncer) or set pooler.enabled to false"
                    .into(),
            );
        }
        if spec.pooler.enabled && spec.pooler.replicas > 1 {
            return Some(format!(
                "the local platform runs one PgBouncer per cluster: set pooler.replicas to 1 \
                 (not {})",
                spec.pooler.replicas
            ));
        }
        if (spec.source.is_some() || spec.standby.is_some()) && self.inner.pgbackrest.is_none() {
            return Some(format!(
                "the local platform copies clusters from their pgBackRest repository, and \
                 pgBackRest is not installed on this host: install the `{}` package",
                pgbackrest::PACKAGE
            ));
        }
        if spec.monitoring.enabled && self.inner.exporter.is_none() {
            return Some(
                "the local platform runs monitoring with the PostgreSQL metrics exporter, which \
                 is not installed on this host: install the `prometheus-postgres-exporter` \
                 package (apt-get install prometheus-postgres-exporter) or set \
                 monitoring.enabled to false"
                    .into(),
            );
        }
        None
    }

    fn expire_retained_backups(&self) -> BoxFuture<'_, Result<usize, PlatformError>> {
        Box::pin(async move {
            retention::expire_retained(self.inner.layout.root(), chrono::Utc::now())
                .map_err(|e| PlatformError::from(LocalError::Host(e)))
        })
    }

    fn backup_repository<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<Option<String>, PlatformError>> {
        Box::pin(async move { Ok(self.repository_info(target).await?) })
    }

    fn list_extensions<'a>(
        &'a self,
        target: &'a ClusterTarget,
        database: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<InstalledExtension>>, PlatformError>> {
        Box::pin(async move {
            let (port, password) = self.primary(target)?;
            let listed = extensions::list(port, &password, database)
                .await
                .map_err(LocalError::sql)?;
            Ok(Some(listed))
        })
    }

    fn ensure_tenant<'a>(
        &'a self,
        _tenant: &'a TenantTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        // Tenants share the host; their clusters are separated by directory, port and password.
        Box::pin(async { Ok(()) })
    }

    fn apply_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<(), PlatformError>> {
        Box::pin(async move {
            if let Some(reason) = self.unsupported_features(&target.spec) {
                return Err(PlatformError::Rejected(reason));
            }
            Ok(self.apply(target).await?)
        })
    }

    fn delete_cluster<'a>(
        &'a self,
        target: &'a ClusterTarget,
    ) -> BoxFuture<'a, Result<DeleteProgress, PlatformError>> {
        Box::pin(async move {
            self.delete(target).await?;
            Ok(DeleteProgress::Gone)
        })
    }

    fn run_action<'a>(
        &'a self,
        target: &'a ClusterTarget,
        action: &'a ClusterAction,
        operation_id: Uuid,
    ) -> BoxFuture<'a, Result<ActionProgress, PlatformError>> {
        Box::pin(async move {
            if let Some(reason) = self.unsupported_action(action) {
                return Err(PlatformError::Rejected(reason));
            }
            let progress = match action {
                ClusterAction::RotatePassword { user } => self.rotate_password(target, user).await,
                ClusterAction::Backup { backup_type } => {
                    self.backup(target, *backup_type, operation_id).await
                }
                ClusterAction::Promote => self.promote_standby(target).await,
                ClusterAction::Upgrade { to_version, .. } => {
                    self.upgrade(target, *to_version, operation_id).await
                }
                ClusterAction::MinorUpgrade { to_image, .. } => {
                    self.minor_upgrade(target, to_image).await
                }
                ClusterAction::Switchover { target_instance } => {
                    self.switchover(target, target_instance.as_deref(), operation_id)
                        .await
                }
                ClusterAction::Restore { target_time } => {
                    self.restore(target, *target_time, operation_id).await
                }
                ClusterAction::Extension {
                    database,
                    name,
                    enable,
                } => self.set_extension(target, database, name, *enable).await,
            };
            Ok(progress?)
        })
    }

    fn watch(
        &self,
        events: mpsc::Sender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        Box::pin(async move {
            *self.inner.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(events);
            self.inner.resync.store(true, Ordering::SeqCst);
            self.inner.kick.notify_one();
            cancel.cancelled().await;
            *self.inner.watcher.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(())
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.cancel.cancel();
            if let Some(supervisor) = self.take_supervisor() {
                let _ = supervisor.await;
            }
            tracing::info!("stopping the local clusters");
            self.inner.stop_all().await;
            // Tell the sync (still running) that the servers are down, so nothing shows as
            // ready while pgplane is not there to look after it.
            for id in self.inner.layout.cluster_ids() {
                if let Ok(Some(event)) = self.inner.observe_cluster(id).await {
                    self.inner.send(event).await;
                }
            }
        })
    }
}

/// `15`, `15 and 17`, `13, 15 and 17`.
pub(super) fn versions_in_words(versions: &[u32]) -> String {
    let words: Vec<String> = versions.iter().map(u32::to_string).collect();
    match words.split_last() {
        None => "no version".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
