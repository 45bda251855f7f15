//! `pgplane_cluster_role`: one additional role of a cluster (a user and the databases it may
//! use), for configurations that manage roles apart from the cluster.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tf_provider::value::ValueAny;

use crate::client::seg;
use crate::engine::{Context, Diag, Failure, Managed, Read};
use crate::resources::cluster::{path as cluster_path, plan_default_tenant, tenant_of};
use crate::schema::{Attr, Kind, Mode, Spec};
use crate::values::{Obj, from_json, get, string, to_json};

/// Adding or changing a role is a cluster update; this long at most.
const WAIT: Duration = Duration::from_secs(15 * 60);

pub fn spec() -> Spec {
    Spec {
        type_name: "pgplane_cluster_role",
        description: "An additional role of a cluster: a user, the databases it may connect to and create objects in (created when missing), and its `ALTER ROLE` options. Its password comes from the `pgplane_cluster_connection` data source with `role`.",
        import_id: Some("<tenant>/<cluster>/<name>"),
        attrs: vec![
            Attr::string("id", Mode::Computed, "`<tenant>/<cluster>/<name>`."),
            Attr::string(
                "tenant",
                Mode::Default,
                "The tenant's name (default: the provider's `tenant`).",
            )
            .replace(),
            Attr::string("cluster", Mode::Required, "The cluster's name.").replace(),
            Attr::string(
                "name",
                Mode::Required,
                "Role name: lowercase letters, digits and hyphens.",
            )
            .replace(),
            Attr::new(
                "databases",
                Kind::StringSet,
                Mode::Default,
                "Databases it may use (default none).",
            ),
            Attr::string(
                "options",
                Mode::Optional,
                "Allow-listed `ALTER ROLE` options, e.g. `NOCREATEDB CONNECTION LIMIT 10`.",
            ),
        ],
    }
}

pub struct ClusterRole;

fn role_path(tenant: &str, cluster: &str, name: &str) -> String {
    format!("{}/users/{}", cluster_path(tenant, cluster), seg(name))
}

impl ClusterRole {
    async fn put(&self, context: &Context, state: &Obj) -> Result<Read, Failure> {
        let tenant = tenant_of(context, state)?;
        let cluster = string(state, "cluster").unwrap_or_default();
        let name = string(state, "name").unwrap_or_default();
        let mut body = serde_json::Map::new();
        if let Some(databases) = to_json(get(state, "databases")).filter(|d| !d.is_null()) {
            body.insert("databases".into(), databases);
        }
        body.insert(
            "options".into(),
            to_json(get(state, "options")).unwrap_or(Json::Null),
        );
        let url = role_path(&tenant, &cluster, &name);
        let body = Json::Object(body);
        let answer = context
            .api
            .when_idle(WAIT, &context.stop, || context.api.put(&url, &body))
            .await
            .map_err(|e| Failure::api(&spec(), "Setting the role failed", &e))?;
        if answer.status.as_u16() == 202
            && let Err(error) = context.api.wait(&answer.body, WAIT, &context.stop).await
        {
            let now = self
                .find(context, &tenant, &cluster, &name)
                .await
                .ok()
                .flatten()
                .map(|r| r.state);
            return Err(Failure::wait("Setting the role did not finish", &error).with_state(now));
        }
        self.find(context, &tenant, &cluster, &name)
            .await?
            .ok_or_else(|| {
                Diag::error(
                    "The role is missing",
                    "pgplane did not list the role it just set.",
                )
                .into()
            })
    }

    async fn find(
        &self,
        context: &Context,
        tenant: &str,
        cluster: &str,
        name: &str,
    ) -> Result<Option<Read>, Failure> {
        let list = context
            .api
            .find(&format!("{}/users", cluster_path(tenant, cluster)))
            .await
            .map_err(|e| Failure::api(&spec(), "Reading the cluster's roles failed", &e))?;
        let Some(list) = list else {
            return Ok(None); // the cluster is gone, and its roles with it
        };
        let Some(role) = list.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|role| role["name"] == name)
        else {
            return Ok(None);
        };
        let mut state = Obj::new();
        state.insert(
            "id".into(),
            ValueAny::String(format!("{tenant}/{cluster}/{name}")),
        );
        state.insert("tenant".into(), ValueAny::String(tenant.into()));
        state.insert("cluster".into(), ValueAny::String(cluster.into()));
        state.insert("name".into(), ValueAny::String(name.into()));
        let databases = Attr::new("databases", Kind::StringSet, Mode::Default, "");
        state.insert(
            "databases".into(),
            from_json(&databases, &role["databases"]),
        );
        let options = Attr::string("options", Mode::Optional, "");
        state.insert("options".into(), from_json(&options, &role["options"]));
        Ok(Some(Read { state, etag: None }))
    }
}

#[async_trait]
impl Managed for ClusterRole {
    fn spec(&self) -> Spec {
        spec()
    }

    fn plan(&self, context: &Context, planned: &mut Obj) {
        plan_default_tenant(context, planned);
        if let (Some(t), Some(c), Some(n)) = (
            string(planned, "tenant"),
            string(planned, "cluster"),
            string(planned, "name"),
        ) {
            planned.insert("id".into(), ValueAny::String(format!("{t}/{c}/{n}")));
        }
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let tenant = tenant_of(context, state)?;
        let cluster = string(state, "cluster").unwrap_or_default();
        let name = string(state, "name").unwrap_or_default();
        self.find(context, &tenant, &cluster, &name).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        _private: &Obj,
    ) -> Result<Read, Failure> {
        let tenant = tenant_of(context, planned)?;
        let cluster = string(planned, "cluster").unwrap_or_default();
        let name = string(planned, "name").unwrap_or_default();
        if self
            .find(context, &tenant, &cluster, &name)
            .await?
            .is_some()
        {
            return Err(Diag::error(
                "The role already exists",
                format!("Bring it under Terraform with `terraform import` (id `{tenant}/{cluster}/{name}`)."),
            )
            .on(&["name"])
            .into());
        }
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

    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure> {
        let tenant = tenant_of(context, state)?;
        let cluster = string(state, "cluster").unwrap_or_default();
        let name = string(state, "name").unwrap_or_default();
        let url = role_path(&tenant, &cluster, &name);
        let deleted = context
            .api
            .when_idle(WAIT, &context.stop, || context.api.delete(&url))
            .await;
        let answer = match deleted {
            Ok(answer) => answer,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(Failure::api(&spec(), "Removing the role failed", &e)),
        };
        if answer.status.as_u16() == 202
            && let Err(error) = context.api.wait(&answer.body, WAIT, &context.stop).await
        {
            return Err(Failure::new(Diag::error(
                "Removing the role did not finish",
                error.to_string(),
            )));
        }
        Ok(())
    }

    fn import(&self, _context: &Context, id: &str) -> Result<Obj, Diag> {
        let parts: Vec<&str> = id.split('/').collect();
        let [tenant, cluster, name] = parts.as_slice() else {
            return Err(Diag::error(
                "Invalid import id",
                format!("`{id}`: use `<tenant>/<cluster>/<name>`."),
            ));
        };
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(id.to_string()));
        for (key, value) in [("tenant", tenant), ("cluster", cluster), ("name", name)] {
            state.insert(key.into(), ValueAny::String(value.to_string()));
        }
        Ok(state)
    }
}
