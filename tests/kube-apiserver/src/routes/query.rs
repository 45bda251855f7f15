//! Query-string parameters of resource requests (list/watch options, write options).
//! Malformed values are 400 BadRequest, as in the apiserver.

use crate::error::ApiError;

/// Every query parameter this server understands.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pub watch: bool,
    pub label_selector: String,
    pub field_selector: String,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub timeout_seconds: Option<u64>,
    pub field_manager: Option<String>,
    pub force: Option<bool>,
    pub field_validation: Option<String>,
    pub dry_run: bool,
    pub propagation_policy: Option<String>,
}

fn boolean(name: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "invalid value {other:?} for {name}: must be a boolean"
        ))),
    }
}

fn number(name: &str, v: &str) -> Result<u64, ApiError> {
    v.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value {v:?} for {name}: must be a non-negative integer"
        ))
    })
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let v = v.as_ref();
            match k.as_ref() {
                "watch" => q.watch = boolean("watch", v)?,
                "labelSelector" => q.label_selector = v.to_string(),
                "fieldSelector" => q.field_selector = v.to_string(),
                "limit" => {
                    let n = number("limit", v)?;
                    q.limit = (n > 0).then_some(n as usize);
                }
                "continue" if !v.is_empty() => q.continue_token = Some(v.to_string()),
                "resourceVersion" if !v.is_empty() => q.resource_version = Some(v.to_string()),
                "resourceVersionMatch" if !v.is_empty() => {
                    q.resource_version_match = Some(v.to_string());
                }
                "allowWatchBookmarks" => {
                    q.allow_watch_bookmarks = boolean("allowWatchBookmarks", v)?;
                }
                "sendInitialEvents" => {
                    q.send_initial_events = Some(boolean("sendInitialEvents", v)?);
                }
                "timeoutSeconds" => q.timeout_seconds = Some(number("timeoutSeconds", v)?),
                "fieldManager" if !v.is_empty() => q.field_manager = Some(v.to_string()),
                "force" => q.force = Some(boolean("force", v)?),
                "fieldValidation" => q.field_validation = Some(v.to_string()),
                "dryRun" => q.dry_run = v == "All",
                "propagationPolicy" if !v.is_empty() => q.propagation_policy = Some(v.to_string()),
                _ => {}
            }
        }
        if let Some(fm) = &q.field_manager
            && fm.len() > 128
        {
            return Err(ApiError::bad_request(
                "fieldManager: Too long: may not be more than 128 bytes",
            ));
        }
        Ok(q)
    }

    /// The resourceVersion as a number (`None` when unset or "0").
    pub fn resource_version_number(&self) -> Result<Option<u64>, ApiError> {
        match self.resource_version.as_deref() {
            None | Some("0") => Ok(None),
            Some(rv) => rv.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid resource version {rv:?}: must be an unsigned integer"
                ))
            }),
        }
    }
}
