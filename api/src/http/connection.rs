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

use super::error::{ApiResult, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::cluster::Endpoint;
use crate::domain::permissions::Action;
use crate::service::connection as service;
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
    /// When the server certificate expires. It is renewed before then under the same CA, so
    /// the saved `ca_certificate` keeps working.
    pub certificate_expires_at: Option<chrono::DateTime<chrono::Utc>>,
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
    let (access, row) =
        cluster_access(&state, &principal, &tenant, Action::ViewClusters, &name).await?;
    let role = service::role_of(&row, query.role.as_deref())?;
    if query.reveal {
        let allowed = access.require(Action::RevealCredentials);
        let role_name = role
            .as_ref()
            .map_or(service::owner_of(&row)?, |r| r.name.clone());
        let reveal = Reveal {
            principal: &principal,
            headers: &headers,
            allowed: allowed.is_ok(),
        };
        audit_reveal(&state, &access.tenant, &name, &role_name, reveal).await;
        allowed?;
    }
    let details = service::details(&state, &access, &row, role.as_ref(), query.reveal).await?;
    let (user, database, facts) = (&details.user, &details.database, details.facts);
    let secret = details.password.as_deref();
    Ok(Json(ConnectionOut {
        primary: endpoint(facts.primary, user, secret, database),
        replicas: endpoint(facts.replicas, user, secret, database),
        pooler: endpoint(facts.pooler, user, secret, database),
        sslmode: "verify-full",
        ca_certificate: facts.ca_certificate,
        certificate_expires_at: facts.certificate.map(|c| c.expires_at),
        password: details.password,
        database: details.database,
        user: details.user,
    }))
}

/// Who asked to reveal a password, and whether their role allowed it.
struct Reveal<'a> {
    principal: &'a Principal,
    headers: &'a HeaderMap,
    allowed: bool,
}

async fn audit_reveal(
    state: &AppState,
    tenant: &store::tenants::TenantRow,
    cluster: &str,
    role: &str,
    reveal: Reveal<'_>,
) {
    let Reveal {
        principal,
        headers,
        allowed,
    } = reveal;
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
