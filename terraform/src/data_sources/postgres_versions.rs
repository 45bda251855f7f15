//! `pgplane_postgres_versions` (data source): the PostgreSQL major versions a cluster may
//! have on this platform, and the default.

use async_trait::async_trait;
use serde_json::Value as Json;
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::ValueAny;
use tf_provider::{DataSource, Diagnostics};

use crate::engine::{Context, DataSourceAdapter, Failure, Lookup, Shared};
use crate::schema::{Attr, Kind, Mode, Spec};
use crate::values::Obj;

pub fn spec() -> Spec {
    Spec {
        type_name: "pgplane_postgres_versions",
        description: "The PostgreSQL major versions a cluster may have on this platform, and the one a cluster gets when it names none.",
        import_id: None,
        attrs: vec![
            // A list of numbers: see `Versions::schema`.
            Attr::new(
                "versions",
                Kind::StringList,
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

/// The data source as Terraform sees it: the engine's, with `versions` a list of numbers (the
/// schema module has no such kind; see [`spec`]).
pub struct Versions(DataSourceAdapter<PostgresVersions>);

impl Versions {
    pub fn new(shared: Shared) -> Versions {
        Versions(DataSourceAdapter::new(PostgresVersions, shared))
    }
}

#[async_trait]
impl DataSource for Versions {
    type State<'a> = ValueAny;
    type ProviderMetaState<'a> = ValueAny;

    fn schema(&self, diags: &mut Diagnostics) -> Option<Schema> {
        let mut schema = self.0.schema(diags)?;
        if let Some(versions) = schema.block.attributes.get_mut("versions") {
            versions.attr_type = AttributeType::List(Box::new(AttributeType::Number));
        }
        Some(schema)
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ValueAny) -> Option<()> {
        self.0.validate(diags, config).await
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: ValueAny,
        meta: ValueAny,
    ) -> Option<ValueAny> {
        self.0.read(diags, config, meta).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        let source = Versions::new(Shared::default());
        let mut diags = Diagnostics::default();
        let schema = source.schema(&mut diags).expect("schema");
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
