//! Names PGO derives from a cluster name, and the length limits they impose on it.
//!
//! PGO names its objects after the `PostgresCluster` (see PGO `internal/naming/names.go`):
//! instance StatefulSets `<cluster>-<set>-<4 random>`, Services `<cluster>-primary`,
//! `-replicas`, `-pods`, `-pgbouncer`, user Secrets `<cluster>-pguser-<user>`, backup CronJobs
//! `<cluster>-<repo>-{full,diff,incr}`, the repository host `<cluster>-repo-host`. The tightest
//! limit is the instance StatefulSet: its Pods carry a `controller-revision-hash` label of the
//! StatefulSet name plus 11 characters, and label values stop at 63, so PGO requires
//! `len(cluster) + len(set) <= 46`. pgplane always names its one instance set
//! [`INSTANCE_SET_NAME`], which fixes [`MAX_CLUSTER_NAME_LEN`].

/// The name of the single instance set pgplane creates in every cluster.
pub const INSTANCE_SET_NAME: &str = "instance1";

/// The name of the single pgBackRest repository (a PersistentVolumeClaim) pgplane configures.
pub const BACKUP_REPO_NAME: &str = "repo1";

/// The role pgplane's insights collector logs in as in every cluster: a member of `pg_monitor`
/// (statistics and catalogs, never a tenant's rows). Its password is kept sealed among the
/// cluster's role passwords; tenants cannot name a role so.
pub const INSIGHTS_ROLE: &str = "pgplane-monitor";

/// PGO's limit on `len(cluster name) + len(instance set name)` (PGO `PostgresInstanceSetSpec`).
pub const PGO_CLUSTER_PLUS_SET_MAX: usize = 46;

/// Longest cluster name: 46 − len("instance1") = 37 characters.
pub const MAX_CLUSTER_NAME_LEN: usize = PGO_CLUSTER_PLUS_SET_MAX - INSTANCE_SET_NAME.len();

/// StatefulSet and CronJob names are limited to 52 characters (Pod label / Job name suffixes).
const MAX_WORKLOAD_NAME: usize = 52;
/// Service names and Pod hostnames are DNS-1035 labels.
const MAX_DNS_LABEL: usize = 63;
/// Secret names are DNS-1123 subdomains.
pub const MAX_SECRET_NAME_LEN: usize = 253;

/// The Secret in which PGO publishes `user`'s password and connection URIs.
pub fn user_secret_name(cluster: &str, user: &str) -> String {
    format!("{cluster}-pguser-{user}")
}

/// The read-write Service (the Patroni leader).
pub fn primary_service_name(cluster: &str) -> String {
    format!("{cluster}-primary")
}

/// The read-only Service over the replicas.
pub fn replica_service_name(cluster: &str) -> String {
    format!("{cluster}-replicas")
}

/// The PgBouncer Service, present when the pooler is enabled.
pub fn pgbouncer_service_name(cluster: &str) -> String {
    format!("{cluster}-pgbouncer")
}

/// The Secret with the cluster's server certificate from its tenant's CA (PGO
/// `customTLSSecret`: `tls.crt`, `tls.key`, `ca.crt`).
pub fn server_certificate_secret_name(cluster: &str) -> String {
    format!("{cluster}-tls")
}

/// The Secret with the cluster's replication client certificate (CN `_crunchyrepl`) from its
/// tenant's CA (PGO `customReplicationTLSSecret`).
pub fn replication_certificate_secret_name(cluster: &str) -> String {
    format!("{cluster}-replication-tls")
}

/// The address a streaming standby follows: the source's primary Service.
pub fn primary_service_host(cluster: &str, namespace: &str) -> String {
    format!("{}.{namespace}.svc", primary_service_name(cluster))
}

/// One object name PGO derives from a cluster name, with the longest it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DerivedName {
    pub kind: &'static str,
    pub name: String,
    pub max: usize,
}

/// Every name PGO derives from `cluster` (and its `users`), longest-possible form.
pub(super) fn derived_names<'a>(
    cluster: &str,
    users: impl IntoIterator<Item = &'a str>,
) -> Vec<DerivedName> {
    let set = INSTANCE_SET_NAME;
    let repo = BACKUP_REPO_NAME;
    let mut names = vec![
        (
            "instance StatefulSet",
            format!("{cluster}-{set}-xxxx"),
            MAX_WORKLOAD_NAME,
        ),
        (
            "instance Pod hostname",
            format!("{cluster}-{set}-xxxx-0"),
            MAX_DNS_LABEL,
        ),
        (
            "repository host StatefulSet",
            format!("{cluster}-repo-host"),
            MAX_WORKLOAD_NAME,
        ),
        (
            "backup CronJob",
            format!("{cluster}-{repo}-full"),
            MAX_WORKLOAD_NAME,
        ),
        (
            "backup CronJob",
            format!("{cluster}-{repo}-diff"),
            MAX_WORKLOAD_NAME,
        ),
        (
            "backup CronJob",
            format!("{cluster}-{repo}-incr"),
            MAX_WORKLOAD_NAME,
        ),
        ("Service", primary_service_name(cluster), MAX_DNS_LABEL),
        ("Service", replica_service_name(cluster), MAX_DNS_LABEL),
        ("Service", pgbouncer_service_name(cluster), MAX_DNS_LABEL),
        ("Service", format!("{cluster}-pods"), MAX_DNS_LABEL),
        (
            "Patroni Endpoints",
            format!("{cluster}-ha-failover"),
            MAX_DNS_LABEL,
        ),
    ];
    for user in users {
        names.push((
            "user Secret",
            user_secret_name(cluster, user),
            MAX_SECRET_NAME_LEN,
        ));
    }
    names
        .into_iter()
        .map(|(kind, name, max)| DerivedName { kind, name, max })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_limit_follows_from_the_instance_set_name() {
        assert_eq!(MAX_CLUSTER_NAME_LEN, 37);
    }

    #[test]
    fn every_derived_name_fits_at_the_longest_cluster_name() {
        let cluster = "a".repeat(MAX_CLUSTER_NAME_LEN);
        let user = "u".repeat(63);
        for derived in derived_names(&cluster, [user.as_str()]) {
            assert!(derived.name.len() <= derived.max, "{derived:?}");
        }
    }

    #[test]
    fn one_more_character_breaks_the_instance_statefulset_limit() {
        let cluster = "a".repeat(MAX_CLUSTER_NAME_LEN + 1);
        let over: Vec<_> = derived_names(&cluster, [])
            .into_iter()
            .filter(|d| d.name.len() > d.max)
            .map(|d| d.kind)
            .collect();
        assert_eq!(over, ["instance StatefulSet"]);
    }

    #[test]
    fn user_secrets_follow_pgo_naming() {
        assert_eq!(user_secret_name("orders", "app"), "orders-pguser-app");
        assert_eq!(pgbouncer_service_name("orders"), "orders-pgbouncer");
    }
}
