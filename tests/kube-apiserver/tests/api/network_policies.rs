//! NetworkPolicy admission checks `ipBlock` CIDRs as Kubernetes 1.36 does (422, the field path
//! of the block), so a peer range pgplane gets wrong fails here as on a real cluster.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::*;

fn allowing(cidr: &str) -> NetworkPolicy {
    serde_json::from_value(json!({
        "metadata": { "name": "peers" },
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{ "from": [{ "ipBlock": { "cidr": cidr, "except": ["10.20.1.0/24"] } }] }],
        },
    }))
    .expect("a NetworkPolicy")
}

#[tokio::test]
async fn an_ip_block_whose_cidr_is_not_a_cidr_is_invalid() {
    let server = server().await;
    let policies: Api<NetworkPolicy> = Api::namespaced(server.client(), "default");
    let err = status(
        policies
            .create(&PostParams::default(), &allowing("10.20.0.0/33"))
            .await
            .expect_err("refused"),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        err.message,
        "NetworkPolicy.networking.k8s.io \"peers\" is invalid: \
         spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.20.0.0/33\": \
         must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    );
    let cause = &err.details.expect("details").causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldValueInvalid", "spec.ingress[0].from[0].ipBlock.cidr")
    );

    // Host bits beyond the prefix are refused too; an `except` must lie inside the block.
    let err = status(
        policies
            .create(&PostParams::default(), &allowing("10.20.1.1/16"))
            .await
            .expect_err("refused"),
    );
    assert!(
        err.message
            .ends_with("must not have bits set beyond the prefix length"),
        "{}",
        err.message
    );
    let err = status(
        policies
            .create(&PostParams::default(), &allowing("10.30.0.0/16"))
            .await
            .expect_err("refused"),
    );
    assert!(
        err.message.contains(
            "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.20.1.0/24\": must be a strict subset of `cidr`"
        ),
        "{}",
        err.message
    );

    policies
        .create(&PostParams::default(), &allowing("10.20.0.0/16"))
        .await
        .expect("a valid block");
}
