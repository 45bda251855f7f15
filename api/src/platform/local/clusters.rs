//! A cluster's desired state (recorded for the supervisor), its deletion, and password
//! rotation.

use std::collections::BTreeMap;

use anyhow::Context;
use rand::RngExt;

use super::error::LocalError;
use super::state::ClusterState;
use super::{LocalPlatform, observe, retention, roles, set_mode, tls};
use crate::domain::cluster::{ClusterSpec, DeletionPolicy};
use crate::platform::{ActionProgress, ClusterTarget};

impl LocalPlatform {
    /// Records the desired state (the first time: the cluster's directory, passwords and
    /// certificates) and wakes the supervisor, which carries it out.
    pub(super) async fn apply(&self, target: &ClusterTarget) -> Result<(), LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = match inner.load(id)? {
            Some(state) => state,
            None => {
                let dir = inner.layout.cluster_dir(id);
                std::fs::create_dir_all(&dir)?;
                set_mode(&dir, 0o755)?;
                ClusterState {
                    tenant_id: target.tenant.tenant_id,
                    tenant_name: target.tenant.tenant_name.clone(),
                    cluster_id: id,
                    generation: target.generation,
                    spec: target.spec.clone(),
                    reconciled_generation: None,
                    instances: Vec::new(),
                    superuser_password: generate_password(),
                    passwords: BTreeMap::new(),
                    tls: tls::issue(&target.spec.name, &inner.certificates)
                        .map_err(anyhow::Error::from)?,
                    failures: 0,
                    last_error: None,
                    repository: Default::default(),
                    last_switchover: None,
                    pooler: None,
                    exporter: None,
                    insights: None,
                }
            }
        };
        // A late retry of an older generation must not roll back a newer one.
        if target.generation < state.generation {
            return Ok(());
        }
        state.generation = target.generation;
        // The data never goes back to the major it was upgraded from, whatever a late apply
        // says.
        let running = state.spec.postgres_version;
        state.spec = target.spec.clone();
        if !state.instances.is_empty() && state.spec.postgres_version < running {
            state.spec.postgres_version = running;
        }
        state.tenant_name = target.tenant.tenant_name.clone();
        let roles: Vec<String> = role_names(&state.spec).map(String::from).collect();
        for role in roles {
            state
                .passwords
                .entry(role)
                .or_insert_with(generate_password);
        }
        inner.save(&state)?;
        inner.kick.notify_one();
        Ok(())
    }

    /// Stops and removes the cluster's servers and data (its backups moved aside first when
    /// its deletion policy keeps them).
    pub(super) async fn delete(&self, target: &ClusterTarget) -> Result<(), LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let dir = inner.layout.cluster_dir(id);
        if !dir.exists() {
            return Ok(());
        }
        let state = inner.load(id)?;
        let instances = state.as_ref().map_or(0, |s| s.instances.len());
        if let Some(pooler) = inner.pooler(id) {
            pooler.stop().await?;
        }
        if let Some(exporter) = inner.exporter(id) {
            exporter.stop().await?;
        }
        if let Some(state) = &state {
            for index in (0..instances).rev() {
                inner.instance(state, index).destroy().await?;
            }
        }
        let spec = state.as_ref().map_or(&target.spec, |s| &s.spec);
        if spec.deletion_policy == DeletionPolicy::KeepBackups {
            retention::keep_backups(inner, &target.tenant.tenant_name, spec, id)?;
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        inner.kick.notify_one();
        Ok(())
    }

    /// A new password for `user`, saved before it is set in the database.
    pub(super) async fn rotate_password(
        &self,
        target: &ClusterTarget,
        user: &str,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = inner.load(id)?.ok_or(LocalError::NotCreated)?;
        if !role_names(&state.spec).any(|r| r == user) {
            return Err(LocalError::NoSuchUser {
                cluster: state.spec.name.clone(),
                user: user.to_string(),
            });
        }
        if state.spec.suspended {
            return Err(LocalError::Suspended("before rotating a password"));
        }
        // Saved before it is set: a crash in between leaves a password that the next attempt
        // (or the next convergence) replaces, never one nobody knows.
        let password = generate_password();
        state.passwords.insert(user.to_string(), password.clone());
        inner.save(&state)?;
        let port = primary_port(&state)?;
        let mut conn = roles::connect(port, &state.superuser_password)
            .await
            .context("connecting to the primary")?;
        let result = roles::set_password(&mut conn, user, &password).await;
        roles::close(conn).await;
        result?;
        inner.kick.notify_one();
        let connection = Some(Box::new(observe::connection(&state)));
        Ok(ActionProgress::Done {
            connection,
            backup: None,
        })
    }
}

impl LocalPlatform {
    /// The port and superuser password of the cluster's primary.
    pub(super) fn primary(&self, target: &ClusterTarget) -> Result<(u16, String), LocalError> {
        let state = self
            .inner
            .load(target.cluster_id)?
            .ok_or(LocalError::NotCreated)?;
        Ok((primary_port(&state)?, state.superuser_password))
    }
}

/// The port of the cluster's primary (its first instance).
fn primary_port(state: &ClusterState) -> Result<u16, LocalError> {
    state
        .instances
        .first()
        .map(|i| i.port)
        .ok_or(LocalError::PrimaryNotCreated)
}

pub(super) fn generate_password() -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Roles of `spec` (the owner first).
fn role_names(spec: &ClusterSpec) -> impl Iterator<Item = &str> {
    std::iter::once(spec.owner.as_str()).chain(spec.users.iter().map(|u| u.name.as_str()))
}
