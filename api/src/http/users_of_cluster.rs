//! A cluster's PostgreSQL roles and their databases, one role at a time: list, create or
//! replace (`PUT`), drop (`DELETE`). Each change edits `users` in the desired spec and runs as
//! an `update` operation, exactly like a PATCH of the whole list (same validation, allow-listed
//! role options, 64 roles at most); PGO then creates the role, its databases and its
//! `<cluster>-pguser-<role>` Secret. The owner is part of the cluster and is not edited here.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::clusters::{ClusterOut, spec_change_response};
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiBody, ApiPath};
use super::operations::OperationOut;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::cluster::{ClusterSpec, DatabaseUser};
use crate::domain::permissions::Action;
use crate::service::{clusters::change_spec, spec_of};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(put_user, delete_user))
}

/// A role of the cluster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleOut {
    pub name: String,
    /// Databases it may connect to and create objects in.
    pub databases: Vec<String>,
    /// Its `ALTER ROLE` options, if any.
    pub options: Option<String>,
    /// True for the cluster's owner (the application role created with the cluster).
    pub owner: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleList {
    /// The owner first, then the extra roles in the spec's order.
    pub items: Vec<RoleOut>,
}

/// A role to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// Databases the role may connect to and create objects in; PGO creates missing ones.
    #[serde(default)]
    #[schema(example = json!(["orders"]))]
    pub databases: Vec<String>,
    /// Allow-listed `ALTER ROLE` options, e.g. `"NOCREATEDB CONNECTION LIMIT 10"`.
    #[serde(default)]
    pub options: Option<String>,
}

fn roles(spec: &ClusterSpec) -> Vec<RoleOut> {
    let owner = RoleOut {
        name: spec.owner.clone(),
        databases: vec![spec.database.clone()],
        options: None,
        owner: true,
    };
    std::iter::once(owner)
        .chain(spec.users.iter().map(|u| RoleOut {
            name: u.name.clone(),
            databases: u.databases.clone(),
            options: u.options.clone(),
            owner: false,
        }))
        .collect()
}

fn refuse_owner(spec: &ClusterSpec, role: &str, cluster: &str) -> ApiResult<()> {
    if spec.owner == role {
        return Err(ApiError::conflict(format!(
            "`{role}` owns cluster `{cluster}` and its database: it lives as long as the cluster (rotate its password with POST .../rotate-password)"
        )));
    }
    Ok(())
}

/// Field errors of the spec's `users[index]` as fields of this request (`databases[0]`, ...);
/// the role name is the path's `role`.
fn as_request_fields(error: ApiError, index: usize) -> ApiError {
    let prefix = format!("users[{index}]");
    error.map_field_errors(|e| {
        let field = match e.field.strip_prefix(&prefix) {
            Some(".name") => "role".to_string(),
            Some(rest) => rest.trim_start_matches('.').to_string(),
            None => e.field,
        };
        FieldError::new(field, e.message)
    })
}

/// List the cluster's roles and their databases.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/users", operation_id = "clusters.users.list", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path)), responses((status = 200, body = RoleList)))]
async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<RoleList>> {
    let (_, row) = cluster_access(&state, &principal, &tenant, Action::ViewClusters, &name).await?;
    Ok(Json(RoleList {
        items: roles(&spec_of(&row)?),
    }))
}

/// Create a role, or replace its databases and options. Answers 202 with the `update`
/// operation, or 200 with the cluster when nothing changes.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/clusters/{cluster}/users/{role}", operation_id = "clusters.users.put", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("role" = String, Path)), request_body = RoleRequest,
    responses((status = 202, body = OperationOut),
        (status = 200, description = "The role already is like this: nothing changes", body = ClusterOut),
        (status = 409, description = "The owner, or another operation running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role, databases or options, or 64 roles already", body = Problem, content_type = "application/problem+json")))]
async fn put_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name, role)): ApiPath<(String, String, String)>,
    body: ApiBody<RoleRequest>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let mut index = 0;
    // The body is read under the cluster's lock.
    let change = change_spec(&state, &access, &name, |spec| {
        let request = body.parse()?;
        refuse_owner(spec, &role, &name)?;
        let mut users = spec.users.clone();
        let user = DatabaseUser {
            name: role.clone(),
            databases: request.databases,
            options: request.options,
        };
        index = match users.iter().position(|u| u.name == role) {
            Some(i) => {
                users[i] = user;
                i
            }
            None => {
                users.push(user);
                users.len() - 1
            }
        };
        Ok(json!({ "users": users }))
    })
    .await;
    let change = change.map_err(|e| as_request_fields(e, index))?;
    spec_change_response(&state, &access, change).await
}

/// Drop a role from the cluster: PGO removes its Secret, so its credentials are no longer
/// handed out. (PGO leaves the role itself in PostgreSQL, with the objects it owns.)
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/clusters/{cluster}/users/{role}", operation_id = "clusters.users.delete", tag = "clusters",
    params(("tenant" = String, Path), ("cluster" = String, Path), ("role" = String, Path)),
    responses((status = 202, body = OperationOut),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner, or another operation running", body = Problem, content_type = "application/problem+json")))]
async fn delete_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name, role)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let (access, _) =
        cluster_access(&state, &principal, &tenant, Action::UpdateCluster, &name).await?;
    let change = change_spec(&state, &access, &name, |spec| {
        refuse_owner(spec, &role, &name)?;
        if !spec.users.iter().any(|u| u.name == role) {
            return Err(ApiError::not_found(format!(
                "role `{role}` of cluster `{name}`"
            )));
        }
        let users: Vec<&DatabaseUser> = spec.users.iter().filter(|u| u.name != role).collect();
        Ok(json!({ "users": users }))
    })
    .await?;
    spec_change_response(&state, &access, change).await
}
