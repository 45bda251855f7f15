//! PGO CRD validation: neither too loose nor too strict.

use kube::api::{Api, DynamicObject, PostParams};
use kube_test_apiserver::validation::{
    CauseReason, FieldCause, PgoVersion, unevaluated_cel_rules, validate_pgupgrade,
    validate_postgrescluster,
};
use kube_test_apiserver::{FieldValidation, ServerOptions};
use serde_json::{Value, json};

use crate::support::*;

/// A way to break a manifest, and the cause that must name the field.
struct Breakage {
    what: &'static str,
    apply: fn(&mut Value),
    field: &'static str,
    reason: &'static str,
}

fn breakages() -> Vec<Breakage> {
    vec![
        Breakage {
            what: "wrong type",
            apply: |m| m["spec"]["postgresVersion"] = json!("seventeen"),
            field: "spec.postgresVersion",
            reason: "FieldValueTypeInvalid",
        },
        Breakage {
            what: "missing required field",
            apply: |m| {
                m["spec"]["instances"][0]
                    .as_object_mut()
                    .map(|i| i.remove("dataVolumeClaimSpec"));
            },
            field: "spec.instances[0].dataVolumeClaimSpec",
            reason: "FieldValueRequired",
        },
        Breakage {
            what: "bad enum value",
            apply: |m| m["spec"]["service"] = json!({ "type": "Bogus" }),
            field: "spec.service.type",
            reason: "FieldValueNotSupported",
        },
        Breakage {
            what: "below minimum",
            apply: |m| m["spec"]["postgresVersion"] = json!(9),
            field: "spec.postgresVersion",
            reason: "FieldValueInvalid",
        },
        Breakage {
            what: "pattern mismatch",
            apply: |m| m["spec"]["instances"][0]["name"] = json!("Not_A_DNS_Label"),
            field: "spec.instances[0].name",
            reason: "FieldValueInvalid",
        },
        Breakage {
            what: "CEL rule: missing storage request",
            apply: |m| {
                m["spec"]["instances"][0]["dataVolumeClaimSpec"]["resources"] =
                    json!({ "requests": {} });
            },
            field: "spec.instances[0].dataVolumeClaimSpec",
            reason: "FieldValueInvalid",
        },
        Breakage {
            what: "unknown field",
            apply: |m| m["spec"]["instances"][0]["replicaz"] = json!(3),
            field: "spec.instances[0].replicaz",
            reason: "FieldValueUnknown",
        },
    ]
}

fn names(causes: &[FieldCause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{} [{}] {}", c.field, c.reason.as_str(), c.message))
        .collect()
}

#[tokio::test]
async fn every_upstream_v1beta1_example_is_admitted_by_the_server_and_the_validator() {
    let server = server().await;
    let client = server.client();
    let examples = upstream_examples();
    assert_eq!(
        examples.len(),
        9,
        "all nine upstream PostgresCluster examples are loaded"
    );
    for (i, (file, manifest)) in examples.into_iter().enumerate() {
        if let Err(causes) = validate_postgrescluster(&manifest) {
            panic!("{file} rejected by the validator: {:#?}", names(&causes));
        }
        let ns = format!("example-{i}");
        create_namespace(&client, &ns).await;
        let created = clusters(client.clone(), &ns)
            .create(&PostParams::default(), &dynamic(manifest))
            .await
            .unwrap_or_else(|e| panic!("{file} rejected by the server: {e}"));
        assert_eq!(created.metadata.generation, Some(1), "{file}");
    }
}

#[tokio::test]
async fn a_broken_copy_of_each_example_is_rejected_with_a_cause_naming_the_field() {
    let server = server().await;
    let client = server.client();
    let api = clusters(client, "default");
    for (file, manifest) in upstream_examples() {
        for b in breakages() {
            let mut broken = manifest.clone();
            (b.apply)(&mut broken);
            let causes = validate_postgrescluster(&broken).expect_err(b.what);
            assert!(
                causes
                    .iter()
                    .any(|c| c.field == b.field && c.reason.as_str() == b.reason),
                "{file}, {}: validator causes {:#?}",
                b.what,
                names(&causes)
            );
            let err = status(
                api.create(&PostParams::default(), &dynamic(broken))
                    .await
                    .expect_err(b.what),
            );
            let expected_code = if b.reason == "FieldValueUnknown" {
                400
            } else {
                422
            };
            assert_eq!(
                err.code, expected_code,
                "{file}, {}: {}",
                b.what, err.message
            );
            let details = err.details.expect("details with causes");
            assert!(
                details
                    .causes
                    .iter()
                    .any(|c| c.field == b.field && c.reason == b.reason),
                "{file}, {}: server causes {:#?}",
                b.what,
                details.causes
            );
        }
    }
}

#[tokio::test]
async fn invalid_responses_have_the_apiserver_status_shape() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let mut m = cluster_manifest("hippo");
    m["spec"]["postgresVersion"] = json!(99);
    let err = status(
        api.create(&PostParams::default(), &dynamic(m))
            .await
            .expect_err("invalid"),
    );
    assert_eq!(err.code, 422);
    assert_eq!(err.reason, "Invalid");
    assert_eq!(
        err.message,
        "PostgresCluster.postgres-operator.crunchydata.com \"hippo\" is invalid: spec.postgresVersion: Invalid value: 99: spec.postgresVersion in body should be less than or equal to 18"
    );
    let details = err.details.expect("details");
    assert_eq!(details.name, "hippo");
    assert_eq!(details.group, "postgres-operator.crunchydata.com");
    assert_eq!(details.kind, "PostgresCluster");
}

/// (what, how to break the manifest, field, message fragment).
type CelCase = (&'static str, fn(&mut Value), &'static str, &'static str);

#[test]
fn cel_rules_of_the_schema_are_enforced() {
    let cases: Vec<CelCase> = vec![
        (
            "port parameter",
            |m| m["spec"]["config"] = json!({ "parameters": { "port": 5433 } }),
            "spec.config.parameters",
            "change port using .spec.port instead",
        ),
        (
            "trust authentication",
            |m| {
                m["spec"]["authentication"] =
                    json!({ "rules": [{ "connection": "host", "method": "trust" }] });
            },
            "spec.authentication.rules[0].method",
            "the \"trust\" method is unsafe",
        ),
        (
            "password in user options",
            |m| m["spec"]["users"] = json!([{ "name": "app", "options": "PASSWORD 'x'" }]),
            "spec.users[0].options",
            "cannot assign password",
        ),
        (
            "ssl_groups before PostgreSQL 18",
            |m| m["spec"]["config"] = json!({ "parameters": { "ssl_groups": "X25519" } }),
            "spec",
            "The ssl_groups parameter is only available in pg18 and greater",
        ),
    ];
    for (what, apply, field, message) in cases {
        let mut m = cluster_manifest("hippo");
        apply(&mut m);
        let causes = validate_postgrescluster(&m).expect_err(what);
        assert!(
            causes.iter().any(|c| c.field == field
                && c.reason == CauseReason::Invalid
                && c.message.contains(message)),
            "{what}: {:#?}",
            names(&causes)
        );
    }
    let mut ok = cluster_manifest("hippo");
    ok["spec"]["postgresVersion"] = json!(18);
    ok["spec"]["config"] =
        json!({ "parameters": { "ssl_groups": "X25519", "max_connections": 200 } });
    validate_postgrescluster(&ok).unwrap_or_else(|c| panic!("{:#?}", names(&c)));
}

#[test]
fn a_field_only_pgo_v6_knows_is_reported_against_the_v5_schema() {
    let mut m = cluster_manifest("hippo");
    m["spec"]["instances"][0]["volumes"] =
        json!({ "additional": [{ "name": "extra", "claimName": "pvc" }] });
    let causes = validate_postgrescluster(&m).expect_err("v5.8.9 lacks volumes.additional");
    let cause = causes
        .iter()
        .find(|c| c.field == "spec.instances[0].volumes.additional")
        .expect("cause for the field");
    assert_eq!(cause.reason, CauseReason::UnknownField);
    assert!(
        cause.message.contains("PGO v5.8.9 schema"),
        "{}",
        cause.message
    );
}

#[test]
fn the_only_cel_rule_not_evaluated_is_the_v6_form_of_a_rule_v5_also_checks() {
    let skipped = unevaluated_cel_rules();
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    assert_eq!(skipped[0].pgo_version, PgoVersion::V6_0_3);
    assert_eq!(skipped[0].path, "spec");
    assert!(skipped[0].rule.contains("self.?config"), "{:?}", skipped[0]);
}

#[test]
fn pgupgrades_are_validated_against_both_schemas_including_cel() {
    let upgrade = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PGUpgrade",
        "metadata": { "name": "hippo-upgrade" },
        "spec": { "postgresClusterName": "hippo", "fromPostgresVersion": 16, "toPostgresVersion": 17 }
    });
    validate_pgupgrade(&upgrade).unwrap_or_else(|c| panic!("{:#?}", names(&c)));
    let mut backwards = upgrade.clone();
    backwards["spec"]["toPostgresVersion"] = json!(15);
    let causes = validate_pgupgrade(&backwards).expect_err("downgrade");
    assert!(
        causes.iter().any(|c| c.field == "spec"
            && c.message
                .contains("self.fromPostgresVersion < self.toPostgresVersion")),
        "{:#?}",
        names(&causes)
    );
    let mut missing = upgrade;
    missing["spec"]
        .as_object_mut()
        .map(|s| s.remove("postgresClusterName"));
    let causes = validate_pgupgrade(&missing).expect_err("missing cluster name");
    assert!(
        causes
            .iter()
            .any(|c| c.field == "spec.postgresClusterName" && c.reason == CauseReason::Required)
    );
}

#[tokio::test]
async fn warn_field_validation_prunes_unknown_fields_and_sends_a_warning() {
    let server =
        server_with(ServerOptions::default().with_field_validation(FieldValidation::Warn)).await;
    let client = server.client();
    let mut m = cluster_manifest("hippo");
    m["spec"]["colour"] = json!("blue");
    let response = raw(
        &client,
        "POST",
        "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/default/postgresclusters",
        Some("application/json"),
        Some(m),
    )
    .await;
    assert_eq!(response.code, 201, "{}", response.body);
    let warning = response
        .headers
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        warning.contains("unknown field \\\"spec.colour\\\""),
        "{warning}"
    );
    let stored: DynamicObject = clusters(client, "default")
        .get("hippo")
        .await
        .expect("stored");
    assert!(stored.data["spec"].get("colour").is_none(), "pruned");
    assert_eq!(stored.data["spec"]["port"], 5432, "defaulted");
}

#[tokio::test]
async fn strict_field_validation_can_be_requested_per_request() {
    let server =
        server_with(ServerOptions::default().with_field_validation(FieldValidation::Ignore)).await;
    let client = server.client();
    let mut m = cluster_manifest("hippo");
    m["spec"]["colour"] = json!("blue");
    let response = raw(
        &client,
        "POST",
        "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/default/postgresclusters?fieldValidation=Strict",
        Some("application/json"),
        Some(m),
    )
    .await;
    assert_eq!(response.code, 400);
    let body = response.json();
    assert_eq!(body["reason"], "BadRequest");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("strict decoding error: unknown field \"spec.colour\""),
        "{body}"
    );
}

#[tokio::test]
async fn builtin_types_are_decoded_like_the_apiserver_decodes_them() {
    let server = server().await;
    let client = server.client();
    let bad_base64 = json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "s" }, "data": { "k": "not base64!" } });
    let r = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/secrets",
        Some("application/json"),
        Some(bad_base64),
    )
    .await;
    assert_eq!(r.code, 400, "{}", r.body);
    let unknown = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "dat": { "k": "v" } });
    let r = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        Some(unknown),
    )
    .await;
    assert_eq!(r.code, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown field \"dat\""),
        "{}",
        r.body
    );
    let bad_name =
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "Bad_Name" } });
    let r = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        Some(bad_name),
    )
    .await;
    assert_eq!(r.code, 422);
    assert_eq!(r.json()["details"]["causes"][0]["field"], "metadata.name");
    let _: Api<DynamicObject> = clusters(client, "default");
}
