//! `pgplane_cluster_connection` (data source): how to connect to a cluster as its owner or one
//! of its roles, password included. Every read reveals the password, which pgplane audits.

use async_trait::async_trait;
use serde_json::Value as Json;
use tf_provider::value::ValueAny;

use crate::client::seg;
use crate::engine::{Context, Diag, Failure, Lookup};
use crate::resources::cluster::{path, tenant_of};
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, get, string};

pub fn spec() -> Spec {
    use Mode::{Computed, Default, Optional, Required};
    Spec {
        type_name: "pgplane_cluster_connection",
        description: "How to connect to a cluster: its primary's address, the user and database, the password, `postgresql://` URIs (TLS with `sslmode=verify-full`) and the CA certificate to verify the server with. Reading it reveals the password, which pgplane audits; it takes a developer's, admin's or owner's key.",
        import_id: None,
        attrs: vec![
            Attr::string(
                "tenant",
                Default,
                "The tenant's name (default: the provider's `tenant`).",
            ),
            Attr::string("cluster", Required, "The cluster's name."),
            Attr::string(
                "role",
                Optional,
                "One of the cluster's roles (see `pgplane_cluster_role`); default the owner.",
            ),
            Attr::string("host", Computed, "The primary's host name."),
            Attr::int("port", Computed, "The primary's port."),
            Attr::string(
                "database",
                Computed,
                "The database (the role's first database).",
            ),
            Attr::string("user", Computed, "The PostgreSQL user."),
            Attr::string("password", Computed, "The user's password.").sensitive(),
            Attr::string(
                "uri",
                Computed,
                "`postgresql://` URI of the primary, with the password and `sslmode=verify-full`.",
            )
            .sensitive(),
            Attr::string(
                "replicas_uri",
                Computed,
                "URI of the read-only endpoint over the replicas; null without replicas.",
            )
            .sensitive(),
            Attr::string(
                "pooler_uri",
                Computed,
                "URI of PgBouncer; null without the pooler.",
            )
            .sensitive(),
            Attr::string(
                "ca_certificate",
                Computed,
                "PEM of the CA that signed the server certificates (pass it as `sslrootcert`).",
            ),
            Attr::string("sslmode", Computed, "Always `verify-full`."),
        ],
    }
}

fn text(json: &Json) -> ValueAny {
    json.as_str()
        .map_or(ValueAny::Null, |s| ValueAny::String(s.to_string()))
}

/// The connection's API path, revealing the password, for `role` (the owner when `None`).
pub fn connection_path(tenant: &str, cluster: &str, role: Option<&str>) -> String {
    let mut url = format!("{}/connection?reveal=true", path(tenant, cluster));
    if let Some(role) = role {
        url.push_str("&role=");
        url.push_str(&seg(role));
    }
    url
}

/// The state for a connection document (`ConnectionOut`), with the configuration's
/// `tenant`, `cluster` and `role`.
pub fn state_from(tenant: &str, config: &Obj, connection: &Json) -> Obj {
    let mut state = Obj::new();
    state.insert("tenant".into(), ValueAny::String(tenant.to_string()));
    state.insert("cluster".into(), get(config, "cluster").clone());
    state.insert("role".into(), get(config, "role").clone());
    let primary = &connection["primary"];
    state.insert("host".into(), text(&primary["host"]));
    state.insert(
        "port".into(),
        primary["port"]
            .as_i64()
            .map_or(ValueAny::Null, ValueAny::Number),
    );
    state.insert("uri".into(), text(&primary["uri"]));
    state.insert("replicas_uri".into(), text(&connection["replicas"]["uri"]));
    state.insert("pooler_uri".into(), text(&connection["pooler"]["uri"]));
    for field in ["database", "user", "password", "ca_certificate", "sslmode"] {
        state.insert(field.into(), text(&connection[field]));
    }
    state
}

pub struct ClusterConnection;

#[async_trait]
impl Lookup for ClusterConnection {
    fn spec(&self) -> Spec {
        spec()
    }

    async fn read(&self, context: &Context, config: &Obj) -> Result<Obj, Failure> {
        let tenant = tenant_of(context, config)?;
        let cluster = string(config, "cluster").unwrap_or_default();
        let role = string(config, "role");
        let answer = context
            .api
            .get(&connection_path(&tenant, &cluster, role.as_deref()))
            .await
            .map_err(|e| {
                let mut failure =
                    Failure::api(&spec(), "Reading the connection details failed", &e);
                if e.status().map(|s| s.as_u16()) == Some(409) {
                    failure.diags.push(Diag::error(
                        "Not known yet",
                        format!("Cluster `{tenant}/{cluster}` (or the role) is still being created; read this data source after it is ready, e.g. by referring to the `pgplane_cluster` resource's attributes."),
                    ));
                }
                failure
            })?;
        Ok(state_from(&tenant, config, &answer.body))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fake;

    const URI: &str =
        "postgresql://orders:s%40cret@orders-rw.tfcorp:5432/orders?sslmode=verify-full";

    /// A revealed `ConnectionOut` as the OpenAPI schema describes it, without replicas.
    fn document() -> Json {
        json!({
            "database": "orders",
            "user": "orders",
            "primary": {"host": "orders-rw.tfcorp", "port": 5432, "uri": URI},
            "replicas": null,
            "pooler": {"host": "orders-pooler.tfcorp", "port": 6432, "uri": "postgresql://orders:s%40cret@orders-pooler.tfcorp:6432/orders?sslmode=verify-full"},
            "sslmode": "verify-full",
            "ca_certificate": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
            "password": "s@cret"
        })
    }

    fn s(value: &str) -> ValueAny {
        ValueAny::String(value.into())
    }

    #[test]
    fn a_connection_document_becomes_the_state() {
        let mut config = Obj::new();
        config.insert("cluster".into(), s("orders"));
        let state = state_from("tfcorp", &config, &document());
        assert_eq!(state["tenant"], s("tfcorp"));
        assert_eq!(state["cluster"], s("orders"));
        assert_eq!(state["role"], ValueAny::Null);
        assert_eq!(state["host"], s("orders-rw.tfcorp"));
        assert_eq!(state["port"], ValueAny::Number(5432));
        assert_eq!(state["database"], s("orders"));
        assert_eq!(state["user"], s("orders"));
        assert_eq!(state["password"], s("s@cret"));
        assert_eq!(state["uri"], s(URI), "the primary's, with the password");
        assert_eq!(state["replicas_uri"], ValueAny::Null);
        assert!(matches!(&state["pooler_uri"], ValueAny::String(uri) if uri.contains(":6432/")));
        assert_eq!(state["sslmode"], s("verify-full"));
        assert!(
            matches!(&state["ca_certificate"], ValueAny::String(pem) if pem.starts_with("-----BEGIN"))
        );
    }

    #[test]
    fn secrets_are_sensitive() {
        let spec = spec();
        for attr in &spec.attrs {
            let secret = matches!(
                attr.name,
                "password" | "uri" | "replicas_uri" | "pooler_uri"
            );
            assert_eq!(attr.sensitive, secret, "{}", attr.name);
        }
    }

    #[tokio::test]
    async fn the_password_is_revealed_for_the_role_in_the_providers_tenant() {
        let server = fake::serve(|_, target, _| match target {
            "/v1/tenants/tfcorp/clusters/orders/connection?reveal=true&role=app-ro" => {
                (200, document())
            }
            _ => (404, json!({"title": "Not Found"})),
        })
        .await;
        let context = fake::context(&server.url, Some("tfcorp"));
        let mut config = Obj::new();
        config.insert("cluster".into(), s("orders"));
        config.insert("role".into(), s("app-ro"));
        let state = ClusterConnection
            .read(&context, &config)
            .await
            .expect("read");
        assert_eq!(state["tenant"], s("tfcorp"));
        assert_eq!(state["role"], s("app-ro"));
        assert_eq!(state["password"], s("s@cret"));
        assert_eq!(
            connection_path("tfcorp", "orders", None),
            "/v1/tenants/tfcorp/clusters/orders/connection?reveal=true"
        );
    }
}
