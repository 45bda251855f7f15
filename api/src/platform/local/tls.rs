//! A certificate authority and a server certificate per local cluster, so clients connect with
//! `sslmode=verify-full` exactly as they do to PGO clusters (whose CA pgplane also hands out).
//! The CA's key is kept (in the cluster's `state.json`, readable by pgplane's user only) so the
//! server certificate can be renewed under the same CA: clients keep the CA they were given.

use chrono::{DateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};

use crate::platform::CertificatePolicy;
use crate::platform::certificate_policy::{apply_ca_validity, expiry_of};

/// PEM files of one cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterTls {
    pub ca_certificate: String,
    /// The CA's key; absent for clusters made before certificates were renewed, whose
    /// certificate (valid until the year 4096) then stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key: Option<String>,
    pub server_certificate: String,
    pub server_key: String,
    /// Why the last renewal failed, until one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_error: Option<String>,
}

impl ClusterTls {
    /// When the server certificate expires.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        expiry_of(&self.server_certificate)
    }

    /// Whether the server certificate is to be renewed `now` (never without the CA's key).
    pub fn renewal_due(&self, policy: &CertificatePolicy, now: DateTime<Utc>) -> bool {
        self.ca_key.is_some() && self.expires_at().is_none_or(|at| policy.due(at, now))
    }
}

/// Issues a new CA and a server certificate for `127.0.0.1`, `::1` and `localhost`.
pub fn issue(cluster_name: &str, policy: &CertificatePolicy) -> Result<ClusterTls, rcgen::Error> {
    let now = Utc::now();
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name = name(&format!("pgplane local CA for {cluster_name}"));
    apply_ca_validity(&mut ca_params, now);
    let ca_certificate = ca_params.self_signed(&ca_key)?.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let (server_certificate, server_key) = server(cluster_name, &issuer, policy, now)?;
    Ok(ClusterTls {
        ca_certificate,
        ca_key: Some(ca_key_pem),
        server_certificate,
        server_key,
        renewal_error: None,
    })
}

/// The same CA with a new server key and certificate.
pub fn renew(
    tls: &ClusterTls,
    cluster_name: &str,
    policy: &CertificatePolicy,
) -> anyhow::Result<ClusterTls> {
    let ca_key = tls
        .ca_key
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the cluster's CA key was not kept"))?;
    let issuer = Issuer::from_ca_cert_pem(&tls.ca_certificate, KeyPair::from_pem(ca_key)?)?;
    let (server_certificate, server_key) = server(cluster_name, &issuer, policy, Utc::now())?;
    Ok(ClusterTls {
        server_certificate,
        server_key,
        renewal_error: None,
        ..tls.clone()
    })
}

/// A new server key and its certificate, signed by `issuer`.
fn server(
    cluster_name: &str,
    issuer: &Issuer<'_, KeyPair>,
    policy: &CertificatePolicy,
    now: DateTime<Utc>,
) -> Result<(String, String), rcgen::Error> {
    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    params.distinguished_name = name(cluster_name);
    policy.apply_to(&mut params, now);
    let certificate = params.signed_by(&server_key, issuer)?;
    Ok((certificate.pem(), server_key.serialize_pem()))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parsed(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    }

    #[test]
    fn a_renewed_certificate_is_new_signed_by_the_same_ca_and_lives_as_the_policy_says() {
        let policy = CertificatePolicy {
            validity: Duration::from_secs(600),
        };
        let tls = issue("orders", &policy).unwrap();
        let renewed = renew(&tls, "orders", &policy).unwrap();
        assert_eq!(renewed.ca_certificate, tls.ca_certificate);
        assert_ne!(renewed.server_key, tls.server_key);
        let ca_der = parsed(&tls.ca_certificate);
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let der = parsed(&renewed.server_certificate);
        let (_, server) = x509_parser::parse_x509_certificate(&der).unwrap();
        server
            .verify_signature(Some(ca.public_key()))
            .expect("signed by the cluster's CA");
        let lifetime = renewed.expires_at().unwrap() - Utc::now();
        assert!(lifetime <= chrono::Duration::seconds(600));
        assert!(lifetime > chrono::Duration::seconds(590));
        assert!(!renewed.renewal_due(&policy, Utc::now()));
        assert!(renewed.renewal_due(&policy, Utc::now() + chrono::Duration::seconds(401)));
    }

    #[test]
    fn a_cluster_without_its_ca_key_is_never_due_and_cannot_be_renewed() {
        let policy = CertificatePolicy::default();
        let mut tls = issue("orders", &policy).unwrap();
        tls.ca_key = None;
        assert!(!tls.renewal_due(&policy, Utc::now() + chrono::Duration::days(365)));
        assert!(renew(&tls, "orders", &policy).is_err());
    }
}
