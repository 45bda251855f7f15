//! The non-apply PATCH content types: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch.
//!
//! Strategic merge patch is applied as a JSON merge patch: lists are replaced whole and
//! `$patch`/`$retainKeys`/`$setElementOrder` directives are not interpreted. For the PGO
//! custom resources that is exactly what the apiserver does (custom resources do not support
//! strategic merge patch; the apiserver answers 415), so for those types this server also
//! answers 415; for built-in types it is a documented simplification.

use serde_json::Value;

use crate::error::ApiError;
use crate::validation::FieldCause;

/// The PATCH flavours, by `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// Parses a request body as JSON, or as YAML for apply patches (JSON is valid YAML).
pub(crate) fn parse_body(body: &[u8], yaml: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) if yaml => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("the body is not valid UTF-8"))?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!("error decoding YAML: {e} (as JSON: {json_err})"))
            })
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "the body of the request was in an unknown format: {e}"
        ))),
    }
}

/// Applies a JSON, merge or strategic-merge patch to `target`.
pub(crate) fn apply(kind: PatchType, target: &Value, patch: &Value) -> Result<Value, ApiError> {
    let mut doc = target.clone();
    match kind {
        PatchType::Merge | PatchType::StrategicMerge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut doc, patch);
        }
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &ops.0).map_err(|e| {
                let cause =
                    FieldCause::invalid("patch", &Value::from(patch.to_string()), &e.to_string());
                let mut err = ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ));
                err.code = 422;
                err.reason = "Invalid";
                err.causes = vec![cause.into_status_cause()];
                err
            })?;
        }
        PatchType::Apply => return Err(ApiError::internal("apply patches are not handled here")),
    }
    Ok(doc)
}
