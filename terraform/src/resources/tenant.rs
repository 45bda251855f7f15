//! `pgplane_tenant`: a tenant (an organisation and its Kubernetes namespace), managed by
//! platform administrators. Its name is fixed; the display name and suspension change in place.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use tf_provider::value::ValueAny;

use crate::client::{ApiError, seg};
use crate::engine::{Context, Diag, Failure, Managed, Read};
use crate::schema::{Attr, Mode, Spec};
use crate::values::{Obj, get, string};

pub fn spec() -> Spec {
    use Mode::{Computed, Default, Required};
    Spec {
        type_name: "pgplane_tenant",
        description: "A tenant: an organisation's own space (a Kubernetes namespace) for its clusters, members and API keys. Managing tenants takes a platform administrator's key. pgplane refuses to delete a tenant that still has clusters (or keeps backups of deleted ones).",
        import_id: Some("<name>"),
        attrs: vec![
            Attr::string("id", Computed, "The tenant's name."),
            Attr::string(
                "name",
                Required,
                "DNS-1123 label of at most 63 characters (lowercase letters, digits and hyphens); it names the tenant's Kubernetes namespace.",
            )
            .replace(),
            Attr::string(
                "display_name",
                Default,
                "Human name, at most 200 characters (default: `name`).",
            ),
            Attr::bool(
                "suspended",
                Default,
                "When true, the tenant cannot create clusters; existing ones keep running (default false).",
            ),
            Attr::string("uuid", Computed, "pgplane's id of the tenant."),
            Attr::string("created_at", Computed, "RFC 3339."),
        ],
    }
}

/// The tenant's API path.
pub fn path(name: &str) -> String {
    format!("/v1/tenants/{}", seg(name))
}

fn text(json: &Json) -> ValueAny {
    json.as_str()
        .map_or(ValueAny::Null, |s| ValueAny::String(s.to_string()))
}

/// The state for a tenant document (`TenantOut`); the display name keeps `prior`'s spelling
/// when the API only trimmed it.
pub fn state_from(tenant: &Json, prior: &Obj) -> Obj {
    let mut state = Obj::new();
    let name = text(&tenant["name"]);
    state.insert("id".into(), name.clone());
    state.insert("name".into(), name);
    let display_name = match (get(prior, "display_name"), tenant["display_name"].as_str()) {
        (ValueAny::String(old), Some(new)) if old.trim() == new => ValueAny::String(old.clone()),
        (_, new) => new.map_or(ValueAny::Null, |s| ValueAny::String(s.to_string())),
    };
    state.insert("display_name".into(), display_name);
    state.insert(
        "suspended".into(),
        tenant["suspended"]
            .as_bool()
            .map_or(ValueAny::Null, ValueAny::Bool),
    );
    state.insert("uuid".into(), text(&tenant["id"]));
    state.insert("created_at".into(), text(&tenant["created_at"]));
    state
}

/// The `POST /v1/tenants` body (suspension is not part of it: it is a `PATCH` afterwards).
pub fn create_body(planned: &Obj) -> Json {
    let mut body = Map::new();
    body.insert(
        "name".into(),
        json!(string(planned, "name").unwrap_or_default()),
    );
    if let ValueAny::String(display_name) = get(planned, "display_name") {
        body.insert("display_name".into(), json!(display_name));
    }
    Json::Object(body)
}

/// The merge patch from `prior` to `planned`: the known values that changed.
pub fn update_patch(prior: &Obj, planned: &Obj) -> Map<String, Json> {
    let mut patch = Map::new();
    if let ValueAny::String(new) = get(planned, "display_name")
        && get(prior, "display_name") != get(planned, "display_name")
    {
        patch.insert("display_name".into(), json!(new));
    }
    if let ValueAny::Bool(new) = get(planned, "suspended")
        && get(prior, "suspended") != get(planned, "suspended")
    {
        patch.insert("suspended".into(), json!(new));
    }
    patch
}

/// Whether `name` is a DNS-1123 label of at most 63 characters.
pub fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn validate(config: &Obj) -> Vec<Diag> {
    let mut diags = Vec::new();
    if let ValueAny::String(name) = get(config, "name")
        && !is_dns_label(name)
    {
        diags.push(
            Diag::error(
                "Invalid tenant name",
                format!("`{name}` must be a DNS-1123 label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."),
            )
            .on(&["name"]),
        );
    }
    if let ValueAny::String(display_name) = get(config, "display_name") {
        let chars = display_name.trim().chars().count();
        let why = if chars == 0 {
            Some("must not be blank")
        } else if chars > 200 {
            Some("must be at most 200 characters")
        } else if display_name.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else {
            None
        };
        if let Some(why) = why {
            diags.push(
                Diag::error("Invalid display name", format!("It {why}.")).on(&["display_name"]),
            );
        }
    }
    diags
}

/// The diagnostics of a refused delete: a 409 says what the tenant still holds.
fn delete_failure(name: &str, error: &ApiError) -> Failure {
    if let ApiError::Problem(problem) = error
        && problem.status.as_u16() == 409
    {
        return Failure::new(Diag::error(
            "The tenant still has clusters",
            format!(
                "pgplane refuses to delete tenant `{name}` while it has clusters (or keeps the backups of deleted ones): {}. When Terraform manages them, have them refer to the tenant (`tenant = pgplane_tenant.<name>.name`) so that they are destroyed first.",
                problem.detail
            ),
        ));
    }
    Failure::api(&spec(), "Deleting the tenant failed", error)
}

pub struct Tenant;

impl Tenant {
    async fn fetch(
        &self,
        context: &Context,
        name: &str,
        prior: &Obj,
    ) -> Result<Option<Read>, Failure> {
        let answer = context
            .api
            .find(&path(name))
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the tenant failed", &e))?;
        Ok(answer.map(|answer| Read {
            state: state_from(&answer.body, prior),
            etag: answer.etag,
        }))
    }

    async fn patch(
        &self,
        context: &Context,
        name: &str,
        patch: Map<String, Json>,
        etag: Option<&str>,
    ) -> Result<crate::client::Answer, Failure> {
        context
            .api
            .patch(&path(name), &Json::Object(patch), etag)
            .await
            .map_err(|e| {
                let mut failure = Failure::api(&spec(), "Updating the tenant failed", &e);
                if e.status().map(|s| s.as_u16()) == Some(412) {
                    failure.diags = vec![Diag::error(
                        "The tenant changed since Terraform read it",
                        "Someone changed it outside Terraform after the last refresh; nothing was overwritten. Run `terraform plan` again to see the change.",
                    )];
                }
                failure
            })
    }
}

#[async_trait]
impl Managed for Tenant {
    fn spec(&self) -> Spec {
        spec()
    }

    fn validate(&self, config: &Obj) -> Vec<Diag> {
        validate(config)
    }

    fn plan(&self, _context: &Context, planned: &mut Obj) {
        if let Some(name) = string(planned, "name") {
            planned.insert("id".into(), ValueAny::String(name));
        }
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let name = string(state, "name").unwrap_or_default();
        self.fetch(context, &name, state).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        let name = string(planned, "name").unwrap_or_default();
        let answer = context
            .api
            .post("/v1/tenants", &create_body(planned), &[])
            .await
            .map_err(|e| {
                let mut failure = Failure::api(&spec(), "Creating the tenant failed", &e);
                if e.status().map(|s| s.as_u16()) == Some(409) {
                    failure.diags.push(
                        Diag::error(
                            "The tenant may already exist",
                            format!("If tenant `{name}` exists, bring it under Terraform with `terraform import` (id `{name}`)."),
                        )
                        .on(&["name"]),
                    );
                }
                failure
            })?;
        let created = Read {
            state: state_from(&answer.body, planned),
            etag: answer.etag,
        };
        if get(planned, "suspended") != &ValueAny::Bool(true) {
            return Ok(created);
        }
        // A tenant is created active; suspending it is a change of its own. Should that fail,
        // the tenant exists all the same and is saved in the state.
        let mut patch = Map::new();
        patch.insert("suspended".into(), json!(true));
        match self
            .patch(context, &name, patch, created.etag.as_deref())
            .await
        {
            Ok(answer) => Ok(Read {
                state: state_from(&answer.body, planned),
                etag: answer.etag,
            }),
            Err(failure) => Err(failure.with_state(Some(created.state))),
        }
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Obj,
        planned: &Obj,
        private: &Obj,
    ) -> Result<Read, Failure> {
        let name = string(prior, "name").unwrap_or_default();
        let patch = update_patch(prior, planned);
        if patch.is_empty() {
            return self.fetch(context, &name, planned).await?.ok_or_else(|| {
                Diag::error("The tenant vanished", "It was deleted outside Terraform.").into()
            });
        }
        let answer = self
            .patch(context, &name, patch, string(private, "etag").as_deref())
            .await?;
        Ok(Read {
            state: state_from(&answer.body, planned),
            etag: answer.etag,
        })
    }

    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure> {
        let name = string(state, "name").unwrap_or_default();
        match context.api.delete(&path(&name)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(delete_failure(&name, &e)),
        }
    }

    fn import(&self, _context: &Context, id: &str) -> Result<Obj, Diag> {
        if !is_dns_label(id) {
            return Err(Diag::error(
                "Invalid import id",
                format!("`{id}`: use the tenant's name (a DNS-1123 label)."),
            ));
        }
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(id.to_string()));
        state.insert("name".into(), ValueAny::String(id.to_string()));
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::client::Problem;
    use crate::fake;

    /// A `TenantOut` as the OpenAPI schema describes it.
    fn document() -> Json {
        json!({
            "id": "0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a11",
            "name": "acme",
            "display_name": "Acme Corp",
            "suspended": false,
            "created_at": "2025-01-02T03:04:05.123456Z",
            "updated_at": "2025-01-02T03:04:05.123456Z"
        })
    }

    fn obj_of(pairs: &[(&str, ValueAny)]) -> Obj {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_tenant_document_becomes_the_state() {
        let state = state_from(&document(), &Obj::new());
        let s = |v: &str| ValueAny::String(v.into());
        assert_eq!(state["id"], s("acme"));
        assert_eq!(state["name"], s("acme"));
        assert_eq!(state["uuid"], s("0191d3c2-6f1e-7c3a-9b1a-2f6c1d0e4a11"));
        assert_eq!(state["display_name"], s("Acme Corp"));
        assert_eq!(state["suspended"], ValueAny::Bool(false));
        assert_eq!(state["created_at"], s("2025-01-02T03:04:05.123456Z"));
    }

    #[test]
    fn the_display_name_keeps_the_configurations_spelling_when_only_trimmed() {
        let prior = obj_of(&[("display_name", ValueAny::String(" Acme Corp ".into()))]);
        let state = state_from(&document(), &prior);
        assert_eq!(
            state["display_name"],
            ValueAny::String(" Acme Corp ".into())
        );
        let prior = obj_of(&[("display_name", ValueAny::String("Acme Inc".into()))]);
        let state = state_from(&document(), &prior);
        assert_eq!(
            state["display_name"],
            ValueAny::String("Acme Corp".into()),
            "a real change is drift"
        );
    }

    #[test]
    fn the_create_body_leaves_out_what_the_server_fills_in() {
        let planned = obj_of(&[
            ("name", ValueAny::String("acme".into())),
            ("display_name", ValueAny::Unknown),
            ("suspended", ValueAny::Unknown),
        ]);
        assert_eq!(create_body(&planned), json!({"name": "acme"}));
        let planned = obj_of(&[
            ("name", ValueAny::String("acme".into())),
            ("display_name", ValueAny::String("Acme".into())),
            ("suspended", ValueAny::Bool(true)),
        ]);
        assert_eq!(
            create_body(&planned),
            json!({"name": "acme", "display_name": "Acme"}),
            "TenantIn refuses unknown fields: suspension is a PATCH"
        );
    }

    #[test]
    fn the_patch_holds_only_what_changed() {
        let prior = obj_of(&[
            ("display_name", ValueAny::String("Acme".into())),
            ("suspended", ValueAny::Bool(false)),
        ]);
        let mut planned = prior.clone();
        assert!(update_patch(&prior, &planned).is_empty());
        planned.insert("suspended".into(), ValueAny::Bool(true));
        assert_eq!(
            Json::Object(update_patch(&prior, &planned)),
            json!({"suspended": true})
        );
        planned.insert("display_name".into(), ValueAny::String("Acme Corp".into()));
        assert_eq!(
            Json::Object(update_patch(&prior, &planned)),
            json!({"display_name": "Acme Corp", "suspended": true})
        );
    }

    #[test]
    fn names_are_dns_labels() {
        for ok in ["a", "acme", "acme-2", "0abc", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac_me",
            "ac.me",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        let config = obj_of(&[
            ("name", ValueAny::String("Acme".into())),
            ("display_name", ValueAny::String("   ".into())),
        ]);
        let paths: Vec<Vec<String>> = validate(&config).into_iter().map(|d| d.path).collect();
        assert_eq!(paths, vec![vec!["name"], vec!["display_name"]]);
        let unknown = obj_of(&[("name", ValueAny::Unknown)]);
        assert!(validate(&unknown).is_empty());
    }

    #[test]
    fn the_import_id_is_the_name() {
        let context = fake::context("http://127.0.0.1:1", None);
        let state = Tenant.import(&context, "acme").expect("valid id");
        assert_eq!(state["name"], ValueAny::String("acme".into()));
        assert_eq!(state["id"], ValueAny::String("acme".into()));
        assert!(Tenant.import(&context, "acme/x").is_err());
    }

    #[test]
    fn a_refused_delete_says_the_tenant_still_has_clusters() {
        let error = ApiError::Problem(Problem {
            status: StatusCode::CONFLICT,
            title: "Conflict".into(),
            detail: "tenant `acme` still has 2 cluster(s); delete them first".into(),
            errors: Vec::new(),
            busy_with: None,
        });
        let failure = delete_failure("acme", &error);
        let diag = &failure.diags[0];
        assert!(diag.summary.contains("still has clusters"), "{diag:?}");
        assert!(diag.detail.contains("2 cluster(s)"), "{diag:?}");
    }

    #[tokio::test]
    async fn a_suspended_tenant_is_created_then_suspended() {
        let server = fake::serve(|method, path, body| match (method, path) {
            ("POST", "/v1/tenants") => {
                assert_eq!(body, &json!({"name": "acme", "display_name": "Acme Corp"}));
                (201, document())
            }
            ("PATCH", "/v1/tenants/acme") => {
                assert_eq!(body, &json!({"suspended": true}));
                let mut tenant = document();
                tenant["suspended"] = json!(true);
                (200, tenant)
            }
            _ => (404, json!({"title": "Not Found", "detail": path})),
        })
        .await;
        let context = fake::context(&server.url, None);
        let planned = obj_of(&[
            ("name", ValueAny::String("acme".into())),
            ("display_name", ValueAny::String("Acme Corp".into())),
            ("suspended", ValueAny::Bool(true)),
        ]);
        let read = Tenant
            .create(&context, &planned, &Obj::new())
            .await
            .expect("created");
        assert_eq!(read.state["suspended"], ValueAny::Bool(true));
        assert_eq!(
            server.calls(),
            vec!["POST /v1/tenants", "PATCH /v1/tenants/acme"]
        );
    }

    #[tokio::test]
    async fn a_missing_tenant_reads_as_gone() {
        let server = fake::serve(|_, _, _| (404, json!({"title": "Not Found"}))).await;
        let context = fake::context(&server.url, None);
        let state = obj_of(&[("name", ValueAny::String("acme".into()))]);
        assert!(
            Tenant
                .read(&context, &state)
                .await
                .expect("no error")
                .is_none()
        );
        assert!(
            Tenant.delete(&context, &state).await.is_ok(),
            "already gone"
        );
    }
}
