//! The desired state of one cluster as the platform drivers take it ([`ClusterTarget`]): the
//! cluster's row plus its tenant and quota (and, for a standby, where its source runs). The job
//! workers and the API's live reads (backups, extensions) build it the same way.

use sqlx::PgPool;

use super::StoreResult;
use super::clusters::ClusterRow;
use crate::domain::cluster::ClusterSpec;
use crate::domain::cluster::{ClusterTarget, TenantTarget};

/// The target for `row`, whose stored spec the caller has already read as `spec`.
pub async fn cluster_target(
    db: &PgPool,
    row: &ClusterRow,
    spec: ClusterSpec,
) -> StoreResult<ClusterTarget> {
    let tenant = super::tenants::get(db, row.tenant_id).await?;
    let (quota, _) = super::quotas::get(db, row.tenant_id).await?;
    let former_ids = super::tenants::former_ids(db, &tenant.name).await?;
    let source_site = match &spec.standby {
        Some(standby) => super::clusters::find(db, row.tenant_id, &standby.source)
            .await?
            .map(|source| source.site()),
        None => None,
    };
    Ok(ClusterTarget {
        tenant: TenantTarget {
            tenant_id: tenant.id,
            tenant_name: tenant.name,
            quota,
            former_ids,
        },
        cluster_id: row.id,
        generation: row.generation,
        spec,
        image: row.postgres_image.clone(),
        tenant_certificates: row.tenant_certificates,
        site: row.site(),
        source_site,
    })
}
