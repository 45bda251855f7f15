//! The plumbing between Terraform's plugin protocol (tf-provider's `Resource` and `DataSource`
//! traits, over schema-less `ValueAny` values) and pgplane's resources, each described by its
//! [`Spec`] and four calls to the API. Planning is the same for all of them: what the server
//! fills in is unknown until applied, computed status is unknown once anything changes, and a
//! change to an attribute the API cannot change in place replaces the resource.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tf_provider::schema::Schema;
use tf_provider::value::ValueAny;
use tf_provider::{AttributePath, DataSource, Diagnostic, Diagnostics, Resource};
use tokio_util::sync::CancellationToken;

use crate::client::{Api, ApiError, WaitError};
use crate::schema::{Attr, Kind, Mode, Spec};
use crate::values::{Obj, get, obj, same, unknowns_to_null};

/// What every call needs once the provider is configured.
pub struct Context {
    pub api: Api,
    /// The provider's `tenant`, for resources that leave theirs out.
    pub default_tenant: Option<String>,
    /// Cancelled when Terraform is interrupted: waits end and return what exists.
    pub stop: CancellationToken,
}

/// Set by the provider's `configure`, read by every resource.
pub type Shared = Arc<RwLock<Option<Arc<Context>>>>;

fn context(shared: &Shared, diags: &mut Diagnostics) -> Option<Arc<Context>> {
    let context = shared.read().ok().and_then(|guard| guard.clone());
    if context.is_none() {
        diags.root_error(
            "The pgplane provider is not configured",
            "Set `endpoint` and `api_key` in the provider block (or PGPLANE_ENDPOINT and PGPLANE_API_KEY).",
        );
    }
    context
}

/// One diagnostic, on an attribute (`path`) or on the whole resource (empty path).
#[derive(Debug, Clone)]
pub struct Diag {
    pub summary: String,
    pub detail: String,
    pub path: Vec<String>,
    pub warning: bool,
}

impl Diag {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diag {
        Diag {
            summary: summary.into(),
            detail: detail.into(),
            path: Vec::new(),
            warning: false,
        }
    }
    pub fn on(mut self, path: &[&str]) -> Diag {
        self.path = path.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn at(mut self, path: Vec<String>) -> Diag {
        self.path = path;
        self
    }
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diag {
        Diag {
            warning: true,
            ..Diag::error(summary, detail)
        }
    }
}

fn report(diags: &mut Diagnostics, list: Vec<Diag>) {
    for diag in list {
        let mut path = AttributePath::root();
        for step in &diag.path {
            path = path.attribute(step.clone());
        }
        // Built directly: `Diagnostic::new` appends a backtrace when RUST_BACKTRACE is set.
        let diagnostic = Diagnostic {
            summary: diag.summary.into(),
            detail: diag.detail.into(),
            attribute: path,
        };
        if diag.warning {
            diags.add_warning(diagnostic);
        } else {
            diags.add_error(diagnostic);
        }
    }
}

/// Why a call failed, and the resource's state as far as it is known (a create that made the
/// object and then failed while waiting returns it, so it is saved and never orphaned).
#[derive(Debug)]
pub struct Failure {
    pub diags: Vec<Diag>,
    pub state: Option<Obj>,
}

impl Failure {
    pub fn new(diag: Diag) -> Failure {
        Failure {
            diags: vec![diag],
            state: None,
        }
    }
    pub fn with_state(mut self, state: Option<Obj>) -> Failure {
        self.state = state;
        self
    }
    /// An API error as diagnostics: a problem's field errors on the attributes they name.
    pub fn api(spec: &Spec, summary: &str, error: &ApiError) -> Failure {
        Failure {
            diags: api_diags(spec, summary, error),
            state: None,
        }
    }
    pub fn wait(summary: &str, error: &WaitError) -> Failure {
        let diag = match error {
            WaitError::Interrupted => Diag::warning(summary, error.to_string()),
            _ => Diag::error(summary, error.to_string()),
        };
        Failure::new(diag)
    }
    pub fn is_interruption(&self) -> bool {
        self.diags.iter().all(|d| d.warning)
    }
}

impl From<Diag> for Failure {
    fn from(diag: Diag) -> Failure {
        Failure::new(diag)
    }
}

/// Diagnostics for an API error: each field error of a problem document on the attribute its
/// JSON path names (`resources.cpu` → `resources.cpu`), the rest on the resource.
pub fn api_diags(spec: &Spec, summary: &str, error: &ApiError) -> Vec<Diag> {
    let ApiError::Problem(problem) = error else {
        return vec![Diag::error(summary, error.to_string())];
    };
    if problem.errors.is_empty() {
        return vec![Diag::error(
            summary,
            format!(
                "{} ({}): {}",
                problem.title,
                problem.status.as_u16(),
                problem.detail
            ),
        )];
    }
    problem
        .errors
        .iter()
        .map(|(field, message)| {
            let path = attribute_path(spec, field);
            let detail = if path.is_empty() {
                format!("{field}: {message}")
            } else {
                message.clone()
            };
            Diag {
                summary: format!("{summary}: {}", problem.title),
                detail,
                path,
                warning: false,
            }
        })
        .collect()
}

/// The attribute path for an API field path, as far as the schema has its steps (list
/// indexes and unknown names end it).
pub fn attribute_path(spec: &Spec, field: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut attrs: &[Attr] = &spec.attrs;
    for step in field.split(['.', '/']) {
        let name = step.split('[').next().unwrap_or_default();
        let Some(attr) = attrs.iter().find(|a| a.name == name) else {
            break;
        };
        path.push(name.to_string());
        match attr.children() {
            Some(children) if !step.contains('[') => attrs = children,
            _ => break,
        }
    }
    path
}

/// A resource the provider manages: its schema and the API calls behind each change.
#[async_trait]
pub trait Managed: Send + Sync + 'static {
    fn spec(&self) -> Spec;

    /// Checks known configuration values beyond their types.
    fn validate(&self, config: &Obj) -> Vec<Diag> {
        let _ = config;
        Vec::new()
    }

    /// Fills in what the plan knows before the API is asked (the provider's default tenant,
    /// the id made of names).
    fn plan(&self, context: &Context, planned: &mut Obj) {
        let _ = (context, planned);
    }

    /// The computed attributes a change from `prior` to `planned` can alter (unknown in its
    /// plan); by default every one but the identity and the creation time.
    fn volatile(&self, prior: &Obj, planned: &Obj) -> Vec<&'static str> {
        let _ = (prior, planned);
        self.spec()
            .attrs
            .iter()
            .filter(|a| a.mode == Mode::Computed)
            .map(|a| a.name)
            .filter(|name| !matches!(*name, "id" | "uuid" | "created_at" | "key"))
            .collect()
    }

    /// The object as it is now; `None` when it no longer exists.
    async fn read(&self, context: &Context, state: &Obj) -> Result<Option<Read>, Failure>;
    async fn create(
        &self,
        context: &Context,
        planned: &Obj,
        private: &Obj,
    ) -> Result<Read, Failure>;
    async fn update(
        &self,
        context: &Context,
        prior: &Obj,
        planned: &Obj,
        private: &Obj,
    ) -> Result<Read, Failure>;
    async fn delete(&self, context: &Context, state: &Obj) -> Result<(), Failure>;

    /// The identifying attributes for an import id (the rest is read).
    fn import(&self, context: &Context, id: &str) -> Result<Obj, Diag>;
}

/// What a read found: the state, and the ETag that an update sends back as `If-Match`.
pub struct Read {
    pub state: Obj,
    pub etag: Option<String>,
}

/// tf-provider's resource over a [`Managed`] one.
pub struct ResourceAdapter<R: Managed> {
    resource: R,
    spec: Spec,
    shared: Shared,
}

impl<R: Managed> ResourceAdapter<R> {
    pub fn new(resource: R, shared: Shared) -> Self {
        let spec = resource.spec();
        ResourceAdapter {
            resource,
            spec,
            shared,
        }
    }
}

/// The state with exactly the schema's attributes (what Terraform decodes), unknowns to null.
fn shaped(attrs: &[Attr], state: &Obj) -> ValueAny {
    ValueAny::Map(
        attrs
            .iter()
            .map(|attr| {
                let value = unknowns_to_null(get(state, attr.name));
                (attr.name.to_string(), value)
            })
            .collect(),
    )
}

/// Keeps the configuration-only attributes (`timeouts`) of `from` in `state`.
fn keep_local(attrs: &[Attr], state: &mut Obj, from: &Obj) {
    for attr in attrs.iter().filter(|a| a.local) {
        state.insert(attr.name.to_string(), get(from, attr.name).clone());
    }
}

fn private_obj(etag: Option<String>, idempotency_key: Option<String>) -> ValueAny {
    let mut private = Obj::new();
    if let Some(etag) = etag {
        private.insert("etag".into(), ValueAny::String(etag));
    }
    if let Some(key) = idempotency_key {
        private.insert("idempotency_key".into(), ValueAny::String(key));
    }
    ValueAny::Map(private)
}

/// Marks what the server fills in as unknown in a create's plan: computed attributes, and
/// attributes with server defaults that the configuration leaves out (also inside objects).
fn unknown_defaults(attrs: &[Attr], planned: &mut Obj) {
    for attr in attrs.iter().filter(|a| !a.local) {
        let value = planned
            .entry(attr.name.to_string())
            .or_insert(ValueAny::Null);
        match (&attr.mode, &value) {
            (Mode::Computed | Mode::Default, ValueAny::Null) => *value = ValueAny::Unknown,
            (_, ValueAny::Map(_)) if matches!(attr.kind, Kind::Object(_)) => {
                let mut inner = obj(value);
                unknown_defaults(attr.children().unwrap_or_default(), &mut inner);
                *value = ValueAny::Map(inner);
            }
            (_, ValueAny::List(items))
                if matches!(attr.kind, Kind::ObjectSet(_) | Kind::ObjectList(_)) =>
            {
                let items = items
                    .iter()
                    .map(|item| {
                        let mut inner = obj(item);
                        unknown_defaults(attr.children().unwrap_or_default(), &mut inner);
                        ValueAny::Map(inner)
                    })
                    .collect();
                *value = ValueAny::List(items);
            }
            _ => {}
        }
    }
}

/// Takes the prior state's value for what the configuration leaves to the server: Terraform
/// proposes null for an unconfigured nested object even when it is computed, which would read
/// as "remove it" on every plan.
fn keep_prior_defaults(attrs: &[Attr], prior: &Obj, config: &Obj, planned: &mut Obj) {
    for attr in attrs.iter().filter(|a| !a.local) {
        let configured = get(config, attr.name);
        match (&attr.kind, configured) {
            (_, ValueAny::Null) if matches!(attr.mode, Mode::Default | Mode::Computed) => {
                planned.insert(attr.name.to_string(), get(prior, attr.name).clone());
            }
            (Kind::Object(children), ValueAny::Map(_)) => {
                let mut inner = obj(get(planned, attr.name));
                keep_prior_defaults(
                    children,
                    &obj(get(prior, attr.name)),
                    &obj(configured),
                    &mut inner,
                );
                planned.insert(attr.name.to_string(), ValueAny::Map(inner));
            }
            _ => {}
        }
    }
}

/// Fills the server defaults of set elements in an update's plan: Terraform cannot match set
/// elements to the prior state's, so it leaves their defaulted attributes null. An element
/// whose required attributes (its key, such as a role's name) match a prior element takes that
/// element's values; a new element's defaults are unknown until applied.
fn fill_set_defaults(attrs: &[Attr], prior: &Obj, planned: &mut Obj) {
    for attr in attrs {
        let Kind::ObjectSet(children) = &attr.kind else {
            continue;
        };
        let (ValueAny::List(before), Some(ValueAny::List(after))) =
            (get(prior, attr.name), planned.get_mut(attr.name))
        else {
            continue;
        };
        for element in after.iter_mut() {
            let mut inner = obj(element);
            let key_matches = |candidate: &Obj| {
                children
                    .iter()
                    .filter(|c| c.mode == Mode::Required)
                    .all(|c| get(candidate, c.name) == get(&inner, c.name))
            };
            let matched = before
                .iter()
                .map(obj)
                .find(|candidate| key_matches(candidate));
            for child in children.iter().filter(|c| c.mode == Mode::Default) {
                if matches!(get(&inner, child.name), ValueAny::Null) {
                    let value = matched
                        .as_ref()
                        .map_or(ValueAny::Unknown, |m| get(m, child.name).clone());
                    inner.insert(child.name.to_string(), value);
                }
            }
            *element = ValueAny::Map(inner);
        }
    }
}

/// The attributes whose change needs a new object, as attribute paths.
fn replacements(
    attrs: &[Attr],
    prior: &Obj,
    planned: &Obj,
    prefix: &[String],
    out: &mut Vec<AttributePath>,
) {
    for attr in attrs {
        let before = get(prior, attr.name);
        let after = get(planned, attr.name);
        let mut path = prefix.to_vec();
        path.push(attr.name.to_string());
        if attr.replace && !same(attr, before, after) {
            let mut attribute_path = AttributePath::root();
            for step in &path {
                attribute_path = attribute_path.attribute(step.clone());
            }
            out.push(attribute_path);
        } else if let (Kind::Object(children), ValueAny::Map(_), ValueAny::Map(_)) =
            (&attr.kind, before, after)
        {
            replacements(children, &obj(before), &obj(after), &path, out);
        }
    }
}

/// Whether what the configuration controls differs between prior state and plan.
fn changed(attrs: &[Attr], prior: &Obj, planned: &Obj) -> bool {
    attrs
        .iter()
        .filter(|a| a.mode != Mode::Computed && !a.local)
        .any(|attr| !same(attr, get(prior, attr.name), get(planned, attr.name)))
}

#[async_trait]
impl<R: Managed> Resource for ResourceAdapter<R> {
    type State<'a> = ValueAny;
    type PrivateState<'a> = ValueAny;
    type ProviderMetaState<'a> = ValueAny;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.spec.to_tf())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ValueAny) -> Option<()> {
        report(diags, self.resource.validate(&obj(&config)));
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: ValueAny,
        private: ValueAny,
        _meta: ValueAny,
    ) -> Option<(ValueAny, ValueAny)> {
        let context = context(&self.shared, diags)?;
        let prior = obj(&state);
        match self.resource.read(&context, &prior).await {
            Ok(Some(read)) => {
                let mut fresh = read.state;
                keep_local(&self.spec.attrs, &mut fresh, &prior);
                Some((
                    shaped(&self.spec.attrs, &fresh),
                    private_obj(read.etag, None),
                ))
            }
            Ok(None) => None,
            Err(failure) => {
                report(diags, failure.diags);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: ValueAny,
        _config: ValueAny,
        _meta: ValueAny,
    ) -> Option<(ValueAny, ValueAny)> {
        let mut planned = obj(&proposed);
        if let Some(context) = self.shared.read().ok().and_then(|g| g.clone()) {
            self.resource.plan(&context, &mut planned);
        }
        unknown_defaults(&self.spec.attrs, &mut planned);
        let _ = diags;
        // A retried create of this plan (an apply of a saved plan) sends the same key.
        let key = uuid::Uuid::new_v4().to_string();
        Some((ValueAny::Map(planned), private_obj(None, Some(key))))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: ValueAny,
        proposed: ValueAny,
        config: ValueAny,
        prior_private: ValueAny,
        _meta: ValueAny,
    ) -> Option<(ValueAny, ValueAny, Vec<AttributePath>)> {
        let prior = obj(&prior_state);
        let mut planned = obj(&proposed);
        keep_prior_defaults(&self.spec.attrs, &prior, &obj(&config), &mut planned);
        if let Some(context) = self.shared.read().ok().and_then(|g| g.clone()) {
            self.resource.plan(&context, &mut planned);
        }
        fill_set_defaults(&self.spec.attrs, &prior, &mut planned);
        let mut replace = Vec::new();
        if changed(&self.spec.attrs, &prior, &planned) {
            // Status follows the change: known again once it is applied.
            for name in self.resource.volatile(&prior, &planned) {
                planned.insert(name.to_string(), ValueAny::Unknown);
            }
            replacements(&self.spec.attrs, &prior, &planned, &[], &mut replace);
        }
        Some((ValueAny::Map(planned), prior_private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: ValueAny,
        prior_private: ValueAny,
        _meta: ValueAny,
    ) -> Option<ValueAny> {
        Some(prior_private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: ValueAny,
        _config: ValueAny,
        private: ValueAny,
        _meta: ValueAny,
    ) -> Option<(ValueAny, ValueAny)> {
        let context = context(&self.shared, diags)?;
        let planned = obj(&planned);
        match self
            .resource
            .create(&context, &planned, &obj(&private))
            .await
        {
            Ok(read) => {
                let mut state = read.state;
                keep_local(&self.spec.attrs, &mut state, &planned);
                Some((
                    shaped(&self.spec.attrs, &state),
                    private_obj(read.etag, None),
                ))
            }
            Err(failure) => {
                report(diags, failure.diags);
                // What was made is saved (tainted after an error), so it is never orphaned.
                let mut state = failure.state?;
                keep_local(&self.spec.attrs, &mut state, &planned);
                Some((shaped(&self.spec.attrs, &state), private_obj(None, None)))
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: ValueAny,
        planned: ValueAny,
        _config: ValueAny,
        private: ValueAny,
        _meta: ValueAny,
    ) -> Option<(ValueAny, ValueAny)> {
        let context = context(&self.shared, diags)?;
        let planned = obj(&planned);
        let prior = obj(&prior);
        match self
            .resource
            .update(&context, &prior, &planned, &obj(&private))
            .await
        {
            Ok(read) => {
                let mut state = read.state;
                keep_local(&self.spec.attrs, &mut state, &planned);
                Some((
                    shaped(&self.spec.attrs, &state),
                    private_obj(read.etag, None),
                ))
            }
            Err(failure) => {
                report(diags, failure.diags);
                let mut state = failure.state.unwrap_or(prior);
                keep_local(&self.spec.attrs, &mut state, &planned);
                Some((shaped(&self.spec.attrs, &state), private_obj(None, None)))
            }
        }
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: ValueAny,
        _private: ValueAny,
        _meta: ValueAny,
    ) -> Option<()> {
        let context = context(&self.shared, diags)?;
        match self.resource.delete(&context, &obj(&prior)).await {
            Ok(()) => Some(()),
            Err(failure) => {
                report(diags, failure.diags);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(ValueAny, ValueAny)> {
        let context = context(&self.shared, diags)?;
        match self.resource.import(&context, &id) {
            Ok(identity) => Some((shaped(&self.spec.attrs, &identity), private_obj(None, None))),
            Err(diag) => {
                report(diags, vec![diag]);
                None
            }
        }
    }
}

/// A data source the provider reads.
#[async_trait]
pub trait Lookup: Send + Sync + 'static {
    fn spec(&self) -> Spec;
    async fn read(&self, context: &Context, config: &Obj) -> Result<Obj, Failure>;
}

pub struct DataSourceAdapter<L: Lookup> {
    lookup: L,
    spec: Spec,
    shared: Shared,
}

impl<L: Lookup> DataSourceAdapter<L> {
    pub fn new(lookup: L, shared: Shared) -> Self {
        let spec = lookup.spec();
        DataSourceAdapter {
            lookup,
            spec,
            shared,
        }
    }
}

#[async_trait]
impl<L: Lookup> DataSource for DataSourceAdapter<L> {
    type State<'a> = ValueAny;
    type ProviderMetaState<'a> = ValueAny;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.spec.to_tf())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: ValueAny,
        _meta: ValueAny,
    ) -> Option<ValueAny> {
        let context = context(&self.shared, diags)?;
        match self.lookup.read(&context, &obj(&config)).await {
            Ok(state) => Some(shaped(&self.spec.attrs, &state)),
            Err(failure) => {
                report(diags, failure.diags);
                None
            }
        }
    }
}

/// The resource's timeout for `which` (`create`, `update`, `delete`) from its `timeouts`.
pub fn timeout(state: &Obj, which: &str, default: Duration) -> Result<Duration, Diag> {
    let timeouts = obj(get(state, "timeouts"));
    match get(&timeouts, which) {
        ValueAny::String(text) => parse_duration(text).ok_or_else(|| {
            Diag::error(
                "Invalid timeout",
                format!("`{text}` is not a duration such as `30m`, `1h30m` or `90s`"),
            )
            .on(&["timeouts", which])
        }),
        _ => Ok(default),
    }
}

/// `1h30m`, `45s`, `2h`: Go's duration syntax for hours, minutes and seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
        any = true;
    }
    (any && digits.is_empty()).then(|| Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Vec<Attr> {
        vec![
            Attr::string("id", Mode::Computed, ""),
            Attr::string("name", Mode::Required, "").replace(),
            Attr::int("instances", Mode::Default, ""),
            Attr::object(
                "storage",
                Mode::Default,
                "",
                vec![
                    Attr::string("size", Mode::Default, ""),
                    Attr::string("class", Mode::Default, "").replace(),
                ],
            ),
            Attr::new(
                "users",
                Kind::ObjectSet(vec![
                    Attr::string("name", Mode::Required, ""),
                    Attr::new("databases", Kind::StringSet, Mode::Default, ""),
                ]),
                Mode::Default,
                "",
            ),
            Attr::string("phase", Mode::Computed, ""),
        ]
    }

    fn o(pairs: &[(&str, ValueAny)]) -> Obj {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(text: &str) -> ValueAny {
        ValueAny::String(text.into())
    }

    #[test]
    fn a_create_plan_leaves_server_defaults_unknown_inside_configured_objects_too() {
        let mut planned = o(&[
            ("name", s("orders")),
            ("storage", ValueAny::Map(o(&[("size", s("1Gi"))]))),
        ]);
        unknown_defaults(&attrs(), &mut planned);
        assert_eq!(planned["instances"], ValueAny::Unknown);
        assert_eq!(planned["phase"], ValueAny::Unknown);
        let storage = obj(&planned["storage"]);
        assert_eq!(storage["size"], s("1Gi"));
        assert_eq!(storage["class"], ValueAny::Unknown);
    }

    #[test]
    fn an_update_plan_keeps_what_the_server_chose_for_what_is_not_configured() {
        let prior = o(&[
            ("name", s("orders")),
            ("instances", ValueAny::Number(1)),
            (
                "storage",
                ValueAny::Map(o(&[("size", s("1Gi")), ("class", s("fast"))])),
            ),
            ("phase", s("ready")),
        ]);
        let config = o(&[
            ("name", s("orders")),
            ("storage", ValueAny::Map(o(&[("size", s("2Gi"))]))),
        ]);
        // What Terraform proposes: null for unconfigured nested objects and their members.
        let mut planned = o(&[
            ("name", s("orders")),
            ("storage", ValueAny::Map(o(&[("size", s("2Gi"))]))),
        ]);
        keep_prior_defaults(&attrs(), &prior, &config, &mut planned);
        assert_eq!(planned["instances"], ValueAny::Number(1));
        assert_eq!(obj(&planned["storage"])["class"], s("fast"));
        assert!(changed(&attrs(), &prior, &planned), "the size changed");
        let mut replace = Vec::new();
        replacements(&attrs(), &prior, &planned, &[], &mut replace);
        assert!(
            replace.is_empty(),
            "growing storage is in place: {replace:?}"
        );

        let mut moved = planned.clone();
        moved.insert(
            "storage".into(),
            ValueAny::Map(o(&[("size", s("2Gi")), ("class", s("slow"))])),
        );
        replacements(&attrs(), &prior, &moved, &[], &mut replace);
        assert_eq!(
            replace,
            vec![AttributePath::new("storage").attribute("class")]
        );
    }

    #[test]
    fn set_elements_keep_their_defaults_by_key_and_new_ones_are_unknown() {
        let user = |name: &str, databases: ValueAny| {
            ValueAny::Map(o(&[("name", s(name)), ("databases", databases)]))
        };
        let prior = o(&[(
            "users",
            ValueAny::List(vec![user("app", ValueAny::List(vec![s("orders")]))]),
        )]);
        let mut planned = o(&[(
            "users",
            ValueAny::List(vec![
                user("app", ValueAny::Null),
                user("report", ValueAny::Null),
            ]),
        )]);
        fill_set_defaults(&attrs(), &prior, &mut planned);
        let ValueAny::List(users) = &planned["users"] else {
            panic!("users is a list")
        };
        assert_eq!(
            obj(&users[0])["databases"],
            ValueAny::List(vec![s("orders")])
        );
        assert_eq!(obj(&users[1])["databases"], ValueAny::Unknown);
    }

    #[test]
    fn field_errors_land_on_the_attribute_they_name() {
        let spec = Spec {
            type_name: "pgplane_test",
            description: "",
            import_id: None,
            attrs: attrs(),
        };
        assert_eq!(attribute_path(&spec, "storage.size"), ["storage", "size"]);
        assert_eq!(attribute_path(&spec, "users[1].name"), ["users"]);
        assert_eq!(attribute_path(&spec, "nonsense"), Vec::<String>::new());
    }

    #[test]
    fn durations_read_as_terraform_users_write_them() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration(""), None);
    }
}
