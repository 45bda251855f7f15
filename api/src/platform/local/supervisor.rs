//! The supervisor: one task that, every tick or when woken, makes each cluster's processes
//! match its recorded state (initdb, replicas cloned with `pg_basebackup`, configuration and
//! restarts, roles and databases, the repository's stanza, everything stopped while suspended,
//! a replica promoted when the primary died, other servers that died restarted), starts the
//! backups that are due, and reports what changed to the watch.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::instance::ProcessState;
use super::pgbackrest::Primary;
use super::state::{ClusterState, InsightsRole, InstanceState};
use super::{FAILURES_BEFORE_FAILED, Inner, TICK, config, observe, roles, schedules};
use crate::domain::cluster::naming::INSIGHTS_ROLE;
use crate::embedded_pg::free_port;
use crate::platform::PlatformEvent;

impl Inner {
    /// Makes the cluster's processes match its state. Idempotent; cheap when nothing changed.
    async fn converge(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        self.renew_certificate_if_due(state).await;
        if state.spec.suspended {
            self.stop_pooler(state).await?;
            self.stop_exporter(state).await?;
            for index in (0..state.instances.len()).rev() {
                self.instance(state, index).stop().await?;
                state.instances[index].started_with = None;
            }
            state.reconciled_generation = Some(state.generation);
            return Ok(());
        }
        self.fail_over_if_the_primary_died(state).await?;
        let desired = state.desired_instances();
        // Scaling down removes the newest replicas; the primary (listed first) always stays.
        while state.instances.len() > desired.max(1) {
            let index = state.instances.len() - 1;
            self.instance(state, index).destroy().await?;
            state.instances.pop();
        }
        if state.instances.is_empty() {
            state.instances.push(InstanceState {
                ordinal: 0,
                port: free_port()?,
                rejoin: false,
                started_with: None,
            });
        }
        self.configure_repository(state)?;
        if !self.instance(state, 0).initialized() {
            if state.spec.source.is_some() || state.spec.standby.is_some() {
                self.bootstrap_copy(state).await?;
            } else {
                self.instance(state, 0)
                    .initdb(&state.superuser_password)
                    .await?;
            }
        }
        self.run_instance(state, 0).await?;
        // A standby's roles are the source's, replayed; it gets its own once promoted.
        if state.reconciled_generation != Some(state.generation) && state.spec.standby.is_none() {
            self.ensure_roles(state).await?;
        }
        // A standby's roles are its source's, replayed (it is read-only).
        if state.spec.standby.is_none() && !state.insights.as_ref().is_some_and(|i| i.ready) {
            self.ensure_insights_role(state).await?;
        }
        self.create_stanza(state).await?;
        for index in 1..desired {
            if state.instances.len() <= index {
                state.instances.push(InstanceState {
                    ordinal: state.free_ordinal(),
                    port: free_port()?,
                    rejoin: false,
                    started_with: None,
                });
            }
            if state.instances[index].rejoin {
                self.rejoin(state, index).await?;
            }
            let replica = self.instance(state, index);
            if !replica.initialized() {
                replica
                    .clone_from(state.instances[0].port, &state.superuser_password)
                    .await
                    .with_context(|| format!("cloning replica {}", state.instance_name(index)))?;
            }
            self.run_instance(state, index).await?;
        }
        if state.spec.pooler.enabled {
            self.run_pooler(state).await?;
        } else {
            self.stop_pooler(state).await?;
        }
        if state.spec.monitoring.enabled {
            self.run_exporter(state).await?;
        } else {
            self.stop_exporter(state).await?;
        }
        state.reconciled_generation = Some(state.generation);
        Ok(())
    }

    /// Creates the spec's roles and databases on the primary, with the cluster's passwords.
    pub(super) async fn ensure_roles(&self, state: &ClusterState) -> anyhow::Result<()> {
        let mut conn = roles::connect(state.instances[0].port, &state.superuser_password)
            .await
            .context("connecting to the primary")?;
        let result = roles::ensure(&mut conn, &state.spec, &state.passwords).await;
        roles::close(conn).await;
        result.context("creating roles and databases")
    }

    /// Creates the insights collector's role (with a new password the first time) and
    /// `pg_stat_statements` on the primary.
    async fn ensure_insights_role(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let password = match &state.insights {
            Some(known) => known.password.clone(),
            None => super::clusters::generate_password(),
        };
        state.insights = Some(InsightsRole {
            password: password.clone(),
            ready: false,
        });
        let mut conn = roles::connect(state.instances[0].port, &state.superuser_password)
            .await
            .context("connecting to the primary")?;
        let result = roles::ensure_insights(&mut conn, INSIGHTS_ROLE, &password).await;
        roles::close(conn).await;
        result.context("creating the insights role")?;
        state.insights = Some(InsightsRole {
            password,
            ready: true,
        });
        Ok(())
    }

    /// Points the cluster's pgBackRest at its primary (and its retention), or, once backups are
    /// disabled, deletes the repository as the API documents.
    fn configure_repository(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let Some(repository) = self.pgbackrest(state.cluster_id) else {
            return Ok(());
        };
        if state.spec.backups.enabled {
            return repository.configure(
                &self.instance(state, 0).dir,
                state.instances[0].port,
                state.spec.backups.retention_full,
            );
        }
        if repository.repository.exists() {
            tracing::info!(cluster = %state.spec.name, "backups disabled: deleting the backup repository");
            std::fs::remove_dir_all(&repository.repository)?;
            std::fs::remove_dir_all(&repository.dir)?;
        }
        state.repository = Default::default();
        Ok(())
    }

    /// Creates the repository's stanza once the primary runs (PGO does it before the first
    /// backup); WAL is archived from then on.
    async fn create_stanza(&self, state: &mut ClusterState) -> anyhow::Result<()> {
        let standby = state.spec.standby.is_some();
        if !state.spec.backups.enabled || state.repository.stanza_created || standby {
            return Ok(());
        }
        let repository = self
            .pgbackrest(state.cluster_id)
            .ok_or_else(super::backups::missing_pgbackrest)?;
        let primary = self.instance(state, 0);
        repository
            .stanza_create(&Primary {
                dir: &primary.dir,
                port: state.instances[0].port,
                superuser_password: &state.superuser_password,
            })
            .await?;
        state.repository.stanza_created = true;
        Ok(())
    }

    /// Starts the instance at `index` if it is down (as a replica unless it is the primary),
    /// restarts it if its configuration changed, and has it follow the current primary.
    pub(super) async fn run_instance(
        &self,
        state: &mut ClusterState,
        index: usize,
    ) -> anyhow::Result<()> {
        let instance = self.instance(state, index);
        let archiving = self.archiving(state, index);
        let mut config =
            config::server_config(&state.spec, state.instances[index].port, &archiving);
        let mut fingerprint = config::fingerprint(&config);
        let standby = state.spec.standby.is_some();
        let follows = if index > 0 {
            Some(state.instances[0].port)
        } else {
            self.standby_upstream(state)
        };
        let replication = config::replication_config(follows, &state.superuser_password);
        let process = instance.process();
        if process != ProcessState::Stopped
            && state.instances[index].started_with.as_deref() == Some(fingerprint.as_str())
        {
            if instance.write_replication(&replication)? {
                instance.reload().await?;
            }
            return Ok(());
        }
        // A deliberate stop: not to be mistaken for a primary that died.
        state.instances[index].started_with = None;
        instance.stop().await?;
        instance.write_config(&config, &state.tls)?;
        instance.write_replication(&replication)?;
        if index > 0 || standby {
            instance.make_replica()?;
        }
        if let Err(error) = instance.start().await {
            // The port may have been taken while the server was down: move to a free one.
            if !error.to_string().contains("could not bind")
                && port_is_free(state.instances[index].port)
            {
                return Err(error);
            }
            state.instances[index].port = free_port()?;
            config = config::server_config(&state.spec, state.instances[index].port, &archiving);
            fingerprint = config::fingerprint(&config);
            instance.write_config(&config, &state.tls)?;
            instance.start().await?;
        }
        state.instances[index].started_with = Some(fingerprint);
        Ok(())
    }

    /// One supervisor pass over one cluster: converge, remember the outcome, report.
    async fn supervise_cluster(
        &self,
        id: Uuid,
        backoff: &mut HashMap<Uuid, Instant>,
    ) -> anyhow::Result<Option<PlatformEvent>> {
        let lock = self.lock(id);
        let _guard = lock.lock().await;
        let Some(mut state) = self.load(id)? else {
            return Ok(None);
        };
        let due = backoff.get(&id).is_none_or(|at| Instant::now() >= *at);
        if due {
            let before = serde_json::to_vec(&state)?;
            match self.converge(&mut state).await {
                Ok(()) => {
                    state.failures = 0;
                    state.last_error = None;
                    backoff.remove(&id);
                }
                Err(error) => {
                    tracing::warn!(cluster = %state.spec.name, error = format!("{error:#}"), "local cluster not converged");
                    state.failures = state.failures.saturating_add(1);
                    state.last_error = Some(format!("{error:#}"));
                    let delay = Duration::from_secs(1 << state.failures.min(5));
                    backoff.insert(id, Instant::now() + delay);
                }
            }
            if serde_json::to_vec(&state)? != before {
                self.save(&state)?;
            }
        }
        drop(_guard);
        self.observe_cluster(id).await
    }

    /// The cluster as it is, without changing anything.
    pub(super) async fn observe_cluster(&self, id: Uuid) -> anyhow::Result<Option<PlatformEvent>> {
        let lock = self.lock(id);
        let _guard = lock.lock().await;
        Ok(self.load(id)?.map(|state| {
            let pooler_ready = match (&state.pooler, self.pooler(id)) {
                (Some(running), Some(pooler)) => pooler.ready(running.port),
                _ => false,
            };
            let metrics_port = match (&state.exporter, self.exporter(id)) {
                (Some(known), Some(exporter)) if exporter.ready(known.port) => Some(known.port),
                _ => None,
            };
            PlatformEvent::Observed(Box::new(observe::observe(
                &state,
                |index| self.instance(&state, index).process(),
                pooler_ready,
                metrics_port,
                FAILURES_BEFORE_FAILED,
            )))
        }))
    }

    /// Stops every instance (pgplane is shutting down); the data stays for the next start.
    pub(super) async fn stop_all(&self) {
        for id in self.layout.cluster_ids() {
            let lock = self.lock(id);
            let _guard = lock.lock().await;
            let state = self.load(id).ok().flatten();
            if let Some(pooler) = self.pooler(id)
                && let Err(error) = pooler.stop().await
            {
                tracing::warn!(%id, error = format!("{error:#}"), "could not stop a local pooler");
            }
            if let Some(exporter) = self.exporter(id)
                && let Err(error) = exporter.stop().await
            {
                tracing::warn!(%id, error = format!("{error:#}"), "could not stop a local metrics exporter");
            }
            let Some(state) = state else {
                continue;
            };
            for index in (0..state.instances.len()).rev() {
                if let Err(error) = self.instance(&state, index).stop().await {
                    tracing::warn!(%id, index, error = format!("{error:#}"), "could not stop a local instance");
                }
            }
        }
    }
}

/// The supervisor: every tick (or when woken) converges each cluster and reports what changed.
pub(super) async fn supervise(inner: Arc<Inner>, cancel: CancellationToken) {
    let mut reported: HashMap<Uuid, String> = HashMap::new();
    let mut backoff: HashMap<Uuid, Instant> = HashMap::new();
    while !cancel.is_cancelled() {
        let resync = inner.resync.swap(false, Ordering::SeqCst);
        if resync {
            // A new watcher first hears how things are right now (servers may still be down
            // after a restart of pgplane), before this pass starts converging them.
            for id in inner.layout.cluster_ids() {
                if let Ok(Some(event)) = inner.observe_cluster(id).await {
                    reported.insert(id, observe::fingerprint(&event));
                    inner.send(event).await;
                }
            }
            inner.send(PlatformEvent::Resynced).await;
        }
        let mut seen = Vec::new();
        for id in inner.layout.cluster_ids() {
            if let Err(error) = schedules::start_due(&inner, id).await {
                tracing::warn!(%id, error = format!("{error:#}"), "could not start a local backup");
            }
            match inner.supervise_cluster(id, &mut backoff).await {
                Ok(Some(event)) => {
                    seen.push(id);
                    let fingerprint = observe::fingerprint(&event);
                    if reported.get(&id) != Some(&fingerprint) {
                        reported.insert(id, fingerprint);
                        inner.send(event).await;
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%id, error = format!("{error:#}"), "local cluster state unreadable");
                }
            }
            if cancel.is_cancelled() {
                return;
            }
        }
        let gone: Vec<Uuid> = reported
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for cluster_id in gone {
            reported.remove(&cluster_id);
            backoff.remove(&cluster_id);
            inner
                .send(PlatformEvent::Gone {
                    tenant_id: Uuid::nil(),
                    cluster_id,
                })
                .await;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = inner.kick.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}
