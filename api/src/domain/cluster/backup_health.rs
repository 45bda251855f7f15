//! Backup health, computed from the backups pgplane saw finish: the last good backup, the
//! window a point-in-time restore can reach, and whether the newest backup is older than the
//! schedule allows (a silent backup failure is the one a DBA must not miss).
//!
//! The window starts at the oldest full backup retention still keeps (`retention_full` newest
//! fulls) and ends now: WAL is archived continuously after it, so any moment in between can be
//! restored. A cluster with no successful full backup has no window.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::cron::longest_gap;
use super::spec::ClusterSpec;

/// Extra time a scheduled backup may take before it counts as missed.
pub const OVERDUE_GRACE: Duration = Duration::hours(1);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecoverableWindow {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BackupHealth {
    /// When the newest successful backup (of any type) finished.
    pub last_successful_backup_at: Option<DateTime<Utc>>,
    /// The times a restore can reach; null until a full backup exists.
    pub recoverable_window: Option<RecoverableWindow>,
    /// True when backups are on and the newest good backup (or the cluster, if it has none) is
    /// older than the longest gap of its schedules plus an hour.
    pub overdue: bool,
    /// The longest gap the schedules allow between two backups, in seconds.
    pub expected_every_seconds: Option<i64>,
}

/// Health from the finish times of successful backups: `any` of every type and `fulls`
/// (newest first).
pub fn backup_health(
    spec: &ClusterSpec,
    created_at: DateTime<Utc>,
    last_success: Option<DateTime<Utc>>,
    fulls: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> BackupHealth {
    let kept = fulls.len().min(spec.backups.retention_full.max(1) as usize);
    let recoverable_window = kept
        .checked_sub(1)
        .and_then(|oldest| fulls.get(oldest))
        .map(|earliest| RecoverableWindow {
            earliest: *earliest,
            latest: now,
        });
    let schedules = &spec.backups.schedules;
    let expected = [
        &schedules.full,
        &schedules.differential,
        &schedules.incremental,
    ]
    .into_iter()
    .flatten()
    .filter_map(|s| longest_gap(s))
    .min()
    .filter(|_| spec.takes_backups());
    let overdue = expected.is_some_and(|gap| {
        let since = last_success.unwrap_or(created_at);
        now - since > gap + OVERDUE_GRACE
    });
    BackupHealth {
        last_successful_backup_at: last_success,
        recoverable_window,
        overdue,
        expected_every_seconds: expected.map(|d| d.num_seconds()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::ClusterRequest;

    fn spec() -> ClusterSpec {
        ClusterSpec::from_request(ClusterRequest {
            name: "orders".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn at(hours_ago: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::hours(hours_ago)
    }

    #[test]
    fn a_daily_backup_from_yesterday_is_on_time_and_one_from_three_days_ago_is_overdue() {
        let now = Utc::now();
        let spec = spec(); // weekly full + incremental Monday to Saturday: 48 h at most
        let fine = backup_health(&spec, at(500, now), Some(at(30, now)), &[at(30, now)], now);
        assert!(!fine.overdue);
        assert_eq!(fine.expected_every_seconds, Some(48 * 3600));
        let late = backup_health(&spec, at(500, now), Some(at(72, now)), &[at(72, now)], now);
        assert!(late.overdue);
    }

    #[test]
    fn a_cluster_that_never_backed_up_is_overdue_once_its_schedule_has_passed() {
        let now = Utc::now();
        assert!(!backup_health(&spec(), at(2, now), None, &[], now).overdue);
        assert!(backup_health(&spec(), at(60, now), None, &[], now).overdue);
    }

    #[test]
    fn the_window_starts_at_the_oldest_retained_full_backup() {
        let now = Utc::now();
        let mut spec = spec();
        spec.backups.retention_full = 2;
        let fulls = [at(24, now), at(200, now), at(400, now)];
        let health = backup_health(&spec, at(500, now), Some(fulls[0]), &fulls, now);
        let window = health.recoverable_window.unwrap();
        assert_eq!(window.earliest, fulls[1]);
        assert_eq!(window.latest, now);
        assert!(
            backup_health(&spec, now, None, &[], now)
                .recoverable_window
                .is_none()
        );
    }

    #[test]
    fn backups_off_are_never_overdue() {
        let now = Utc::now();
        let mut spec = spec();
        spec.backups.enabled = false;
        assert!(!backup_health(&spec, at(5000, now), None, &[], now).overdue);
    }
}
