//! The desired state a platform driver makes real: one tenant's space, one cluster.

use uuid::Uuid;

use super::{ClusterSpec, QuotaLimits, Site};

/// A tenant as the platform needs it: where its clusters live and what they may use.
#[derive(Debug, Clone)]
pub struct TenantTarget {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub quota: QuotaLimits,
    /// Ids of deleted tenants that had this name: what the platform kept for them (a
    /// namespace labelled with their id) belongs to this tenant now.
    pub former_ids: Vec<Uuid>,
}

/// The desired state of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterTarget {
    pub tenant: TenantTarget,
    pub cluster_id: Uuid,
    /// pgplane's generation of the desired state; drivers record it on what they apply so the
    /// sync can tell which desired state the platform has observed.
    pub generation: i64,
    pub spec: ClusterSpec,
    /// The approved PostgreSQL image to run (`spec.image`); `None`: the operator's default.
    pub image: Option<String>,
    /// Run with server and replication certificates from the tenant's own CA, as a streaming
    /// standby and its source must (the standby authenticates with a certificate the source
    /// trusts).
    pub tenant_certificates: bool,
    /// Where the cluster runs.
    pub site: Site,
    /// For a standby, where the cluster it follows runs (`None` if that cluster is gone).
    pub source_site: Option<Site>,
}
