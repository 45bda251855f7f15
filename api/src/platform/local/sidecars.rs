//! The processes that run beside a cluster's PostgreSQL servers, kept running by the
//! supervisor as PGO keeps its sidecars and Deployments: PgBouncer in front of the primary
//! (`pooler.enabled`) and the metrics exporter (`monitoring.enabled`); both follow the primary
//! when it moves.

use anyhow::Context;

use super::Inner;
use super::exporter::MONITORING_ROLE;
use super::pooler::PoolerConfig;
use super::roles;
use super::state::{ClusterState, ExporterState, PoolerState};
use crate::embedded_pg::free_port;

impl Inner {
    /// Starts the cluster's PgBouncer if it is down, has it reload a changed configuration
    /// or role list (clients stay connected).
    pub(super) async fn run_pooler(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let id = state.cluster_id;
        let pooler = self
            .pooler(id)
            .context("PgBouncer is not installed (the `pgbouncer` package)")?;
        let port = match &state.pooler {
            Some(running) => running.port,
            None => free_port()?,
        };
        let users: Vec<(&str, &str)> = state
            .passwords
            .iter()
            .map(|(name, password)| (name.as_str(), password.as_str()))
            .collect();
        let config = PoolerConfig {
            port,
            primary_port: state.instances[0].port,
            users,
        };
        let files = pooler.files(&config);
        let started_with = state.pooler.as_ref().and_then(|p| p.started_with.as_ref());
        let running = pooler.running();
        if running && started_with == Some(&files.fingerprint) {
            return Ok(());
        }
        pooler.write(&files, &state.tls)?;
        match started_with {
            Some(old) if running && old.users == files.fingerprint.users => {
                pooler.reload().await?;
            }
            _ => {
                pooler.stop().await?;
                pooler.start(port).await?;
            }
        }
        state.pooler = Some(PoolerState {
            port,
            started_with: Some(files.fingerprint),
        });
        Ok(())
    }

    /// Starts the cluster's metrics exporter if it is down (its role created first), restarts
    /// it when the primary moved to another port.
    pub(super) async fn run_exporter(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let id = state.cluster_id;
        let exporter = self.exporter(id).context(
            "the metrics exporter is not installed (the `prometheus-postgres-exporter` package)",
        )?;
        let primary_port = state.instances[0].port;
        let mut wanted = match state.exporter.take() {
            Some(known) => known,
            None => ExporterState {
                port: free_port()?,
                password: super::clusters::generate_password(),
                role_ready: false,
                started_for: None,
            },
        };
        let result = async {
            if !wanted.role_ready {
                let mut conn = roles::connect(primary_port, &state.superuser_password)
                    .await
                    .context("connecting to the primary")?;
                let result =
                    roles::ensure_monitoring(&mut conn, MONITORING_ROLE, &wanted.password).await;
                roles::close(conn).await;
                result.context("creating the monitoring role")?;
                wanted.role_ready = true;
            }
            let running = exporter.running();
            if running && wanted.started_for == Some(primary_port) {
                return Ok(());
            }
            exporter.stop().await?;
            exporter
                .start(wanted.port, primary_port, &wanted.password)
                .await?;
            wanted.started_for = Some(primary_port);
            anyhow::Ok(())
        }
        .await;
        state.exporter = Some(wanted);
        result
    }

    /// Stops the cluster's metrics exporter, keeping its port and role for when it runs again.
    pub(super) async fn stop_exporter(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        if let Some(exporter) = self.exporter(state.cluster_id) {
            exporter.stop().await?;
        }
        if let Some(known) = state.exporter.as_mut() {
            known.started_for = None;
        }
        Ok(())
    }

    /// Stops the cluster's PgBouncer, keeping its port for when it runs again.
    pub(super) async fn stop_pooler(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        if let Some(pooler) = self.pooler(state.cluster_id) {
            pooler.stop().await?;
        }
        if let Some(running) = state.pooler.as_mut() {
            running.started_with = None;
        }
        Ok(())
    }
}
