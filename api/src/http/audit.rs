//! Audit layer: records every mutating request, allowed or refused, after its response is
//! known. The action is the route's OpenAPI operation id (a closed set), the tenant comes from
//! the `{tenant}` path parameter, the actor from the principal the auth layer resolved.

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::principal::{Principal, role_in};
use crate::app::AppState;
use crate::store::{self, audit::NewAuditEvent, tenants::TenantRow};
use uuid::Uuid;

pub fn is_mutation(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Middleware (a route layer, outside authentication).
pub async fn record_mutations(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !is_mutation(request.method()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let (mut parts, body) = request.into_parts();
    let tenant_param = match axum::RequestPartsExt::extract::<RawPathParams>(&mut parts).await {
        Ok(params) => params
            .iter()
            .find(|(k, _)| *k == "tenant")
            .map(|(_, v)| v.to_string()),
        Err(_) => None,
    };
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let response = next.run(Request::from_parts(parts, body)).await;

    let template = template.unwrap_or_else(|| path.clone());
    let action = state
        .operation_ids
        .get(&(method.clone(), template.clone()))
        .cloned()
        .unwrap_or_else(|| format!("{method} {template}"));
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let tenant_name = tenant_param.or_else(|| {
        // A created tenant names itself in Location: /v1/tenants/{name}.
        (action == "tenants.create")
            .then(|| location.as_deref()?.rsplit('/').next().map(String::from))
            .flatten()
    });
    let (actor_type, actor_id, actor_label) = response
        .extensions()
        .get::<Principal>()
        .map_or(("anonymous", None, None), Principal::audit_actor);
    let status = response.status();
    let outcome = match status.as_u16() {
        200..=399 => "allowed",
        401 | 403 | 404 => "denied",
        _ => "failed",
    };
    let principal = response.extensions().get::<Principal>();
    let tenant = match &tenant_name {
        Some(name) => store::tenants::find_by_name(&state.db, name)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let target = location.filter(|_| status.is_success()).unwrap_or(path);
    for (tenant_id, tenant_name) in logs_for(&state, principal, outcome, tenant, tenant_name).await
    {
        let event = NewAuditEvent {
            actor_type,
            actor_id,
            actor_label: actor_label.clone(),
            tenant_id,
            tenant_name,
            action: action.clone(),
            target: target.clone(),
            request_id: request_id.clone(),
            outcome,
            status_code: i32::from(status.as_u16()),
        };
        if let Err(error) = store::audit::record(&state.db, &event).await {
            tracing::error!(%error, action = %event.action, "failed to record audit event");
        }
    }
    response
}

/// The logs an event goes to, as `(tenant_id, tenant_name)`; `tenant_id: None` is the
/// platform-wide log only platform admins read. An event about a tenant goes to that tenant's
/// log when the call was allowed or the caller has a role in it (or is anonymous, which names
/// nobody). A refused caller with
/// no role in it (a member of another tenant probing this one) is recorded in the platform log
/// and in the caller's own tenants' logs instead: a tenant's log never names another tenant's
/// users.
async fn logs_for(
    state: &AppState,
    principal: Option<&Principal>,
    outcome: &str,
    tenant: Option<TenantRow>,
    tenant_name: Option<String>,
) -> Vec<(Option<Uuid>, Option<String>)> {
    let Some(tenant) = tenant else {
        return vec![(None, tenant_name)];
    };
    // Only a refused call can come from an outsider; an allowed one (even a member removing
    // themselves) stays in the tenant's log.
    let Some(principal) = principal.filter(|_| outcome == "denied") else {
        return vec![(Some(tenant.id), Some(tenant.name))];
    };
    match role_in(state, principal, &tenant).await {
        Ok(Some(_)) => return vec![(Some(tenant.id), Some(tenant.name))],
        Ok(None) => {}
        // Unknown: keep the event out of the tenant's log rather than risk naming an outsider.
        Err(_) => return vec![(None, Some(tenant.name))],
    }
    let mut logs = vec![(None, Some(tenant.name))];
    logs.extend(own_tenants(state, principal).await);
    logs
}

/// The tenants the caller belongs to, by id and name.
async fn own_tenants(
    state: &AppState,
    principal: &Principal,
) -> Vec<(Option<Uuid>, Option<String>)> {
    match principal {
        Principal::User { user_id, .. } => store::memberships::tenants_of(&state.db, *user_id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| (Some(t.tenant_id), Some(t.tenant_name)))
            .collect(),
        Principal::ServiceKey { tenant_id, .. } => {
            let name = store::tenants::get(&state.db, *tenant_id)
                .await
                .ok()
                .map(|t| t.name);
            vec![(Some(*tenant_id), name)]
        }
    }
}
