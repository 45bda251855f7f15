//! A certificate authority and a server certificate per local cluster, so clients connect with
//! `sslmode=verify-full` exactly as they do to PGO clusters (whose CA pgplane also hands out).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};

/// PEM files of one cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterTls {
    pub ca_certificate: String,
    pub server_certificate: String,
    pub server_key: String,
}

/// Issues a new CA and a server certificate for `127.0.0.1`, `::1` and `localhost`.
pub fn issue(cluster_name: &str) -> Result<ClusterTls, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name = name(&format!("pgplane local CA for {cluster_name}"));
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()])?;
    server_params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    server_params.distinguished_name = name(cluster_name);
    let server_cert = server_params.signed_by(&server_key, &issuer)?;
    Ok(ClusterTls {
        ca_certificate: ca_cert.pem(),
        server_certificate: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}
