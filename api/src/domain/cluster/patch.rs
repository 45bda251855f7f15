//! Updates as RFC 7386 JSON merge patches over the serialised [`ClusterSpec`].
//!
//! The patch is merged into the stored document, the result is read as a fresh
//! [`ClusterRequest`](super::ClusterRequest) (so a `null` removes a member and its default applies again) and fully
//! re-validated. On top of that come the rules about change itself: `name`, `database`,
//! `owner`, `postgres_version` and `storage.class` cannot change, and `storage.size` cannot
//! shrink, because PGO (or Kubernetes beneath it) cannot carry those changes out.

use serde_json::{Map, Value};

use super::request::covers;
use super::spec::{ClusterSpec, defaults};
use super::{FieldError, quantity};

impl ClusterSpec {
    /// Applies the merge patch `patch` to this spec and validates the result as a whole,
    /// including the rules about what may change; returns every error found.
    pub fn apply_merge_patch(&self, patch: &Value) -> Result<ClusterSpec, Vec<FieldError>> {
        if !patch.is_object() {
            return Err(vec![FieldError::new(
                "",
                "a merge patch must be a JSON object",
            )]);
        }
        let mut document = serde_json::to_value(self).map_err(|e| {
            vec![FieldError::new(
                "",
                format!("stored spec is unreadable: {e}"),
            )]
        })?;
        merge_patch(&mut document, patch);

        let mut errors = self.immutable_errors(&document);
        let (updated, found) = ClusterSpec::read_and_check(&document);
        for error in found {
            if !errors
                .iter()
                .any(|known| covers(&known.field, &error.field))
            {
                errors.push(error);
            }
        }
        for error in self.transition_errors(&updated) {
            if !errors
                .iter()
                .any(|known| covers(&known.field, &error.field))
            {
                errors.push(error);
            }
        }
        if errors.is_empty() {
            Ok(updated)
        } else {
            Err(errors)
        }
    }

    /// Fields of the merged `document` that would change an immutable value.
    fn immutable_errors(&self, document: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let get = |key: &str| document.get(key).filter(|v| !v.is_null());
        if get("name").and_then(Value::as_str) != Some(self.name.as_str()) {
            errors.push(FieldError::new("name", "cannot be changed"));
        }
        let name = get("name").and_then(Value::as_str).unwrap_or(&self.name);
        for (key, current) in [("database", &self.database), ("owner", &self.owner)] {
            let resolved = match get(key) {
                None => Some(name),
                Some(value) => value.as_str(),
            };
            if resolved.is_some_and(|value| value != current) {
                errors.push(FieldError::new(key, "cannot be changed"));
            }
        }
        let version = match get("postgres_version") {
            None => Some(u64::from(defaults::POSTGRES_VERSION)),
            Some(value) => value.as_u64(),
        };
        if version.is_some_and(|v| v != u64::from(self.postgres_version)) {
            errors.push(FieldError::new(
                "postgres_version",
                "cannot be changed in place: a major version upgrade is a separate operation (POST .../upgrade)",
            ));
        }
        let source = get("source").cloned().unwrap_or(Value::Null);
        let current_source = serde_json::to_value(&self.source).unwrap_or(Value::Null);
        if source != current_source {
            errors.push(FieldError::new(
                "source",
                "cannot be changed: it says where the cluster's data came from",
            ));
        }
        let standby = get("standby").cloned().unwrap_or(Value::Null);
        let current_standby = serde_json::to_value(&self.standby).unwrap_or(Value::Null);
        if standby != current_standby {
            errors.push(FieldError::new(
                "standby",
                "cannot be changed: a standby stops following its source when it is promoted (POST .../promote)",
            ));
        }
        errors
    }

    /// Rules about moving from this spec to `updated` (both individually valid).
    fn transition_errors(&self, updated: &ClusterSpec) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if updated.storage.class != self.storage.class {
            errors.push(FieldError::new(
                "storage.class",
                "cannot be changed: existing volumes keep their StorageClass",
            ));
        }
        let size = |spec: &ClusterSpec| quantity::parse_bytes(&spec.storage.size).ok();
        if let (Some(before), Some(after)) = (size(self), size(updated))
            && after < before
        {
            errors.push(FieldError::new(
                "storage.size",
                format!("cannot shrink below the current {}", self.storage.size),
            ));
        }
        errors
    }
}

/// RFC 7386: objects merge member by member, `null` removes a member, anything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in members {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
