//! How to connect to a cluster: endpoints, user and database, TLS-only URIs (`verify-full`)
//! and the CA certificate, all as the status sync read them from the platform. The password
//! only with `?reveal=true`, for roles allowed to reveal credentials, and every reveal is audited.
//! `?role=` picks one of the cluster's other PostgreSQL roles (default: the owner): its user,
//! its first database, and its password.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::principal::{Principal, tenant_access};
use crate::app::AppState;
use crate::domain::cluster::ClusterSpec;
use crate::domain::permissions::Action;
use crate::platform::{ConnectionFacts, Endpoint};
use crate::store::{self, audit::NewAuditEvent};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_connection))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    /// Include the password (owners, admins and developers; audited).
    #[serde(default)]
    pub reveal: bool,
    /// A PostgreSQL role of the cluster (see `GET .../users`); default the owner.
    pub role: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointOut {
    pub host: String,
    pub port: u16,
    /// `postgresql://` URI with `sslmode=verify-full`; carries the password only when revealed.
    pub uri: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionOut {
    pub database: String,
    pub user: String,
    /// Read-write endpoint.
    pub primary: Option<EndpointOut>,
    /// Read-only endpoint over the replicas, when the cluster has any.
    pub replicas: Option<EndpointOut>,
    /// PgBouncer endpoint, when the pooler is enabled.
    pub pooler: Option<EndpointOut>,
    /// Always `verify-full`: TLS is required and the server certificate is checked.
    pub sslmode: &'static str,
    /// PEM of the CA that signed the server certificates (save it and pass it as `sslrootcert`).
    pub ca_certificate: Option<String>,
    /// Present only with `?reveal=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn endpoint(
    endpoint: Option<Endpoint>,
    user: &str,
    password: Option<&str>,
    database: &str,
) -> Option<EndpointOut> {
    let Endpoint { host, port } = endpoint?;
    let credentials = match password {
        Some(p) => format!("{}:{}", encode(user), encode(p)),
        None => encode(user),
    };
    let uri = format!(
        "postgresql://{credentials}@{host}:{port}/{}?sslmode=verify-full",
        encode(database)
    );
    Some(EndpointOut { host, port, uri })
}

/// Percent-encodes everything but unreserved URI characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Connection details of a cluster.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/connection", operation_id = "clusters.connection.get", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ConnectionQuery),
    responses((status = 200, body = ConnectionOut),
        (status = 404, description = "No such tenant, cluster, or role of the cluster", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not known yet (the cluster is still being provisioned, or the role is still being created)", body = Problem, content_type = "application/problem+json")))]
async fn get_connection(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ConnectionQuery>,
) -> ApiResult<Json<ConnectionOut>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewClusters).await?;
    let cluster = store::clusters::find(&state.db, access.tenant.id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let spec: ClusterSpec =
        serde_json::from_value(cluster.spec.0.clone()).map_err(ApiError::internal)?;
    let role =
        match query.role.as_deref() {
            None => None,
            Some(role) if role == spec.owner => None,
            Some(role) => Some(spec.users.iter().find(|u| u.name == role).ok_or_else(|| {
                ApiError::not_found(format!("role `{role}` of cluster `{name}`"))
            })?),
        };
    if query.reveal {
        let allowed = access.require(Action::RevealCredentials);
        audit_reveal(
            &state,
            &principal,
            &access.tenant,
            &name,
            role.map_or(spec.owner.as_str(), |r| r.name.as_str()),
            &headers,
            allowed.is_ok(),
        )
        .await;
        allowed?;
    }
    let facts: ConnectionFacts =
        serde_json::from_value(cluster.connection.0.clone()).unwrap_or_default();
    let (Some(owner), Some(owner_database)) = (facts.user.clone(), facts.database.clone()) else {
        return Err(ApiError::conflict(format!(
            "connection details of `{name}` are not known yet (phase {}); try again when it is ready",
            cluster.phase
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
    let password = if query.reveal {
        let holder = password_holder(&state, access.tenant.id, &spec, &cluster).await?;
        let password = match role {
            None => store::clusters::password(&state.db, access.tenant.id, holder).await?,
            Some(role) => {
                store::clusters::role_password(&state.db, access.tenant.id, holder, &role.name)
                    .await?
            }
        };
        if password.is_none() && role.is_some() {
            return Err(ApiError::conflict(format!(
                "the password of role `{user}` of `{name}` is not known yet (the operator creates the role and its Secret); try again shortly"
            ))
            .with_retry_after(10));
        }
        password
    } else {
        None
    };
    let secret = password.as_deref();
    Ok(Json(ConnectionOut {
        primary: endpoint(facts.primary, &user, secret, &database),
        replicas: endpoint(facts.replicas, &user, secret, &database),
        pooler: endpoint(facts.pooler, &user, secret, &database),
        sslmode: "verify-full",
        ca_certificate: facts.ca_certificate,
        password,
        database,
        user,
    }))
}

/// The cluster whose owner password logs in to `cluster`: a standby replays its source's roles
/// with their passwords, and PGO sets the standby's own only when it is promoted; a standby
/// whose source is gone has only its own.
async fn password_holder(
    state: &AppState,
    tenant_id: uuid::Uuid,
    spec: &ClusterSpec,
    cluster: &store::clusters::ClusterRow,
) -> ApiResult<uuid::Uuid> {
    let Some(standby) = &spec.standby else {
        return Ok(cluster.id);
    };
    let source = store::clusters::find(&state.db, tenant_id, &standby.source).await?;
    Ok(source.map_or(cluster.id, |s| s.id))
}

async fn audit_reveal(
    state: &AppState,
    principal: &Principal,
    tenant: &store::tenants::TenantRow,
    cluster: &str,
    role: &str,
    headers: &HeaderMap,
    allowed: bool,
) {
    let (actor_type, actor_id, actor_label) = principal.audit_actor();
    let event = NewAuditEvent {
        actor_type,
        actor_id,
        actor_label,
        tenant_id: Some(tenant.id),
        tenant_name: Some(tenant.name.clone()),
        action: "clusters.connection.reveal".into(),
        target: format!(
            "/v1/tenants/{}/clusters/{cluster}/connection?role={role}",
            tenant.name
        ),
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        outcome: if allowed { "allowed" } else { "denied" },
        status_code: if allowed { 200 } else { 403 },
    };
    if let Err(error) = store::audit::record(&state.db, &event).await {
        tracing::error!(%error, "failed to audit a password reveal");
    }
}
