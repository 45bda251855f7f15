//! ETags and `If-Match`. A resource's ETag is a hash of its JSON representation, so it changes
//! exactly when something a client can see changes.

use axum::http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};

/// The strong ETag of a representation.
pub fn of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]))
}

/// 412 when the request carries `If-Match` and none of its tags is `current` (or `*`).
pub fn check_if_match(headers: &HeaderMap, current: &str) -> ApiResult<()> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::bad_parameter("If-Match", "is not ASCII"))?;
    let matches = value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current || tag.strip_prefix("W/") == Some(current));
    if matches {
        Ok(())
    } else {
        Err(ApiError::precondition_failed())
    }
}

/// The `ETag` header for a representation.
pub fn header_value<T: Serialize>(value: &T) -> (header::HeaderName, HeaderValue) {
    let tag = of(value);
    (
        header::ETAG,
        HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\"")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_the_current_tag_or_star_and_refuses_others() {
        let current = of(&serde_json::json!({"a": 1}));
        let mut headers = HeaderMap::new();
        assert!(check_if_match(&headers, &current).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_str(&current).unwrap());
        assert!(check_if_match(&headers, &current).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert!(check_if_match(&headers, &current).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"stale\""));
        assert!(check_if_match(&headers, &current).is_err());
    }
}
