//! Backup health as Prometheus series, one per cluster with backups enabled: the same figures
//! the API shows (`domain::cluster::backup_health`), computed from the metadata database at each
//! scrape and written straight into the exposition, so a deleted cluster's series disappear
//! with it. These are the only per-cluster series pgplane exposes: an overdue backup must name
//! the cluster it concerns. They name tenants and clusters, so `/metrics` renders them only for
//! a scrape that presents the metrics token (`PGPLANE_METRICS_TOKEN`); anyone else gets the
//! count of overdue clusters, which names nobody.

use std::fmt::Write;

use chrono::Utc;
use sqlx::PgPool;

use super::exposition::{cluster_labels, family};
use crate::domain::cluster::ClusterSpec;
use crate::domain::cluster::backup_health::backup_health;
use crate::store;

/// One cluster's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterBackupHealth {
    pub tenant: String,
    pub cluster: String,
    pub overdue: bool,
    pub last_success: Option<f64>,
    pub window_start: Option<f64>,
}

/// Reads and computes every cluster's backup health (`None`: the sample failed or timed out).
pub async fn sample(db: &PgPool) -> Option<Vec<ClusterBackupHealth>> {
    let rows =
        super::bounded_sample("backup health", store::observability::backup_facts(db)).await?;
    let now = Utc::now();
    let seconds = |t: chrono::DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    Some(
        rows.into_iter()
            .filter_map(|row| {
                let spec: ClusterSpec = serde_json::from_value(row.spec.0).ok()?;
                let health =
                    backup_health(&spec, row.created_at, row.last_success, &row.fulls, now);
                Some(ClusterBackupHealth {
                    tenant: row.tenant,
                    cluster: row.cluster,
                    overdue: health.overdue,
                    last_success: health.last_successful_backup_at.map(seconds),
                    window_start: health.recoverable_window.map(|w| seconds(w.earliest)),
                })
            })
            .collect(),
    )
}

/// The series in the Prometheus text format (appended to the recorder's rendering); the
/// per-cluster ones only when `named` (the scrape presented the metrics token).
pub fn render(clusters: &[ClusterBackupHealth], named: bool) -> String {
    let mut out = String::new();
    let overdue = clusters.iter().filter(|c| c.overdue).count();
    family(
        &mut out,
        "pgplane_clusters_backup_overdue",
        "Clusters whose last successful backup is older than their schedules allow",
    );
    let _ = writeln!(out, "pgplane_clusters_backup_overdue {overdue}");
    if !named {
        return out;
    }
    family(
        &mut out,
        "pgplane_cluster_backup_overdue",
        "1 when the cluster's last successful backup is older than its schedules allow (plus an hour)",
    );
    for c in clusters {
        let _ = writeln!(
            out,
            "pgplane_cluster_backup_overdue{{{}}} {}",
            labels(c),
            u8::from(c.overdue)
        );
    }
    family(
        &mut out,
        "pgplane_cluster_last_successful_backup_timestamp_seconds",
        "When the cluster's newest successful backup finished (absent: none yet)",
    );
    for c in clusters {
        if let Some(at) = c.last_success {
            let _ = writeln!(
                out,
                "pgplane_cluster_last_successful_backup_timestamp_seconds{{{}}} {at}",
                labels(c)
            );
        }
    }
    family(
        &mut out,
        "pgplane_cluster_recoverable_window_start_timestamp_seconds",
        "The earliest time a point-in-time restore can reach; the window ends now (absent: no full backup yet)",
    );
    for c in clusters {
        if let Some(at) = c.window_start {
            let _ = writeln!(
                out,
                "pgplane_cluster_recoverable_window_start_timestamp_seconds{{{}}} {at}",
                labels(c)
            );
        }
    }
    out
}

fn labels(c: &ClusterBackupHealth) -> String {
    cluster_labels(&c.tenant, &c.cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(cluster: &str, overdue: bool, last: Option<f64>) -> ClusterBackupHealth {
        ClusterBackupHealth {
            tenant: "acme".into(),
            cluster: cluster.into(),
            overdue,
            last_success: last,
            window_start: last.map(|t| t - 60.0),
        }
    }

    #[test]
    fn each_cluster_gets_its_series_and_the_overdue_ones_are_counted() {
        let text = render(
            &[
                health("orders", false, Some(1.5e9)),
                health("billing", true, None),
            ],
            true,
        );
        assert!(
            text.contains("pgplane_clusters_backup_overdue 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "pgplane_cluster_backup_overdue{tenant=\"acme\",cluster=\"billing\"} 1\n"
            )
        );
        assert!(
            text.contains("pgplane_cluster_backup_overdue{tenant=\"acme\",cluster=\"orders\"} 0\n")
        );
        assert!(text.contains(
            "pgplane_cluster_last_successful_backup_timestamp_seconds{tenant=\"acme\",cluster=\"orders\"} 1500000000\n"
        ));
        assert!(!text.contains(
            "last_successful_backup_timestamp_seconds{tenant=\"acme\",cluster=\"billing\"}"
        ));
        assert!(
            text.contains(
                "# TYPE pgplane_cluster_recoverable_window_start_timestamp_seconds gauge"
            )
        );
    }

    #[test]
    fn without_the_metrics_token_only_the_count_is_rendered_naming_nobody() {
        let text = render(&[health("billing", true, Some(1.5e9))], false);
        assert!(
            text.contains("pgplane_clusters_backup_overdue 1\n"),
            "{text}"
        );
        assert!(
            !text.contains("acme") && !text.contains("billing"),
            "{text}"
        );
        assert!(!text.contains("pgplane_cluster_"), "{text}");
    }
}
