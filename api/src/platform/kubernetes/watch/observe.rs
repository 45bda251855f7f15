//! What one `PostgresCluster` and its PGO-made Secrets and Service say, as an
//! [`ObservedCluster`]: pure functions over objects already in memory.
//!
//! - ids: labels `pgplane.io/tenant-id` and `pgplane.io/cluster-id` (objects without both are
//!   not reported);
//! - `applied_generation`: annotation `pgplane.io/generation`;
//! - `caught_up`: `status.observedGeneration == metadata.generation`;
//! - `deleting`: `metadata.deletionTimestamp` is set;
//! - connection: the owner's Secret `<cluster>-pguser-<owner>` (`host`, `port`, `user`,
//!   `dbname`, `password`, `pgbouncer-host`, `pgbouncer-port`), the CA (`ca.crt`) of the
//!   tenant-CA Secret `<cluster>-tls` when the cluster uses one, else of PGO's
//!   `<cluster>-cluster-cert` (left behind, stale, when a cluster moves to the tenant CA), and
//!   the Service `<cluster>-replicas` (its `postgres`
//!   port, host `<service>.<namespace>.svc` like PGO's own hosts). The owner is the first entry
//!   of `spec.users` (the domain manifest puts it there), else PGO's default user named after
//!   the cluster. The other entries' Secrets give their passwords (`role_passwords`).

use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::DynamicObject;
use serde_json::Value;

use crate::domain::cluster::Report;
use uuid::Uuid;

use crate::domain::cluster::naming::{
    replica_service_name, server_certificate_secret_name, user_secret_name,
};
use crate::platform::certificate_policy::expiry_of;
use crate::platform::kubernetes::labels::{CLUSTER_ID, GENERATION_ANNOTATION, TENANT_ID};
use crate::platform::kubernetes::renewal::RENEWAL_ERROR;
use crate::platform::{CertificateFacts, ConnectionFacts, Endpoint, ObservedCluster};

/// The Secret in which PGO publishes the cluster CA (`ca.crt`).
pub fn cluster_cert_secret_name(cluster: &str) -> String {
    format!("{cluster}-cluster-cert")
}

/// `(tenant_id, cluster_id)` from the labels of `object`.
pub fn ids(object: &DynamicObject) -> Option<(Uuid, Uuid)> {
    let labels = object.metadata.labels.as_ref()?;
    let tenant = labels.get(TENANT_ID)?.parse().ok()?;
    let cluster = labels.get(CLUSTER_ID)?.parse().ok()?;
    Some((tenant, cluster))
}

/// The role whose Secret carries the connection facts.
pub fn owner(object: &DynamicObject) -> String {
    object
        .data
        .pointer("/spec/users/0/name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| object.metadata.name.clone().unwrap_or_default())
}

/// The cluster's roles after the owner (`spec.users[1..]`), whose Secrets hold their passwords.
fn extra_roles(object: &DynamicObject) -> Vec<String> {
    let users = object.data.pointer("/spec/users").and_then(Value::as_array);
    users
        .into_iter()
        .flatten()
        .skip(1)
        .filter_map(|u| u["name"].as_str().map(String::from))
        .collect()
}

/// The observation of `object` with `connection`, if it carries pgplane's ids.
pub fn observed(object: &DynamicObject, connection: ConnectionFacts) -> Option<ObservedCluster> {
    let (tenant_id, cluster_id) = ids(object)?;
    let applied_generation = object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(GENERATION_ANNOTATION))
        .and_then(|g| g.parse().ok());
    let status = object.data.get("status").filter(|s| !s.is_null()).cloned();
    let observed_generation = status
        .as_ref()
        .and_then(|s| s.get("observedGeneration"))
        .and_then(Value::as_i64);
    let caught_up = matches!(
        (observed_generation, object.metadata.generation),
        (Some(observed), Some(current)) if observed == current
    );
    Some(ObservedCluster {
        tenant_id,
        cluster_id,
        applied_generation,
        object_generation: object.metadata.generation.unwrap_or_default(),
        caught_up,
        report: Report::from_pgo(status.as_ref()),
        deleting: object.metadata.deletion_timestamp.is_some(),
        connection,
    })
}

/// The Secret keys [`connection_facts`] reads; the watch keeps no other (no private keys,
/// verifiers or URIs in memory).
const SECRET_KEYS: [&str; 9] = [
    "host",
    "port",
    "pgbouncer-host",
    "pgbouncer-port",
    "user",
    "dbname",
    "password",
    "ca.crt",
    CERTIFICATE_EXPIRY,
];

/// Where a trimmed certificate Secret keeps, of its `tls.crt`, only the expiry (RFC 3339): a
/// few bytes per cluster in the watch's memory instead of the whole certificate.
const CERTIFICATE_EXPIRY: &str = "pgplane.tls.crt.expires-at";

/// `secret` with only the data keys the connection facts come from.
pub fn trim_secret(mut secret: Secret) -> Secret {
    let expiry = field(&secret, "tls.crt").and_then(|pem| expiry_of(&pem));
    if let Some(data) = secret.data.as_mut() {
        if let Some(expiry) = expiry {
            let text = expiry.to_rfc3339().into_bytes();
            data.insert(CERTIFICATE_EXPIRY.into(), k8s_openapi::ByteString(text));
        }
        data.retain(|key, _| SECRET_KEYS.contains(&key.as_str()));
    }
    secret.string_data = None;
    secret
}

/// `cluster` with only what the observation reads: metadata, status, and of the spec the users'
/// names (the first is the [`owner`], the others' Secrets give their passwords). The rest of
/// the spec is pgplane's own manifest, often most of the object.
pub fn trim_cluster(mut cluster: DynamicObject) -> DynamicObject {
    let names: Vec<Value> = cluster
        .data
        .pointer("/spec/users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| u.get("name").cloned())
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    if let Some(map) = cluster.data.as_object_mut() {
        map.remove("spec");
        if !names.is_empty() {
            map.insert("spec".into(), serde_json::json!({ "users": names }));
        }
    }
    cluster
}

/// When the Secret's certificate expires, and why pgplane's last renewal of it failed.
fn certificate_facts(secret: &Secret) -> Option<CertificateFacts> {
    let trimmed = field(secret, CERTIFICATE_EXPIRY).and_then(|at| at.parse().ok());
    let expires_at = trimmed.or_else(|| expiry_of(&field(secret, "tls.crt")?))?;
    let renewal_error = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RENEWAL_ERROR))
        .cloned();
    Some(CertificateFacts {
        expires_at,
        renewal_error,
    })
}

fn field(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

fn endpoint(host: Option<String>, port: Option<String>) -> Option<Endpoint> {
    Some(Endpoint {
        host: host.filter(|h| !h.is_empty())?,
        port: port?.trim().parse().ok()?,
    })
}

fn service_endpoint(service: &Service, namespace: &str) -> Option<Endpoint> {
    let name = service.metadata.name.as_deref()?;
    let ports = service.spec.as_ref()?.ports.as_ref()?;
    let port = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("postgres"))
        .or_else(|| ports.first())?;
    Some(Endpoint {
        host: format!("{name}.{namespace}.svc"),
        port: u16::try_from(port.port).ok()?,
    })
}

/// The connection facts of `cluster`, reading Secrets and Services through the lookups.
pub fn connection_facts<'a>(
    cluster: &DynamicObject,
    secret: impl Fn(&str) -> Option<&'a Secret>,
    service: impl Fn(&str) -> Option<&'a Service>,
) -> ConnectionFacts {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let namespace = cluster.metadata.namespace.as_deref().unwrap_or_default();
    let mut facts = ConnectionFacts::default();
    if let Some(user) = secret(&user_secret_name(name, &owner(cluster))) {
        facts.primary = endpoint(field(user, "host"), field(user, "port"));
        facts.pooler = endpoint(field(user, "pgbouncer-host"), field(user, "pgbouncer-port"));
        facts.user = field(user, "user");
        facts.database = field(user, "dbname");
        facts.password = field(user, "password");
    }
    for role in extra_roles(cluster) {
        if let Some(password) =
            secret(&user_secret_name(name, &role)).and_then(|s| field(s, "password"))
        {
            facts.role_passwords.insert(role, password);
        }
    }
    let certificate = secret(&server_certificate_secret_name(name))
        .or_else(|| secret(&cluster_cert_secret_name(name)));
    if let Some(cert) = certificate {
        facts.ca_certificate = field(cert, "ca.crt");
        facts.certificate = certificate_facts(cert);
    }
    if let Some(replicas) = service(&replica_service_name(name)) {
        facts.replicas = service_endpoint(replicas, namespace);
    }
    facts
}

#[cfg(test)]
pub(super) mod tests;
