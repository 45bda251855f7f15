//! `pgplane_tenant` (data source): a tenant the caller can see, by name.

use async_trait::async_trait;

use crate::engine::{Context, Diag, Failure, Lookup};
use crate::resources::tenant::{self, path, state_from};
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, string};

pub fn spec() -> Spec {
    use Mode::{Computed, Required};
    Spec {
        type_name: "pgplane_tenant",
        description: "A tenant the caller can see (a member's, or any for a platform administrator), by name.",
        import_id: None,
        attrs: vec![
            Attr::string("name", Required, "The tenant's name."),
            Attr::string("id", Computed, "The tenant's name."),
            Attr::string("uuid", Computed, "pgplane's id of the tenant."),
            Attr::string("display_name", Computed, "Human name."),
            Attr::bool(
                "suspended",
                Computed,
                "Whether the tenant is suspended (it cannot create clusters).",
            ),
        ],
    }
}

pub struct TenantData;

#[async_trait]
impl Lookup for TenantData {
    fn spec(&self) -> Spec {
        spec()
    }

    async fn read(&self, context: &Context, config: &Obj) -> Result<Obj, Failure> {
        let name = string(config, "name").unwrap_or_default();
        if !tenant::is_dns_label(&name) {
            return Err(Diag::error(
                "Invalid tenant name",
                format!("`{name}` is not a tenant name (a DNS-1123 label)."),
            )
            .on(&["name"])
            .into());
        }
        let answer = context
            .api
            .find(&path(&name))
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the tenant failed", &e))?;
        match answer {
            Some(answer) => Ok(state_from(&answer.body, &Obj::new())),
            None => Err(Diag::error(
                "No such tenant",
                format!("There is no tenant `{name}`, or this API key cannot see it."),
            )
            .on(&["name"])
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tf_provider::value::ValueAny;

    use super::*;
    use crate::fake;

    #[tokio::test]
    async fn a_tenant_is_read_by_name_and_a_missing_one_is_an_error_on_name() {
        let server = fake::serve(|_, target, _| match target {
            "/v1/tenants/acme" => (
                200,
                json!({
                    "id": "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a11",
                    "name": "acme",
                    "display_name": "Acme Corp",
                    "suspended": true,
                    "created_at": "2025-01-02T03:04:05Z",
                    "updated_at": "2025-01-02T03:04:05Z"
                }),
            ),
            _ => (404, json!({"title": "Not Found"})),
        })
        .await;
        let context = fake::context(&server.url, None);
        let mut config = Obj::new();
        config.insert("name".into(), ValueAny::String("acme".into()));
        let state = TenantData.read(&context, &config).await.expect("found");
        assert_eq!(state["id"], ValueAny::String("acme".into()));
        assert_eq!(
            state["uuid"],
            ValueAny::String("0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a11".into())
        );
        assert_eq!(state["display_name"], ValueAny::String("Acme Corp".into()));
        assert_eq!(state["suspended"], ValueAny::Bool(true));
        config.insert("name".into(), ValueAny::String("other".into()));
        let failure = TenantData
            .read(&context, &config)
            .await
            .expect_err("missing");
        assert_eq!(failure.diags[0].path, vec!["name"]);
    }
}
