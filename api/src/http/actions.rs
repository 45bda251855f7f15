//! How every endpoint that queues an operation answers: `202 Accepted` with the operation,
//! `Location` to poll it and `Content-Location` naming the cluster.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::operations::OperationOut;
use crate::service::clusters::Queued;
use crate::store::operations::OperationRow;

/// 202 with `operation` (as built, with anything the endpoint added to it).
pub fn accepted(tenant: &str, operation: OperationOut) -> Response {
    let location = format!("/v1/operations/{}", operation.id);
    let cluster = operation.cluster.clone().unwrap_or_default();
    (
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, location),
            (
                header::CONTENT_LOCATION,
                format!("/v1/tenants/{tenant}/clusters/{cluster}"),
            ),
        ],
        Json(operation),
    )
        .into_response()
}

/// 202 with a queued operation.
pub fn queued_operation(tenant: &str, operation: OperationRow) -> Response {
    accepted(tenant, operation.into())
}

/// 202 with a queued operation and what the service said of it.
pub fn queued(tenant: &str, queued: Queued) -> Response {
    let mut out = OperationOut::from(queued.operation);
    out.restart_required = queued.restart_required;
    if queued.waiting_for.is_some() {
        out.waiting_for = queued.waiting_for;
    }
    accepted(tenant, out)
}
