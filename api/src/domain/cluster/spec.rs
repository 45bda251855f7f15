//! The fully defaulted cluster document ([`ClusterSpec`]): what the API returns, what the store
//! keeps as desired state, and what the manifest is computed from.
//!
//! Every field is present and explicit, so `ClusterSpec::from_request(serialize(spec)) == spec`
//! and a declarative client that sends back what it read never sees a diff. Defaults and bounds
//! live here as named constants (with units) so the OpenAPI text, the validation and the tests
//! quote the same numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Server defaults, written back explicitly into every [`ClusterSpec`].
pub mod defaults {
    /// Newest PostgreSQL major version pgplane supports (and PGO v5.8.9/v6.0.3 ship).
    pub const POSTGRES_VERSION: u32 = 18;
    /// One instance: no HA unless asked for.
    pub const INSTANCES: u32 = 1;
    /// Per-instance CPU request and limit.
    pub const CPU: &str = "1";
    /// Per-instance memory request and limit.
    pub const MEMORY: &str = "2Gi";
    /// Per-instance data volume size.
    pub const STORAGE_SIZE: &str = "20Gi";
    /// Backups on: a database without backups is a decision, not an accident.
    pub const BACKUPS_ENABLED: bool = true;
    /// Weekly full backup, Sunday 01:00 (CronJob controller time zone, UTC on managed K8s).
    pub const FULL_SCHEDULE: &str = "0 1 * * 0";
    /// Daily incremental backup, Monday to Saturday 01:00.
    pub const INCREMENTAL_SCHEDULE: &str = "0 1 * * 1-6";
    /// Full backups kept (pgBackRest `repo1-retention-full`, type `count`): four weeks.
    pub const RETENTION_FULL: u32 = 4;
    /// PgBouncer replicas when the pooler is enabled.
    pub const POOLER_REPLICAS: u32 = 1;
}

/// Bounds pgplane enforces, inclusive.
pub mod bounds {
    /// PostgreSQL major versions supported: the PGO CRDs accept 11..=18; 11-14 are end of life.
    pub const POSTGRES_VERSIONS: std::ops::RangeInclusive<u32> = 15..=18;
    /// 1 = single instance, 2-3 = primary + replicas with pod anti-affinity.
    pub const INSTANCES: std::ops::RangeInclusive<u32> = 1..=3;
    /// Per-instance CPU, millicores (250m..=16 cores).
    pub const CPU_MILLIS: std::ops::RangeInclusive<u64> = 250..=16_000;
    /// Per-instance memory, bytes (512Mi..=128Gi).
    pub const MEMORY_BYTES: std::ops::RangeInclusive<u64> = (512 << 20)..=(128 << 30);
    /// Per-instance data volume, bytes (1Gi..=16Ti).
    pub const STORAGE_BYTES: std::ops::RangeInclusive<u64> = (1 << 30)..=(16 << 40);
    /// Full backups retained.
    pub const RETENTION_FULL: std::ops::RangeInclusive<u32> = 1..=30;
    /// PgBouncer replicas.
    pub const POOLER_REPLICAS: std::ops::RangeInclusive<u32> = 1..=3;
    /// Users per cluster, the owner included (the CRD's `users` maxItems).
    pub const MAX_USERS: usize = 64;
}

/// A tenant's Postgres cluster, fully defaulted. Serialises to the API document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// DNS-1035 label, at most 37 characters; immutable.
    #[schema(example = "orders")]
    pub name: String,
    /// PostgreSQL major version (15-18); immutable (upgrades are a separate operation).
    #[schema(example = 18, minimum = 15, maximum = 18)]
    pub postgres_version: u32,
    /// Number of PostgreSQL instances: 1, or 2-3 for HA.
    #[schema(example = 3, minimum = 1, maximum = 3)]
    pub instances: u32,
    /// CPU and memory of each instance.
    pub resources: Resources,
    /// Data volume of each instance.
    pub storage: Storage,
    /// pgBackRest backups to a volume in the tenant namespace.
    pub backups: Backups,
    /// PgBouncer connection pooler.
    pub pooler: Pooler,
    /// Prometheus exporter sidecar.
    pub monitoring: Monitoring,
    /// `postgresql.conf` overrides set by the tenant (allow-listed names, string values).
    /// Only the tenant's overrides are stored here; size-derived defaults are computed by
    /// `effective_parameters()` so they follow resource changes.
    #[schema(example = json!({"max_connections": "200"}))]
    pub parameters: BTreeMap<String, String>,
    /// The application database; immutable.
    #[schema(example = "orders")]
    pub database: String,
    /// The role that owns the application's objects; immutable.
    #[schema(example = "orders")]
    pub owner: String,
    /// Additional roles and the databases they may use.
    pub users: Vec<DatabaseUser>,
    /// What happens to backups when the cluster is deleted.
    pub deletion_policy: DeletionPolicy,
    /// When true, the API refuses to delete the cluster.
    pub deletion_protection: bool,
    /// When true, all pods are stopped (PGO `shutdown`); volumes and backups stay.
    pub suspended: bool,
    /// The cluster this one was cloned from (its backups, at a point in time or its latest
    /// state); null for a new, empty cluster. Immutable.
    #[schema(required = true)]
    pub source: Option<ClusterSource>,
    /// The cluster this one follows as a read-only streaming standby (disaster recovery), until
    /// it is promoted (`POST .../promote`); null for a primary. Immutable otherwise.
    #[serde(default)]
    #[schema(required = true)]
    pub standby: Option<StandbySource>,
}

impl ClusterSpec {
    /// Whether the platform takes backups of the cluster: backups are on and it is not a
    /// standby (read-only, it archives nothing; its source's repository covers it).
    pub fn takes_backups(&self) -> bool {
        self.backups.enabled && self.standby.is_none()
    }
}

/// What a standby follows: the primary of another cluster of the same tenant, by streaming
/// replication authenticated with certificates from the tenant's CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandbySource {
    /// Name of the cluster followed (same tenant).
    #[schema(example = "orders")]
    pub source: String,
}

/// Where a clone's data comes from: another cluster of the same tenant, restored from its
/// backup repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSource {
    /// Name of the source cluster (same tenant).
    #[schema(example = "orders")]
    pub cluster: String,
    /// Point in time to clone (RFC 3339), within the source's recoverable window; null: its
    /// latest state.
    #[schema(required = true)]
    pub target_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// CPU and memory per instance, as Kubernetes quantities (request = limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// 250m..=16 cores, e.g. `"500m"`, `"1"`, `"1.5"`.
    #[schema(example = "1")]
    pub cpu: String,
    /// 512Mi..=128Gi, e.g. `"2Gi"`, `"512Mi"`, `"4G"`.
    #[schema(example = "2Gi")]
    pub memory: String,
}

/// Data volume per instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// 1Gi..=16Ti; may grow, never shrink.
    #[schema(example = "20Gi")]
    pub size: String,
    /// StorageClass name, or null for the Kubernetes default; immutable.
    #[schema(required = true)]
    pub class: Option<String>,
}

/// Backup configuration (one pgBackRest repository on a volume).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Backups {
    /// Disabling backups on an existing cluster deletes its backup repository.
    pub enabled: bool,
    /// Five-field cron schedules (UTC); `full` is required while backups are enabled.
    pub schedules: BackupSchedules,
    /// Number of full backups kept, 1-30.
    #[schema(example = 4, minimum = 1, maximum = 30)]
    pub retention_full: u32,
}

/// Backup schedules; null means "not scheduled".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupSchedules {
    /// Full backups, e.g. `"0 1 * * 0"`.
    #[schema(required = true)]
    pub full: Option<String>,
    /// Differential backups (changes since the last full).
    #[schema(required = true)]
    pub differential: Option<String>,
    /// Incremental backups (changes since the last backup), e.g. `"0 1 * * 1-6"`.
    #[schema(required = true)]
    pub incremental: Option<String>,
}

/// PgBouncer pooler in front of the primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pooler {
    /// Whether PgBouncer runs.
    pub enabled: bool,
    /// PgBouncer pods, 1-3 (kept while disabled).
    #[schema(minimum = 1, maximum = 3)]
    pub replicas: u32,
}

/// Metrics exporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Whether the pgMonitor exporter sidecar runs (restarts PostgreSQL when toggled).
    pub enabled: bool,
}

/// An additional PostgreSQL role. PGO generates its password into `<cluster>-pguser-<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseUser {
    /// Role name: lowercase letters, digits and hyphens.
    #[schema(example = "reporting")]
    pub name: String,
    /// Databases the role may connect to and create objects in (created if missing).
    pub databases: Vec<String>,
    /// `ALTER ROLE` options such as `"NOCREATEDB CONNECTION LIMIT 10"`.
    #[schema(required = true)]
    pub options: Option<String>,
}

/// What deleting the cluster does with its backups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeletionPolicy {
    /// Keep the backup repository volume after the cluster is deleted.
    #[default]
    KeepBackups,
    /// Delete backups together with the cluster.
    DeleteBackups,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    use super::super::ClusterRequest;
    use super::*;

    fn required(schema: Value) -> Value {
        schema["required"].clone()
    }

    #[test]
    fn the_openapi_request_schema_requires_only_the_name() {
        let schema = serde_json::to_value(ClusterRequest::schema()).unwrap();
        assert_eq!(required(schema), json!(["name"]));
    }

    #[test]
    fn the_openapi_spec_schema_marks_every_field_required() {
        let schema = serde_json::to_value(ClusterSpec::schema()).unwrap();
        let properties = schema["properties"].as_object().unwrap().len();
        assert_eq!(required(schema).as_array().unwrap().len(), properties);
        let storage = serde_json::to_value(Storage::schema()).unwrap();
        assert_eq!(required(storage), json!(["size", "class"]));
        let schedules = serde_json::to_value(BackupSchedules::schema()).unwrap();
        assert_eq!(
            required(schedules),
            json!(["full", "differential", "incremental"])
        );
    }

    #[test]
    fn deletion_policies_are_snake_case_in_openapi() {
        let schema = serde_json::to_value(DeletionPolicy::schema()).unwrap();
        assert_eq!(schema["enum"], json!(["keep_backups", "delete_backups"]));
    }
}
