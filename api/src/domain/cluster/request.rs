//! The tenant's cluster document as sent ([`ClusterRequest`]): only `name` is required, every
//! other field may be absent or null (meaning "the default"), unknown fields are refused.
//!
//! The same shape serves `POST` bodies and the result of applying a `PATCH` merge patch to a
//! stored spec. [`ClusterRequest::from_value`] reads a JSON document field by field so that a
//! type error is reported against its field and all of them are reported at once.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::FieldError;
use super::spec::DeletionPolicy;

/// A request to create (or, after a merge patch, to update) a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "orders", "postgres_version": 17, "instances": 3,
    "resources": {"cpu": "1", "memory": "2Gi"}, "storage": {"size": "20Gi", "class": null},
    "backups": {"enabled": true, "schedules": {"full": "0 1 * * 0", "incremental": "0 1 * * 1-6"},
                "retention_full": 4},
    "pooler": {"enabled": false, "replicas": 1}, "monitoring": {"enabled": false},
    "parameters": {"max_connections": "200"}, "database": "orders", "owner": "orders",
    "deletion_policy": "keep_backups", "deletion_protection": false
}))]
pub struct ClusterRequest {
    /// DNS-1035 label, at most 37 characters. Required.
    #[schema(
        example = "orders",
        min_length = 1,
        max_length = 37,
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$"
    )]
    pub name: String,
    /// PostgreSQL major version, 15-18 (default 18).
    #[schema(minimum = 15, maximum = 18)]
    pub postgres_version: Option<u32>,
    /// Instances, 1-3 (default 1).
    #[schema(minimum = 1, maximum = 3)]
    pub instances: Option<u32>,
    /// Per-instance CPU and memory (default 1 CPU, 2Gi).
    pub resources: Option<ResourcesRequest>,
    /// Per-instance data volume (default 20Gi, default StorageClass).
    pub storage: Option<StorageRequest>,
    /// Backups (default enabled, weekly full, daily incremental, 4 fulls kept).
    pub backups: Option<BackupsRequest>,
    /// PgBouncer (default disabled, 1 replica).
    pub pooler: Option<PoolerRequest>,
    /// Exporter sidecar (default disabled).
    pub monitoring: Option<MonitoringRequest>,
    /// `postgresql.conf` overrides, allow-listed names and string values.
    pub parameters: Option<BTreeMap<String, String>>,
    /// Application database (default: the cluster name).
    pub database: Option<String>,
    /// Owner role (default: the cluster name).
    pub owner: Option<String>,
    /// Additional roles (default none).
    pub users: Option<Vec<DatabaseUserRequest>>,
    /// Default `keep_backups`.
    pub deletion_policy: Option<DeletionPolicy>,
    /// Default false.
    pub deletion_protection: Option<bool>,
    /// Default false.
    pub suspended: Option<bool>,
    /// Clone another cluster of the tenant (at `target_time`, or its latest state).
    pub source: Option<ClusterSourceRequest>,
    /// Create a read-only standby that follows another cluster of the tenant by streaming
    /// replication, until promoted. `postgres_version` defaults to the source's.
    pub standby: Option<StandbyRequest>,
}

/// The cluster a standby follows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandbyRequest {
    /// Source cluster name (same tenant, a running primary).
    pub source: String,
}

/// The cluster to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSourceRequest {
    /// Source cluster name (same tenant).
    pub cluster: String,
    /// RFC 3339 point in time within the source's recoverable window; absent: the latest state.
    pub target_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// Per-instance CPU and memory; each defaults on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesRequest {
    /// Kubernetes CPU quantity, 250m..=16.
    pub cpu: Option<String>,
    /// Kubernetes memory quantity, 512Mi..=128Gi.
    pub memory: Option<String>,
}

/// Per-instance data volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageRequest {
    /// Kubernetes quantity, 1Gi..=16Ti.
    pub size: Option<String>,
    /// StorageClass name; null for the cluster default.
    pub class: Option<String>,
}

/// Backup settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupsRequest {
    /// Default true.
    pub enabled: Option<bool>,
    /// When absent: weekly full and daily incremental. When present, each missing or null
    /// schedule is "not scheduled".
    pub schedules: Option<BackupSchedulesRequest>,
    /// Full backups kept, 1-30 (default 4).
    #[schema(minimum = 1, maximum = 30)]
    pub retention_full: Option<u32>,
}

/// Five-field cron schedules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupSchedulesRequest {
    /// Full backups.
    pub full: Option<String>,
    /// Differential backups.
    pub differential: Option<String>,
    /// Incremental backups.
    pub incremental: Option<String>,
}

/// PgBouncer settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolerRequest {
    /// Default false.
    pub enabled: Option<bool>,
    /// 1-3 (default 1).
    #[schema(minimum = 1, maximum = 3)]
    pub replicas: Option<u32>,
}

/// Monitoring settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringRequest {
    /// Default false.
    pub enabled: Option<bool>,
}

/// An additional role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseUserRequest {
    /// Role name. Required.
    pub name: String,
    /// Databases it may use (default none).
    pub databases: Option<Vec<String>>,
    /// `ALTER ROLE` options.
    pub options: Option<String>,
}

impl ClusterRequest {
    /// A request with only a name: everything else takes its default.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Reads a request from JSON, reporting every unknown or mistyped top-level field (with
    /// serde's description of the problem inside it) rather than stopping at the first.
    pub fn from_value(document: &Value) -> Result<Self, Vec<FieldError>> {
        let (request, errors) = Self::read(document);
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(errors)
        }
    }

    /// Like [`Self::from_value`], but also returns what could be read: unreadable fields are
    /// left `None`, so the rest can still be validated and reported in the same response.
    pub(super) fn read(document: &Value) -> (Self, Vec<FieldError>) {
        let mut request = Self::default();
        let Some(object) = document.as_object() else {
            return (request, vec![FieldError::new("", "must be a JSON object")]);
        };
        let mut errors = Vec::new();
        // Sorted, so the error order does not depend on serde_json's `preserve_order`.
        let mut unknown: Vec<&String> = object
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .collect();
        unknown.sort();
        for key in unknown {
            errors.push(FieldError::new(key.clone(), "is not a known field"));
        }
        match object.get("name") {
            Some(Value::String(name)) => request.name = name.clone(),
            Some(Value::Null) | None => errors.push(FieldError::new("name", "is required")),
            Some(_) => errors.push(FieldError::new("name", "must be a string")),
        }
        let mut fields = Reader {
            object,
            errors: &mut errors,
        };
        request.postgres_version = fields.read("postgres_version");
        request.instances = fields.read("instances");
        request.resources = fields.read("resources");
        request.storage = fields.read("storage");
        request.backups = fields.read("backups");
        request.pooler = fields.read("pooler");
        request.monitoring = fields.read("monitoring");
        request.parameters = fields.read_parameters();
        request.database = fields.read("database");
        request.owner = fields.read("owner");
        request.users = fields.read_users();
        request.deletion_policy = fields.read("deletion_policy");
        request.deletion_protection = fields.read("deletion_protection");
        request.suspended = fields.read("suspended");
        request.source = fields.read("source");
        request.standby = fields.read("standby");
        (request, errors)
    }
}

/// Whether an error on the path `known` makes one on `field` redundant: the same field, or
/// a member inside it (`resources` covers `resources.cpu`, `users` covers `users[2].name`).
pub(super) fn covers(known: &str, field: &str) -> bool {
    field
        .strip_prefix(known)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Every top-level field of [`ClusterRequest`], in document order.
const FIELDS: &[&str] = &[
    "name",
    "postgres_version",
    "instances",
    "resources",
    "storage",
    "backups",
    "pooler",
    "monitoring",
    "parameters",
    "database",
    "owner",
    "users",
    "deletion_policy",
    "deletion_protection",
    "suspended",
    "source",
    "standby",
];

struct Reader<'a> {
    object: &'a serde_json::Map<String, Value>,
    errors: &'a mut Vec<FieldError>,
}

impl Reader<'_> {
    /// The field `key` as `Option<T>`: absent and null are `None`, a bad value is an error.
    fn read<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.object.get(key)?;
        self.parse(key, value)
    }

    fn parse<T: DeserializeOwned>(&mut self, path: &str, value: &Value) -> Option<T> {
        // Strict: an array is not read as a struct (serde alone would take one).
        match Option::<T>::deserialize(crate::strict_json::Strict(value.clone())) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.errors.push(FieldError::new(path, error.to_string()));
                None
            }
        }
    }

    /// `parameters`, member by member: every value must be a JSON string (a number would come
    /// back as a string and show as a perpetual diff); null members are ignored.
    fn read_parameters(&mut self) -> Option<BTreeMap<String, String>> {
        let members = match self.object.get("parameters")? {
            Value::Null => return None,
            Value::Object(members) => members,
            _ => {
                self.errors.push(FieldError::new(
                    "parameters",
                    "must be an object of strings",
                ));
                return None;
            }
        };
        let mut parameters = BTreeMap::new();
        let sorted: BTreeMap<&String, &Value> = members.iter().collect();
        for (name, value) in sorted {
            match value {
                Value::String(text) => {
                    parameters.insert(name.clone(), text.clone());
                }
                Value::Null => {}
                _ => self.errors.push(FieldError::new(
                    format!("parameters.{name}"),
                    format!("must be a string, e.g. \"{value}\""),
                )),
            }
        }
        Some(parameters)
    }

    /// `users`, element by element so errors carry the index; if any element is unreadable
    /// the list is left out of validation (indices would shift).
    fn read_users(&mut self) -> Option<Vec<DatabaseUserRequest>> {
        let items = match self.object.get("users")? {
            Value::Null => return None,
            Value::Array(items) => items,
            _ => {
                self.errors
                    .push(FieldError::new("users", "must be an array"));
                return None;
            }
        };
        let before = self.errors.len();
        let mut users = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("users[{i}]");
            match self.parse::<DatabaseUserRequest>(&path, item) {
                Some(user) => users.push(user),
                None if item.is_null() => {
                    self.errors.push(FieldError::new(path, "must be an object"));
                }
                None => {}
            }
        }
        (self.errors.len() == before).then_some(users)
    }
}
