//! High availability as Patroni gives it to PGO's clusters: a switchover on request (to a named
//! replica or the most caught-up one, with no committed transaction lost), an automatic
//! failover when the primary's server dies (the supervisor promotes the most caught-up ready
//! replica), and the former primary brought back as a replica with `pg_rewind`. The primary is
//! the instance `state.json` lists first; endpoints, PgBouncer and the exporter follow it.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::error::LocalError;
use super::instance::ProcessState;
use super::state::ClusterState;
use super::{Inner, LocalPlatform, roles};
use crate::platform::{ActionProgress, ClusterTarget};

/// Longest wait for a replica to replay everything the stopped primary wrote.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

impl Inner {
    /// Promotes the most caught-up ready replica when the primary's server died (it was
    /// started and nobody stopped it). A cluster whose replicas are all down just gets its
    /// primary restarted, as after a restart of pgplane.
    pub(super) async fn fail_over_if_the_primary_died(
        &self,
        state: &mut ClusterState,
    ) -> anyhow::Result<()> {
        // A standby cluster's leader is restarted, never promoted (that would end the standby).
        let primary_died = state.spec.standby.is_none()
            && state.instances.len() > 1
            && state.instances[0].started_with.is_some()
            && self.instance(state, 0).process() == ProcessState::Stopped;
        if !primary_died {
            return Ok(());
        }
        let Some(best) = self.most_caught_up_replica(state).await else {
            return Ok(());
        };
        tracing::warn!(
            cluster = %state.spec.name,
            from = %state.instance_name(0),
            to = %state.instance_name(best),
            "the primary's server died: failing over"
        );
        self.promote(state, best).await
    }

    /// The ready replica that has received the most WAL.
    async fn most_caught_up_replica(&self, state: &ClusterState) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for position in 1..state.instances.len() {
            if state.instances[position].rejoin
                || self.instance(state, position).process() != ProcessState::Ready
            {
                continue;
            }
            let received = received_lsn(state.instances[position].port, &state.superuser_password)
                .await
                .unwrap_or(0);
            if best.is_none_or(|(lsn, _)| received > lsn) {
                best = Some((received, position));
            }
        }
        best.map(|(_, position)| position)
    }

    /// Promotes the replica at `position` and makes it the primary; the former primary rejoins
    /// as a replica at the supervisor's next pass.
    async fn promote(&self, state: &mut ClusterState, position: usize) -> anyhow::Result<()> {
        self.instance(state, position).promote().await?;
        state.instances.swap(0, position);
        state.instances[position].rejoin = true;
        state.instances[position].started_with = None;
        // The new primary's configuration is the one it runs (only which server it follows
        // changes, and a primary follows none).
        self.save(state)?;
        Ok(())
    }

    /// Brings the former primary at `position` back as a replica of the current primary:
    /// stopped, rewound onto the new timeline, or — when it cannot be rewound — moved aside
    /// (`pg<N>.diverged`, its unreplicated transactions kept for a human) and cloned again.
    pub(super) async fn rejoin(
        &self,
        state: &mut ClusterState,
        position: usize,
    ) -> anyhow::Result<()> {
        let instance = self.instance(state, position);
        instance.stop().await?;
        // Until the new primary's first checkpoint its control file still names the old
        // timeline, and pg_rewind would find nothing to rewind.
        checkpoint(state.instances[0].port, &state.superuser_password).await?;
        if instance.initialized() {
            match instance
                .rewind(state.instances[0].port, &state.superuser_password)
                .await
            {
                Ok(()) => instance.make_replica()?,
                Err(error) => {
                    let aside = instance.dir.with_extension("diverged");
                    tracing::warn!(
                        instance = %state.instance_name(position),
                        error = format!("{error:#}"),
                        aside = %aside.display(),
                        "the former primary could not be rewound: keeping its data aside and cloning it again"
                    );
                    let _ = std::fs::remove_dir_all(&aside);
                    std::fs::rename(&instance.dir, &aside)?;
                }
            }
        }
        state.instances[position].rejoin = false;
        state.instances[position].started_with = None;
        Ok(())
    }
}

impl LocalPlatform {
    /// Makes `target_instance` (or the most caught-up replica) the primary: the primary stops
    /// (clients disconnected, its last WAL sent to the replicas), the replica replays up to
    /// the primary's final checkpoint, is promoted, and the former primary rejoins as a
    /// replica. If the replica does not catch up, the former primary starts again as it was.
    pub(super) async fn switchover(
        &self,
        target: &ClusterTarget,
        target_instance: Option<&str>,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = inner.running_state(id, true)?;
        if state.last_switchover == Some(operation) {
            return Ok(ActionProgress::done());
        }
        if state.spec.standby.is_some() {
            return Err(LocalError::Refused(format!(
                "{} is a standby cluster: promote it before switching its primary over",
                state.spec.name
            )));
        }
        let position = match target_instance {
            Some(name) => (1..state.instances.len())
                .find(|p| state.instance_name(*p) == name)
                .ok_or_else(|| {
                    LocalError::Refused(format!(
                        "{name} is not a replica of cluster {}",
                        state.spec.name
                    ))
                })?,
            None => inner
                .most_caught_up_replica(&state)
                .await
                .ok_or(LocalError::NoReadyReplica)?,
        };
        let replica = inner.instance(&state, position);
        if replica.process() != ProcessState::Ready || state.instances[position].rejoin {
            return Err(LocalError::NoReadyReplica);
        }
        let primary = inner.instance(&state, 0);
        state.instances[0].started_with = None; // stopped on purpose: no failover
        inner.save(&state)?;
        primary.stop().await?;
        let end = primary.checkpoint_location().await?;
        let caught_up = wait_for_replay(
            state.instances[position].port,
            &state.superuser_password,
            &end,
        )
        .await;
        if let Err(error) = caught_up {
            inner.kick.notify_one(); // the supervisor starts the primary again
            return Err(LocalError::Host(error.context(format!(
                "{} did not catch up with the primary; the primary runs on",
                state.instance_name(position)
            ))));
        }
        inner.promote(&mut state, position).await?;
        state.last_switchover = Some(operation);
        inner.save(&state)?;
        inner.kick.notify_one();
        Ok(ActionProgress::done())
    }
}

/// A checkpoint on the server on `port`.
async fn checkpoint(port: u16, superuser_password: &str) -> anyhow::Result<()> {
    let mut conn = roles::connect(port, superuser_password).await?;
    let done = sqlx::query("checkpoint").execute(&mut conn).await;
    roles::close(conn).await;
    done.context("checkpoint on the new primary")?;
    Ok(())
}

/// How far the replica on `port` has received WAL, as a number.
async fn received_lsn(port: u16, superuser_password: &str) -> anyhow::Result<u64> {
    let mut conn = roles::connect(port, superuser_password).await?;
    let lsn: Result<Option<String>, _> =
        sqlx::query_scalar("select pg_last_wal_receive_lsn()::text")
            .fetch_one(&mut conn)
            .await;
    roles::close(conn).await;
    Ok(lsn?.as_deref().and_then(parse_lsn).unwrap_or(0))
}

/// Waits until the replica on `port` has replayed WAL up to `end` (`X/Y`).
async fn wait_for_replay(port: u16, superuser_password: &str, end: &str) -> anyhow::Result<()> {
    let end = parse_lsn(end).with_context(|| format!("unreadable WAL position {end}"))?;
    let started = Instant::now();
    loop {
        if let Ok(mut conn) = roles::connect(port, superuser_password).await {
            let replayed: Result<Option<String>, _> =
                sqlx::query_scalar("select pg_last_wal_replay_lsn()::text")
                    .fetch_one(&mut conn)
                    .await;
            roles::close(conn).await;
            if replayed
                .ok()
                .flatten()
                .as_deref()
                .and_then(parse_lsn)
                .is_some_and(|lsn| lsn >= end)
            {
                return Ok(());
            }
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            anyhow::bail!("the replica did not replay up to {end:X} within {CATCH_UP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `16/B374D848` as a number.
fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.trim().split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::parse_lsn;

    #[test]
    fn wal_positions_compare_as_numbers() {
        assert_eq!(parse_lsn("0/3000060"), Some(0x300_0060));
        assert!(parse_lsn("1/0").unwrap() > parse_lsn("0/FFFFFFFF").unwrap());
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
