//! `pgplane_tenant_quota`: the limits of a tenant's clusters. Every tenant has one (its
//! default quota from creation on); this resource sets it, and destroying it sets nothing back.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use tf_provider::value::ValueAny;

use crate::engine::{Context, Diag, Failure, Managed, Read};
use crate::resources::tenant;
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, from_json, get, int, string};

/// The five limits, each an attribute and a field of the API's quota, and the largest value
/// each takes (`max_clusters` and `max_instances` are 32-bit).
pub const LIMITS: [(&str, i64); 5] = [
    ("max_clusters", i32::MAX as i64),
    ("max_instances", i32::MAX as i64),
    ("max_cpu_millis", i64::MAX),
    ("max_memory_mib", i64::MAX),
    ("max_storage_gib", i64::MAX),
];

fn usage_attr() -> Attr {
    use Mode::Computed;
    Attr::object(
        "usage",
        Computed,
        "What the tenant's clusters ask for now, in the limits' units.",
        vec![
            Attr::int("clusters", Computed, "Clusters."),
            Attr::int(
                "instances",
                Computed,
                "PostgreSQL instances over all clusters.",
            ),
            Attr::int(
                "cpu_millis",
                Computed,
                "CPU over all instances, in millicores.",
            ),
            Attr::int("memory_mib", Computed, "Memory over all instances, in MiB."),
            Attr::int(
                "storage_gib",
                Computed,
                "Storage over all instances, in GiB.",
            ),
        ],
    )
}

pub fn spec() -> Spec {
    use Mode::{Computed, Required};
    Spec {
        type_name: "pgplane_tenant_quota",
        description: "The limits of a tenant's clusters (setting them takes a platform administrator's key). Lowering a limit below current usage removes nothing, but nothing may grow until usage is back under it. pgplane has no way to delete a quota: destroying this resource leaves the limits as they are and only stops Terraform managing them.",
        import_id: Some("<tenant>"),
        attrs: vec![
            Attr::string("id", Computed, "The tenant's name."),
            Attr::string("tenant", Required, "The tenant's name.").replace(),
            Attr::int("max_clusters", Required, "Clusters."),
            Attr::int(
                "max_instances",
                Required,
                "PostgreSQL instances over all clusters.",
            ),
            Attr::int(
                "max_cpu_millis",
                Required,
                "CPU over all instances, in millicores (1000 = one CPU).",
            ),
            Attr::int(
                "max_memory_mib",
                Required,
                "Memory over all instances, in MiB.",
            ),
            Attr::int(
                "max_storage_gib",
                Required,
                "Storage over all instances, in GiB.",
            ),
            usage_attr(),
        ],
    }
}

fn quota_path(tenant: &str) -> String {
    format!("{}/quota", tenant::path(tenant))
}

/// The state for a quota document (`QuotaOut`) of `tenant`.
pub fn state_from(tenant: &str, quota: &Json) -> Obj {
    let mut state = Obj::new();
    state.insert("id".into(), ValueAny::String(tenant.to_string()));
    state.insert("tenant".into(), ValueAny::String(tenant.to_string()));
    for (limit, _) in LIMITS {
        state.insert(
            limit.into(),
            quota[limit]
                .as_i64()
                .map_or(ValueAny::Null, ValueAny::Number),
        );
    }
    state.insert("usage".into(), from_json(&usage_attr(), &quota["usage"]));
    state
}

/// The `PUT .../quota` body: all five limits.
pub fn put_body(state: &Obj) -> Result<Json, Diag> {
    let mut body = Map::new();
    for (limit, _) in LIMITS {
        let Some(value) = int(state, limit) else {
            return Err(Diag::error(
                "Missing limit",
                format!("`{limit}` must be known to set the quota."),
            )
            .on(&[limit]));
        };
        body.insert(limit.into(), Json::from(value));
    }
    Ok(Json::Object(body))
}

pub fn validate(config: &Obj) -> Vec<Diag> {
    let mut diags = Vec::new();
    for (limit, max) in LIMITS {
        if let Some(value) = int(config, limit)
            && !(0..=max).contains(&value)
        {
            diags.push(
                Diag::error(
                    "Invalid limit",
                    format!("{value} is not between 0 and {max}."),
                )
                .on(&[limit]),
            );
        }
    }
    if let ValueAny::String(tenant) = get(config, "tenant")
        && !tenant::is_dns_label(tenant)
    {
        diags.push(
            Diag::error(
                "Invalid tenant name",
                format!("`{tenant}` is not a tenant name (a DNS-1123 label)."),
            )
            .on(&["tenant"]),
        );
    }
    diags
}

pub struct TenantQuota;

impl TenantQuota {
    async fn put(&self, context: &Context, planned: &Obj) -> Result<Read, Failure> {
        let tenant = string(planned, "tenant").unwrap_or_default();
        let body = put_body(planned)?;
        // No `If-Match`: the ETag covers usage too, which every cluster change moves, and
        // the five limits are set whole, as configured.
        let answer = context
            .api
            .put(&quota_path(&tenant), &body)
            .await
            .map_err(|e| Failure::api(&spec(), "Setting the quota failed", &e))?;
        Ok(Read {
            state: state_from(&tenant, &answer.body),
            etag: answer.etag,
        })
    }
}

#[async_trait]
impl Managed for TenantQuota {
    fn spec(&self) -> Spec {
        spec()
    }

    fn validate(&self, config: &Obj) -> Vec<Diag> {
        validate(config)
    }

    fn plan(&self, _context: &Context, planned: &mut Obj) {
        if let Some(tenant) = string(planned, "tenant") {
            planned.insert("id".into(), ValueAny::String(tenant));
        }
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let tenant = string(state, "tenant").unwrap_or_default();
        let answer = context
            .api
            .find(&quota_path(&tenant))
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the quota failed", &e))?;
        Ok(answer.map(|answer| Read {
            state: state_from(&tenant, &answer.body),
            etag: answer.etag,
        }))
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        self.put(context, planned).await
    }

    async fn update(
        &self,
        context: &Context,
        _prior: &Obj,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        self.put(context, planned).await
    }

    /// The API cannot delete a quota: the limits stay as they are (see the description).
    async fn delete(&self, _context: &Context, _state: &Obj) -> Result<(), Failure> {
        Ok(())
    }

    fn import(&self, _context: &Context, id: &str) -> Result<Obj, Diag> {
        if !tenant::is_dns_label(id) {
            return Err(Diag::error(
                "Invalid import id",
                format!("`{id}`: use the tenant's name."),
            ));
        }
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(id.to_string()));
        state.insert("tenant".into(), ValueAny::String(id.to_string()));
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fake;
    use crate::values::obj;

    /// A `QuotaOut` as the OpenAPI schema describes it.
    fn document() -> Json {
        json!({
            "max_clusters": 2,
            "max_instances": 4,
            "max_cpu_millis": 2000,
            "max_memory_mib": 4096,
            "max_storage_gib": 10,
            "usage": {"clusters": 1, "instances": 2, "cpu_millis": 500, "memory_mib": 1024, "storage_gib": 2},
            "updated_at": "2025-01-02T03:04:05Z"
        })
    }

    fn limits(values: [i64; 5]) -> Obj {
        let mut state: Obj = LIMITS
            .iter()
            .zip(values)
            .map(|((limit, _), v)| (limit.to_string(), ValueAny::Number(v)))
            .collect();
        state.insert("tenant".into(), ValueAny::String("acme".into()));
        state
    }

    #[test]
    fn a_quota_document_becomes_the_state() {
        let state = state_from("acme", &document());
        assert_eq!(state["id"], ValueAny::String("acme".into()));
        assert_eq!(state["tenant"], ValueAny::String("acme".into()));
        assert_eq!(state["max_clusters"], ValueAny::Number(2));
        assert_eq!(state["max_instances"], ValueAny::Number(4));
        assert_eq!(state["max_cpu_millis"], ValueAny::Number(2000));
        assert_eq!(state["max_memory_mib"], ValueAny::Number(4096));
        assert_eq!(state["max_storage_gib"], ValueAny::Number(10));
        let usage = obj(&state["usage"]);
        assert_eq!(usage["clusters"], ValueAny::Number(1));
        assert_eq!(usage["instances"], ValueAny::Number(2));
        assert_eq!(usage["cpu_millis"], ValueAny::Number(500));
        assert_eq!(usage["memory_mib"], ValueAny::Number(1024));
        assert_eq!(usage["storage_gib"], ValueAny::Number(2));
        assert!(!state.contains_key("updated_at"));
    }

    #[test]
    fn the_body_has_all_five_limits() {
        assert_eq!(
            put_body(&limits([2, 4, 2000, 4096, 10])).expect("complete"),
            json!({"max_clusters": 2, "max_instances": 4, "max_cpu_millis": 2000, "max_memory_mib": 4096, "max_storage_gib": 10})
        );
        let mut partial = limits([2, 4, 2000, 4096, 10]);
        partial.insert("max_memory_mib".into(), ValueAny::Unknown);
        let diag = put_body(&partial).expect_err("incomplete");
        assert_eq!(diag.path, vec!["max_memory_mib"]);
    }

    #[test]
    fn negative_or_oversized_limits_are_refused_at_plan() {
        assert!(validate(&limits([0, 0, 0, 0, 0])).is_empty());
        let diags = validate(&limits([-1, 1 << 31, 0, 0, -5]));
        let paths: Vec<Vec<String>> = diags.into_iter().map(|d| d.path).collect();
        assert_eq!(
            paths,
            vec![
                vec!["max_clusters"],
                vec!["max_instances"],
                vec!["max_storage_gib"]
            ]
        );
    }

    #[test]
    fn the_import_id_is_the_tenant() {
        let context = fake::context("http://127.0.0.1:1", None);
        let state = TenantQuota.import(&context, "acme").expect("valid");
        assert_eq!(state["tenant"], ValueAny::String("acme".into()));
        assert_eq!(state["id"], ValueAny::String("acme".into()));
        assert!(TenantQuota.import(&context, "acme/quota").is_err());
    }

    #[tokio::test]
    async fn destroying_sends_nothing() {
        let server = fake::serve(|_, _, _| (500, json!({"title": "unexpected"}))).await;
        let context = fake::context(&server.url, None);
        TenantQuota
            .delete(&context, &limits([2, 4, 2000, 4096, 10]))
            .await
            .expect("nothing to do");
        assert!(server.calls().is_empty(), "{:?}", server.calls());
    }
}
