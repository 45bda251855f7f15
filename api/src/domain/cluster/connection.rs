//! How clients reach a cluster: its endpoints, CA and credentials, as a platform reports them.

use std::collections::BTreeMap;

/// A host and port clients connect to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// Connection facts read from the platform (e.g. PGO's user and certificate Secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionFacts {
    pub primary: Option<Endpoint>,
    pub replicas: Option<Endpoint>,
    pub pooler: Option<Endpoint>,
    /// PEM of the CA that signed the server certificates.
    pub ca_certificate: Option<String>,
    pub user: Option<String>,
    pub database: Option<String>,
    /// The owner's password.
    pub password: Option<String>,
    /// The passwords of the cluster's other roles (`spec.users` after the owner), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_passwords: BTreeMap<String, String>,
}
