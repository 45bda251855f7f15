//! The request log: one [`RequestRecord`] per HTTP request, with the Kubernetes authorization
//! attributes (verb, group, resource, subresource, namespace, name) and the response code.
//!
//! Tests assert exact calls with it, and [`rbac_rules`] condenses it into the least-privilege
//! RBAC rules a client needs (the attributes are exactly what the authorizer would check).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A Kubernetes API verb, as RBAC names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }

    /// Whether the verb writes.
    pub fn is_write(self) -> bool {
        !matches!(self, Self::Get | Self::List | Self::Watch)
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The verb; non-resource requests (discovery, `/version`) are recorded as `Get`.
    pub verb: Verb,
    /// API group (`""` for core, also for non-resource requests).
    pub group: String,
    /// API version (`v1`, `v1beta1`; empty for non-resource requests).
    pub version: String,
    /// Resource plural (`postgresclusters`); empty for non-resource requests.
    pub resource: String,
    /// Subresource (`status`), if any.
    pub subresource: Option<String>,
    /// Namespace of the request, if any.
    pub namespace: Option<String>,
    /// Object name, if the request addressed one.
    pub name: Option<String>,
    /// HTTP status code of the response (for watches: of the response head).
    pub code: u16,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `fieldManager` query parameter.
    pub field_manager: Option<String>,
    /// The request path.
    pub path: String,
}

impl RequestRecord {
    /// Whether this addressed a resource (as opposed to discovery or `/version`).
    pub fn is_resource(&self) -> bool {
        !self.resource.is_empty()
    }

    /// Whether the simulated operator sent it.
    pub fn is_from_operator(&self) -> bool {
        self.user_agent.as_deref() == Some(crate::operator::USER_AGENT)
    }

    /// The verbs RBAC authorizes for this request: its verb, plus `create` for a patch that
    /// created the object (a server-side apply of a missing object is also authorized as a
    /// `create` of that name, as kube-apiserver's patch handler does).
    pub fn authorized_verbs(&self) -> Vec<Verb> {
        if self.verb == Verb::Patch && self.code == 201 {
            vec![Verb::Patch, Verb::Create]
        } else {
            vec![self.verb]
        }
    }

    /// `verb group/resource[/subresource]`, handy in assertion messages.
    pub fn summary(&self) -> String {
        let resource = match &self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.clone(),
        };
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("{} {group}/{resource} {}", self.verb.as_str(), self.code)
    }
}

/// One RBAC `PolicyRule`: verbs on a resource of a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RbacRule {
    /// API group (`""` for core).
    pub api_group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    /// Verbs used, sorted.
    pub verbs: BTreeSet<&'static str>,
}

/// The least-privilege rules covering every resource request in `records` (any status code),
/// with `create` for patches that created their object.
pub fn rbac_rules(records: &[RequestRecord]) -> Vec<RbacRule> {
    let mut rules: BTreeMap<(String, String), BTreeSet<&'static str>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.is_resource()) {
        let resource = match &r.subresource {
            Some(s) => format!("{}/{s}", r.resource),
            None => r.resource.clone(),
        };
        let verbs = rules.entry((r.group.clone(), resource)).or_default();
        verbs.extend(r.authorized_verbs().into_iter().map(Verb::as_str));
    }
    rules
        .into_iter()
        .map(|((api_group, resource), verbs)| RbacRule {
            api_group,
            resource,
            verbs,
        })
        .collect()
}

/// The shared, append-only log.
#[derive(Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    pub fn record(&self, record: RequestRecord) {
        match self.entries.lock() {
            Ok(mut e) => e.push(record),
            Err(poisoned) => poisoned.into_inner().push(record),
        }
    }

    pub fn snapshot(&self) -> Vec<RequestRecord> {
        match self.entries.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn clear(&self) {
        match self.entries.lock() {
            Ok(mut e) => e.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}
