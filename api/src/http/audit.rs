//! Audit layer: records every mutating request, allowed or refused, after its response is
//! known. The action is the route's OpenAPI operation id (a closed set), the tenant comes from
//! the `{tenant}` path parameter, the actor from the principal the auth layer resolved.

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::principal::Principal;
use crate::app::AppState;
use crate::store::{self, audit::NewAuditEvent};

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
    let tenant_id = match &tenant_name {
        Some(name) => store::tenants::find_by_name(&state.db, name)
            .await
            .ok()
            .flatten()
            .map(|t| t.id),
        None => None,
    };
    let event = NewAuditEvent {
        actor_type,
        actor_id,
        actor_label,
        tenant_id,
        tenant_name,
        action,
        target: location.filter(|_| status.is_success()).unwrap_or(path),
        request_id,
        outcome,
        status_code: i32::from(status.as_u16()),
    };
    if let Err(error) = store::audit::record(&state.db, &event).await {
        tracing::error!(%error, action = %event.action, "failed to record audit event");
    }
    response
}
