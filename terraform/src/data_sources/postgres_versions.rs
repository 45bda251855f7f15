//! `pgplane_postgres_versions` (data source): the PostgreSQL major versions a cluster may
//! have on this platform, and the default.

use async_trait::async_trait;
use serde_json::Value as Json;
use tf_provider::value::ValueAny;

use crate::engine::{Context, Failure, Lookup};
use crate::schema::{Attr, Kind, Mode, Spec};
use crate::values::Obj;

pub fn spec() -> Spec {
    Spec {
        type_name: "pgplane_postgres_versions",
        description: "The PostgreSQL major versions a cluster may have on this platform, and the one a cluster gets when it names none.",
        import_id: None,
        attrs: vec![
            Attr::new(
                "versions",
                Kind::IntList,
                Mode::Computed,
                "The major versions (numbers), oldest first.",
            ),
            Attr::int(
                "default",
                Mode::Computed,
                "The version of a cluster created without `postgres_version`.",
            ),
        ],
    }
}

/// The state for a versions document (`PostgresVersionsOut`).
pub fn state_from(versions: &Json) -> Obj {
    let items: Vec<&Json> = versions["items"].as_array().into_iter().flatten().collect();
    let mut state = Obj::new();
    state.insert(
        "versions".into(),
        ValueAny::List(
            items
                .iter()
                .filter_map(|item| item["version"].as_i64().map(ValueAny::Number))
                .collect(),
        ),
    );
    state.insert(
        "default".into(),
        items
            .iter()
            .find(|item| item["default"] == Json::Bool(true))
            .and_then(|item| item["version"].as_i64())
            .map_or(ValueAny::Null, ValueAny::Number),
    );
    state
}

pub struct PostgresVersions;

#[async_trait]
impl Lookup for PostgresVersions {
    fn spec(&self) -> Spec {
        spec()
    }

    async fn read(&self, context: &Context, _config: &Obj) -> Result<Obj, Failure> {
        let answer = context
            .api
            .get("/v1/postgres-versions")
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the PostgreSQL versions failed", &e))?;
        Ok(state_from(&answer.body))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tf_provider::schema::AttributeType;

    use super::*;

    #[test]
    fn the_versions_are_numbers_and_the_default_is_the_flagged_one() {
        let state = state_from(&json!({"items": [
            {"version": 15, "default": false},
            {"version": 16, "default": true},
            {"version": 17, "default": false}
        ]}));
        assert_eq!(
            state["versions"],
            ValueAny::List(vec![
                ValueAny::Number(15),
                ValueAny::Number(16),
                ValueAny::Number(17)
            ])
        );
        assert_eq!(state["default"], ValueAny::Number(16));
        let none = state_from(&json!({"items": [{"version": 15, "default": false}]}));
        assert_eq!(none["default"], ValueAny::Null);
    }

    #[test]
    fn terraform_is_told_versions_is_a_list_of_numbers() {
        let schema = spec().to_tf();
        let versions = &schema.block.attributes["versions"];
        assert!(
            matches!(&versions.attr_type, AttributeType::List(item) if matches!(**item, AttributeType::Number)),
            "{:?}",
            versions.attr_type
        );
        assert!(matches!(
            schema.block.attributes["default"].attr_type,
            AttributeType::Number
        ));
    }
}
