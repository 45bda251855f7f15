//! Major-version upgrades, as PGO's `PGUpgrade` does them: a full backup first, every server
//! stopped, a new data directory made by the new major's `initdb`, `pg_upgrade --check` then
//! `pg_upgrade` (copy mode: the old data directory stays untouched until the new one runs),
//! `pgbackrest stanza-upgrade`, the new primary started, the replicas cloned again from it and a
//! new initial backup taken. A failure before the switch leaves the cluster on its old version.

use anyhow::Context;

use super::error::LocalError;
use super::files::set_mode;
use super::instance::{Instance, run};
use super::pgbackrest::Primary;
use super::state::SUPERUSER;
use super::{LocalPlatform, backups, roles};
use crate::domain::cluster::BackupType;
use crate::platform::{ActionProgress, ClusterTarget};

impl LocalPlatform {
    pub(super) async fn upgrade(
        &self,
        target: &ClusterTarget,
        to_version: u32,
        operation: uuid::Uuid,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let id = target.cluster_id;
        let state = inner.running_state(id, false)?;
        if state.spec.postgres_version == to_version {
            return Ok(ActionProgress::done()); // upgraded by an earlier run
        }
        let new_bins = inner.server(to_version).ok_or_else(|| {
            LocalError::Unsupported(format!(
                "PostgreSQL {to_version} is not installed on this host; the local platform runs {}",
                super::driver::versions_in_words(&inner.majors())
            ))
        })?;
        if state.spec.backups.enabled {
            // A way back, as PGO requires before it upgrades.
            let _running =
                backups::BackingUp::claim(&**inner, id).ok_or(LocalError::BackupRunning)?;
            inner
                .take_backup(
                    id,
                    BackupType::Full,
                    backups::OPERATION_ANNOTATION,
                    &format!("{operation}-before-upgrade"),
                )
                .await?;
        }
        let lock = inner.lock(id);
        let _guard = lock.lock().await;
        let mut state = inner.running_state(id, false)?;
        if state.spec.postgres_version == to_version {
            return Ok(ActionProgress::done());
        }
        for position in (0..state.instances.len()).rev() {
            inner.instance(&state, position).stop().await?;
            state.instances[position].started_with = None;
        }
        let old = inner.instance(&state, 0);
        let new_dir = old.dir.with_extension("upgrading");
        let _ = std::fs::remove_dir_all(&new_dir); // from an interrupted attempt
        let new = Instance {
            bins: new_bins,
            dir: new_dir.clone(),
        };
        let upgraded = pg_upgrade(&old, &new, &state.superuser_password).await;
        if let Err(error) = upgraded {
            let _ = std::fs::remove_dir_all(&new_dir);
            inner.save(&state)?;
            inner.kick.notify_one(); // the supervisor starts the old servers again
            return Err(LocalError::UpgradeFailed(error));
        }
        // The switch: the old data directory waits aside until the new one runs.
        for position in (1..state.instances.len()).rev() {
            inner.instance(&state, position).destroy().await?;
        }
        state.instances.truncate(1);
        let aside = old
            .dir
            .with_extension(format!("before-upgrade-{operation}"));
        std::fs::rename(&old.dir, &aside)?;
        std::fs::rename(&new_dir, &old.dir)?;
        let previous_version = state.spec.postgres_version;
        state.spec.postgres_version = to_version;
        let started = async {
            if state.spec.backups.enabled
                && let Some(repository) = inner.pgbackrest(id)
            {
                repository.configure(
                    &old.dir,
                    state.instances[0].port,
                    state.spec.backups.retention_full,
                )?;
                repository
                    .stanza_upgrade(&Primary {
                        dir: &old.dir,
                        port: state.instances[0].port,
                        superuser_password: &state.superuser_password,
                    })
                    .await?;
            }
            inner.run_instance(&mut state, 0).await
        }
        .await;
        if let Err(error) = started {
            let _ = inner.instance(&state, 0).stop().await;
            let _ = std::fs::remove_dir_all(&old.dir);
            std::fs::rename(&aside, &old.dir)?;
            state.spec.postgres_version = previous_version;
            state.instances[0].started_with = None;
            inner.save(&state)?;
            inner.kick.notify_one();
            return Err(LocalError::UpgradeFailed(error));
        }
        let _ = std::fs::remove_dir_all(&aside);
        // A new initial backup on the new version (the old ones restore the old version).
        state.repository.initial_backup_at = None;
        inner.save(&state)?;
        inner.kick.notify_one();
        Ok(ActionProgress::done())
    }
}

impl LocalPlatform {
    /// Moves the cluster onto the server now installed for its major (a newer minor version
    /// the host's packages brought): each instance restarts on it, replicas first, the primary
    /// last, as PGO rolls a new image. `to_image` must be what is installed.
    pub(super) async fn minor_upgrade(
        &self,
        target: &ClusterTarget,
        to_image: &str,
    ) -> Result<ActionProgress, LocalError> {
        let inner = &self.inner;
        let lock = inner.lock(target.cluster_id);
        let _guard = lock.lock().await;
        let mut state = inner.running_state(target.cluster_id, true)?;
        let major = state.spec.postgres_version;
        let installed = inner.installed_image(major).unwrap_or_default();
        if installed != to_image {
            return Err(LocalError::Refused(format!(
                "this host runs {installed} for PostgreSQL {major}, not {to_image}: ask again"
            )));
        }
        let wanted = installed.trim_start_matches("postgresql:").to_string();
        for position in (1..state.instances.len()).chain([0]) {
            let port = state.instances[position].port;
            if running_version(port, &state.superuser_password).await.ok() == Some(wanted.clone()) {
                continue; // restarted by an earlier run
            }
            state.instances[position].started_with = None; // a restart, not a failure
            inner.instance(&state, position).stop().await?;
            inner.run_instance(&mut state, position).await?;
            inner.save(&state)?;
        }
        let running = running_version(state.instances[0].port, &state.superuser_password).await?;
        if running != wanted {
            return Err(LocalError::Host(anyhow::anyhow!(
                "the primary runs PostgreSQL {running} after its restart, not {wanted}"
            )));
        }
        inner.kick.notify_one();
        Ok(ActionProgress::done())
    }
}

/// `server_version` of the server on `port` (`15.20`, without a packager's suffix).
async fn running_version(port: u16, superuser_password: &str) -> anyhow::Result<String> {
    let mut conn = roles::connect(port, superuser_password).await?;
    let version: Result<String, _> = sqlx::query_scalar("show server_version")
        .fetch_one(&mut conn)
        .await;
    roles::close(conn).await;
    Ok(version?
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// `pg_upgrade --check`, then `pg_upgrade`, from the stopped `old` into a new data directory
/// for `new` (made here by its `initdb`). pg_upgrade talks to both servers through a Unix
/// socket in a private working directory, with the superuser's password.
async fn pg_upgrade(
    old: &Instance<'_>,
    new: &Instance<'_>,
    superuser_password: &str,
) -> anyhow::Result<()> {
    // pg_upgrade needs both to agree on checksums (PostgreSQL 18's initdb turns them on).
    let checksums = if old.has_checksums().await? {
        "--data-checksums"
    } else if new.bins.major_version()? >= 18 {
        "--no-data-checksums"
    } else {
        ""
    };
    let more: Vec<&str> = [checksums].into_iter().filter(|o| !o.is_empty()).collect();
    new.initdb_with(superuser_password, &more).await?;
    // pg_upgrade writes its logs and sockets into its working directory, whose path must be
    // short (a socket path is at most 107 bytes).
    let work =
        std::env::temp_dir().join(format!("pgplane-upgrade-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).context("creating pg_upgrade's working directory")?;
    set_mode(&work, 0o700)?;
    new.bins.give_to_server_user(&work)?;
    let upgraded = run_pg_upgrade(old, new, superuser_password, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    upgraded
}

async fn run_pg_upgrade(
    old: &Instance<'_>,
    new: &Instance<'_>,
    superuser_password: &str,
    work: &std::path::Path,
) -> anyhow::Result<()> {
    for mode in [Some("--check"), None] {
        let mut upgrade = new.bins.command("pg_upgrade");
        upgrade
            .current_dir(work)
            .env("PGPASSWORD", superuser_password)
            .arg("-b")
            .arg(&old.bins.bin_dir)
            .arg("-B")
            .arg(&new.bins.bin_dir)
            .arg("-d")
            .arg(&old.dir)
            .arg("-D")
            .arg(&new.dir)
            .arg(format!("--username={SUPERUSER}"))
            .arg(format!("--socketdir={}", work.display()));
        if let Some(mode) = mode {
            upgrade.arg(mode);
        }
        if let Err(error) = run(upgrade, "pg_upgrade").await {
            // pg_upgrade prints what failed and leaves why in its logs, which go with the new
            // data directory: keep their errors in the message.
            return Err(error.context(log_errors(&new.dir)));
        }
    }
    Ok(())
}

/// The error lines of pg_upgrade's logs in `new_dir`.
fn log_errors(new_dir: &std::path::Path) -> String {
    let mut found = Vec::new();
    let runs = std::fs::read_dir(new_dir.join("pg_upgrade_output.d"))
        .into_iter()
        .flatten();
    for run in runs.flatten() {
        for log in std::fs::read_dir(run.path().join("log"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            found.extend(
                text.lines()
                    .filter(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("error"))
                    .take(5)
                    .map(String::from),
            );
        }
    }
    if found.is_empty() {
        "pg_upgrade failed".into()
    } else {
        format!("pg_upgrade failed: {}", found.join("; "))
    }
}
