//! The virtual DBA's view of a cluster: top statements over a window, findings with their
//! evidence and remedies, the storage forecast, connections and cache hits. Read from the
//! snapshots pgplane's collector took; a request never connects to the cluster.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::MAX_PAGE_SIZE;
use super::principal::{Principal, cluster_access};
use crate::app::AppState;
use crate::domain::insights::snapshot::Session;
use crate::domain::insights::{Finding, Forecast, StatementOrder, StatementStats};
use crate::domain::permissions::Action;
use crate::service::insights::{self as service, InsightsView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_insights))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightsQuery {
    /// How far back: `<n>m`, `<n>h` or `<n>d`, from 15m to 30d (default 24h).
    pub window: Option<String>,
    /// How statements are ranked (default `total_time`).
    #[param(inline)]
    pub order: Option<StatementOrder>,
    /// Statements per page (1-500, default 20).
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page of statements.
    pub page_token: Option<String>,
}

/// `15m`, `24h`, `7d` as seconds, within 15 minutes and 30 days.
fn parse_window(text: Option<&str>) -> ApiResult<u64> {
    let Some(text) = text else { return Ok(86_400) };
    let refuse =
        || ApiError::bad_parameter("window", "must be like 15m, 24h or 7d, from 15m to 30d");
    let unit = match text.chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(refuse()),
    };
    let number: u64 = text[..text.len() - 1].parse().map_err(|_| refuse())?;
    let seconds = number.checked_mul(unit).ok_or_else(refuse)?;
    (900..=30 * 86_400)
        .contains(&seconds)
        .then_some(seconds)
        .ok_or_else(refuse)
}

/// The offset of a statements page (tokens are `o:<offset>`, base64).
fn parse_page(query: &InsightsQuery) -> ApiResult<(usize, usize)> {
    let size = query.page_size.unwrap_or(20);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::bad_parameter(
            "page_size",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    let offset = match query.page_token.as_deref() {
        None | Some("") => 0,
        Some(token) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.strip_prefix("o:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| {
                ApiError::bad_parameter("page_token", "is not a token returned by this list")
            })?,
    };
    Ok((offset, size as usize))
}

/// The window the figures cover.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowOut {
    /// The window asked for, in seconds.
    pub seconds: u64,
    /// The first and last snapshots in it (null without any).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The newest collection, successful or not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    pub at: DateTime<Utc>,
    /// Why it failed (the cluster was suspended, unreachable or slow); null when it succeeded.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementPage {
    pub items: Vec<StatementStats>,
    pub next_page_token: Option<String>,
}

/// Connections as of the newest snapshot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionsOut {
    pub total: i64,
    pub max_connections: i64,
    pub by_state: BTreeMap<String, i64>,
    pub waiting_on_locks: i64,
    /// The oldest open transactions (`idle in transaction` among them), oldest first.
    pub longest_transactions: Vec<TransactionOut>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransactionOut {
    pub pid: i64,
    pub database: String,
    pub user: String,
    pub state: String,
    pub transaction_seconds: f64,
    pub query: String,
}

impl From<Session> for TransactionOut {
    fn from(s: Session) -> Self {
        TransactionOut {
            pid: s.pid,
            database: s.database,
            user: s.user,
            state: s.state,
            transaction_seconds: s.transaction_seconds,
            query: s.query,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InsightsOut {
    pub window: WindowOut,
    pub last_attempt: Option<AttemptOut>,
    pub statements: StatementPage,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// Storage over the window and when it fills at that rate (null with fewer than two
    /// snapshots).
    pub storage: Option<Forecast>,
    pub connections: Option<ConnectionsOut>,
    /// The share of block reads found in shared buffers over the window.
    pub cache_hit_ratio: Option<f64>,
}

fn insights_out(view: InsightsView, seconds: u64, (offset, size): (usize, usize)) -> InsightsOut {
    let total = view.statements.len();
    let items: Vec<StatementStats> = view
        .statements
        .into_iter()
        .skip(offset)
        .take(size)
        .collect();
    let next = offset + items.len();
    InsightsOut {
        window: WindowOut {
            seconds,
            from: view.from,
            to: view.to,
        },
        last_attempt: view
            .last_attempt
            .map(|(at, error)| AttemptOut { at, error }),
        statements: StatementPage {
            items,
            next_page_token: (next < total).then(|| URL_SAFE_NO_PAD.encode(format!("o:{next}"))),
        },
        findings: view.findings,
        storage: view.storage,
        connections: view.connections.map(|(c, max)| ConnectionsOut {
            total: c.total(),
            max_connections: max,
            by_state: c.by_state,
            waiting_on_locks: c.waiting_on_locks,
            longest_transactions: c
                .longest_transactions
                .into_iter()
                .map(TransactionOut::from)
                .collect(),
        }),
        cache_hit_ratio: view.cache_hit_ratio,
    }
}

/// A cluster's insights: top statements over the window (`window`, ranked by `order`,
/// paginated), findings with evidence and remedies, storage forecast, connections.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/clusters/{cluster}/insights", operation_id = "clusters.insights.get", tag = "insights",
    params(("tenant" = String, Path), ("cluster" = String, Path), InsightsQuery),
    responses((status = 200, body = InsightsOut)))]
async fn get_insights(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, name)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<InsightsQuery>,
) -> ApiResult<Json<InsightsOut>> {
    let seconds = parse_window(query.window.as_deref())?;
    let page = parse_page(&query)?;
    let (_, row) = cluster_access(&state, &principal, &tenant, Action::ViewClusters, &name).await?;
    let window = std::time::Duration::from_secs(seconds);
    let order = query.order.unwrap_or_default();
    let view = service::insights(&state, &row, window, order).await?;
    Ok(Json(insights_out(view, seconds, page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_minutes_hours_or_days_within_bounds() {
        assert_eq!(parse_window(None).unwrap(), 86_400);
        assert_eq!(parse_window(Some("15m")).unwrap(), 900);
        assert_eq!(parse_window(Some("7d")).unwrap(), 604_800);
        for bad in ["5m", "31d", "1w", "", "h", "-1h", "99999999999999999999d"] {
            assert!(parse_window(Some(bad)).is_err(), "{bad}");
        }
    }
}
