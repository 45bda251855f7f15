//! The HTTP surface: one catch-all handler that parses the Kubernetes path itself (the REST
//! tree has ambiguous shapes, e.g. `namespaces/{ns}/status` vs `namespaces/{ns}/secrets`), and
//! the WebSocket `pods/exec` (`exec.rs`), and one middleware that records every request in the log and applies injected faults.

mod delete;
mod exec;
pub(crate) mod path;
mod query;
mod read;
mod watch;
mod write;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::faults::{FaultKind, FaultSubject, Faults};
use crate::request_log::{RequestLog, RequestRecord, Verb};
use crate::server::ServerOptions;
use crate::store::Store;
use path::{Route, Target};
use query::Query;

/// Everything a request handler can reach.
pub(crate) struct AppState {
    pub store: Store,
    pub options: ServerOptions,
    pub faults: Faults,
    pub log: RequestLog,
    pub exec: crate::exec::ExecHandlers,
    pub shutdown: CancellationToken,
}

pub(crate) type App = Arc<AppState>;

/// Serialises a JSON response with optional `Warning` headers.
pub(crate) fn json_response<T: Serialize + ?Sized>(
    code: u16,
    body: &T,
    warnings: &[String],
) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = (code, [(header::CONTENT_TYPE, "application/json")], text).into_response();
    for w in warnings {
        let value = format!("299 - {:?}", w);
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

/// Request attributes used by the log, faults and handlers.
pub(crate) struct RequestMeta {
    pub verb: Verb,
    pub target: Option<Target>,
    pub user_agent: Option<String>,
    pub content_type: String,
    pub field_manager: Option<String>,
    pub path: String,
}

impl RequestMeta {
    fn from_parts(method: &Method, path: &str, query: &Query, headers: &HeaderMap) -> Self {
        let target = match path::parse(path) {
            Route::Resource(t) => Some(t),
            _ => None,
        };
        let verb = match (method, &target) {
            // A WebSocket `GET` of `pods/exec` (or `attach`, `portforward`) is authorized as
            // `create` since Kubernetes 1.31 (AuthorizePodWebsocketUpgradeCreatePermission), so
            // RBAC needs `create` on `pods/exec` whichever method the client uses.
            (_, Some(t))
                if t.def.plural == "pods" && t.subresource.as_deref().is_some_and(is_connect) =>
            {
                Verb::Create
            }
            (&Method::GET, Some(t)) if t.name.is_none() && query.watch => Verb::Watch,
            (&Method::GET, Some(t)) if t.name.is_none() => Verb::List,
            (&Method::POST, _) => Verb::Create,
            (&Method::PUT, _) => Verb::Update,
            (&Method::PATCH, _) => Verb::Patch,
            (&Method::DELETE, Some(t)) if t.name.is_none() => Verb::DeleteCollection,
            (&Method::DELETE, _) => Verb::Delete,
            _ => Verb::Get,
        };
        let header = |h: header::HeaderName| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        Self {
            verb,
            target,
            user_agent: header(header::USER_AGENT),
            content_type: header(header::CONTENT_TYPE).unwrap_or_default(),
            field_manager: query.field_manager.clone(),
            path: path.to_string(),
        }
    }

    /// The field manager of a write: the parameter, else the User-Agent's first word.
    pub fn manager(&self, q: &Query) -> String {
        q.field_manager.clone().unwrap_or_else(|| {
            self.user_agent
                .as_deref()
                .and_then(|ua| ua.split('/').next())
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string()
        })
    }

    pub fn fault_subject(&self) -> FaultSubject<'_> {
        FaultSubject {
            verb: self.verb,
            resource: self.target.as_ref().map_or("", |t| t.def.plural),
            from_operator: self.user_agent.as_deref() == Some(crate::operator::USER_AGENT),
        }
    }

    fn record(&self, code: u16) -> RequestRecord {
        let t = self.target.as_ref();
        RequestRecord {
            verb: self.verb,
            group: t.map_or("", |t| t.def.group).to_string(),
            version: t.map_or("", |t| t.def.version).to_string(),
            resource: t.map_or("", |t| t.def.plural).to_string(),
            subresource: t.and_then(|t| t.subresource.clone()),
            namespace: t.and_then(|t| t.namespace.clone()),
            name: t.and_then(|t| t.name.clone()),
            code,
            user_agent: self.user_agent.clone(),
            field_manager: self.field_manager.clone(),
            path: self.path.clone(),
        }
    }
}

/// The connect subresources of Pods (streams, not objects).
fn is_connect(subresource: &str) -> bool {
    matches!(subresource, "exec" | "attach" | "portforward")
}

/// Logs every request and applies injected faults before the handler runs.
async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let query = Query::parse(request.uri().query()).unwrap_or_default();
    let rm = RequestMeta::from_parts(
        request.method(),
        request.uri().path(),
        &query,
        request.headers(),
    );
    let decision = app.faults.decide(&rm.fault_subject());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let response = match decision.fault {
        None => next.run(request).await,
        Some(FaultKind::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(request).await
        }
        Some(FaultKind::InternalError) => {
            ApiError::internal("injected fault: internal error").into_response()
        }
        Some(FaultKind::ServiceUnavailable) => {
            ApiError::service_unavailable("injected fault: service unavailable").into_response()
        }
        Some(FaultKind::TooManyRequests {
            retry_after_seconds,
        }) => ApiError::too_many_requests(retry_after_seconds).into_response(),
    };
    app.log.record(rm.record(response.status().as_u16()));
    response
}

async fn dispatch(
    State(app): State<App>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = path::parse(uri.path());
    let result = match route.clone() {
        Route::Version
        | Route::Health
        | Route::CoreVersions
        | Route::CoreResources
        | Route::Groups
        | Route::Group(_)
        | Route::GroupResources(..)
            if method != Method::GET =>
        {
            Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on {}",
                uri.path()
            )))
        }
        Route::Version => Ok(crate::discovery::version()),
        Route::Health => Ok((StatusCode::OK, "ok").into_response()),
        Route::CoreVersions | Route::Groups
            if crate::discovery::wants_aggregated(
                headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()),
            ) =>
        {
            Ok(crate::discovery::aggregated(matches!(
                route,
                Route::CoreVersions
            )))
        }
        Route::CoreVersions => Ok(crate::discovery::core_versions()),
        Route::CoreResources => crate::discovery::resources("", "v1"),
        Route::Groups => Ok(crate::discovery::groups()),
        Route::Group(g) => crate::discovery::group(&g),
        Route::GroupResources(g, v) => crate::discovery::resources(&g, &v),
        Route::NotFound => Err(ApiError::path_not_found(uri.path())),
        Route::Resource(t) => resource(&app, &method, &t, uri.path(), uri.query(), &headers, &body),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn resource(
    app: &App,
    method: &Method,
    t: &Target,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let q = Query::parse(raw_query)?;
    let rm = RequestMeta::from_parts(method, path, &q, headers);
    match (method, rm.verb) {
        (&Method::GET, Verb::Get) => read::get(app, t),
        (&Method::GET, Verb::List) => read::list(app, t, &q),
        (&Method::GET, Verb::Watch) => {
            let expire = app.faults.take_expired_watch(&rm.fault_subject());
            watch::watch(app, t, &q, expire)
        }
        // `pods/attach` and `pods/portforward` (logged as `create`) are not served: 404 like
        // any unknown subresource (`pods/exec` has its own route).
        (&Method::GET, Verb::Create) => read::get(app, t),
        (&Method::POST, _) => write::create(app, t, &q, &rm, body),
        (&Method::PUT, _) if t.name.is_some() => write::update(app, t, &q, &rm, body),
        (&Method::PATCH, _) if t.name.is_some() => write::patch(app, t, &q, &rm, body),
        (&Method::DELETE, Verb::Delete) => delete::delete(app, t, &q, body),
        (&Method::DELETE, Verb::DeleteCollection) => delete::delete_collection(app, t, &q, body),
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {}",
            t.def.plural
        ))),
    }
}

/// The router: everything goes to [`dispatch`] through [`observe`].
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/exec",
            axum::routing::any(exec::serve),
        )
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
}
