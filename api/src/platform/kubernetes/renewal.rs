//! Renewing the certificates pgplane issued from a tenant's CA ([`super::certificates`]) before
//! they expire. PGO "automatically detects and loads changes to the contents of PostgreSQL
//! server and replication Secrets without downtime" (its docs, "Rotating TLS Certificates":
//! the Secrets are projected into the pods, and PGO's reload loop in the database Pod has
//! PostgreSQL reload its certificate files when they change), so a renewal replaces `tls.crt`
//! and `tls.key` in place and keeps `ca.crt`: nothing restarts, clients keep their CA.
//!
//! A cluster's two Secrets are renewed together, the replication one first. The patch carries
//! the Secret's `resourceVersion`, so a concurrent writer wins and the next pass looks again.
//! A failure is written on the server Secret as the annotation [`RENEWAL_ERROR`], which the
//! status watch reports with the cluster's certificate; the next renewal removes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use super::certificates::{Issued, issue_replication, issue_server, tenant_ca, text};
use super::errors::classify;
use super::labels::{PGO_CLUSTER, PGO_CLUSTER_CERTIFICATE, TENANT_NAME};
use super::options::KubernetesOptions;
use crate::domain::cluster::Site;
use crate::domain::cluster::naming::{
    replication_certificate_secret_name, server_certificate_secret_name,
};
use crate::platform::certificate_policy::expiry_of;
use crate::platform::{CertificatePolicy, PlatformError};

/// Why the last renewal of the cluster's certificates failed (on its server Secret).
pub const RENEWAL_ERROR: &str = "pgplane.io/certificate-renewal-error";

/// One cluster's certificate Secrets, as listed.
#[derive(Default)]
struct Pair {
    tenant: Option<String>,
    server: Option<Secret>,
    replication: Option<Secret>,
}

impl Pair {
    fn due(&self, policy: &CertificatePolicy, now: DateTime<Utc>) -> bool {
        [&self.server, &self.replication]
            .into_iter()
            .flatten()
            .any(|secret| {
                text(secret, "tls.crt")
                    .and_then(|pem| expiry_of(&pem))
                    .is_none_or(|at| policy.due(at, now))
            })
    }
}

/// Where the certificates of one Kubernetes cluster are renewed: its client, and the home
/// cluster's (where the tenant CAs are).
pub struct Renewal<'a> {
    pub client: &'a kube::Client,
    pub home: &'a kube::Client,
    pub options: &'a KubernetesOptions,
}

impl Renewal<'_> {
    /// Renews every cluster whose certificates are due; returns how many it renewed. A cluster
    /// that fails is annotated and does not stop the others.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<usize, PlatformError> {
        let mut renewed = 0;
        let listed = self.bounded(self.list()).await?;
        for ((namespace, cluster), pair) in listed {
            if !pair.due(&self.options.certificates, now) {
                continue;
            }
            let renewal = self.renew(&namespace, &cluster, &pair);
            match self
                .bounded(async { renewal.await.map_err(PlatformError::Transient) })
                .await
            {
                Ok(()) => {
                    tracing::info!(%namespace, %cluster, "renewed the cluster's certificates");
                    renewed += 1;
                }
                Err(error) => {
                    let error = match error {
                        PlatformError::Transient(why) => why,
                        other => other.to_string(),
                    };
                    tracing::warn!(%namespace, %cluster, %error, "certificate renewal failed");
                    let _ = self
                        .bounded(async {
                            self.record_failure(&namespace, &pair, &error).await;
                            Ok(())
                        })
                        .await;
                }
            }
        }
        Ok(renewed)
    }

    /// `call` within the driver's request timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, PlatformError>>,
    ) -> Result<T, PlatformError> {
        super::errors::within(self.options.request_timeout, "certificate renewal", call).await
    }

    /// pgplane's certificate Secrets on this cluster, by namespace and cluster.
    async fn list(&self) -> Result<BTreeMap<(String, String), Pair>, PlatformError> {
        let (_, selector, _) = super::watch::selectors();
        let api: Api<Secret> = Api::all(self.client.clone());
        let secrets = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| classify(&e))?;
        let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
        for secret in secrets {
            let labels = secret.metadata.labels.clone().unwrap_or_default();
            let (Some(namespace), Some(name), Some(cluster)) = (
                secret.metadata.namespace.clone(),
                secret.metadata.name.clone(),
                labels.get(PGO_CLUSTER).cloned(),
            ) else {
                continue;
            };
            let pair = pairs.entry((namespace, cluster.clone())).or_default();
            if name == server_certificate_secret_name(&cluster)
                && labels.contains_key(PGO_CLUSTER_CERTIFICATE)
            {
                pair.tenant = labels.get(TENANT_NAME).cloned();
                pair.server = Some(secret);
            } else if name == replication_certificate_secret_name(&cluster) {
                pair.replication = Some(secret);
            }
        }
        pairs.retain(|_, pair| pair.server.is_some());
        Ok(pairs)
    }

    /// Issues both certificates again from the tenant CA and writes them into their Secrets.
    async fn renew(&self, namespace: &str, cluster: &str, pair: &Pair) -> Result<(), String> {
        let tenant = pair.tenant.as_deref().ok_or("the Secret names no tenant")?;
        let ca_namespace = self
            .options
            .namespace_on(Site::Home, tenant)
            .ok_or("the tenant's home namespace is unknown")?;
        let ca = tenant_ca(self.home, &ca_namespace, tenant)
            .await
            .map_err(|e| format!("reading the tenant CA: {e}"))?;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        if let Some(secret) = &pair.replication {
            let issued =
                issue_replication(&ca, &self.options.certificates).map_err(|e| e.to_string())?;
            replace(&api, secret, &ca, &issued).await?;
        }
        let server = pair.server.as_ref().ok_or("no server certificate Secret")?;
        let issued = issue_server(&ca, cluster, namespace, &self.options.certificates)
            .map_err(|e| e.to_string())?;
        replace(&api, server, &ca, &issued).await
    }

    /// Writes `error` on the server Secret (best effort: the API may be what failed).
    async fn record_failure(&self, namespace: &str, pair: &Pair, error: &str) {
        let Some(name) = pair.server.as_ref().and_then(|s| s.metadata.name.clone()) else {
            return;
        };
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({"metadata": {"annotations": {RENEWAL_ERROR: error}}});
        if let Err(e) = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(%namespace, %name, error = %e, "could not record the renewal failure");
        }
    }
}

/// Replaces the certificate and key of `secret` (unchanged since it was listed), clearing a
/// recorded failure. Refuses a Secret whose `ca.crt` is not the tenant CA's: clients trust that
/// one, and a certificate from another CA would lock them out.
async fn replace(
    api: &Api<Secret>,
    secret: &Secret,
    ca: &Issued,
    issued: &Issued,
) -> Result<(), String> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    if text(secret, "ca.crt").as_deref() != Some(ca.certificate.as_str()) {
        return Err(format!(
            "Secret {name} trusts another CA than the tenant's; left as it is"
        ));
    }
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let patch = json!({
        "metadata": {
            "resourceVersion": secret.metadata.resource_version,
            "annotations": {RENEWAL_ERROR: null},
        },
        "data": {"tls.crt": b64(&issued.certificate), "tls.key": b64(&issued.key)},
    });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| format!("writing Secret {name}: {}", classify(&e)))
}
