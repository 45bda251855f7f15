//! How to connect to a cluster, as the status sync recorded it from the platform: endpoints,
//! CA, the owner's (or another role's) user and database, and its password when revealed.

use super::{TenantAccess, spec_of};
use crate::app::AppState;
use crate::domain::cluster::{ClusterSpec, ConnectionFacts, DatabaseUser};
use crate::problem::{ApiError, ApiResult};
use crate::secrets;
use crate::store::{self, clusters::ClusterRow};

/// The connection details of one role.
pub struct Connection {
    pub user: String,
    pub database: String,
    /// Endpoints and CA.
    pub facts: ConnectionFacts,
    /// When revealed.
    pub password: Option<String>,
}

/// The role `name` of the cluster (`None`: its owner); 404 when it has no such role.
pub fn role_of(row: &ClusterRow, name: Option<&str>) -> ApiResult<Option<DatabaseUser>> {
    let spec = spec_of(row)?;
    match name {
        None => Ok(None),
        Some(role) if role == spec.owner => Ok(None),
        Some(role) => spec
            .users
            .into_iter()
            .find(|u| u.name == role)
            .map(Some)
            .ok_or_else(|| ApiError::not_found(format!("role `{role}` of cluster `{}`", row.name))),
    }
}

/// The name of the cluster's owner role.
pub fn owner_of(row: &ClusterRow) -> ApiResult<String> {
    Ok(spec_of(row)?.owner)
}

/// How `role` (`None`: the owner) connects to the cluster, with its password if `reveal`.
pub async fn details(
    state: &AppState,
    access: &TenantAccess,
    row: &ClusterRow,
    role: Option<&DatabaseUser>,
    reveal: bool,
) -> ApiResult<Connection> {
    let name = &row.name;
    let facts: ConnectionFacts =
        serde_json::from_value(row.connection.0.clone()).unwrap_or_default();
    let (Some(owner), Some(owner_database)) = (facts.user.clone(), facts.database.clone()) else {
        return Err(ApiError::conflict(format!(
            "connection details of `{name}` are not known yet (phase {}); try again when it is ready",
            row.phase
        ))
        .with_retry_after(10));
    };
    let (user, database) = match role {
        None => (owner, owner_database),
        Some(role) => (
            role.name.clone(),
            role.databases.first().cloned().unwrap_or(owner_database),
        ),
    };
    let password = if reveal {
        password(state, access, row, role).await?
    } else {
        None
    };
    Ok(Connection {
        user,
        database,
        facts,
        password,
    })
}

/// The password of `role` (`None`: the owner); 409 while a role's is not known yet.
async fn password(
    state: &AppState,
    access: &TenantAccess,
    row: &ClusterRow,
    role: Option<&DatabaseUser>,
) -> ApiResult<Option<String>> {
    let tenant_id = access.tenant.id;
    let holder = password_holder(state, tenant_id, &spec_of(row)?, row).await?;
    let Some(role) = role else {
        let stored = store::clusters::password(&state.db, tenant_id, holder).await?;
        return stored
            .map(|s| open(state, s, &secrets::owner_password_context(holder)))
            .transpose();
    };
    let stored = store::clusters::role_password(&state.db, tenant_id, holder, &role.name).await?;
    let context = secrets::role_password_context(holder, &role.name);
    let password = stored.map(|s| open(state, s, &context)).transpose()?;
    if password.is_none() {
        return Err(ApiError::conflict(format!(
            "the password of role `{}` of `{}` is not known yet (the operator creates the role and its Secret); try again shortly",
            role.name, row.name
        ))
        .with_retry_after(10));
    }
    Ok(password)
}

/// A stored password, opened. One that does not open means the keys are misconfigured (a
/// key missing from a replica): the operator's problem, told as 503, never the tenant's.
fn open(state: &AppState, stored: String, context: &str) -> ApiResult<String> {
    secrets::open_stored(&state.secrets, stored, context).map_err(|error| {
        tracing::error!(%error, context, "a stored secret does not open");
        ApiError::unavailable("the password cannot be read right now (the service's secrets key is misconfigured); retry later or ask the platform team")
    })
}

/// The cluster whose owner password logs in to `cluster`: a standby replays its source's roles
/// with their passwords, and PGO sets the standby's own only when it is promoted; a standby
/// whose source is gone has only its own.
async fn password_holder(
    state: &AppState,
    tenant_id: uuid::Uuid,
    spec: &ClusterSpec,
    cluster: &ClusterRow,
) -> ApiResult<uuid::Uuid> {
    let Some(standby) = &spec.standby else {
        return Ok(cluster.id);
    };
    let source = store::clusters::find(&state.db, tenant_id, &standby.source).await?;
    Ok(source.map_or(cluster.id, |s| s.id))
}
