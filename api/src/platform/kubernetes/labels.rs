//! The names pgplane writes on Kubernetes objects and the names PGO writes that the driver
//! reads: labels, annotations, the field manager, and the tenant namespace name.
//!
//! The pgplane labels must stay equal to the ones `domain::cluster::desired_postgrescluster`
//! writes (it owns the manifest; this module owns everything else the driver labels).

use sha2::{Digest, Sha256};

use crate::domain::names::DNS_LABEL_MAX;

/// Field manager of every server-side apply the driver sends.
pub const FIELD_MANAGER: &str = "pgplane";

/// `app.kubernetes.io/managed-by`: on every object pgplane owns.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "pgplane";
/// The tenant's UUID.
pub const TENANT_ID: &str = "pgplane.io/tenant-id";
/// The tenant's name (a DNS label, so a valid label value).
pub const TENANT_NAME: &str = "pgplane.io/tenant";
/// The cluster's UUID (set by the domain manifest).
pub const CLUSTER_ID: &str = "pgplane.io/cluster-id";
/// pgplane's generation of the desired state an applied `PostgresCluster` carries.
pub const GENERATION_ANNOTATION: &str = "pgplane.io/generation";

/// The label selector of everything pgplane manages.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY}={MANAGED_BY_VALUE}")
}

/// PGO: the cluster an object belongs to.
pub const PGO_CLUSTER: &str = "postgres-operator.crunchydata.com/cluster";
/// PGO: the instance (StatefulSet) a Pod belongs to.
pub const PGO_INSTANCE: &str = "postgres-operator.crunchydata.com/instance";
/// PGO: the role of an object (`pguser` Secrets, `replica` Service, ...).
pub const PGO_ROLE: &str = "postgres-operator.crunchydata.com/role";
/// PGO: marks the cluster certificate Secret.
pub const PGO_CLUSTER_CERTIFICATE: &str = "postgres-operator.crunchydata.com/cluster-certificate";
/// PGO: the `role` value of user Secrets.
pub const PGO_ROLE_PGUSER: &str = "pguser";
/// PGO: the `role` value of the replica Service.
pub const PGO_ROLE_REPLICA: &str = "replica";

/// The label every namespace gets from the apiserver, naming itself.
pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// Hex digits of the name hash appended when a namespace name has to be shortened.
const HASH_LEN: usize = 8;

/// The namespace of tenant `tenant_name`: `<prefix><tenant_name>`.
///
/// Tenant names are DNS-1123 labels of up to 63 characters, so with a prefix the result may be
/// too long for a namespace (also a DNS label). Then the tenant name is cut and the first
/// 8 (`HASH_LEN`) hex digits of SHA-256(tenant name) are appended after a `-`, which keeps the
/// name deterministic (tenant names are immutable) and distinct for names sharing a prefix.
/// Characters a namespace cannot hold (only possible through the prefix) are replaced by `-`.
pub fn tenant_namespace(prefix: &str, tenant_name: &str) -> String {
    let full = sanitize(&format!("{prefix}{tenant_name}"));
    if full.len() <= DNS_LABEL_MAX {
        return full;
    }
    let hash = hex::encode(Sha256::digest(tenant_name.as_bytes()));
    let keep = DNS_LABEL_MAX - HASH_LEN - 1;
    let head = full[..keep].trim_end_matches('-');
    format!("{head}-{}", &hash[..HASH_LEN])
}

fn sanitize(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::dns1123_label_error;

    #[test]
    fn a_tenant_namespace_is_the_prefix_and_the_tenant_name() {
        assert_eq!(tenant_namespace("pgplane-", "acme"), "pgplane-acme");
        assert_eq!(tenant_namespace("", "acme"), "acme");
    }

    #[test]
    fn a_long_tenant_name_is_cut_and_hashed_into_a_valid_namespace() {
        let long = "a".repeat(63);
        let ns = tenant_namespace("pgplane-", &long);
        assert_eq!(ns.len(), 63);
        assert!(dns1123_label_error(&ns).is_none(), "{ns}");
        let other = tenant_namespace("pgplane-", &format!("{}b", "a".repeat(62)));
        assert_ne!(ns, other, "names sharing a prefix stay distinct");
        assert_eq!(ns, tenant_namespace("pgplane-", &long), "deterministic");
    }

    #[test]
    fn a_prefix_with_characters_a_namespace_cannot_hold_is_sanitized() {
        assert_eq!(tenant_namespace("PG_Plane.", "acme"), "pg-plane-acme");
    }
}
