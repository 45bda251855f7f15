//! Certificates from the tenant's own certificate authority, for the clusters that need them:
//! a streaming standby and its source. PGO's own certificates come from a root CA per
//! namespace that pgplane cannot sign with, and a standby authenticates to its source with a
//! replication client certificate (CN `_crunchyrepl`) the source must trust; PGO therefore
//! requires `customTLSSecret` and `customReplicationTLSSecret` with the same `ca.crt` on both.
//!
//! - The tenant CA lives in the Secret [`TENANT_CA_SECRET`] of the tenant's home namespace
//!   (`ca.crt`, `ca.key`), created once; a lost race reads the winner's. A cluster on the
//!   disaster-recovery site gets certificates signed by the same CA; only the CA certificate
//!   travels there, inside the cluster's Secrets (the key stays home).
//! - Each cluster gets `<cluster>-tls` (server certificate for its Services and Pods) and
//!   `<cluster>-replication-tls`, owned by the PostgresCluster so they go with it. They are
//!   created after the cluster is applied (PGO retries until they exist); an existing one is
//!   left to [`super::renewal`], which replaces its certificate and key before it expires.
//! - `<cluster>-tls` carries PGO's `cluster-certificate` label, so the status watch reads its
//!   `ca.crt` as the CA clients verify against.
//!
//! The CA is valid for [`CA_VALIDITY_YEARS`]; the certificates it signs live as the
//! [`CertificatePolicy`] says (90 days by default).

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ObjectMeta, PostParams};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::errors::classify;
use super::labels::{
    CLUSTER_ID, MANAGED_BY, MANAGED_BY_VALUE, PGO_CLUSTER, PGO_CLUSTER_CERTIFICATE, TENANT_NAME,
};
use crate::domain::cluster::naming::{
    pgbouncer_service_name, primary_service_name, replica_service_name,
    replication_certificate_secret_name, server_certificate_secret_name,
};
use crate::platform::certificate_policy::apply_ca_validity;
use crate::platform::{CertificatePolicy, ClusterTarget, PlatformError};

/// The Secret holding the tenant's CA certificate and key.
pub const TENANT_CA_SECRET: &str = "pgplane-tenant-ca";
/// The user PGO's replication connections log in as (PGO `naming.ReplicationUser`).
pub const REPLICATION_USER: &str = "_crunchyrepl";
pub use crate::platform::certificate_policy::CA_VALIDITY_YEARS;

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub certificate: String,
    pub key: String,
}

fn rcgen_error(e: rcgen::Error) -> PlatformError {
    PlatformError::Rejected(format!("issuing a certificate: {e}"))
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// A new self-signed CA for `tenant`.
pub fn issue_ca(tenant: &str) -> Result<Issued, PlatformError> {
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name = common_name(&format!("pgplane CA of tenant {tenant}"));
    apply_ca_validity(&mut params, Utc::now());
    let certificate = params.self_signed(&key).map_err(rcgen_error)?;
    Ok(Issued {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}

/// The DNS names PostgreSQL answers to: the cluster's Services in every form clients use and
/// its Pods (`<pod>.<cluster>-pods`, which Patroni's replicas connect to).
pub fn server_names(cluster: &str, namespace: &str) -> Vec<String> {
    let mut names = Vec::new();
    for service in [
        primary_service_name(cluster),
        replica_service_name(cluster),
        pgbouncer_service_name(cluster),
    ] {
        names.push(format!("{service}.{namespace}.svc.cluster.local"));
        names.push(format!("{service}.{namespace}.svc"));
        names.push(format!("{service}.{namespace}"));
        names.push(service);
    }
    names.push(format!("*.{cluster}-pods.{namespace}.svc.cluster.local"));
    names.push(format!("*.{cluster}-pods.{namespace}.svc"));
    names
}

fn issuer(ca: &Issued) -> Result<Issuer<'static, KeyPair>, PlatformError> {
    let key = KeyPair::from_pem(&ca.key).map_err(rcgen_error)?;
    Issuer::from_ca_cert_pem(&ca.certificate, key).map_err(rcgen_error)
}

/// A new key and its certificate from `params`, signed by `ca` and valid as `policy` says.
fn signed(
    mut params: CertificateParams,
    ca: &Issued,
    policy: &CertificatePolicy,
) -> Result<Issued, PlatformError> {
    policy.apply_to(&mut params, Utc::now());
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let certificate = params.signed_by(&key, &issuer(ca)?).map_err(rcgen_error)?;
    Ok(Issued {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}

/// The server certificate of `cluster`, signed by `ca`.
pub fn issue_server(
    ca: &Issued,
    cluster: &str,
    namespace: &str,
    policy: &CertificatePolicy,
) -> Result<Issued, PlatformError> {
    let names = server_names(cluster, namespace);
    let mut params = CertificateParams::new(names.clone()).map_err(rcgen_error)?;
    params.distinguished_name = common_name(&names[1]);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    signed(params, ca, policy)
}

/// The replication client certificate (CN [`REPLICATION_USER`]), signed by `ca`.
pub fn issue_replication(ca: &Issued, policy: &CertificatePolicy) -> Result<Issued, PlatformError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    params.distinguished_name = common_name(REPLICATION_USER);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    signed(params, ca, policy)
}

pub(super) fn text(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

pub(super) fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), ByteString(v.as_bytes().to_vec())))
        .collect()
}

/// Creates `secret` unless one of its name exists; the existing one wins (it may be in use).
async fn create_once(api: &Api<Secret>, secret: Secret) -> Result<Secret, PlatformError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), &secret).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            api.get(&name).await.map_err(|e| classify(&e))
        }
        Err(e) => Err(classify(&e)),
    }
}

/// The tenant's CA, created on first use.
pub async fn tenant_ca(
    client: &kube::Client,
    namespace: &str,
    tenant_name: &str,
) -> Result<Issued, PlatformError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match api
        .get_opt(TENANT_CA_SECRET)
        .await
        .map_err(|e| classify(&e))?
    {
        Some(secret) => secret,
        None => {
            let ca = issue_ca(tenant_name)?;
            let labels = BTreeMap::from([
                (MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
                (TENANT_NAME.to_string(), tenant_name.to_string()),
            ]);
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(TENANT_CA_SECRET.into()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                data: Some(data(&[("ca.crt", &ca.certificate), ("ca.key", &ca.key)])),
                ..Secret::default()
            };
            create_once(&api, secret).await?
        }
    };
    match (text(&secret, "ca.crt"), text(&secret, "ca.key")) {
        (Some(certificate), Some(key)) => Ok(Issued { certificate, key }),
        _ => Err(PlatformError::Rejected(format!(
            "Secret {namespace}/{TENANT_CA_SECRET} lacks ca.crt or ca.key"
        ))),
    }
}

/// A namespace of a Kubernetes cluster (the two sites may be separate clusters).
#[derive(Clone, Copy)]
pub struct Place<'a> {
    pub client: &'a kube::Client,
    pub namespace: &'a str,
}

/// Makes the cluster's two certificate Secrets exist `at` its place, owned by its
/// PostgresCluster (`owner`), signed by the tenant CA kept at `ca_at` (the tenant's home).
pub async fn ensure_cluster_certificates(
    at: Place<'_>,
    ca_at: Place<'_>,
    target: &ClusterTarget,
    owner: OwnerReference,
    policy: &CertificatePolicy,
) -> Result<(), PlatformError> {
    let namespace = at.namespace;
    let api: Api<Secret> = Api::namespaced(at.client.clone(), namespace);
    let cluster = &target.spec.name;
    let server_name = server_certificate_secret_name(cluster);
    let replication_name = replication_certificate_secret_name(cluster);
    let server_exists = api.get_opt(&server_name).await.map_err(|e| classify(&e))?;
    let replication_exists = api
        .get_opt(&replication_name)
        .await
        .map_err(|e| classify(&e))?;
    if server_exists.is_some() && replication_exists.is_some() {
        return Ok(());
    }
    let ca = tenant_ca(ca_at.client, ca_at.namespace, &target.tenant.tenant_name).await?;
    let mut labels = BTreeMap::from([
        (MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
        (CLUSTER_ID.to_string(), target.cluster_id.to_string()),
        (TENANT_NAME.to_string(), target.tenant.tenant_name.clone()),
        (PGO_CLUSTER.to_string(), cluster.clone()),
    ]);
    let secret = |name: &str, labels: BTreeMap<String, String>, issued: &Issued| Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels),
            owner_references: Some(vec![owner.clone()]),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data(&[
            ("tls.crt", &issued.certificate),
            ("tls.key", &issued.key),
            ("ca.crt", &ca.certificate),
        ])),
        ..Secret::default()
    };
    if replication_exists.is_none() {
        let issued = issue_replication(&ca, policy)?;
        create_once(&api, secret(&replication_name, labels.clone(), &issued)).await?;
    }
    if server_exists.is_none() {
        labels.insert(PGO_CLUSTER_CERTIFICATE.to_string(), "tenant-ca".to_string());
        let issued = issue_server(&ca, cluster, namespace, policy)?;
        create_once(&api, secret(&server_name, labels, &issued)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_certificates_chain_to_the_tenant_ca_with_the_names_pgo_needs() {
        let ca = issue_ca("acme").unwrap();
        let policy = CertificatePolicy::default();
        let server = issue_server(&ca, "orders", "pgplane-acme", &policy).unwrap();
        let replication = issue_replication(&ca, &policy).unwrap();
        let parse = |pem: &str| {
            let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
            pem.contents
        };
        let ca_der = parse(&ca.certificate);
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        for (pem, subject) in [
            (&server.certificate, "CN=orders-primary.pgplane-acme.svc"),
            (&replication.certificate, "CN=_crunchyrepl"),
        ] {
            let der = parse(pem);
            let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
            assert_eq!(cert.subject().to_string(), subject);
            assert_eq!(cert.issuer(), ca_cert.subject());
            cert.verify_signature(Some(ca_cert.public_key()))
                .expect("signed by the tenant CA");
        }
        let der = parse(&server.certificate);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(names.contains(&"DNSName(orders-primary.pgplane-acme.svc)".to_string()));
        assert!(
            names.contains(&"DNSName(*.orders-pods.pgplane-acme.svc.cluster.local)".to_string())
        );
    }

    #[test]
    fn a_second_tenant_ca_is_a_different_authority() {
        let a = issue_ca("acme").unwrap();
        let b = issue_ca("acme").unwrap();
        assert_ne!(a.certificate, b.certificate);
        let server = issue_server(&a, "orders", "ns", &CertificatePolicy::default()).unwrap();
        let parse = |pem: &str| {
            let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
            pem.contents
        };
        let b_der = parse(&b.certificate);
        let (_, b_cert) = x509_parser::parse_x509_certificate(&b_der).unwrap();
        let der = parse(&server.certificate);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert!(cert.verify_signature(Some(b_cert.public_key())).is_err());
    }
}
