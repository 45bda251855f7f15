//! `GET /v1/postgres-versions`: the PostgreSQL majors a cluster may have here.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::ApiResult;
use super::principal::Principal;
use crate::app::AppState;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_versions))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PostgresVersionOut {
    /// A PostgreSQL major version.
    pub version: u32,
    /// Whether a create without `postgres_version` gets it.
    pub default: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PostgresVersionsOut {
    /// Oldest first.
    pub items: Vec<PostgresVersionOut>,
}

/// The PostgreSQL major versions a cluster may have on this platform (on the local platform:
/// the servers installed on its host), with the default.
#[utoipa::path(get, path = "/v1/postgres-versions", operation_id = "versions.list", tag = "clusters",
    responses((status = 200, body = PostgresVersionsOut)))]
async fn list_versions(
    State(state): State<AppState>,
    _caller: Principal,
) -> ApiResult<Json<PostgresVersionsOut>> {
    let items = service::versions::available(&state)
        .into_iter()
        .map(|v| PostgresVersionOut {
            version: v.version,
            default: v.default,
        })
        .collect();
    Ok(Json(PostgresVersionsOut { items }))
}
