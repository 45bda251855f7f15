//! The objects PGO creates for a PostgresCluster, built as pure values: Services
//! `<cluster>-primary`, `<cluster>-replicas`, `<cluster>-pgbouncer`, the Secret
//! `<cluster>-cluster-cert`, and one Secret `<cluster>-pguser-<user>` per user, with the names,
//! labels, ports, data keys and controller ownerReferences of PGO's `naming` package and
//! `generatePostgresUserSecret`.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::credentials;
use crate::resources::PGO_GROUP;

pub(crate) const LABEL_CLUSTER: &str = "postgres-operator.crunchydata.com/cluster";
pub(crate) const LABEL_ROLE: &str = "postgres-operator.crunchydata.com/role";
pub(crate) const LABEL_PGUSER: &str = "postgres-operator.crunchydata.com/pguser";
pub(crate) const LABEL_PGBACKREST: &str = "postgres-operator.crunchydata.com/pgbackrest";
pub(crate) const LABEL_PGBACKREST_REPO: &str = "postgres-operator.crunchydata.com/pgbackrest-repo";
pub(crate) const LABEL_PGBACKREST_VOLUME: &str =
    "postgres-operator.crunchydata.com/pgbackrest-volume";
/// The annotation that lets PGO delete the repositories once `spec.backups` is removed.
pub(crate) const AUTHORIZE_BACKUP_REMOVAL_ANNOTATION: &str =
    "postgres-operator.crunchydata.com/authorizeBackupRemoval";
const LABEL_CLUSTER_CERT: &str = "postgres-operator.crunchydata.com/cluster-certificate";

/// A read-only view of a PostgresCluster object.
pub(crate) struct Cluster<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
    pub generation: i64,
    pub object: &'a Value,
    pub spec: &'a Value,
}

/// A PostgreSQL user and its databases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub name: String,
    pub databases: Vec<String>,
    /// `password.type: AlphaNumeric` (else PGO's default ASCII policy).
    pub alphanumeric: bool,
}

impl<'a> Cluster<'a> {
    pub fn of(object: &'a Value) -> Option<Self> {
        let meta = object.get("metadata")?;
        Some(Self {
            name: meta.get("name")?.as_str()?,
            namespace: meta.get("namespace")?.as_str()?,
            uid: meta.get("uid")?.as_str()?,
            generation: meta.get("generation").and_then(Value::as_i64).unwrap_or(1),
            object,
            spec: object.get("spec").unwrap_or(&Value::Null),
        })
    }

    pub fn port(&self) -> i64 {
        self.spec
            .get("port")
            .and_then(Value::as_i64)
            .unwrap_or(5432)
    }

    pub fn pgbouncer(&self) -> Option<&'a Value> {
        self.spec.pointer("/proxy/pgBouncer")
    }

    pub fn shutdown(&self) -> bool {
        self.spec
            .get("shutdown")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `spec.users`, or PGO's default user named after the cluster when `users` is absent.
    pub fn users(&self) -> Vec<User> {
        match self.spec.get("users").and_then(Value::as_array) {
            Some(users) => users
                .iter()
                .filter_map(|u| {
                    Some(User {
                        name: u.get("name")?.as_str()?.to_string(),
                        databases: u
                            .get("databases")
                            .and_then(Value::as_array)
                            .map(|d| {
                                d.iter()
                                    .filter_map(Value::as_str)
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        alphanumeric: u.pointer("/password/type").and_then(Value::as_str)
                            == Some("AlphaNumeric"),
                    })
                })
                .collect(),
            None if self.name.len() <= 63 && crate::meta::check_dns_label(self.name).is_ok() => {
                vec![User {
                    name: self.name.to_string(),
                    databases: vec![self.name.to_string()],
                    alphanumeric: false,
                }]
            }
            None => Vec::new(),
        }
    }

    fn spec_metadata(&self, field: &str) -> Map<String, Value> {
        self.spec
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The controller ownerReference PGO sets on everything it creates.
    pub fn owner_reference(&self) -> Value {
        json!({
            "apiVersion": format!("{PGO_GROUP}/v1beta1"),
            "kind": "PostgresCluster",
            "name": self.name,
            "uid": self.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }

    fn metadata(&self, name: &str, labels: &[(&str, &str)]) -> Value {
        let mut l = self.spec_metadata("labels");
        l.insert(LABEL_CLUSTER.into(), Value::from(self.name));
        for (k, v) in labels {
            l.insert((*k).into(), Value::from(*v));
        }
        let mut meta = json!({
            "name": name,
            "namespace": self.namespace,
            "labels": l,
            "ownerReferences": [self.owner_reference()],
        });
        let annotations = self.spec_metadata("annotations");
        if !annotations.is_empty() {
            meta["annotations"] = Value::Object(annotations);
        }
        meta
    }

    pub fn service_host(&self, suffix: &str) -> String {
        format!("{}-{suffix}.{}.svc", self.name, self.namespace)
    }
}

fn service_type(spec: Option<&Value>) -> &str {
    spec.and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// The Services of a cluster (the pooler Service only when `proxy.pgBouncer` is set).
pub(crate) fn services(c: &Cluster<'_>) -> Vec<Value> {
    let port = json!([{ "name": "postgres", "port": c.port(), "protocol": "TCP", "targetPort": "postgres" }]);
    let mut out = vec![
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": c.metadata(&format!("{}-primary", c.name), &[(LABEL_ROLE, "primary")]),
            "spec": { "clusterIP": "None", "ports": port },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": c.metadata(&format!("{}-replicas", c.name), &[(LABEL_ROLE, "replica")]),
            "spec": {
                "type": service_type(c.spec.get("replicaService")),
                "ports": port,
                "selector": { LABEL_CLUSTER: c.name, LABEL_ROLE: "replica" },
            },
        }),
    ];
    if let Some(pgb) = c.pgbouncer() {
        let pgb_port = pgb.get("port").and_then(Value::as_i64).unwrap_or(5432);
        out.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": c.metadata(&format!("{}-pgbouncer", c.name), &[(LABEL_ROLE, "pgbouncer")]),
            "spec": {
                "type": service_type(pgb.get("service")),
                "ports": [{ "name": "pgbouncer", "port": pgb_port, "protocol": "TCP", "targetPort": "pgbouncer" }],
                "selector": { LABEL_CLUSTER: c.name, LABEL_ROLE: "pgbouncer" },
            },
        }));
    }
    out
}

/// Whether `spec.backups` is present (PGO's `BackupsEnabled`; optional since v5.7).
pub(crate) fn backups_enabled(c: &Cluster<'_>) -> bool {
    c.spec.get("backups").is_some_and(|b| !b.is_null())
}

/// Whether the cluster carries `authorizeBackupRemoval: "true"`.
pub(crate) fn backup_removal_authorized(c: &Cluster<'_>) -> bool {
    c.object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(AUTHORIZE_BACKUP_REMOVAL_ANNOTATION))
        .and_then(Value::as_str)
        == Some("true")
}

/// The volume repository claims of a cluster (`naming.PGBackRestRepoVolume`:
/// `<cluster>-<repoName>`, `naming.PGBackRestRepoVolumeLabels`), each with the status a bound
/// claim reports: (claim, status body for `/status`).
pub(crate) fn repo_volume_claims(c: &Cluster<'_>) -> Vec<(Value, Value)> {
    let repos = c
        .spec
        .pointer("/backups/pgbackrest/repos")
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for repo in repos.into_iter().flatten() {
        let (Some(name), Some(spec)) = (
            repo.get("name").and_then(Value::as_str),
            repo.pointer("/volume/volumeClaimSpec"),
        ) else {
            continue;
        };
        let claim = format!("{}-{name}", c.name);
        let metadata = c.metadata(
            &claim,
            &[
                (LABEL_PGBACKREST, ""),
                (LABEL_PGBACKREST_REPO, name),
                (LABEL_PGBACKREST_VOLUME, ""),
            ],
        );
        let mut status = json!({ "phase": "Bound" });
        if let Some(modes) = spec.get("accessModes") {
            status["accessModes"] = modes.clone();
        }
        if let Some(storage) = spec.pointer("/resources/requests/storage") {
            status["capacity"] = json!({ "storage": storage });
        }
        out.push((
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": metadata,
                "spec": spec,
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": claim, "namespace": c.namespace },
                "status": status,
            }),
        ));
    }
    out
}

fn b64(s: &str) -> Value {
    Value::from(base64::engine::general_purpose::STANDARD.encode(s))
}

/// The cluster certificate Secret, unless `spec.customTLSSecret` replaces it.
pub(crate) fn cluster_cert_secret(c: &Cluster<'_>) -> Option<Value> {
    if c.spec.get("customTLSSecret").is_some() {
        return None;
    }
    let [ca, certificate, key] = credentials::cluster_certificate(c.name, c.namespace);
    Some(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": c.metadata(&format!("{}-cluster-cert", c.name), &[(LABEL_CLUSTER_CERT, "postgres-tls")]),
        "type": "Opaque",
        "data": {
            "ca.crt": b64(&ca),
            "tls.crt": b64(&certificate),
            "tls.key": b64(&key),
        },
    }))
}

/// The Secret name of a user.
pub(crate) fn user_secret_name(c: &Cluster<'_>, user: &str) -> String {
    format!("{}-pguser-{user}", c.name)
}

/// The connection Secret of one user, with PGO's keys.
pub(crate) fn user_secret(c: &Cluster<'_>, user: &User, password: &str, verifier: &str) -> Value {
    let host = c.service_host("primary");
    let port = c.port().to_string();
    let (u, p) = (
        credentials::escape_userinfo(&user.name),
        credentials::escape_userinfo(password),
    );
    let (qu, qp) = (
        credentials::escape(&user.name),
        credentials::escape(password),
    );
    let mut data = Map::new();
    data.insert("user".into(), b64(&user.name));
    data.insert("password".into(), b64(password));
    data.insert("verifier".into(), b64(verifier));
    data.insert("host".into(), b64(&host));
    data.insert("port".into(), b64(&port));
    if let Some(db) = user.databases.first() {
        data.insert("dbname".into(), b64(db));
        data.insert(
            "uri".into(),
            b64(&format!(
                "postgresql://{u}:{p}@{host}:{port}/{}",
                credentials::escape(db)
            )),
        );
        data.insert(
            "jdbc-uri".into(),
            b64(&format!(
                "jdbc:postgresql://{host}:{port}/{}?password={qp}&user={qu}",
                credentials::escape(db)
            )),
        );
    }
    if let Some(pgb) = c.pgbouncer() {
        let host = c.service_host("pgbouncer");
        let port = pgb
            .get("port")
            .and_then(Value::as_i64)
            .unwrap_or(5432)
            .to_string();
        data.insert("pgbouncer-host".into(), b64(&host));
        data.insert("pgbouncer-port".into(), b64(&port));
        if let Some(db) = user.databases.first() {
            let db = credentials::escape(db);
            data.insert(
                "pgbouncer-uri".into(),
                b64(&format!("postgresql://{u}:{p}@{host}:{port}/{db}")),
            );
            data.insert(
                "pgbouncer-jdbc-uri".into(),
                b64(&format!(
                    "jdbc:postgresql://{host}:{port}/{db}?password={qp}&prepareThreshold=0&user={qu}"
                )),
            );
        }
    }
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": c.metadata(&user_secret_name(c, &user.name), &[(LABEL_ROLE, "pguser"), (LABEL_PGUSER, &user.name)]),
        "data": data,
    })
}
