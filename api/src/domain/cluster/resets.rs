//! Guarded resets: in a JSON merge patch (RFC 7396) `null` removes a member, and pgplane then
//! applies the member's default again. For most fields that is what a client means; for the
//! fields below it can shrink a cluster or lose what protects its data (`{"instances": null}`
//! takes an HA cluster to one instance, `{"users": null}` drops every extra role,
//! `{"deletion_protection": null}` turns protection off). A `null` that changes one of them is
//! refused unless the request carries `If-Match`: the client has read the current spec and
//! confirms the reset. Sending the value itself is always accepted.

use serde_json::Value;

use super::FieldError;
use super::spec::ClusterSpec;

/// Top-level fields whose reset to a default is refused without `If-Match`.
pub const GUARDED: [&str; 7] = [
    "instances",
    "resources",
    "storage",
    "backups",
    "users",
    "deletion_policy",
    "deletion_protection",
];

impl ClusterSpec {
    /// The `null`s of `patch` that would change a guarded field of this spec, each as an
    /// error naming the field, its current value and the default it would get. A patch that
    /// does not apply cleanly has none here: its own errors are reported where it is applied.
    pub fn guarded_resets(&self, patch: &Value) -> Vec<FieldError> {
        let Ok(updated) = self.apply_merge_patch(patch) else {
            return Vec::new();
        };
        let (Ok(before), Ok(after)) = (serde_json::to_value(self), serde_json::to_value(&updated))
        else {
            return Vec::new();
        };
        let mut nulls = Vec::new();
        null_paths(patch, &mut Vec::new(), &mut nulls);
        nulls
            .into_iter()
            .filter(|path| GUARDED.contains(&path[0].as_str()))
            .filter_map(|path| {
                let pointer = format!("/{}", path.join("/"));
                let old = before.pointer(&pointer).unwrap_or(&Value::Null);
                let new = after.pointer(&pointer).unwrap_or(&Value::Null);
                (old != new).then(|| {
                    FieldError::new(
                        path.join("."),
                        format!(
                            "null would reset it from {old} to its default {new}; send the value \
                             you want, or repeat the request with If-Match to confirm the reset"
                        ),
                    )
                })
            })
            .collect()
    }
}

/// The paths (member names from the root) of every `null` member in `patch`.
fn null_paths(patch: &Value, at: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    let Value::Object(members) = patch else {
        return;
    };
    for (key, value) in members {
        at.push(key.clone());
        if value.is_null() {
            found.push(at.clone());
        } else {
            null_paths(value, at, found);
        }
        at.pop();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ha_cluster() -> ClusterSpec {
        ClusterSpec::test().with_instances(3).with_cpu("4")
    }

    #[test]
    fn a_null_that_would_shrink_the_cluster_names_the_field_and_both_values() {
        let errors = ha_cluster().guarded_resets(&json!({"instances": null}));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "instances");
        assert!(
            errors[0].message.contains("from 3 to its default 1"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn nested_nulls_and_every_guarded_field_are_checked() {
        let mut spec = ha_cluster();
        spec.deletion_protection = true;
        let errors =
            spec.guarded_resets(&json!({"deletion_protection": null, "resources": {"cpu": null}}));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["deletion_protection", "resources.cpu"]);
    }

    #[test]
    fn a_null_that_changes_nothing_or_an_unguarded_field_passes() {
        let spec = ClusterSpec::test();
        assert!(spec.guarded_resets(&json!({"instances": null})).is_empty());
        assert!(
            ha_cluster()
                .guarded_resets(&json!({"parameters": null}))
                .is_empty()
        );
        assert!(
            ha_cluster()
                .guarded_resets(&json!({"instances": 1}))
                .is_empty()
        );
    }
}
