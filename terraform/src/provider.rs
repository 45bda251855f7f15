//! The provider itself: its configuration (endpoint, API key, default tenant, each with its
//! environment variable) and the resources and data sources it serves.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::ValueAny;
use tf_provider::{Diagnostics, DynamicDataSource, DynamicResource, Provider};
use tokio_util::sync::CancellationToken;

use crate::client::Api;
use crate::engine::{Context, Shared};
use crate::schema::{Attr, Mode, Spec};
use crate::values::{obj, string};
use crate::{data_sources, resources};

pub const ENDPOINT_ENV: &str = "PGPLANE_ENDPOINT";
pub const API_KEY_ENV: &str = "PGPLANE_API_KEY";
pub const TENANT_ENV: &str = "PGPLANE_TENANT";

pub fn spec() -> Spec {
    Spec {
        type_name: "provider",
        description: "The pgplane provider manages tenants, quotas, members, API keys and PostgreSQL clusters through pgplane's REST API: the same calls, checks and audit trail as the portal.",
        import_id: None,
        attrs: vec![
            Attr::string(
                "endpoint",
                Mode::Optional,
                "pgplane's API address, e.g. `https://pgplane.example.com`. Defaults to the `PGPLANE_ENDPOINT` environment variable.",
            ),
            Attr::string(
                "api_key",
                Mode::Optional,
                "An API key (a tenant service key, or a personal key for platform administration). Defaults to the `PGPLANE_API_KEY` environment variable.",
            )
            .sensitive(),
            Attr::string(
                "tenant",
                Mode::Optional,
                "The tenant resources and data sources use when they do not name one. Defaults to the `PGPLANE_TENANT` environment variable.",
            ),
        ],
    }
}

pub struct PgplaneProvider {
    shared: Shared,
    stop: CancellationToken,
}

impl PgplaneProvider {
    /// `stop` is cancelled when Terraform is interrupted.
    pub fn new(stop: CancellationToken) -> Self {
        PgplaneProvider {
            shared: Shared::default(),
            stop,
        }
    }
}

#[async_trait]
impl Provider for PgplaneProvider {
    type Config<'a> = ValueAny;
    type MetaState<'a> = ValueAny;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(spec().to_tf())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ValueAny,
    ) -> Option<()> {
        let config = obj(&config);
        let setting = |name: &str, env: &str| {
            string(&config, name).or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
        };
        let Some(endpoint) = setting("endpoint", ENDPOINT_ENV) else {
            diags.root_error(
                "Missing pgplane endpoint",
                format!("Set `endpoint` in the provider block or the {ENDPOINT_ENV} environment variable."),
            );
            return None;
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            diags.root_error(
                "Invalid pgplane endpoint",
                format!("`{endpoint}` is not an http:// or https:// address."),
            );
            return None;
        }
        let Some(api_key) = setting("api_key", API_KEY_ENV) else {
            diags.root_error(
                "Missing pgplane API key",
                format!(
                    "Set `api_key` in the provider block or the {API_KEY_ENV} environment variable."
                ),
            );
            return None;
        };
        let api = match Api::new(&endpoint, &api_key) {
            Ok(api) => api,
            Err(e) => {
                diags.root_error("Cannot set up the HTTP client", e.to_string());
                return None;
            }
        };
        let context = Context {
            api,
            default_tenant: setting("tenant", TENANT_ENV),
            stop: self.stop.clone(),
        };
        if let Ok(mut guard) = self.shared.write() {
            *guard = Some(Arc::new(context));
        }
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(resources::all(&self.shared))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(data_sources::all(&self.shared))
    }
}
