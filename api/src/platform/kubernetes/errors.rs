//! The one mapping from `kube` errors to [`PlatformError`]: retry (`Transient`) or give up
//! (`Rejected`).
//!
//! | error | class | why |
//! |---|---|---|
//! | 422 Invalid | Rejected | the object is invalid (message + every cause) |
//! | 400 BadRequest, 405, 406, 413, 415 | Rejected | the request itself is wrong (e.g. strict field validation) |
//! | 403 Forbidden | Rejected | RBAC or an admission policy refused it... |
//! | 403 exceeded quota / namespace terminating | Transient | ...except quota taken by objects still being deleted, and a namespace being deleted (it is recreated by the next ensure) |
//! | 403 status unknown for quota | NotYet | the quota controller has not counted a resource type yet (a CRD installed after the quota): admission refuses every create of it until the quota is recounted, which the driver requests ([`quota_status_unknown`]) |
//! | 401 Unauthorized | Transient | credentials rotate (bound tokens are re-read); failing the operation cannot help |
//! | 404 NotFound, 409 Conflict, 410 Gone | Transient | a namespace or CRD not there yet, a write race, an expired list: the next attempt sees the new state |
//! | 429, 5xx (incl. 504 Timeout) | Transient | the apiserver is overloaded or failing... |
//! | 500 "failed to create typed patch object" | Rejected | ...except a server-side apply of a field the schema lacks (a real apiserver's answer, checked in the envtest tier) |
//! | other 4xx | Rejected | |
//! | connection, timeout, stream and TLS errors | Transient | the network |
//! | response decoding | Transient | usually a proxy answering instead of the apiserver |
//! | request building, config | Rejected | a defect on our side that a retry repeats |

use kube::core::Status;

use crate::platform::PlatformError;

/// Classifies a `kube` error (see the module table).
pub fn classify(error: &kube::Error) -> PlatformError {
    match error {
        kube::Error::Api(status) => classify_status(status),
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::ReadEvents(_)
        | kube::Error::LinesCodecMaxLineLengthExceeded
        | kube::Error::FromUtf8(_)
        | kube::Error::SerdeError(_)
        | kube::Error::RustlsTls(_)
        | kube::Error::Auth(_) => PlatformError::Transient(error.to_string()),
        _ => PlatformError::Rejected(error.to_string()),
    }
}

/// Classifies an API `Status` by its code and reason.
pub fn classify_status(status: &Status) -> PlatformError {
    let text = describe(status);
    match status.code {
        500 if status.message.contains(UNTYPED_APPLY) => PlatformError::Rejected(text),
        403 if status.message.contains(QUOTA_STATUS_UNKNOWN) => PlatformError::NotYet(text),
        403 if is_retryable_forbidden(status) => PlatformError::Transient(text),
        401 | 404 | 408 | 409 | 410 | 429 => PlatformError::Transient(text),
        500..=599 => PlatformError::Transient(text),
        // A Status without a code (should not happen from an apiserver): be safe and retry.
        0 => PlatformError::Transient(text),
        _ => PlatformError::Rejected(text),
    }
}

/// What a real kube-apiserver answers (500, whatever the field validation) to a server-side
/// apply naming a field the schema lacks: a defect in what was sent, which a retry repeats.
const UNTYPED_APPLY: &str = "failed to create typed patch object";

/// What quota admission answers while a ResourceQuota's usage of a resource is not counted
/// (Kubernetes `quota/v1/evaluator`: "status unknown for quota: <name>, resources: <r>").
const QUOTA_STATUS_UNKNOWN: &str = "status unknown for quota";

/// Whether `error` is quota admission refusing because the quota controller has not counted a
/// resource yet. Kubernetes recounts such a quota only at its full resync (minutes) unless the
/// quota object changes, so the driver then touches it ([`super::quota::request_recount`]).
pub fn quota_status_unknown(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 403 && s.message.contains(QUOTA_STATUS_UNKNOWN))
}

/// Forbidden answers that go away on their own.
fn is_retryable_forbidden(status: &Status) -> bool {
    let cause_is = |reason: &str| {
        status
            .details
            .as_ref()
            .is_some_and(|d| d.causes.iter().any(|c| c.reason == reason))
    };
    cause_is("NamespaceTerminating")
        || status.message.contains("because it is being terminated")
        || status.message.contains("exceeded quota")
}

/// `<code> <reason>: <message>`, followed by every cause the message does not already quote.
pub fn describe(status: &Status) -> String {
    let mut text = format!("{} {}: {}", status.code, status.reason, status.message);
    let retry_after = status.details.as_ref().map_or(0, |d| d.retry_after_seconds);
    if retry_after > 0 {
        text.push_str(&format!(" (retry after {retry_after}s)"));
    }
    let causes = status.details.iter().flat_map(|d| d.causes.iter());
    let mut extra = Vec::new();
    for cause in causes {
        let line = match (cause.field.is_empty(), cause.message.is_empty()) {
            (false, false) => format!("{}: {}", cause.field, cause.message),
            (false, true) => format!("{}: {}", cause.field, cause.reason),
            (true, _) => cause.message.clone(),
        };
        if !line.is_empty() && !status.message.contains(&line) {
            extra.push(line);
        }
    }
    if !extra.is_empty() {
        text.push_str(&format!(" [{}]", extra.join("; ")));
    }
    text
}

/// Runs `call` within `limit`; past it the call is `Transient`, naming `what`. (kube sets no
/// read timeout by itself.)
pub async fn within<T>(
    limit: std::time::Duration,
    what: &str,
    call: impl Future<Output = Result<T, PlatformError>>,
) -> Result<T, PlatformError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(PlatformError::Transient(format!(
            "{what} did not finish within {} ms",
            limit.as_millis()
        )))
    })
}

#[cfg(test)]
mod tests;
