//! What the virtual DBA found, as Prometheus series: per cluster, its findings by severity
//! (from its last successful snapshot) and whether its newest snapshot failed. Read from
//! `insight_status`, which the collector writes after each attempt. Like backup health they name
//! tenants and clusters, so only a scrape with the metrics token sees them; anyone else gets
//! totals that name nobody.

use std::fmt::Write;

use sqlx::PgPool;

use super::exposition::{cluster_labels, family};
use crate::store;

/// One cluster's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInsights {
    pub tenant: String,
    pub cluster: String,
    pub critical: i64,
    pub warning: i64,
    pub info: i64,
    pub failing: bool,
}

/// Reads every cluster's figures (`None`: the sample failed or timed out).
pub async fn sample(db: &PgPool) -> Option<Vec<ClusterInsights>> {
    let rows = super::bounded_sample("insights", store::observability::insight_facts(db)).await?;
    Some(
        rows.into_iter()
            .map(|row| ClusterInsights {
                tenant: row.tenant,
                cluster: row.cluster,
                critical: i64::from(row.critical),
                warning: i64::from(row.warning),
                info: i64::from(row.info),
                failing: row.failing,
            })
            .collect(),
    )
}

/// The series in the text format; the per-cluster ones only when `named`.
pub fn render(clusters: &[ClusterInsights], named: bool) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "pgplane_insight_findings",
        "Findings of the virtual DBA over every cluster, by severity",
    );
    let severities = |c: &ClusterInsights| {
        [
            ("critical", c.critical),
            ("warning", c.warning),
            ("info", c.info),
        ]
    };
    for (index, severity) in ["critical", "warning", "info"].into_iter().enumerate() {
        let total: i64 = clusters.iter().map(|c| severities(c)[index].1).sum();
        let _ = writeln!(
            out,
            "pgplane_insight_findings{{severity=\"{severity}\"}} {total}"
        );
    }
    family(
        &mut out,
        "pgplane_clusters_insights_failing",
        "Clusters whose newest insights snapshot failed",
    );
    let failing = clusters.iter().filter(|c| c.failing).count();
    let _ = writeln!(out, "pgplane_clusters_insights_failing {failing}");
    if !named {
        return out;
    }
    family(
        &mut out,
        "pgplane_cluster_insight_findings",
        "The cluster's findings (GET .../insights) by severity",
    );
    for c in clusters {
        for (severity, count) in severities(c) {
            let _ = writeln!(
                out,
                "pgplane_cluster_insight_findings{{{},severity=\"{severity}\"}} {count}",
                labels(c)
            );
        }
    }
    family(
        &mut out,
        "pgplane_cluster_insights_failing",
        "1 when the cluster's newest insights snapshot failed (suspended, unreachable or slow)",
    );
    for c in clusters {
        let _ = writeln!(
            out,
            "pgplane_cluster_insights_failing{{{}}} {}",
            labels(c),
            u8::from(c.failing)
        );
    }
    out
}

fn labels(c: &ClusterInsights) -> String {
    cluster_labels(&c.tenant, &c.cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str, critical: i64, failing: bool) -> ClusterInsights {
        ClusterInsights {
            tenant: "acme".into(),
            cluster: name.into(),
            critical,
            warning: 2,
            info: 0,
            failing,
        }
    }

    #[test]
    fn each_cluster_gets_its_counts_and_the_totals_name_nobody() {
        let clusters = [cluster("orders", 1, false), cluster("billing", 0, true)];
        let text = render(&clusters, true);
        assert!(
            text.contains("pgplane_insight_findings{severity=\"warning\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("pgplane_clusters_insights_failing 1\n"));
        assert!(text.contains(
            "pgplane_cluster_insight_findings{tenant=\"acme\",cluster=\"orders\",severity=\"critical\"} 1\n"
        ));
        assert!(
            text.contains(
                "pgplane_cluster_insights_failing{tenant=\"acme\",cluster=\"billing\"} 1\n"
            )
        );
        let anonymous = render(&clusters, false);
        assert!(
            !anonymous.contains("acme") && !anonymous.contains("orders"),
            "{anonymous}"
        );
        assert!(anonymous.contains("pgplane_insight_findings{severity=\"critical\"} 1\n"));
    }
}
