//! Liveness, readiness and metrics endpoints (unauthenticated; for probes and scrapers).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(get_metrics))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthOut {
    pub status: &'static str,
}

/// Process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "health.live", tag = "health", security(()),
    responses((status = 200, body = HealthOut)))]
async fn healthz() -> axum::Json<HealthOut> {
    axum::Json(HealthOut { status: "ok" })
}

/// Ready to serve: the metadata database answers and its migrations are current.
#[utoipa::path(get, path = "/readyz", operation_id = "health.ready", tag = "health", security(()),
    responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = matches!(store::migrations_current(&state.db).await, Ok(true));
    let (status, text) = if ready {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    (status, axum::Json(HealthOut { status: text })).into_response()
}

/// Prometheus metrics in the text exposition format. The per-cluster backup, certificate and
/// insight series (which name tenants and clusters) only with `Authorization: Bearer <PGPLANE_METRICS_TOKEN>`; any other
/// scrape gets every other series, none naming a tenant or cluster.
#[utoipa::path(get, path = "/metrics", operation_id = "health.metrics", tag = "health", security(()),
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn get_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let named = presents_metrics_token(&headers, state.settings.metrics_token.as_deref());
    metrics::gauge!("pgplane_db_pool_connections").set(f64::from(state.db.size()));
    metrics::gauge!("pgplane_db_pool_idle_connections").set(state.db.num_idle() as f64);
    // The queue and cluster gauges are sampled from the metadata database at each scrape.
    crate::observability::sample(&state.db).await;
    let backups = crate::observability::backup_health::sample(&state.db).await;
    let certificates = crate::observability::certificate_health::sample(&state.db).await;
    let insights = crate::observability::insight_health::sample(&state.db).await;
    match crate::telemetry::prometheus() {
        Some(handle) => {
            let mut text = handle.render();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            if let Some(backups) = backups {
                text.push_str(&crate::observability::backup_health::render(
                    &backups, named,
                ));
            }
            if let Some(insights) = insights {
                text.push_str(&crate::observability::insight_health::render(
                    &insights, named,
                ));
            }
            if let Some(certificates) = certificates {
                text.push_str(&crate::observability::certificate_health::render(
                    &certificates,
                    named,
                ));
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable",
        )
            .into_response(),
    }
}

/// Whether the request carries `Authorization: Bearer <token>` with the configured metrics
/// token (compared in constant time); never without one configured.
fn presents_metrics_token(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return false;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    presented.len() == token.len()
        && presented
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}
