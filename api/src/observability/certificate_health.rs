//! Cluster certificates as Prometheus series: when each cluster's server certificate expires
//! and whether its renewal is failing, from the connection facts the status sync recorded.
//! Like backup health they name tenants and clusters, so only a scrape presenting the metrics
//! token sees them; anyone else gets the count of clusters whose renewal fails.

use std::fmt::Write;

use sqlx::PgPool;

use super::exposition::{cluster_labels, family};
use crate::domain::cluster::CertificateFacts;
use crate::store;

/// One cluster's certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterCertificate {
    pub tenant: String,
    pub cluster: String,
    pub expires_at: f64,
    pub renewal_failing: bool,
}

/// Reads every cluster's certificate facts (`None`: the sample failed or timed out).
pub async fn sample(db: &PgPool) -> Option<Vec<ClusterCertificate>> {
    let rows =
        super::bounded_sample("certificates", store::observability::certificate_facts(db)).await?;
    Some(
        rows.into_iter()
            .filter_map(|row| {
                let facts: CertificateFacts = serde_json::from_value(row.certificate.0).ok()?;
                Some(ClusterCertificate {
                    tenant: row.tenant,
                    cluster: row.cluster,
                    expires_at: facts.expires_at.timestamp() as f64,
                    renewal_failing: facts.renewal_error.is_some(),
                })
            })
            .collect(),
    )
}

/// The series in the text format; the per-cluster ones only when `named`.
pub fn render(clusters: &[ClusterCertificate], named: bool) -> String {
    let mut out = String::new();
    let failing = clusters.iter().filter(|c| c.renewal_failing).count();
    family(
        &mut out,
        "pgplane_clusters_certificate_renewal_failing",
        "Clusters whose server certificate is due for renewal and could not be renewed",
    );
    let _ = writeln!(
        out,
        "pgplane_clusters_certificate_renewal_failing {failing}"
    );
    if !named {
        return out;
    }
    family(
        &mut out,
        "pgplane_cluster_certificate_expiry_timestamp_seconds",
        "When the cluster's server certificate expires",
    );
    for c in clusters {
        let _ = writeln!(
            out,
            "pgplane_cluster_certificate_expiry_timestamp_seconds{{{}}} {}",
            labels(c),
            c.expires_at
        );
    }
    family(
        &mut out,
        "pgplane_cluster_certificate_renewal_failing",
        "1 when the cluster's server certificate is due for renewal and its last renewal failed",
    );
    for c in clusters {
        let _ = writeln!(
            out,
            "pgplane_cluster_certificate_renewal_failing{{{}}} {}",
            labels(c),
            u8::from(c.renewal_failing)
        );
    }
    out
}

fn labels(c: &ClusterCertificate) -> String {
    cluster_labels(&c.tenant, &c.cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(cluster: &str, failing: bool) -> ClusterCertificate {
        ClusterCertificate {
            tenant: "acme".into(),
            cluster: cluster.into(),
            expires_at: 1.8e9,
            renewal_failing: failing,
        }
    }

    #[test]
    fn each_cluster_gets_its_expiry_and_the_failing_renewals_are_counted() {
        let text = render(
            &[certificate("orders", false), certificate("billing", true)],
            true,
        );
        assert!(text.contains("pgplane_clusters_certificate_renewal_failing 1\n"));
        assert!(text.contains(
            "pgplane_cluster_certificate_expiry_timestamp_seconds{tenant=\"acme\",cluster=\"orders\"} 1800000000\n"
        ));
        assert!(text.contains(
            "pgplane_cluster_certificate_renewal_failing{tenant=\"acme\",cluster=\"billing\"} 1\n"
        ));
        assert!(text.contains(
            "pgplane_cluster_certificate_renewal_failing{tenant=\"acme\",cluster=\"orders\"} 0\n"
        ));
    }

    #[test]
    fn without_the_metrics_token_no_cluster_is_named() {
        let text = render(&[certificate("billing", true)], false);
        assert!(text.contains("pgplane_clusters_certificate_renewal_failing 1\n"));
        assert!(
            !text.contains("billing") && !text.contains("acme"),
            "{text}"
        );
    }
}
