//! The NUL character (U+0000) is refused wherever text enters: PostgreSQL cannot store it in
//! `text` (SQLSTATE 22021), so a value carrying one would otherwise travel to the first query
//! and come back as a 500. [`refuse_in_path_and_query`] checks every path parameter and query
//! value of every route (400 naming the parameter) before authentication, audit or a handler
//! see them; [`json_path`] finds one in a JSON body (keys included) for
//! [`super::extract::parse_json`] to answer 422 naming the field. Header values cannot carry a
//! NUL: the HTTP parser refuses them.

use axum::extract::{Query, RawPathParams, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;

/// Why a value holding a NUL is refused, as `errors[].message` says it.
pub const MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Middleware (a route layer, outermost but for metrics): 400 naming the first path parameter
/// or query parameter whose decoded name or value holds a NUL.
pub async fn refuse_in_path_and_query(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Ok(params) = axum::RequestPartsExt::extract::<RawPathParams>(&mut parts).await
        && let Some((name, _)) = params.iter().find(|(_, value)| value.contains('\0'))
    {
        return ApiError::bad_parameter(name, MESSAGE).into_response();
    }
    if parts.uri.query().is_some_and(|q| q.contains("%00"))
        && let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        && let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return ApiError::bad_parameter(printable(name), MESSAGE).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The path (`spec.users[0].name`, as `serde_path_to_error` writes them) of the first string
/// or object key in `value` holding a NUL; a key is named with its NUL written `\u0000`.
pub fn json_path(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(String::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            json_path(item).map(|rest| join(&format!("[{index}]"), &rest))
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(printable(key));
            }
            json_path(item).map(|rest| join(key, &rest))
        }),
        _ => None,
    }
}

/// `head` followed by the rest of a path (`name` + `[0].x` → `name[0].x`, `a` + `b` → `a.b`).
fn join(head: &str, rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        format!("{head}{rest}")
    } else {
        format!("{head}.{rest}")
    }
}

/// `text` with each NUL written as `\u0000`, so a name can be echoed (and logged) safely.
fn printable(text: &str) -> String {
    text.replace('\0', "\\u0000")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::json_path;

    #[test]
    fn a_nul_is_found_in_nested_values_and_in_keys() {
        assert_eq!(
            json_path(&json!({"email": "a\u{0}b"})).as_deref(),
            Some("email")
        );
        assert_eq!(
            json_path(&json!({"spec": {"users": [{"name": "ok"}, {"name": "x\u{0}"}]}})).as_deref(),
            Some("spec.users[1].name")
        );
        assert_eq!(json_path(&json!(["a", "\u{0}"])).as_deref(), Some("[1]"));
        assert_eq!(
            json_path(&json!({"labels": {"k\u{0}": "v"}})).as_deref(),
            Some("labels.k\\u0000")
        );
        assert_eq!(json_path(&json!({"name": "x", "n": 1, "b": null})), None);
    }
}
