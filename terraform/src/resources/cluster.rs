//! `pgplane_cluster`: a tenant's PostgreSQL cluster. Every field of the API's cluster spec is an
//! attribute of the same name and shape; changes the API makes as operations (scale, resize,
//! parameters, pooler, backups, suspend, a major upgrade, promoting a standby, extensions) are
//! made in place and waited for; the name, tenant, database, owner, storage class and a
//! clone's source replace the cluster.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use tf_provider::value::ValueAny;

use crate::client::{Answer, ApiError, seg};
use crate::engine::{Context, Diag, Failure, Managed, Read, api_diags, timeout};
use crate::quantity;
use crate::schema::{Attr, Kind, Mode, Spec, timeouts};
use crate::values::{Obj, from_json, get, int, obj, object_from_json, same, string, to_json};

const CREATE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// How often a clone whose source has no backup yet asks again.
const CLONE_RETRY: Duration = Duration::from_secs(5);

/// The attributes that are the API's cluster spec (`POST .../clusters`, `spec` in answers).
pub fn spec_attrs() -> Vec<Attr> {
    use Mode::{Default, Optional};
    vec![
        Attr::int("postgres_version", Default, "PostgreSQL major version (the server's default when left out). Raising it upgrades the cluster in place (`pg_upgrade`, after a backup); lowering it is refused."),
        Attr::int("instances", Default, "PostgreSQL instances: 1, or 2-3 for high availability (default 1). Changing it scales in place."),
        Attr::object("resources", Default, "CPU and memory of each instance; each defaults on its own (1 CPU, 2Gi). Changing them resizes in place (a rolling restart).", vec![
            Attr::string("cpu", Default, "Kubernetes CPU quantity, 250m to 16."),
            Attr::string("memory", Default, "Kubernetes memory quantity, 512Mi to 128Gi."),
        ]),
        Attr::object("storage", Default, "The data volume of each instance.", vec![
            Attr::string("size", Default, "Kubernetes quantity, 1Gi to 16Ti (default 20Gi); may grow, never shrink."),
            Attr::string("class", Default, "StorageClass; the platform's default when left out.").replace(),
        ]),
        Attr::object("pooler", Default, "PgBouncer in front of the primary.", vec![
            Attr::bool("enabled", Default, "Whether PgBouncer runs (default false)."),
            Attr::int("replicas", Default, "PgBouncer instances, 1-3 (default 1)."),
        ]),
        Attr::object("monitoring", Default, "The metrics exporter.", vec![
            Attr::bool("enabled", Default, "Whether the exporter runs (default false; toggling it restarts PostgreSQL)."),
        ]),
        Attr::object("backups", Default, "pgBackRest backups.", vec![
            Attr::bool("enabled", Default, "Whether backups are taken (default true). Disabling them on an existing cluster deletes its backup repository."),
            Attr::int("retention_full", Default, "Full backups kept, 1-30 (default 4)."),
            Attr::object("schedules", Default, "Five-field cron schedules in UTC. Left out: weekly full and daily incremental; given: each schedule left out is not scheduled.", vec![
                Attr::string("full", Optional, "Full backups, e.g. `0 1 * * 0`."),
                Attr::string("differential", Optional, "Differential backups (changes since the last full)."),
                Attr::string("incremental", Optional, "Incremental backups (changes since the last backup), e.g. `0 1 * * 1-6`."),
            ]),
        ]),
        Attr::new("parameters", Kind::StringMap, Default, "`postgresql.conf` settings (allow-listed names, string values). Only these overrides are kept; settings derived from the size are the server's."),
        Attr::string("database", Default, "The application database (default: the cluster's name).").replace(),
        Attr::string("owner", Default, "The role that owns the application's objects (default: the cluster's name).").replace(),
        Attr::new("users", Kind::ObjectSet(vec![
            Attr::string("name", Mode::Required, "Role name: lowercase letters, digits and hyphens."),
            Attr::new("databases", Kind::StringSet, Default, "Databases it may connect to and create objects in (created if missing)."),
            Attr::string("options", Optional, "`ALTER ROLE` options, e.g. `NOCREATEDB CONNECTION LIMIT 10`."),
        ]), Default, "Additional roles. Manage them here or with `pgplane_cluster_role`, not both."),
        Attr::string("deletion_policy", Default, "What deleting the cluster does with its backups: `keep_backups` (default) or `delete_backups`."),
        Attr::bool("deletion_protection", Default, "When true, pgplane refuses to delete the cluster (default false)."),
        Attr::bool("suspended", Default, "When true, every instance is stopped; volumes and backups stay (default false)."),
        Attr::object("source", Optional, "Clone another cluster of the tenant from its backups.", vec![
            Attr::string("cluster", Mode::Required, "The source cluster's name."),
            Attr::string("target_time", Optional, "RFC 3339 point in time within the source's recoverable window; left out: its latest state."),
        ]).replace(),
        Attr::object("standby", Optional, "Follow another cluster of the tenant as a read-only streaming standby. Removing it promotes the standby to a writable primary (in place).", vec![
            Attr::string("source", Mode::Required, "The followed cluster's name."),
        ]),
    ]
}

pub fn attrs() -> Vec<Attr> {
    use Mode::{Computed, Default, Required};
    let mut attrs = vec![
        Attr::string("id", Computed, "`<tenant>/<name>`."),
        Attr::string(
            "tenant",
            Default,
            "The tenant's name (default: the provider's `tenant`).",
        )
        .replace(),
        Attr::string("name", Required, "DNS-1035 label, at most 37 characters.").replace(),
    ];
    attrs.extend(spec_attrs());
    attrs.extend([
        Attr::new("extensions", Kind::StringSet, Mode::Optional, "Extensions enabled in the application database (allow-listed names). Left out: not managed by Terraform."),
        timeouts(),
        Attr::string("uuid", Computed, "pgplane's id of the cluster."),
        Attr::string("phase", Computed, "`pending`, `provisioning`, `ready`, `updating`, `degraded`, `suspended`, `deleting` or `failed`."),
        Attr::object("status", Computed, "What pgplane observes.", vec![
            Attr::string("message", Computed, "Why the phase is not `ready`, when known."),
            Attr::string("primary_instance", Computed, "The instance serving writes."),
            Attr::int("ready_instances", Computed, "Instances ready."),
            Attr::int("desired_instances", Computed, "Instances asked for."),
            Attr::string("postgres_image", Computed, "The PostgreSQL image (minor version) it runs."),
            Attr::int("generation", Computed, "Generation of the desired spec."),
            Attr::int("observed_generation", Computed, "Latest generation the platform acted on."),
        ]),
        Attr::new("allowed_actions", Kind::BoolMap, Computed, "What the caller may do to the cluster now (`scale`, `resize`, `backup`, `restore`, `switchover`, `upgrade`, ...)."),
        Attr::object("endpoints", Computed, "Where clients connect (`host:port`); credentials come from the `pgplane_cluster_connection` data source.", vec![
            Attr::string("primary", Computed, "Read-write endpoint."),
            Attr::string("replicas", Computed, "Read-only endpoint over the replicas, when there are any."),
            Attr::string("pooler", Computed, "PgBouncer endpoint, when the pooler is enabled."),
        ]),
        Attr::string("created_at", Computed, "RFC 3339."),
        Attr::string("updated_at", Computed, "RFC 3339."),
    ]);
    attrs
}

pub fn spec() -> Spec {
    Spec {
        type_name: "pgplane_cluster",
        description: "A PostgreSQL cluster of a tenant: created, changed and deleted as pgplane operations, which the provider waits for (see `timeouts`). A change to an attribute marked as creating a new resource deletes the cluster first: with `deletion_policy = \"keep_backups\"` (the default) its backups keep its name reserved, so the new cluster needs another name or `delete_backups`.",
        import_id: Some("<tenant>/<name>"),
        attrs: attrs(),
    }
}

/// The cluster's API path.
pub fn path(tenant: &str, name: &str) -> String {
    format!("/v1/tenants/{}/clusters/{}", seg(tenant), seg(name))
}

/// Plans the provider's default tenant for a resource whose configuration names none.
pub fn plan_default_tenant(context: &Context, planned: &mut Obj) {
    if matches!(get(planned, "tenant"), ValueAny::Null)
        && let Some(tenant) = &context.default_tenant
    {
        planned.insert("tenant".into(), ValueAny::String(tenant.clone()));
    }
}

/// The tenant of a resource: its own `tenant`, else the provider's.
pub fn tenant_of(context: &Context, state: &Obj) -> Result<String, Diag> {
    string(state, "tenant")
        .or_else(|| context.default_tenant.clone())
        .ok_or_else(|| {
            Diag::error(
                "No tenant",
                "Set `tenant` on the resource or in the provider block (or PGPLANE_TENANT).",
            )
            .on(&["tenant"])
        })
}

/// The state for a cluster document (`ClusterOut`), keeping `prior`'s spelling of sizes the
/// API spells its own way.
pub fn state_from(tenant: &str, cluster: &Json, connection: Option<&Json>, prior: &Obj) -> Obj {
    let spec = &cluster["spec"];
    let mut state = object_from_json(&spec_attrs(), spec);
    let name = cluster["name"].as_str().unwrap_or_default();
    state.insert("id".into(), ValueAny::String(format!("{tenant}/{name}")));
    state.insert("tenant".into(), ValueAny::String(tenant.to_string()));
    state.insert("name".into(), ValueAny::String(name.to_string()));
    state.insert("uuid".into(), text(&cluster["id"]));
    state.insert("phase".into(), text(&cluster["status"]["phase"]));
    let status_attr = attrs()
        .into_iter()
        .find(|a| a.name == "status")
        .expect("status attribute");
    state.insert("status".into(), from_json(&status_attr, &cluster["status"]));
    let allowed: Map<String, Json> = cluster["allowed_actions"]
        .as_object()
        .map(|actions| {
            actions
                .iter()
                .map(|(action, allowance)| (action.clone(), allowance["allowed"].clone()))
                .collect()
        })
        .unwrap_or_default();
    state.insert(
        "allowed_actions".into(),
        from_json(
            &Attr::new("allowed_actions", Kind::BoolMap, Mode::Computed, ""),
            &Json::Object(allowed),
        ),
    );
    state.insert("endpoints".into(), endpoints(connection));
    state.insert("created_at".into(), text(&cluster["created_at"]));
    state.insert("updated_at".into(), text(&cluster["updated_at"]));
    keep_spelling(&mut state, prior, "resources", &["cpu", "memory"]);
    keep_spelling(&mut state, prior, "storage", &["size"]);
    state
}

fn text(json: &Json) -> ValueAny {
    json.as_str()
        .map_or(ValueAny::Null, |s| ValueAny::String(s.to_string()))
}

fn endpoints(connection: Option<&Json>) -> ValueAny {
    let address = |endpoint: &Json| match (endpoint["host"].as_str(), endpoint["port"].as_i64()) {
        (Some(host), Some(port)) => ValueAny::String(format!("{host}:{port}")),
        _ => ValueAny::Null,
    };
    let Some(connection) = connection else {
        return ValueAny::Null;
    };
    let mut out = Obj::new();
    for endpoint in ["primary", "replicas", "pooler"] {
        out.insert(endpoint.to_string(), address(&connection[endpoint]));
    }
    ValueAny::Map(out)
}

/// Keeps the prior state's text for quantities equal to what the API answered.
fn keep_spelling(state: &mut Obj, prior: &Obj, object: &str, fields: &[&str]) {
    let before = obj(get(prior, object));
    let Some(ValueAny::Map(after)) = state.get_mut(object) else {
        return;
    };
    for field in fields {
        if let (ValueAny::String(old), Some(ValueAny::String(new))) =
            (get(&before, field), after.get(*field))
            && old != new
            && quantity::same(old, new)
        {
            after.insert(field.to_string(), ValueAny::String(old.clone()));
        }
    }
}

/// A planned value as JSON for the API: unknown members (server defaults) left out.
pub fn known_json(value: &ValueAny) -> Option<Json> {
    match value {
        ValueAny::Unknown => None,
        ValueAny::Map(map) => Some(Json::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), known_json(v)?)))
                .collect(),
        )),
        ValueAny::List(items) => Some(Json::Array(items.iter().filter_map(known_json).collect())),
        other => to_json(other),
    }
}

/// The `POST .../clusters` body for a planned cluster.
pub fn create_body(planned: &Obj) -> Json {
    let mut body = Map::new();
    body.insert(
        "name".into(),
        json!(string(planned, "name").unwrap_or_default()),
    );
    for attr in spec_attrs() {
        let value = get(planned, attr.name);
        if matches!(value, ValueAny::Null | ValueAny::Unknown) {
            continue;
        }
        if let Some(json) = known_json(value) {
            body.insert(attr.name.to_string(), json);
        }
    }
    Json::Object(body)
}

/// The merge patch from `prior` to `planned` over the attributes `PATCH` changes: changed
/// objects whole, changed maps key by key (a removed key is `null`).
pub fn update_patch(prior: &Obj, planned: &Obj) -> Map<String, Json> {
    let mut patch = Map::new();
    for attr in spec_attrs() {
        if matches!(
            attr.name,
            "postgres_version" | "source" | "standby" | "database" | "owner"
        ) {
            continue; // not changed by PATCH: upgrades and promotion are their own calls
        }
        let (before, after) = (get(prior, attr.name), get(planned, attr.name));
        if same(&attr, before, after) || matches!(after, ValueAny::Unknown) {
            continue;
        }
        let value = match (&attr.kind, before, after) {
            (Kind::StringMap, ValueAny::Map(old), ValueAny::Map(new)) => {
                let mut changes = Map::new();
                for key in old.keys().filter(|k| !new.contains_key(*k)) {
                    changes.insert(key.clone(), Json::Null);
                }
                for (key, value) in new {
                    if old.get(key) != Some(value)
                        && let Some(json) = known_json(value)
                    {
                        changes.insert(key.clone(), json);
                    }
                }
                Json::Object(changes)
            }
            _ => match known_json(after) {
                Some(json) => json,
                None => continue,
            },
        };
        patch.insert(attr.name.to_string(), value);
    }
    patch
}

/// Plan-time checks of known values (the API checks everything again).
pub fn validate(config: &Obj) -> Vec<Diag> {
    let mut diags = Vec::new();
    if let Some(name) = string(config, "name") {
        let valid = name.len() <= 37
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            diags.push(
                Diag::error(
                    "Invalid cluster name",
                    format!("`{name}` must be a DNS-1035 label of at most 37 characters: lowercase letters, digits and hyphens, starting with a letter."),
                )
                .on(&["name"]),
            );
        }
    }
    let range = |diags: &mut Vec<Diag>, path: &[&str], value: Option<i64>, low: i64, high: i64| {
        if let Some(value) = value
            && !(low..=high).contains(&value)
        {
            diags.push(
                Diag::error(
                    "Value out of range",
                    format!("{value} is not between {low} and {high}."),
                )
                .on(path),
            );
        }
    };
    range(&mut diags, &["instances"], int(config, "instances"), 1, 3);
    range(
        &mut diags,
        &["pooler", "replicas"],
        int(&obj(get(config, "pooler")), "replicas"),
        1,
        3,
    );
    let backups = obj(get(config, "backups"));
    range(
        &mut diags,
        &["backups", "retention_full"],
        int(&backups, "retention_full"),
        1,
        30,
    );
    for (field, cron) in obj(get(&backups, "schedules")) {
        if let ValueAny::String(cron) = cron
            && cron.split_whitespace().count() != 5
        {
            diags.push(
                Diag::error(
                    "Invalid backup schedule",
                    format!("`{cron}` is not a five-field cron schedule (minute hour day-of-month month day-of-week)."),
                )
                .at(vec!["backups".into(), "schedules".into(), field]),
            );
        }
    }
    if let Some(policy) = string(config, "deletion_policy")
        && !["keep_backups", "delete_backups"].contains(&policy.as_str())
    {
        diags.push(
            Diag::error(
                "Invalid deletion policy",
                format!("`{policy}`: use `keep_backups` or `delete_backups`."),
            )
            .on(&["deletion_policy"]),
        );
    }
    for (object, field) in [
        ("resources", "cpu"),
        ("resources", "memory"),
        ("storage", "size"),
    ] {
        if let Some(text) = string(&obj(get(config, object)), field)
            && quantity::millis(&text).is_none()
        {
            diags.push(
                Diag::error(
                    "Invalid quantity",
                    format!(
                        "`{text}` is not a Kubernetes quantity such as `500m`, `2Gi` or `20Gi`."
                    ),
                )
                .on(&[object, field]),
            );
        }
    }
    if !matches!(get(config, "source"), ValueAny::Null)
        && !matches!(get(config, "standby"), ValueAny::Null)
    {
        diags.push(
            Diag::error(
                "Conflicting attributes",
                "A cluster is either a clone (`source`) or a standby (`standby`), not both.",
            )
            .on(&["standby"]),
        );
    }
    for which in ["create", "update", "delete"] {
        if let Err(diag) = timeout(config, which, Duration::ZERO) {
            diags.push(diag);
        }
    }
    diags
}

/// A change to one cluster under way: where it goes, how long it may take, and what to read
/// back when it fails (so the state saved with the diagnostic is the cluster as it now is).
struct Change<'a> {
    context: &'a Context,
    tenant: &'a str,
    name: &'a str,
    /// The state the change started from (its spelling of sizes is kept on a read-back).
    prior: &'a Obj,
    limit: Duration,
}

impl Change<'_> {
    /// Sends a request that pgplane answers with an operation, after any operation already
    /// running on the cluster has ended, and waits for it. `what` ("Updating the cluster")
    /// names it in diagnostics; `on`, when given, is the attribute they land on.
    async fn run<F, Fut>(&self, what: &str, on: &[&str], call: F) -> Result<(), Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Answer, ApiError>>,
    {
        let api = &self.context.api;
        let answer = api
            .when_idle(self.limit, &self.context.stop, call)
            .await
            .map_err(|e| {
                let mut failure = Failure::api(&spec(), &format!("{what} failed"), &e);
                if e.status().map(|s| s.as_u16()) == Some(412) {
                    failure.diags = vec![Diag::error(
                        "The cluster changed since Terraform read it",
                        "Someone changed it outside Terraform after the last refresh; nothing was overwritten. Run `terraform plan` again to see the change.",
                    )];
                }
                if !on.is_empty() {
                    for diag in &mut failure.diags {
                        diag.path = on.iter().map(|s| s.to_string()).collect();
                    }
                }
                failure
            })?;
        self.wait(&answer, &format!("{what} did not finish")).await
    }

    /// Waits for the operation an answer started (nothing to wait for unless it is a 202).
    async fn wait(&self, answer: &Answer, what: &str) -> Result<(), Failure> {
        if answer.status.as_u16() != 202 {
            return Ok(());
        }
        let api = &self.context.api;
        if let Err(error) = api.wait(&answer.body, self.limit, &self.context.stop).await {
            let now = Cluster
                .fetch(self.context, self.tenant, self.name, self.prior)
                .await
                .ok()
                .flatten()
                .map(|r| r.state);
            return Err(Failure::wait(what, &error).with_state(now));
        }
        Ok(())
    }
}

pub struct Cluster;

impl Cluster {
    /// Reads the cluster, its endpoints and (when managed) its extensions.
    async fn fetch(
        &self,
        context: &Context,
        tenant: &str,
        name: &str,
        prior: &Obj,
    ) -> Result<Option<Read>, Failure> {
        let spec = spec();
        let Some(answer) = context
            .api
            .find(&path(tenant, name))
            .await
            .map_err(|e| Failure::api(&spec, "Reading the cluster failed", &e))?
        else {
            return Ok(None);
        };
        // Endpoints are informative: a cluster still being created may have none yet.
        let connection = context
            .api
            .get(&format!("{}/connection", path(tenant, name)))
            .await
            .ok()
            .map(|a| a.body);
        let mut state = state_from(tenant, &answer.body, connection.as_ref(), prior);
        let managed_extensions = !matches!(get(prior, "extensions"), ValueAny::Null);
        let extensions = if managed_extensions {
            self.extensions(context, tenant, name, &answer.body).await
        } else {
            ValueAny::Null
        };
        state.insert("extensions".into(), extensions);
        Ok(Some(Read {
            state,
            etag: answer.etag,
        }))
    }

    async fn extensions(
        &self,
        context: &Context,
        tenant: &str,
        name: &str,
        cluster: &Json,
    ) -> ValueAny {
        let database = cluster["spec"]["database"].as_str().unwrap_or(name);
        let url = format!(
            "{}/databases/{}/extensions",
            path(tenant, name),
            seg(database)
        );
        match context.api.get(&url).await {
            Ok(Answer { body, .. }) => ValueAny::List(
                body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["name"].as_str())
                    .filter(|n| *n != "plpgsql")
                    .map(|n| ValueAny::String(n.to_string()))
                    .collect(),
            ),
            // Unreadable while the cluster is not running: keep what Terraform knew.
            Err(_) => ValueAny::Unknown,
        }
    }

    /// Enables and disables extensions until the application database has `planned`'s.
    async fn sync_extensions(&self, change: &Change<'_>, planned: &Obj) -> Result<(), Failure> {
        let ValueAny::List(wanted) = get(planned, "extensions") else {
            return Ok(());
        };
        let have = match get(change.prior, "extensions") {
            ValueAny::List(items) => items.clone(),
            _ => Vec::new(),
        };
        let database = string(planned, "database").unwrap_or_else(|| change.name.to_string());
        let base = format!(
            "{}/databases/{}/extensions",
            path(change.tenant, change.name),
            seg(&database)
        );
        let api = &change.context.api;
        let enable = wanted
            .iter()
            .filter(|e| !have.contains(e))
            .map(|e| (e, true));
        let disable = have
            .iter()
            .filter(|e| !wanted.contains(e))
            .map(|e| (e, false));
        for (extension, enabling) in enable.chain(disable) {
            let ValueAny::String(extension) = extension else {
                continue;
            };
            let url = format!("{base}/{}", seg(extension));
            let empty = json!({});
            let what = if enabling {
                format!("Enabling extension {extension}")
            } else {
                format!("Disabling extension {extension}")
            };
            change
                .run(&what, &["extensions"], || async {
                    if enabling {
                        api.put(&url, &empty).await
                    } else {
                        api.delete(&url).await
                    }
                })
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Managed for Cluster {
    fn spec(&self) -> Spec {
        spec()
    }

    fn validate(&self, config: &Obj) -> Vec<Diag> {
        validate(config)
    }

    fn plan(&self, context: &Context, planned: &mut Obj) {
        plan_default_tenant(context, planned);
        if let (Some(tenant), Some(name)) = (string(planned, "tenant"), string(planned, "name")) {
            planned.insert("id".into(), ValueAny::String(format!("{tenant}/{name}")));
        }
    }

    fn volatile(&self, prior: &Obj, planned: &Obj) -> Vec<&'static str> {
        let mut names = vec!["phase", "status", "allowed_actions", "updated_at"];
        // Endpoints come and go with replicas and the pooler; nothing else moves them.
        if ["instances", "pooler", "suspended"]
            .iter()
            .any(|name| get(prior, name) != get(planned, name))
        {
            names.push("endpoints");
        }
        names
    }

    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure> {
        let tenant = tenant_of(context, state)?;
        let name = string(state, "name").unwrap_or_default();
        self.fetch(context, &tenant, &name, state).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        private: &Obj,
    ) -> Result<Read, Failure> {
        let spec = spec();
        let tenant = tenant_of(context, planned)?;
        let name = string(planned, "name").unwrap_or_default();
        let limit = timeout(planned, "create", CREATE_TIMEOUT)?;
        let key =
            string(private, "idempotency_key").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let url = format!("/v1/tenants/{}/clusters", seg(&tenant));
        let body = create_body(planned);
        let deadline = tokio::time::Instant::now() + limit;
        let answer = loop {
            match context
                .api
                .post(&url, &body, &[("idempotency-key", &key)])
                .await
            {
                Ok(answer) => break answer,
                // A clone of a cluster created in the same apply: its source takes its first
                // backup just after it is ready. Ask again until the timeout.
                Err(ApiError::Problem(p))
                    if p.status.as_u16() == 409
                        && p.detail.contains("no successful full backup")
                        && tokio::time::Instant::now() + CLONE_RETRY < deadline
                        && !context.stop.is_cancelled() =>
                {
                    tokio::time::sleep(CLONE_RETRY).await;
                }
                Err(e) => {
                    let mut failure = Failure::api(&spec, "Creating the cluster failed", &e);
                    if matches!(&e, ApiError::Problem(p) if p.detail.contains("already exists")) {
                        failure.diags.push(Diag::error(
                            "The cluster already exists",
                            format!("Bring `{tenant}/{name}` under Terraform with `terraform import` (id `{tenant}/{name}`), or pick another name."),
                        ));
                    }
                    return Err(failure);
                }
            }
        };
        // From here on the cluster exists: every failure hands its state back to be saved.
        let mut started = planned.clone();
        started.insert("extensions".into(), ValueAny::List(Vec::new()));
        let change = Change {
            context,
            tenant: &tenant,
            name: &name,
            prior: &started,
            limit,
        };
        change
            .wait(&answer, "Creating the cluster did not finish")
            .await?;
        if !matches!(get(planned, "extensions"), ValueAny::Null) {
            self.sync_extensions(&change, planned).await?;
        }
        match self.fetch(context, &tenant, &name, planned).await? {
            Some(read) => Ok(read),
            None => Err(Diag::error(
                "The cluster vanished",
                "It was created, then deleted by someone else.",
            )
            .into()),
        }
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Obj,
        planned: &Obj,
        private: &Obj,
    ) -> Result<Read, Failure> {
        let tenant = tenant_of(context, prior)?;
        let name = string(prior, "name").unwrap_or_default();
        let limit = timeout(planned, "update", UPDATE_TIMEOUT)?;
        let url = path(&tenant, &name);

        let change = Change {
            context,
            tenant: &tenant,
            name: &name,
            prior,
            limit,
        };
        let api = &context.api;

        let patch = update_patch(prior, planned);
        if !patch.is_empty() {
            let patch = Json::Object(patch);
            let etag = string(private, "etag");
            change
                .run("Updating the cluster", &[], || {
                    api.patch(&url, &patch, etag.as_deref())
                })
                .await?;
        }

        let (old_version, new_version) = (
            int(prior, "postgres_version"),
            int(planned, "postgres_version"),
        );
        if let (Some(old), Some(new)) = (old_version, new_version)
            && new != old
        {
            if new < old {
                return Err(Diag::error(
                    "PostgreSQL cannot be downgraded",
                    format!("The cluster runs {old}; a major version can only go up."),
                )
                .on(&["postgres_version"])
                .into());
            }
            let (upgrade, body) = (format!("{url}/upgrade"), json!({"postgres_version": new}));
            change
                .run("Upgrading PostgreSQL", &["postgres_version"], || {
                    api.post(&upgrade, &body, &[])
                })
                .await?;
        }

        let was_standby = !matches!(get(prior, "standby"), ValueAny::Null);
        let stays_standby = !matches!(get(planned, "standby"), ValueAny::Null);
        if was_standby && !stays_standby {
            let (promote, empty) = (format!("{url}/promote"), json!({}));
            change
                .run("Promoting the standby", &["standby"], || {
                    api.post(&promote, &empty, &[])
                })
                .await?;
        } else if was_standby && get(prior, "standby") != get(planned, "standby") {
            return Err(Diag::error(
                "A standby's source cannot change",
                "Remove `standby` to promote it, or create a new standby of the other cluster.",
            )
            .on(&["standby"])
            .into());
        } else if !was_standby && stays_standby {
            return Err(Diag::error(
                "A primary cannot become a standby",
                "Create a new cluster with `standby` instead.",
            )
            .on(&["standby"])
            .into());
        }

        self.sync_extensions(&change, planned).await?;
        match self.fetch(context, &tenant, &name, planned).await? {
            Some(read) => Ok(read),
            None => Err(Diag::error(
                "The cluster vanished",
                "It was deleted outside Terraform during the update.",
            )
            .into()),
        }
    }

    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure> {
        let spec = spec();
        let tenant = tenant_of(context, state)?;
        let name = string(state, "name").unwrap_or_default();
        let limit = timeout(state, "delete", DELETE_TIMEOUT)?;
        let url = path(&tenant, &name);
        let deleted = context
            .api
            .when_idle(limit, &context.stop, || context.api.delete(&url))
            .await;
        let answer = match deleted {
            Ok(answer) => answer,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => {
                return Err(Failure {
                    diags: api_diags(&spec, "Deleting the cluster failed", &e),
                    state: None,
                });
            }
        };
        if answer.status.as_u16() == 202
            && let Err(error) = context.api.wait(&answer.body, limit, &context.stop).await
        {
            return Err(Failure::new(Diag::error(
                "Deleting the cluster did not finish",
                error.to_string(),
            )));
        }
        Ok(())
    }

    fn import(&self, context: &Context, id: &str) -> Result<Obj, Diag> {
        let (tenant, name) = match id.split_once('/') {
            Some((tenant, name)) => (tenant.to_string(), name.to_string()),
            None => match &context.default_tenant {
                Some(tenant) => (tenant.clone(), id.to_string()),
                None => {
                    return Err(Diag::error(
                        "Invalid import id",
                        format!("`{id}`: use `<tenant>/<name>`."),
                    ));
                }
            },
        };
        if tenant.is_empty() || name.is_empty() || name.contains('/') {
            return Err(Diag::error(
                "Invalid import id",
                format!("`{id}`: use `<tenant>/<name>`."),
            ));
        }
        let mut state = Obj::new();
        state.insert("id".into(), ValueAny::String(format!("{tenant}/{name}")));
        state.insert("tenant".into(), ValueAny::String(tenant));
        state.insert("name".into(), ValueAny::String(name));
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state(attrs: &[(&str, ValueAny)]) -> Obj {
        attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(text: &str) -> ValueAny {
        ValueAny::String(text.into())
    }

    fn map(pairs: &[(&str, ValueAny)]) -> ValueAny {
        ValueAny::Map(state(pairs))
    }

    #[test]
    fn a_create_sends_what_is_configured_and_leaves_server_defaults_out() {
        let planned = state(&[
            ("name", s("orders")),
            ("tenant", s("acme")),
            ("instances", ValueAny::Number(2)),
            (
                "resources",
                map(&[("cpu", s("250m")), ("memory", ValueAny::Unknown)]),
            ),
            ("postgres_version", ValueAny::Unknown),
            ("parameters", map(&[("work_mem", s("8MB"))])),
            ("timeouts", map(&[("create", s("5m"))])),
            ("phase", ValueAny::Unknown),
        ]);
        assert_eq!(
            create_body(&planned),
            json!({
                "name": "orders",
                "instances": 2,
                "resources": {"cpu": "250m"},
                "parameters": {"work_mem": "8MB"},
            }),
            "no tenant, timeouts, status or unknown defaults in the body"
        );
    }

    #[test]
    fn an_update_patches_only_what_changed_and_removes_dropped_parameters() {
        let prior = state(&[
            ("instances", ValueAny::Number(1)),
            (
                "parameters",
                map(&[("work_mem", s("8MB")), ("jit", s("off"))]),
            ),
            ("resources", map(&[("cpu", s("1")), ("memory", s("2Gi"))])),
            ("postgres_version", ValueAny::Number(16)),
        ]);
        let planned = state(&[
            ("instances", ValueAny::Number(2)),
            ("parameters", map(&[("work_mem", s("16MB"))])),
            ("resources", map(&[("cpu", s("1")), ("memory", s("2Gi"))])),
            ("postgres_version", ValueAny::Number(17)),
        ]);
        assert_eq!(
            Json::Object(update_patch(&prior, &planned)),
            json!({"instances": 2, "parameters": {"jit": null, "work_mem": "16MB"}}),
            "the version is an upgrade, not a patch; unchanged resources are not sent"
        );
    }

    #[test]
    fn the_api_document_becomes_state_keeping_the_configured_spelling_of_sizes() {
        let cluster = json!({
            "id": "0190a0a0-0000-7000-8000-000000000001",
            "name": "orders",
            "spec": {
                "name": "orders", "postgres_version": 17, "instances": 3,
                "resources": {"cpu": "1", "memory": "2Gi"},
                "storage": {"size": "20Gi", "class": null},
                "pooler": {"enabled": true, "replicas": 1},
                "users": [{"name": "reporting", "databases": ["orders"], "options": null}],
                "parameters": {"max_connections": "200"},
            },
            "status": {"phase": "ready", "ready_instances": 3, "generation": 4},
            "allowed_actions": {"scale": {"allowed": true}, "promote": {"allowed": false, "reason": "not a standby"}},
            "created_at": "2026-12-07T10:00:00Z",
        });
        let connection = json!({"primary": {"host": "orders-primary.acme.svc", "port": 5432, "uri": "postgresql://…"}});
        let prior = state(&[(
            "resources",
            map(&[("cpu", s("1000m")), ("memory", s("2048Mi"))]),
        )]);
        let state = state_from("acme", &cluster, Some(&connection), &prior);
        assert_eq!(state["id"], s("acme/orders"));
        assert_eq!(state["instances"], ValueAny::Number(3));
        assert_eq!(state["phase"], s("ready"));
        assert_eq!(
            to_json(&state["resources"]),
            Some(json!({"cpu": "1000m", "memory": "2048Mi"})),
            "equal quantities keep the configuration's spelling"
        );
        assert_eq!(
            to_json(&state["allowed_actions"]),
            Some(json!({"scale": true, "promote": false}))
        );
        assert_eq!(
            to_json(&state["endpoints"]),
            Some(
                json!({"primary": "orders-primary.acme.svc:5432", "replicas": null, "pooler": null})
            )
        );
        assert_eq!(
            to_json(&state["users"]),
            Some(json!([{"name": "reporting", "databases": ["orders"], "options": null}]))
        );
        let resized = state_from(
            "acme",
            &cluster,
            None,
            &state_from("acme", &cluster, None, &Obj::new()),
        );
        assert_eq!(
            to_json(&resized["resources"]),
            Some(json!({"cpu": "1", "memory": "2Gi"}))
        );
    }

    #[test]
    fn plan_time_checks_name_the_attribute() {
        let config = state(&[
            ("name", s("Orders")),
            ("instances", ValueAny::Number(4)),
            ("resources", map(&[("cpu", s("lots"))])),
            (
                "backups",
                map(&[("schedules", map(&[("full", s("daily"))]))]),
            ),
            ("timeouts", map(&[("create", s("10 minutes"))])),
        ]);
        let paths: Vec<String> = validate(&config).iter().map(|d| d.path.join(".")).collect();
        assert_eq!(
            paths,
            [
                "name",
                "instances",
                "backups.schedules.full",
                "resources.cpu",
                "timeouts.create"
            ]
        );
        let fine = state(&[("name", s("orders")), ("instances", ValueAny::Number(3))]);
        assert!(validate(&fine).is_empty());
    }

    #[test]
    fn import_ids_name_tenant_and_cluster() {
        let context = Context {
            api: crate::client::Api::new("http://127.0.0.1:1", "key").expect("client"),
            default_tenant: None,
            stop: Default::default(),
        };
        let state = Cluster.import(&context, "acme/orders").expect("valid id");
        assert_eq!(state["tenant"], s("acme"));
        assert_eq!(state["name"], s("orders"));
        assert!(
            Cluster.import(&context, "orders").is_err(),
            "no tenant and no default"
        );
        assert!(Cluster.import(&context, "a/b/c").is_err());
    }
}
