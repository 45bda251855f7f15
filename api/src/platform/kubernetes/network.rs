//! The tenant namespace's `NetworkPolicy`: who may open connections to pods in it.
//!
//! One policy selecting every pod of the namespace, ingress only (egress stays open: pgBackRest
//! may ship to object storage, Patroni talks to the Kubernetes API). Allowed in:
//! 1. any pod of the same namespace (PostgreSQL replication, Patroni, pgBackRest TLS server);
//! 2. any pod of the PGO operator namespace, any port (PGO execs nothing over the network but
//!    talks to Patroni and PostgreSQL);
//! 3. pods of client namespaces (see [`super::ClientNamespaces`]) to the container ports named
//!    `postgres` and `pgbouncer` only: PGO names the PostgreSQL and PgBouncer ports so, and a
//!    named port follows a changed port number;
//! 4. the monitoring namespace, if configured, to the exporter port (`exporter`, 9187);
//! 5. with a disaster-recovery site, the other site to the `postgres` port: a standby there
//!    streams from a source here (and back after failover). That is the tenant's namespace
//!    there in the same Kubernetes cluster, or the configured address ranges of another one.
//!
//! Everything else, in particular other tenants' namespaces, is denied. (Kubelet probes are not
//! subject to NetworkPolicy.)

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::NAMESPACE_NAME;
use super::options::{KubernetesOptions, Peer};

/// Name of the policy in every tenant namespace.
pub const POLICY_NAME: &str = "pgplane-tenant-isolation";
/// PGO's name of the PostgreSQL container port.
pub const POSTGRES_PORT_NAME: &str = "postgres";
/// PGO's name of the PgBouncer container port.
pub const PGBOUNCER_PORT_NAME: &str = "pgbouncer";
/// PGO's name of the metrics exporter container port (9187).
pub const EXPORTER_PORT_NAME: &str = "exporter";

fn namespace_labelled(key: &str, value: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn address_range(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_string(),
            except: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn tcp(name: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::String(name.to_string())),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    }
}

/// The isolation policy of the namespace `namespace` of tenant `tenant_name`, reached from the
/// other site (if any) by `peer`.
pub fn network_policy(
    namespace: &str,
    peer: Option<&Peer>,
    tenant_name: &str,
    labels: BTreeMap<String, String>,
    options: &KubernetesOptions,
) -> NetworkPolicy {
    let (client_key, client_value) = options.client_namespaces.label_for(tenant_name);
    let mut ingress = vec![
        NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..NetworkPolicyPeer::default()
            }]),
            ports: None,
        },
        NetworkPolicyIngressRule {
            from: Some(vec![namespace_labelled(
                NAMESPACE_NAME,
                &options.operator_namespace,
            )]),
            ports: None,
        },
        NetworkPolicyIngressRule {
            from: Some(vec![namespace_labelled(&client_key, &client_value)]),
            ports: Some(vec![tcp(POSTGRES_PORT_NAME), tcp(PGBOUNCER_PORT_NAME)]),
        },
    ];
    if let Some(monitoring) = &options.monitoring_namespace {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_labelled(NAMESPACE_NAME, monitoring)]),
            ports: Some(vec![tcp(EXPORTER_PORT_NAME)]),
        });
    }
    let from_peer = match peer {
        Some(Peer::Namespace(peer)) => vec![namespace_labelled(NAMESPACE_NAME, peer)],
        Some(Peer::Addresses(ranges)) => ranges.iter().map(|cidr| address_range(cidr)).collect(),
        None => Vec::new(),
    };
    if !from_peer.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(from_peer),
            ports: Some(vec![tcp(POSTGRES_PORT_NAME)]),
        });
    }
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(POLICY_NAME.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(ingress),
            egress: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::cluster::Site;
    use crate::platform::kubernetes::options::{ClientNamespaces, RecoverySite, RemoteSite};

    fn policy(options: &KubernetesOptions) -> Value {
        let peer = options.peer_on_other_site(Site::Home, "acme");
        let np = network_policy(
            "pgplane-acme",
            peer.as_ref(),
            "acme",
            BTreeMap::new(),
            options,
        );
        serde_json::to_value(np).unwrap()
    }

    #[test]
    fn the_policy_admits_the_namespace_the_operator_and_labelled_clients_only() {
        let p = policy(&KubernetesOptions::default());
        assert_eq!(p["spec"]["podSelector"], json!({}));
        assert_eq!(p["spec"]["policyTypes"], json!(["Ingress"]));
        assert_eq!(
            p["spec"]["ingress"],
            json!([
                { "from": [{ "podSelector": {} }] },
                { "from": [{ "namespaceSelector": { "matchLabels": {
                    "kubernetes.io/metadata.name": "postgres-operator" } } }] },
                { "from": [{ "namespaceSelector": { "matchLabels": {
                    "pgplane.io/client-of": "acme" } } }],
                  "ports": [
                    { "port": "postgres", "protocol": "TCP" },
                    { "port": "pgbouncer", "protocol": "TCP" },
                  ] },
            ])
        );
        assert!(
            p["spec"].get("egress").is_none(),
            "egress is not restricted"
        );
    }

    #[test]
    fn a_fixed_client_label_and_a_monitoring_namespace_are_honoured() {
        let options = KubernetesOptions {
            client_namespaces: ClientNamespaces::Labelled {
                key: "db-access".into(),
                value: "yes".into(),
            },
            monitoring_namespace: Some("monitoring".into()),
            ..KubernetesOptions::default()
        };
        let p = policy(&options);
        let rules = p["spec"]["ingress"].as_array().unwrap();
        assert_eq!(
            rules[2]["from"][0]["namespaceSelector"]["matchLabels"],
            json!({ "db-access": "yes" })
        );
        assert_eq!(
            rules[3],
            json!({
                "from": [{ "namespaceSelector": { "matchLabels": {
                    "kubernetes.io/metadata.name": "monitoring" } } }],
                "ports": [{ "port": "exporter", "protocol": "TCP" }],
            })
        );
    }

    #[test]
    fn with_a_recovery_site_the_peer_namespace_reaches_postgres_only() {
        let options = KubernetesOptions {
            recovery: Some(RecoverySite {
                namespace_prefix: "dr-".into(),
                remote: None,
            }),
            ..KubernetesOptions::default()
        };
        let p = policy(&options);
        let rules = p["spec"]["ingress"].as_array().unwrap();
        assert_eq!(
            rules.last().unwrap(),
            &json!({
                "from": [{ "namespaceSelector": { "matchLabels": {
                    "kubernetes.io/metadata.name": "dr-acme" } } }],
                "ports": [{ "port": "postgres", "protocol": "TCP" }],
            })
        );
        assert_eq!(
            options.peer_on_other_site(Site::Recovery, "acme"),
            Some(Peer::Namespace("pgplane-acme".into())),
            "and the recovery namespace admits home"
        );
        assert_eq!(rules.len(), 4, "{rules:?}");
    }

    #[test]
    fn a_recovery_site_in_another_kubernetes_cluster_is_admitted_by_its_addresses() {
        let options = KubernetesOptions {
            recovery: Some(RecoverySite {
                namespace_prefix: "pgplane-".into(),
                remote: Some(RemoteSite {
                    service_domain: "svc.clusterset.local".into(),
                    peer_cidrs: vec!["10.8.0.0/16".into(), "10.9.0.0/16".into()],
                }),
            }),
            ..KubernetesOptions::default()
        };
        let p = policy(&options);
        let rules = p["spec"]["ingress"].as_array().unwrap();
        assert_eq!(
            rules.last().unwrap(),
            &json!({
                "from": [
                    { "ipBlock": { "cidr": "10.8.0.0/16" } },
                    { "ipBlock": { "cidr": "10.9.0.0/16" } },
                ],
                "ports": [{ "port": "postgres", "protocol": "TCP" }],
            })
        );
        assert_eq!(
            options.source_host(Site::Recovery, Site::Home, "orders", "pgplane-acme"),
            "orders-primary.pgplane-acme.svc.clusterset.local"
        );
        assert_eq!(
            options.source_host(Site::Home, Site::Home, "orders", "pgplane-acme"),
            "orders-primary.pgplane-acme.svc",
            "a standby beside its source uses the local Service"
        );
    }
}
