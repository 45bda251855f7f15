//! The HTTP API: one module per resource (each owns its `router()`, DTOs and handlers), plus the
//! cross-cutting layers: request ids, tracing, metrics, authentication, audit, idempotency,
//! problem+json for every error, CORS, compression, body limits and timeouts.

pub mod actions;
pub mod api_keys;
pub mod audit;
pub mod audit_events;
pub mod auth_token;
pub mod backups;
pub mod client_address;
pub mod clusters;
pub mod connection;
pub mod credentials;
/// The API's error document lives in `crate::problem`, shared with the service layer.
pub use crate::problem as error;
pub mod etag;
pub mod extensions;
pub mod extract;
pub mod group_rules;
pub mod health;
pub mod idempotency;
pub mod insights;
pub mod me;
pub mod members;
pub mod metrics;
pub mod nul;
pub mod operations;
pub mod pagination;
pub mod portal;
pub mod principal;
pub mod problems;
pub mod quotas;
pub mod session;
pub mod sso;
pub mod standby;
pub mod switchover;
pub mod tenants;
pub mod upgrade;
pub mod users;
pub mod users_of_cluster;
pub mod versions;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every API route with its OpenAPI description, without state or layers.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(health::router())
        .merge(auth_token::router())
        .merge(session::router())
        .merge(sso::router())
        .merge(group_rules::router())
        .merge(me::router())
        .merge(api_keys::router())
        .merge(tenants::router())
        .merge(members::router())
        .merge(quotas::router())
        .merge(users::router())
        .merge(clusters::router())
        .merge(versions::router())
        .merge(connection::router())
        .merge(credentials::router())
        .merge(backups::router())
        .merge(switchover::router())
        .merge(standby::router())
        .merge(upgrade::router())
        .merge(extensions::router())
        .merge(insights::router())
        .merge(users_of_cluster::router())
        .merge(operations::router())
        .merge(audit_events::router())
}

/// The finished OpenAPI document, as served at `/openapi.json` and committed in `openapi/`.
pub fn openapi() -> OpenApi {
    crate::openapi::finish(api_routes().into_openapi())
}

/// The complete application: routes, docs and every layer.
pub fn router(state: AppState) -> Router {
    let (routes, spec) = api_routes().split_for_parts();
    let spec = crate::openapi::finish(spec);
    let settings = state.settings.clone();
    let routes = routes
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent_writes,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            principal::authenticate,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            audit::record_mutations,
        ))
        // Before audit and authentication, which would carry a NUL into the database.
        .route_layer(middleware::from_fn(nul::refuse_in_path_and_query))
        .route_layer(middleware::from_fn(metrics::track_requests))
        .with_state(state);
    let router = Router::new()
        .merge(routes)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", spec));
    let router = match &settings.portal_dir {
        Some(dir) => {
            let portal = portal::Portal::new(dir);
            router.fallback(move |request| portal.clone().serve(request))
        }
        None => router.fallback(problems::not_found),
    };
    router
        .method_not_allowed_fallback(problems::method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout))
        .layer(compression())
        .layer(cors(&settings.cors_origins))
        .layer(middleware::from_fn(problems::as_problem_json))
        .layer(CatchPanicLayer::custom(problems::panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        }).on_failure(log_failure))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Logs a 5xx answer by what it means: a 501 is a documented answer (the platform cannot do
/// it), a 503 a retryable one already explained where it arose; only the rest is an error.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_millis();
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::NOT_IMPLEMENTED) => {
            tracing::debug!(latency_ms, "answered 501 Not Implemented");
        }
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::warn!(latency_ms, "answered 503 Service Unavailable");
        }
        other => tracing::error!(latency_ms, classification = %other, "response failed"),
    }
}

/// gzip (and the other encodings the client accepts) for bodies over 2 KiB, at the fastest
/// level: lists and the portal's assets shrink several times, while a single object is sent as
/// it is (compressing 1-2 KiB cost a tenth of a read's CPU and saved nothing a LAN notices).
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(2048)
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE),
        )
}

fn cors(origins: &Arc<Vec<HeaderValue>>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static(idempotency::IDEMPOTENCY_KEY),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            REQUEST_ID,
        ])
}
