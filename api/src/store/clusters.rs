//! Clusters: the desired spec (with its generation) written by the API, and what the status
//! sync observed. Every finder on a request path takes the tenant id.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{Page, StoreResult};
use crate::domain::cluster::Phase;
use crate::domain::quota::ResourceUsage;
use crate::secrets::Sealed;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClusterRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub spec: Json<serde_json::Value>,
    pub generation: i64,
    pub observed_generation: Option<i64>,
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    pub status: Json<serde_json::Value>,
    pub connection: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The approved image the cluster is pinned to; `None`: the operator's default.
    pub postgres_image: Option<String>,
    /// Runs with certificates from its tenant's CA (a standby or the source of one).
    pub tenant_certificates: bool,
    /// Where it runs (a [`crate::domain::cluster::Site`] name), chosen at creation.
    pub site: String,
}

impl ClusterRow {
    /// The site the cluster runs on (the check constraint admits no other names).
    pub fn site(&self) -> crate::domain::cluster::Site {
        crate::domain::cluster::Site::parse(&self.site).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, tenant_id, name, spec, generation, observed_generation, phase, status, \
                       connection, created_at, updated_at, postgres_image, tenant_certificates, site";

/// Inserts a new cluster at generation 1.
pub async fn insert(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    spec: &serde_json::Value,
    usage: ResourceUsage,
    postgres_image: Option<&str>,
    site: crate::domain::cluster::Site,
) -> StoreResult<ClusterRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into clusters (id, tenant_id, name, spec, instances, cpu_millis, memory_mib, storage_gib,
                               postgres_image, site)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(tenant_id)
    .bind(name)
    .bind(Json(spec))
    .bind(usage.instances as i32)
    .bind(usage.cpu_millis)
    .bind(usage.memory_mib)
    .bind(usage.storage_gib)
    .bind(postgres_image)
    .bind(site.as_str())
    .fetch_one(tx)
    .await?)
}

pub async fn find(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    name: &str,
) -> StoreResult<Option<ClusterRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from clusters where tenant_id = $1 and name = $2"
    )))
    .bind(tenant_id)
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// The names of the tenant's standby clusters that follow `source`.
pub async fn standbys_of(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    source: &str,
) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select name from clusters where tenant_id = $1 and spec->'standby'->>'source' = $2
         order by name",
    )
    .bind(tenant_id)
    .bind(source)
    .fetch_all(db)
    .await?)
}

/// Locks the cluster row for a change in the caller's transaction.
pub async fn lock(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    name: &str,
) -> StoreResult<Option<ClusterRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from clusters where tenant_id = $1 and name = $2 for update"
    )))
    .bind(tenant_id)
    .bind(name)
    .fetch_optional(db)
    .await?)
}

/// For workers and the sync: a cluster by id (no tenant on these paths; ids come from our rows).
pub async fn get(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<Option<ClusterRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from clusters where id = $1"
    )))
    .bind(cluster_id)
    .fetch_optional(db)
    .await?)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Page<ClusterRow>> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from clusters where tenant_id = $1 and ($2::uuid is null or id > $2)
         order by id limit $3"
    )))
    .bind(tenant_id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Replaces the desired spec and bumps the generation.
pub async fn update_spec(
    tx: &mut PgConnection,
    cluster_id: Uuid,
    spec: &serde_json::Value,
    usage: ResourceUsage,
) -> StoreResult<ClusterRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update clusters set spec = $2, instances = $3, cpu_millis = $4, memory_mib = $5, storage_gib = $6,
                generation = generation + 1, updated_at = now()
         where id = $1 returning {COLUMNS}"
    )))
    .bind(cluster_id)
    .bind(Json(spec))
    .bind(usage.instances as i32)
    .bind(usage.cpu_millis)
    .bind(usage.memory_mib)
    .bind(usage.storage_gib)
    .fetch_one(tx)
    .await?)
}

/// Puts back the spec an update replaced, if that update (which made `generation`) is still
/// the cluster's latest change and never reached the platform: a cancelled update, or one the
/// platform refused before applying it. `false` when a later update builds on it (its spec
/// includes this change, so putting the older spec back would lose that one).
pub async fn restore_spec(
    tx: &mut PgConnection,
    cluster_id: Uuid,
    generation: i64,
    spec: &serde_json::Value,
    usage: ResourceUsage,
) -> StoreResult<bool> {
    let restored = sqlx::query(
        "update clusters set spec = $2, instances = $3, cpu_millis = $4, memory_mib = $5, storage_gib = $6,
                generation = generation - 1, updated_at = now()
         where id = $1 and generation = $7",
    )
    .bind(cluster_id)
    .bind(Json(spec))
    .bind(usage.instances as i32)
    .bind(usage.cpu_millis)
    .bind(usage.memory_mib)
    .bind(usage.storage_gib)
    .bind(generation)
    .execute(tx)
    .await?;
    Ok(restored.rows_affected() == 1)
}

pub async fn set_phase(db: impl PgExecutor<'_>, cluster_id: Uuid, phase: Phase) -> StoreResult<()> {
    sqlx::query("update clusters set phase = $2, updated_at = now() where id = $1")
        .bind(cluster_id)
        .bind(phase.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// What the sync observed. `observed_generation` only moves forward.
pub struct Observation<'a> {
    pub phase: Phase,
    pub observed_generation: Option<i64>,
    pub status: serde_json::Value,
    pub connection: serde_json::Value,
    pub password: Option<&'a Sealed>,
    /// Merged into what is known: a role missing from one observation keeps its password.
    pub role_passwords: &'a std::collections::BTreeMap<String, Sealed>,
}

/// A role → sealed password map as the `role_passwords` column holds it.
fn sealed_map(
    passwords: &std::collections::BTreeMap<String, Sealed>,
) -> std::collections::BTreeMap<&str, &str> {
    passwords
        .iter()
        .map(|(role, sealed)| (role.as_str(), sealed.as_str()))
        .collect()
}

pub async fn record_observation(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    seen: &Observation<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "update clusters set phase = case when phase = 'deleting' then phase else $2 end,
                observed_generation = greatest(observed_generation, $3),
                status = $4, connection = $5, connection_password = coalesce($6, connection_password),
                role_passwords = role_passwords || $7, updated_at = now()
         where id = $1",
    )
    .bind(cluster_id)
    .bind(seen.phase.as_str())
    .bind(seen.observed_generation)
    .bind(Json(&seen.status))
    .bind(Json(&seen.connection))
    .bind(seen.password.map(Sealed::as_str))
    .bind(Json(sealed_map(seen.role_passwords)))
    .execute(db)
    .await?;
    Ok(())
}

/// Records a new password of the cluster's owner (after a rotation).
pub async fn set_password(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    password: &Sealed,
) -> StoreResult<()> {
    sqlx::query("update clusters set connection_password = $2, updated_at = now() where id = $1")
        .bind(cluster_id)
        .bind(password.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// Records new passwords of the cluster's other roles (after a rotation), keeping the rest.
pub async fn set_role_passwords(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    passwords: &std::collections::BTreeMap<String, Sealed>,
) -> StoreResult<()> {
    sqlx::query(
        "update clusters set role_passwords = role_passwords || $2, updated_at = now() where id = $1",
    )
    .bind(cluster_id)
    .bind(Json(sealed_map(passwords)))
    .execute(db)
    .await?;
    Ok(())
}

/// Pins the cluster to `image` (`None`: the operator's default); recorded when a create is
/// queued and when an upgrade finished, since the platform then already runs it.
pub async fn set_postgres_image(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    image: Option<&str>,
) -> StoreResult<()> {
    sqlx::query("update clusters set postgres_image = $2, updated_at = now() where id = $1")
        .bind(cluster_id)
        .bind(image)
        .execute(db)
        .await?;
    Ok(())
}

/// Records the PostgreSQL major version a finished upgrade moved the cluster to. The platform
/// already runs it, so the generation stays: there is nothing new to apply.
pub async fn set_postgres_version(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    version: u32,
) -> StoreResult<()> {
    sqlx::query(
        "update clusters set spec = jsonb_set(spec, '{postgres_version}', to_jsonb($2::int)),
                updated_at = now()
         where id = $1",
    )
    .bind(cluster_id)
    .bind(version as i32)
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the cluster run with certificates from its tenant's CA (from its next apply).
pub async fn use_tenant_certificates(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<()> {
    sqlx::query("update clusters set tenant_certificates = true, updated_at = now() where id = $1")
        .bind(cluster_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Records that a promoted standby no longer follows its source. The promotion already
/// applied the spec without it, so the generation stays.
pub async fn clear_standby(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<()> {
    sqlx::query(
        "update clusters set spec = jsonb_set(spec, '{standby}', 'null'::jsonb), updated_at = now()
         where id = $1",
    )
    .bind(cluster_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The stored password of the cluster's owner, for `?reveal=true`: sealed, or plaintext
/// written before encryption (sealed at the next start).
pub async fn password(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "select connection_password from clusters where tenant_id = $1 and id = $2",
    )
    .bind(tenant_id)
    .bind(cluster_id)
    .fetch_optional(db)
    .await?
    .flatten())
}

/// The password of the cluster's role `role` (not the owner), if the sync has read it; as
/// [`password`] stores it.
pub async fn role_password(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    cluster_id: Uuid,
    role: &str,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "select role_passwords ->> $3 from clusters where tenant_id = $1 and id = $2",
    )
    .bind(tenant_id)
    .bind(cluster_id)
    .bind(role)
    .fetch_optional(db)
    .await?
    .flatten())
}

pub async fn delete(db: impl PgExecutor<'_>, cluster_id: Uuid) -> StoreResult<()> {
    sqlx::query("delete from clusters where id = $1")
        .bind(cluster_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The query of [`find_with_member_role`]: $1 tenant name, $2 user id, $3 cluster name (public
/// so the read benchmark runs exactly this under pgbench).
pub const FIND_WITH_MEMBER_ROLE_SQL: &str =
    "select t.id, t.name, t.display_name, t.suspended, t.created_at, t.updated_at, m.role,
        c.id as c_id, c.spec as c_spec, c.generation as c_generation,
        c.observed_generation as c_observed_generation, c.phase as c_phase,
        c.status as c_status, c.connection as c_connection,
        c.created_at as c_created_at, c.updated_at as c_updated_at,
        c.postgres_image as c_postgres_image, c.tenant_certificates as c_tenant_certificates,
        c.site as c_site
 from tenants t
 left join memberships m on m.tenant_id = t.id and m.user_id = $2
 left join clusters c on c.tenant_id = t.id and c.name = $3 and m.role is not null
 where t.name = $1";

/// The tenant named `tenant`, the member role of `user_id` in it, and (for a member) its
/// cluster named `cluster`: the whole lookup of a person's cluster read in one round trip.
pub async fn find_with_member_role(
    db: impl PgExecutor<'_>,
    tenant: &str,
    user_id: Uuid,
    cluster: &str,
) -> StoreResult<Option<(super::tenants::TenantWithRole, Option<ClusterRow>)>> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[sqlx(flatten)]
        tenant: super::tenants::TenantWithRole,
        c_id: Option<Uuid>,
        c_spec: Option<Json<serde_json::Value>>,
        c_generation: Option<i64>,
        c_observed_generation: Option<i64>,
        c_phase: Option<String>,
        c_status: Option<Json<serde_json::Value>>,
        c_connection: Option<Json<serde_json::Value>>,
        c_created_at: Option<DateTime<Utc>>,
        c_updated_at: Option<DateTime<Utc>>,
        c_postgres_image: Option<String>,
        c_tenant_certificates: Option<bool>,
        c_site: Option<String>,
    }
    let found: Option<Found> = sqlx::query_as(FIND_WITH_MEMBER_ROLE_SQL)
        .bind(tenant)
        .bind(user_id)
        .bind(cluster)
        .fetch_optional(db)
        .await?;
    Ok(found.map(|f| {
        let row = match (
            f.c_id,
            f.c_spec,
            f.c_generation,
            f.c_phase.as_deref().and_then(Phase::parse),
            f.c_status,
            f.c_connection,
            f.c_created_at,
            f.c_updated_at,
        ) {
            (
                Some(id),
                Some(spec),
                Some(generation),
                Some(phase),
                Some(status),
                Some(connection),
                Some(created_at),
                Some(updated_at),
            ) => Some(ClusterRow {
                id,
                tenant_id: f.tenant.tenant.id,
                name: cluster.to_string(),
                spec,
                generation,
                observed_generation: f.c_observed_generation,
                phase,
                status,
                connection,
                created_at,
                updated_at,
                postgres_image: f.c_postgres_image,
                tenant_certificates: f.c_tenant_certificates.unwrap_or(false),
                site: f.c_site.unwrap_or_default(),
            }),
            _ => None,
        };
        (f.tenant, row)
    }))
}
