//! The desired PGO `PostgresCluster` (`postgres-operator.crunchydata.com/v1beta1`) for a
//! [`ClusterSpec`], as a JSON object for server-side apply with pgplane's field manager.
//!
//! The manifest holds only fields pgplane owns, so applying it never fights PGO's defaulting:
//! no images, ports, Patroni or pgBackRest tuning. It validates against the v1beta1 schemas of
//! both PGO v5.8.9 and v6.0.3 and obeys their CEL rules. Choices the CRDs forced or allowed:
//! - parameters go to `spec.config.parameters` (present in both versions; int-or-string, at
//!   most 50 entries), always as strings;
//! - backups disabled means no `spec.backups` (optional in both versions, PGO ≥ 5.7) plus the
//!   `authorizeBackupRemoval` annotation, without which PGO pauses a cluster whose backups
//!   were turned off instead of deleting the repository;
//! - `autoCreateUserSchema` is always on: from PostgreSQL 15 the `public` schema is closed to
//!   non-owners, so PGO creates a schema named after each user in its databases;
//! - the pgplane labels are repeated in `spec.metadata.labels`, which PGO copies onto every
//!   object it creates (pods, volumes, services) for NetworkPolicies and ownership queries;
//! - a streaming standby follows `spec.standby.host` (the source's primary Service) with
//!   `customTLSSecret` + `customReplicationTLSSecret` from the tenant's CA on both clusters
//!   (PGO requires the same `ca.crt`), and has no `spec.backups` while it is one: it cannot
//!   archive or back up while read-only, and its source's repository covers it.

use serde_json::{Map, Value, json};

use super::naming::{
    BACKUP_REPO_NAME, INSTANCE_SET_NAME, primary_service_host, replication_certificate_secret_name,
    server_certificate_secret_name,
};
use super::quantity::{format_bytes, parse_bytes};
use super::quota::{POOLER_CPU_MILLIS, POOLER_MEMORY_MIB};
use super::spec::{ClusterSource, ClusterSpec};

/// API version of the manifest.
pub const API_VERSION: &str = "postgres-operator.crunchydata.com/v1beta1";
/// Kind of the manifest.
pub const KIND: &str = "PostgresCluster";
/// The port PGO's PostgreSQL listens on (the CRD's default `spec.port`, never changed by pgplane).
pub const POSTGRES_PORT: u16 = 5432;
/// The backup repository volume is this many times the data volume.
pub const BACKUP_REPO_SIZE_FACTOR: u64 = 2;

const PGO: &str = "postgres-operator.crunchydata.com";

/// Everything the manifest depends on besides the spec.
#[derive(Debug, Clone, Copy)]
pub struct ManifestInput<'a> {
    /// The validated cluster spec.
    pub spec: &'a ClusterSpec,
    /// The tenant's namespace.
    pub namespace: &'a str,
    /// Tenant UUID.
    pub tenant_id: &'a str,
    /// Cluster UUID.
    pub cluster_id: &'a str,
    /// Tenant name (a DNS label, so a valid label value).
    pub tenant_name: &'a str,
    /// The approved PostgreSQL image (`spec.image`); `None` leaves PGO's default.
    pub image: Option<&'a str>,
    /// Use the server and replication certificates pgplane issued from the tenant's CA.
    pub tenant_certificates: bool,
    /// For a standby, the address of the source's primary when that is not its Service in
    /// `namespace` (the source runs on another site); `None`: that Service.
    pub standby_host: Option<&'a str>,
}

/// Size of the backup repository volume: [`BACKUP_REPO_SIZE_FACTOR`] × the data volume.
pub(super) fn backup_repo_bytes(spec: &ClusterSpec) -> u64 {
    parse_bytes(&spec.storage.size)
        .unwrap_or(0)
        .saturating_mul(BACKUP_REPO_SIZE_FACTOR)
}

/// The `PostgresCluster` pgplane wants to exist for `input.spec`. Deterministic: the same input
/// always gives the same document.
pub fn desired_postgrescluster(input: &ManifestInput<'_>) -> Value {
    let spec = input.spec;
    let labels = json!({
        "app.kubernetes.io/managed-by": "pgplane",
        "pgplane.io/cluster-id": input.cluster_id,
        "pgplane.io/tenant": input.tenant_name,
        "pgplane.io/tenant-id": input.tenant_id,
    });
    let mut annotations = Map::new();
    annotations.insert(format!("{PGO}/autoCreateUserSchema"), json!("true"));
    if !spec.backups.enabled {
        annotations.insert(format!("{PGO}/authorizeBackupRemoval"), json!("true"));
    }

    let mut body = Map::new();
    body.insert("postgresVersion".into(), json!(spec.postgres_version));
    if let Some(image) = input.image {
        body.insert("image".into(), json!(image));
    }
    body.insert("metadata".into(), json!({ "labels": labels }));
    body.insert("instances".into(), json!([instance_set(spec)]));
    body.insert("users".into(), users(spec));
    let parameters: Map<String, Value> = spec
        .effective_parameters()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    body.insert("config".into(), json!({ "parameters": parameters }));
    if spec.takes_backups() {
        body.insert("backups".into(), backups(spec));
    }
    if input.tenant_certificates {
        body.insert(
            "customTLSSecret".into(),
            json!({ "name": server_certificate_secret_name(&spec.name) }),
        );
        body.insert(
            "customReplicationTLSSecret".into(),
            json!({ "name": replication_certificate_secret_name(&spec.name) }),
        );
    }
    if let Some(standby) = &spec.standby {
        body.insert(
            "standby".into(),
            json!({
                "enabled": true,
                "host": input.standby_host.map_or_else(
                    || primary_service_host(&standby.source, input.namespace),
                    String::from,
                ),
                "port": POSTGRES_PORT,
            }),
        );
    }
    if spec.pooler.enabled {
        body.insert("proxy".into(), pgbouncer(spec));
    }
    if spec.monitoring.enabled {
        body.insert(
            "monitoring".into(),
            json!({ "pgmonitor": { "exporter": {} } }),
        );
    }
    if spec.suspended {
        body.insert("shutdown".into(), json!(true));
    }
    if let Some(source) = &spec.source {
        body.insert("dataSource".into(), data_source(source));
    }

    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": spec.name,
            "namespace": input.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": body,
    })
}

fn instance_set(spec: &ClusterSpec) -> Value {
    let size = json!({ "cpu": spec.resources.cpu, "memory": spec.resources.memory });
    let mut set = Map::new();
    set.insert("name".into(), json!(INSTANCE_SET_NAME));
    set.insert("replicas".into(), json!(spec.instances));
    set.insert(
        "resources".into(),
        json!({ "requests": size, "limits": size }),
    );
    set.insert(
        "dataVolumeClaimSpec".into(),
        volume_claim(&spec.storage.size, spec),
    );
    if spec.instances > 1 {
        let selector = json!({ "matchLabels": {
            format!("{PGO}/cluster"): spec.name,
            format!("{PGO}/instance-set"): INSTANCE_SET_NAME,
        }});
        set.insert("affinity".into(), prefer_other_nodes(&selector));
        set.insert(
            "topologySpreadConstraints".into(),
            json!([{
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }]),
        );
    }
    Value::Object(set)
}

/// Preferred (not required) pod anti-affinity on `kubernetes.io/hostname`, so HA members land
/// on different nodes when there are enough of them and still schedule when there are not.
fn prefer_other_nodes(selector: &Value) -> Value {
    json!({ "podAntiAffinity": { "preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": { "topologyKey": "kubernetes.io/hostname", "labelSelector": selector },
    }]}})
}

fn volume_claim(size: &str, spec: &ClusterSpec) -> Value {
    let mut claim = Map::new();
    claim.insert("accessModes".into(), json!(["ReadWriteOnce"]));
    claim.insert(
        "resources".into(),
        json!({ "requests": { "storage": size } }),
    );
    if let Some(class) = &spec.storage.class {
        claim.insert("storageClassName".into(), json!(class));
    }
    Value::Object(claim)
}

fn users(spec: &ClusterSpec) -> Value {
    let owner = json!({ "name": spec.owner, "databases": [spec.database] });
    let extra = spec.users.iter().map(|user| {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(user.name));
        entry.insert("databases".into(), json!(user.databases));
        if let Some(options) = &user.options {
            entry.insert("options".into(), json!(options));
        }
        Value::Object(entry)
    });
    Value::Array(std::iter::once(owner).chain(extra).collect())
}

fn backups(spec: &ClusterSpec) -> Value {
    let mut schedules = Map::new();
    let wanted = &spec.backups.schedules;
    for (kind, schedule) in [
        ("full", &wanted.full),
        ("differential", &wanted.differential),
        ("incremental", &wanted.incremental),
    ] {
        if let Some(expr) = schedule {
            schedules.insert(kind.into(), json!(expr));
        }
    }
    let repo_size = format_bytes(backup_repo_bytes(spec));
    json!({ "pgbackrest": {
        "global": {
            format!("{BACKUP_REPO_NAME}-retention-full"): spec.backups.retention_full.to_string(),
            format!("{BACKUP_REPO_NAME}-retention-full-type"): "count",
        },
        "repos": [{
            "name": BACKUP_REPO_NAME,
            "schedules": schedules,
            "volume": { "volumeClaimSpec": volume_claim(&repo_size, spec) },
        }],
    }})
}

fn pgbouncer(spec: &ClusterSpec) -> Value {
    let size = json!({ "cpu": format!("{POOLER_CPU_MILLIS}m"), "memory": format!("{POOLER_MEMORY_MIB}Mi") });
    let mut bouncer = Map::new();
    bouncer.insert("replicas".into(), json!(spec.pooler.replicas));
    bouncer.insert(
        "resources".into(),
        json!({ "requests": size, "limits": size }),
    );
    if spec.pooler.replicas > 1 {
        let selector = json!({ "matchLabels": {
            format!("{PGO}/cluster"): spec.name,
            format!("{PGO}/role"): "pgbouncer",
        }});
        bouncer.insert("affinity".into(), prefer_other_nodes(&selector));
    }
    json!({ "pgBouncer": bouncer })
}

#[cfg(test)]
mod tests;

/// PGO `dataSource.postgresCluster`: bootstrap from the source cluster's pgBackRest repository
/// (same namespace), replaying WAL up to `target_time` or to its end.
fn data_source(source: &ClusterSource) -> Value {
    let mut options = Vec::new();
    if let Some(at) = source.target_time {
        options.push("--type=time".to_string());
        options.push(format!(
            "--target=\"{}\"",
            at.format("%Y-%m-%d %H:%M:%S%.6f+00")
        ));
    }
    json!({ "postgresCluster": {
        "clusterName": source.cluster,
        "repoName": BACKUP_REPO_NAME,
        "options": options,
    }})
}
