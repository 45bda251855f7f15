//! Certificates from a tenant's CA (standbys and their sources) renewed on a real apiserver:
//! before they expire, in place (same Secrets, same `ca.crt`, owner kept, the PostgresCluster
//! untouched: PGO reloads changed certificate files without a restart), reported by the watch;
//! a renewal that fails (the tenant CA lost its key) is recorded on the Secret and reported,
//! and the next one that succeeds clears it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use pgplane::platform::certificate_policy::expiry_of;
use pgplane::platform::kubernetes::renewal::RENEWAL_ERROR;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};
use pgplane::platform::{CertificatePolicy, Platform};
use serde_json::json;

use crate::support::*;

fn text(secret: &Secret, key: &str) -> String {
    let bytes = &secret.data.as_ref().expect("data")[key].0;
    String::from_utf8(bytes.clone()).expect("UTF-8")
}

fn driver(plane: &pgplane_tests::envtest::ControlPlane, seconds: u64) -> KubernetesPlatform {
    let options = KubernetesOptions {
        certificates: CertificatePolicy {
            validity: Duration::from_secs(seconds),
        },
        ..KubernetesOptions::default()
    };
    KubernetesPlatform::new(plane.client(), options)
}

/// Whether `certificate` (PEM) is signed by `ca` (PEM).
fn signed_by(certificate: &str, ca: &str) -> bool {
    let der = |pem: &str| {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .expect("PEM")
            .1
            .contents
    };
    let (ca_der, der) = (der(ca), der(certificate));
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("the CA");
    let (_, certificate) = x509_parser::parse_x509_certificate(&der).expect("the certificate");
    certificate.verify_signature(Some(ca.public_key())).is_ok()
}

#[tokio::test]
async fn tenant_ca_certificates_are_renewed_in_place_before_expiry_and_a_failed_renewal_is_reported()
 {
    let plane = plane_or_skip!();
    // Twenty seconds of life: renewed once less than a third (6.7 s) remains.
    let env = Env {
        plane,
        platform: driver(plane, 20),
    };
    let acme = tenant("renewal");
    ensure_counted(&env, &acme).await;
    let mut orders = target(&acme, spec("orders"));
    orders.tenant_certificates = true;
    apply_until_admitted(&env, &orders).await;
    let namespace = env.namespace_of(&acme);
    let secrets: Api<Secret> = Api::namespaced(plane.client(), &namespace);
    let server = secrets.get("orders-tls").await.expect("the server Secret");
    let replication = secrets
        .get("orders-replication-tls")
        .await
        .expect("replication");
    let expires = expiry_of(&text(&server, "tls.crt")).expect("an expiry");
    let lifetime = expires - chrono::Utc::now();
    assert!(lifetime <= chrono::Duration::seconds(20), "{lifetime}");
    let generation = env
        .clusters(&namespace)
        .get("orders")
        .await
        .expect("cluster");
    let generation = generation.metadata.generation;
    let mut watch = env.watch();

    // Not yet due: left alone.
    env.platform.renew_certificates().await.expect("a pass");
    let unchanged = secrets.get("orders-tls").await.expect("server");
    assert_eq!(text(&unchanged, "tls.crt"), text(&server, "tls.crt"));

    // Renewed within its last third, before it expires, as the sync leader's loop would.
    let renewed = eventually(WAIT, "the server certificate renewed", || async {
        env.platform.renew_certificates().await.expect("a pass");
        let now = secrets.get("orders-tls").await.ok()?;
        (text(&now, "tls.crt") != text(&server, "tls.crt")).then_some(now)
    })
    .await;
    assert!(chrono::Utc::now() < expires, "renewed only after expiry");
    let ca = text(&server, "ca.crt");
    assert_eq!(text(&renewed, "ca.crt"), ca, "clients keep their CA");
    assert_ne!(
        text(&renewed, "tls.key"),
        text(&server, "tls.key"),
        "a new key"
    );
    assert!(signed_by(&text(&renewed, "tls.crt"), &ca));
    assert!(expiry_of(&text(&renewed, "tls.crt")).expect("expiry") > expires);
    assert_eq!(
        renewed.metadata.owner_references,
        server.metadata.owner_references
    );
    let replication_now = secrets
        .get("orders-replication-tls")
        .await
        .expect("replication");
    assert_ne!(
        text(&replication_now, "tls.crt"),
        text(&replication, "tls.crt")
    );
    assert!(signed_by(&text(&replication_now, "tls.crt"), &ca));
    let cluster = env
        .clusters(&namespace)
        .get("orders")
        .await
        .expect("cluster");
    assert_eq!(
        cluster.metadata.generation, generation,
        "the cluster is not changed"
    );
    let new_expiry = expiry_of(&text(&renewed, "tls.crt"));
    watch
        .observed(
            orders.cluster_id,
            "the renewed certificate reported",
            |seen| seen.connection.certificate.as_ref().map(|c| c.expires_at) == new_expiry,
        )
        .await;

    // The tenant CA loses its key: the next renewal (due at once under a 5-second policy)
    // fails, says why on the Secret, and the watch reports it.
    let cas: Api<Secret> = Api::namespaced(plane.client(), &namespace);
    let tenant_ca = cas.get("pgplane-tenant-ca").await.expect("the tenant CA");
    let ca_key = text(&tenant_ca, "ca.key");
    let remove_key = json!([{"op": "remove", "path": "/data/ca.key"}]);
    cas.patch(
        "pgplane-tenant-ca",
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(remove_key).expect("patch")),
    )
    .await
    .expect("the CA key removed");
    let shorter = driver(plane, 5);
    shorter.renew_certificates().await.expect("a pass");
    let failed = secrets.get("orders-tls").await.expect("server");
    let error = failed
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RENEWAL_ERROR));
    assert!(
        error.is_some_and(|e| e.contains("ca.key")),
        "{:?}",
        failed.metadata.annotations
    );
    assert_eq!(
        text(&failed, "tls.crt"),
        text(&renewed, "tls.crt"),
        "left as it was"
    );
    watch
        .observed(orders.cluster_id, "the failed renewal reported", |seen| {
            seen.connection.certificate.as_ref().is_some_and(|c| {
                c.renewal_error
                    .as_deref()
                    .is_some_and(|e| e.contains("ca.key"))
            })
        })
        .await;

    // The key is back: the next pass renews and clears the failure.
    let restore = json!({"data": {"ca.key": base64_of(&ca_key)}});
    cas.patch(
        "pgplane-tenant-ca",
        &PatchParams::default(),
        &Patch::Merge(&restore),
    )
    .await
    .expect("the CA key restored");
    shorter.renew_certificates().await.expect("a pass");
    let recovered = secrets.get("orders-tls").await.expect("server");
    let annotations = recovered.metadata.annotations.clone().unwrap_or_default();
    assert!(!annotations.contains_key(RENEWAL_ERROR), "{annotations:?}");
    assert_ne!(text(&recovered, "tls.crt"), text(&renewed, "tls.crt"));
    assert!(signed_by(&text(&recovered, "tls.crt"), &ca));
    watch
        .observed(orders.cluster_id, "the failure cleared", |seen| {
            seen.connection
                .certificate
                .as_ref()
                .is_some_and(|c| c.renewal_error.is_none())
        })
        .await;
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
