//! Operations: the long-running work behind `202 Accepted`. Clients poll them; they always end
//! `succeeded`, `failed` (with a reason) or `cancelled`, by their deadline at the latest.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{PageQuery, into_page, list_type};
use super::principal::{Principal, role_in, tenant_access};
use crate::app::AppState;
use crate::domain::operation::{OperationKind, OperationState};
use crate::domain::permissions::{self, Action};
use crate::store::{self, operations::OperationRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_operation))
        .routes(routes!(cancel_operation))
        .routes(routes!(list_operations))
}

/// One step of an operation's progress.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepOut {
    /// `queued`, `applied`, `waiting_for_operator` or `done`.
    pub name: &'static str,
    /// `done`, `current` or `pending`.
    pub state: &'static str,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperationOut {
    pub id: Uuid,
    /// `create`, `update`, `delete` or a day-2 action (`backup`, `restore`, `switchover`,
    /// `rotate_password`, `upgrade`, `minor_upgrade`, `extension`, `promote`).
    pub kind: OperationKind,
    pub state: OperationState,
    pub tenant_id: Uuid,
    pub cluster_id: Option<Uuid>,
    pub cluster: Option<String>,
    /// The cluster generation this operation brings about.
    pub target_generation: Option<i64>,
    pub steps: Vec<StepOut>,
    /// What it is waiting for now.
    pub waiting_for: Option<String>,
    /// Why it failed, or the last transient error while it retries.
    pub error: Option<String>,
    /// Times a worker has picked it up.
    pub attempts: i32,
    /// When it fails if it has not finished.
    pub deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Arguments of a day-2 action, e.g. `{"action": "rotate_password", "user": "orders"}`.
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
    /// In the answer to a cluster update only: whether PostgreSQL restarts to apply it
    /// (parameters such as `shared_buffers`, resources, monitoring); the operation performs
    /// the restart (rolling, replicas first) before it succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_required: Option<bool>,
    /// In the answer to a request only: what the caller must know before relying on the
    /// result (a promotion: the old primary still accepts writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl From<OperationRow> for OperationOut {
    fn from(row: OperationRow) -> Self {
        let OperationRow {
            id,
            tenant_id,
            cluster_id,
            cluster_name,
            kind,
            state,
            step,
            target_generation,
            attempt,
            failures: _,
            run_after: _,
            deadline,
            error,
            waiting_for,
            created_by: _,
            created_at,
            updated_at,
            applied_at,
            finished_at,
            params,
        } = row;
        let finished = finished_at.is_some();
        let step_state = |done: bool, current: bool| {
            if done {
                "done"
            } else if current {
                "current"
            } else {
                "pending"
            }
        };
        let applied = applied_at.is_some() || (finished && state == OperationState::Succeeded);
        let steps = vec![
            StepOut {
                name: "queued",
                state: "done",
                at: Some(created_at),
            },
            StepOut {
                name: "applied",
                state: step_state(applied, !finished && !applied),
                at: applied_at,
            },
            StepOut {
                name: "waiting_for_operator",
                state: step_state(finished && applied, !finished && step == "waiting"),
                at: None,
            },
            StepOut {
                name: "done",
                state: step_state(finished, false),
                at: finished_at,
            },
        ];
        Self {
            id,
            kind,
            state,
            tenant_id,
            cluster_id,
            cluster: cluster_name,
            target_generation,
            steps,
            waiting_for,
            error,
            attempts: attempt,
            deadline,
            created_at,
            updated_at,
            finished_at,
            params: params.map(|p| p.0),
            restart_required: None,
            warning: None,
        }
    }
}

list_type!(OperationList, OperationOut);

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationQuery {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    /// Only operations of this cluster (by name).
    pub cluster: Option<String>,
    /// Only operations in this state.
    #[param(value_type = Option<OperationState>)]
    pub state: Option<String>,
}

/// Loads an operation the caller may see with `action`; 404 for other tenants' operations.
async fn visible_operation(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> ApiResult<OperationRow> {
    let not_found = || ApiError::not_found(format!("operation `{id}`"));
    let operation = store::operations::get(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    let tenant = store::tenants::get(&state.db, operation.tenant_id).await?;
    let role = role_in(state, principal, &tenant)
        .await?
        .ok_or_else(not_found)?;
    if !permissions::allows(role, action) {
        return Err(ApiError::forbidden("your role does not allow this"));
    }
    Ok(operation)
}

/// Get an operation.
#[utoipa::path(get, path = "/v1/operations/{id}", operation_id = "operations.get", tag = "operations",
    params(("id" = Uuid, Path)), responses((status = 200, body = OperationOut)))]
async fn get_operation(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OperationOut>> {
    Ok(Json(
        visible_operation(&state, &principal, id, Action::ViewOperations)
            .await?
            .into(),
    ))
}

/// Cancel an operation that no worker has picked up yet; its change is undone.
#[utoipa::path(post, path = "/v1/operations/{id}/cancel", operation_id = "operations.cancel", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OperationOut),
        (status = 409, description = "Already applied or finished", body = Problem, content_type = "application/problem+json")))]
async fn cancel_operation(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OperationOut>> {
    visible_operation(&state, &principal, id, Action::CancelOperation).await?;
    Ok(Json(
        crate::service::operations::cancel(&state, id).await?.into(),
    ))
}

/// List a tenant's operations, newest first; filter by cluster and state.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/operations", operation_id = "tenants.operations.list", tag = "operations",
    params(("tenant" = String, Path), OperationQuery), responses((status = 200, body = OperationList)))]
async fn list_operations(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(query): ApiQuery<OperationQuery>,
) -> ApiResult<Json<OperationList>> {
    let access = tenant_access(&state, &principal, &tenant, Action::ViewOperations).await?;
    let state_filter = query.state.map(OperationState::try_from).transpose();
    let state_filter = state_filter.map_err(|_| {
        ApiError::bad_parameter(
            "state",
            "must be pending, running, succeeded, failed or cancelled",
        )
    })?;
    let page = PageQuery {
        page_size: query.page_size,
        page_token: query.page_token,
    }
    .parse()?;
    let rows = store::operations::list(
        &state.db,
        access.tenant.id,
        query.cluster.as_deref(),
        state_filter,
        page.after,
        page.limit,
    )
    .await?;
    let (items, next_page_token) = into_page(rows, |r| r.id, OperationOut::from);
    Ok(Json(OperationList {
        items,
        next_page_token,
    }))
}
