//! Backups kept after a cluster's deletion (`deletion_policy: keep_backups`): the repository
//! moved to
//! `<root>/retained/<tenant>/<cluster>-<id>/` with the time they may go, and removed once it
//! has passed.

use std::path::Path;

use anyhow::Context;
use uuid::Uuid;

use super::Inner;
use crate::domain::cluster::ClusterSpec;

/// In a kept cluster's directory: until when it is kept (RFC 3339).
const RETAIN_UNTIL_FILE: &str = "retain-until";

/// Moves the pgBackRest repository (and its configuration, to restore from it by hand) of
/// cluster `id` (being deleted) to its kept directory, with the time they may be removed.
pub(super) fn keep_backups(
    inner: &Inner,
    tenant_name: &str,
    spec: &ClusterSpec,
    id: Uuid,
) -> anyhow::Result<()> {
    let kept = inner.layout.retained_dir(tenant_name, &spec.name, id);
    for (what, from) in [
        ("repo", inner.layout.repository_dir(id)),
        ("pgbackrest", inner.layout.pgbackrest_dir(id)),
    ] {
        if from.exists() {
            std::fs::create_dir_all(&kept)?;
            std::fs::rename(&from, kept.join(what))
                .with_context(|| format!("keeping {what} in {}", kept.display()))?;
        }
    }
    if kept.exists() {
        let until = chrono::Duration::from_std(inner.retention)
            .map(|r| chrono::Utc::now() + r)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        std::fs::write(kept.join(RETAIN_UNTIL_FILE), until.to_rfc3339())?;
    }
    tracing::info!(cluster = %spec.name, kept = %kept.display(), "kept the backups of a deleted cluster");
    Ok(())
}

/// Removes kept backups whose retention is over: `<root>/retained/<tenant>/<cluster>-<id>/`
/// with a readable `retain-until` in the past (an unreadable one is kept).
pub(super) fn expire_retained(
    root: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let mut expired = 0;
    let Ok(tenants) = std::fs::read_dir(root.join("retained")) else {
        return Ok(0);
    };
    for tenant in tenants.flatten() {
        for kept in std::fs::read_dir(tenant.path())?.flatten() {
            let until = std::fs::read_to_string(kept.path().join(RETAIN_UNTIL_FILE))
                .ok()
                .and_then(|t| t.trim().parse::<chrono::DateTime<chrono::Utc>>().ok());
            if until.is_some_and(|until| until <= now) {
                std::fs::remove_dir_all(kept.path())
                    .with_context(|| format!("removing {}", kept.path().display()))?;
                tracing::info!(kept = %kept.path().display(), "deleted the backups kept after a cluster's deletion: their time is up");
                expired += 1;
            }
        }
    }
    Ok(expired)
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn kept_backups_go_when_their_time_is_up_and_not_before() {
        let root = tempfile::tempdir().unwrap();
        let kept = |name: &str, until: &str| {
            let dir = root.path().join("retained/acme").join(name);
            std::fs::create_dir_all(dir.join("backups")).unwrap();
            std::fs::write(dir.join(RETAIN_UNTIL_FILE), until).unwrap();
            dir
        };
        let old = kept("old-1", "2026-12-01T00:00:00+00:00");
        let fresh = kept("fresh-2", "2026-12-20T00:00:00+00:00");
        let unreadable = kept("odd-3", "soon");
        let now: chrono::DateTime<chrono::Utc> = "2026-12-10T00:00:00Z".parse().unwrap();
        assert_eq!(expire_retained(root.path(), now).unwrap(), 1);
        assert!(!old.exists());
        assert!(fresh.exists() && unreadable.exists());
        assert_eq!(
            expire_retained(&root.path().join("nothing"), now).unwrap(),
            0
        );
    }
}
