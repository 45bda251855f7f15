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
    /// The server certificate clients see, when the platform reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateFacts>,
    /// The passwords of the cluster's other roles (`spec.users` after the owner), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_passwords: BTreeMap<String, String>,
}

/// The cluster's server certificate: when it expires, and why its last renewal failed (cleared
/// by the next renewal that succeeds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateFacts {
    pub expires_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_error: Option<String>,
}
