//! How server-side apply fails, as Kubernetes 1.36 words it: a field the schema lacks is a bare
//! 500 from the typed conversion (before any field validation), and ownership conflicts are
//! grouped by the manager that owns the fields.

use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

const APPLY: &str = "application/apply-patch+yaml";
const CLUSTERS: &str =
    "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/default/postgresclusters";

#[tokio::test]
async fn an_apply_naming_a_field_the_schema_lacks_is_a_500_without_reason_whatever_the_field_validation()
 {
    let server = server().await;
    let client = server.client();
    let mut misspelt = cluster_manifest("hippo");
    misspelt["metadata"]["namespace"] = json!("default");
    misspelt["spec"]["instances"][0]["replica"] = json!(2);
    for validation in [
        "",
        "&fieldValidation=Strict",
        "&fieldValidation=Warn",
        "&fieldValidation=Ignore",
    ] {
        let r = raw(
            &client,
            "PATCH",
            &format!("{CLUSTERS}/hippo?fieldManager=pgplane{validation}"),
            Some(APPLY),
            Some(misspelt.clone()),
        )
        .await;
        assert_eq!(r.code, 500, "{validation}: {}", r.body);
        let body = r.json();
        assert!(body.get("reason").is_none(), "{body}");
        assert!(body.get("details").is_none(), "{body}");
        assert_eq!(
            body["message"],
            "failed to create typed patch object (default/hippo; postgres-operator.crunchydata.com/v1beta1, Kind=PostgresCluster): \
             .spec.instances[name=\"instance1\"].replica: field not declared in schema",
            "{validation}"
        );
    }
    assert!(
        clusters(client.clone(), "default")
            .get_opt("hippo")
            .await
            .expect("get")
            .is_none(),
        "nothing was created"
    );

    // Built-in types alike, several fields listed one per line; the namespace is the applied
    // object's (none here).
    let config = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "settings", "colour": "blue" },
        "dat": { "a": "b" },
    });
    let r = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/settings?fieldManager=pgplane",
        Some(APPLY),
        Some(config),
    )
    .await;
    assert_eq!(r.code, 500, "{}", r.body);
    assert_eq!(
        r.json()["message"],
        "failed to create typed patch object (/settings; /v1, Kind=ConfigMap): errors:\n  \
         .dat: field not declared in schema\n  .metadata.colour: field not declared in schema"
    );

    // A create with strict field validation is still the decoder's 400.
    let r = raw(
        &client,
        "POST",
        &format!("{CLUSTERS}?fieldValidation=Strict"),
        Some("application/json"),
        Some(misspelt),
    )
    .await;
    assert_eq!(
        (r.code, r.json()["reason"].as_str()),
        (400, Some("BadRequest"))
    );
}

#[tokio::test]
async fn a_field_only_one_pgo_version_lacks_names_that_version() {
    // Both schemas type an apply: pgplane must stay valid for PGO v5 and v6.
    let server = server().await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["instances"][0]["volumes"] =
        json!({ "additional": [{ "name": "extra", "claimName": "pvc" }] });
    let r = raw(
        &server.client(),
        "PATCH",
        &format!("{CLUSTERS}/hippo?fieldManager=pgplane"),
        Some(APPLY),
        Some(m),
    )
    .await;
    assert_eq!(r.code, 500, "{}", r.body);
    let message = r.json()["message"].as_str().unwrap_or("").to_string();
    assert!(
        message.ends_with(
            ".spec.instances[name=\"instance1\"].volumes.additional: field not declared in schema (PGO v5.8.9 schema)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn conflicts_with_several_managers_are_listed_per_manager() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let creator = PostParams {
        field_manager: Some("creator".into()),
        ..PostParams::default()
    };
    api.create(&creator, &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created by an update");
    api.patch(
        "hippo",
        &PatchParams::apply("pgplane").force(),
        &Patch::Apply(json!({
            "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
            "kind": "PostgresCluster",
            "metadata": { "name": "hippo" },
            "spec": { "postgresVersion": 16, "port": 5433 },
        })),
    )
    .await
    .expect("pgplane takes two fields");
    let change = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": { "name": "hippo" },
        "spec": {
            "postgresVersion": 18,
            "port": 5440,
            "instances": [{ "name": "instance1", "replicas": 2 }],
        },
    });
    let err = status(
        api.patch("hippo", &PatchParams::apply("sre"), &Patch::Apply(change))
            .await
            .expect_err("conflicts"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    // The creator's fields are those of an `Update` (named with the API version), pgplane's of
    // an `Apply`; managers in name order, each followed by its paths.
    let creator = "conflict with \"creator\" using postgres-operator.crunchydata.com/v1beta1";
    let paths: Vec<(String, String)> = err
        .details
        .expect("details")
        .causes
        .into_iter()
        .map(|c| (c.message, c.field))
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(
        paths.contains(&(
            creator.into(),
            ".spec.instances[name=\"instance1\"].replicas".into()
        )),
        "{paths:?}"
    );
    assert!(
        err.message.starts_with("Apply failed with 3 conflicts: conflicts with \"creator\" using postgres-operator.crunchydata.com/v1beta1:\n- .spec.instances[name=\"instance1\"].replicas\nconflicts with \"pgplane\":\n- "),
        "{}",
        err.message
    );
    assert!(err.message.contains("\n- .spec.port"), "{}", err.message);
    assert!(
        err.message.contains("\n- .spec.postgresVersion"),
        "{}",
        err.message
    );
}
