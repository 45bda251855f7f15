use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use super::*;
use crate::domain::cluster::Report;

pub(in crate::platform::kubernetes::watch) fn cluster(
    generation: i64,
    status: Value,
) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": {
            "name": "orders",
            "namespace": "pgplane-acme",
            "generation": generation,
            "labels": {
                "pgplane.io/tenant-id": Uuid::from_u128(1).to_string(),
                "pgplane.io/cluster-id": Uuid::from_u128(2).to_string(),
            },
            "annotations": { "pgplane.io/generation": "5" },
        },
        "spec": { "users": [{ "name": "app", "databases": ["appdb"] }] },
        "status": status,
    }))
    .unwrap()
}

pub(in crate::platform::kubernetes::watch) fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("pgplane-acme".into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}

pub(in crate::platform::kubernetes::watch) fn replicas_service() -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("orders-replicas".into()),
            namespace: Some("pgplane-acme".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                name: Some("postgres".into()),
                port: 5432,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[test]
fn a_caught_up_cluster_reports_its_ids_generation_and_status() {
    let o = observed(
        &cluster(3, json!({ "observedGeneration": 3 })),
        ConnectionFacts::default(),
    )
    .unwrap();
    assert_eq!(
        (o.tenant_id, o.cluster_id),
        (Uuid::from_u128(1), Uuid::from_u128(2))
    );
    assert_eq!(o.applied_generation, Some(5));
    assert!(o.caught_up);
    assert_eq!(
        o.report,
        Report::from_pgo(Some(&json!({ "observedGeneration": 3 })))
    );
    assert_eq!(o.report.observed_generation, Some(3));
    assert!(!o.deleting);
}

#[test]
fn a_cluster_without_status_or_behind_is_not_caught_up() {
    let o = observed(&cluster(3, Value::Null), ConnectionFacts::default()).unwrap();
    assert!(!o.caught_up);
    assert_eq!(o.report, Report::default());
    let o = observed(
        &cluster(4, json!({ "observedGeneration": 3 })),
        ConnectionFacts::default(),
    )
    .unwrap();
    assert!(!o.caught_up);
}

#[test]
fn an_object_without_pgplane_ids_is_not_reported() {
    let mut c = cluster(1, Value::Null);
    c.metadata.labels = None;
    assert!(observed(&c, ConnectionFacts::default()).is_none());
}

#[test]
fn connection_facts_come_from_the_owner_secret_the_cert_secret_and_the_replica_service() {
    let user = secret(
        "orders-pguser-app",
        &[
            ("host", "orders-primary.pgplane-acme.svc"),
            ("port", "5432"),
            ("user", "app"),
            ("dbname", "appdb"),
            ("password", "s3cret"),
            ("pgbouncer-host", "orders-pgbouncer.pgplane-acme.svc"),
            ("pgbouncer-port", "5432"),
        ],
    );
    let issued = crate::platform::kubernetes::certificates::issue_ca("acme").unwrap();
    let cert = secret(
        "orders-cluster-cert",
        &[
            ("ca.crt", "-----BEGIN CERTIFICATE-----\n"),
            ("tls.crt", &issued.certificate),
        ],
    );
    let service = replicas_service();
    let secrets = [user, cert];
    let c = cluster(1, Value::Null);
    let facts = connection_facts(
        &c,
        |name| {
            secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
        },
        |name| (name == "orders-replicas").then_some(&service),
    );
    let at = |host: &str| {
        Some(Endpoint {
            host: host.into(),
            port: 5432,
        })
    };
    assert_eq!(
        facts,
        ConnectionFacts {
            primary: at("orders-primary.pgplane-acme.svc"),
            replicas: at("orders-replicas.pgplane-acme.svc"),
            pooler: at("orders-pgbouncer.pgplane-acme.svc"),
            ca_certificate: Some("-----BEGIN CERTIFICATE-----\n".into()),
            user: Some("app".into()),
            database: Some("appdb".into()),
            password: Some("s3cret".into()),
            certificate: Some(crate::platform::CertificateFacts {
                expires_at: crate::platform::certificate_policy::expiry_of(&issued.certificate)
                    .unwrap(),
                renewal_error: None,
            }),
            role_passwords: Default::default(),
        }
    );
}

#[test]
fn missing_secrets_give_empty_facts() {
    let facts = connection_facts(&cluster(1, Value::Null), |_| None, |_| None);
    assert_eq!(facts, ConnectionFacts::default());
}

#[test]
fn trimmed_objects_give_the_same_observation_and_facts_without_the_rest() {
    let user = secret(
        "orders-pguser-app",
        &[
            ("host", "orders-primary.pgplane-acme.svc"),
            ("port", "5432"),
            ("user", "app"),
            ("dbname", "appdb"),
            ("password", "s3cret"),
            ("verifier", "SCRAM-SHA-256$4096:…"),
            ("uri", "postgresql://app:s3cret@orders-primary/appdb"),
        ],
    );
    let issued = crate::platform::kubernetes::certificates::issue_ca("acme").unwrap();
    let cert = secret(
        "orders-cluster-cert",
        &[
            ("ca.crt", "CA"),
            ("tls.crt", &issued.certificate),
            ("tls.key", "KEY"),
        ],
    );
    let mut full = cluster(2, json!({ "observedGeneration": 2 }));
    full.data["spec"]["instances"] = json!([{ "name": "instance1", "replicas": 3 }]);
    let facts = |c: &DynamicObject, secrets: &[Secret]| {
        connection_facts(
            c,
            |name| {
                secrets
                    .iter()
                    .find(|s| s.metadata.name.as_deref() == Some(name))
            },
            |_| None,
        )
    };
    let before = facts(&full, &[user.clone(), cert.clone()]);
    let (user, cert) = (trim_secret(user), trim_secret(cert));
    let trimmed = trim_cluster(full.clone());
    assert_eq!(facts(&trimmed, &[user.clone(), cert.clone()]), before);
    assert_eq!(before.password.as_deref(), Some("s3cret"));
    assert!(before.certificate.is_some(), "the expiry survives trimming");
    assert_eq!(
        trimmed.data["spec"],
        json!({ "users": [{ "name": "app" }] })
    );
    assert_eq!(trimmed.data["status"], full.data["status"]);
    let o = observed(&trimmed, before.clone()).unwrap();
    assert!(o.caught_up && o.applied_generation == Some(5));
    let keys = |s: &Secret| s.data.as_ref().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&user), ["dbname", "host", "password", "port", "user"]);
    assert_eq!(
        keys(&cert),
        ["ca.crt", "pgplane.tls.crt.expires-at"],
        "no private key kept in memory, of the certificate only its expiry"
    );
}

#[test]
fn the_other_roles_passwords_come_from_their_secrets_and_survive_trimming() {
    let mut full = cluster(1, Value::Null);
    full.data["spec"]["users"] = json!([
        { "name": "app", "databases": ["appdb"] },
        { "name": "reporting", "databases": ["analytics"] },
        { "name": "etl" },
    ]);
    let secrets = [
        secret("orders-pguser-app", &[("password", "owner-pw")]),
        secret("orders-pguser-reporting", &[("password", "reporting-pw")]),
    ];
    let trimmed = trim_cluster(full);
    let facts = connection_facts(
        &trimmed,
        |name| {
            secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
        },
        |_| None,
    );
    assert_eq!(facts.password.as_deref(), Some("owner-pw"));
    // etl's Secret is not there yet: no entry rather than a guess.
    assert_eq!(
        facts.role_passwords,
        BTreeMap::from([("reporting".to_string(), "reporting-pw".to_string())])
    );
}
