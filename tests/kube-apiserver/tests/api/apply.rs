//! Server-side apply field ownership, the status subresource, and the other patch types.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

fn apply_params(manager: &str) -> PatchParams {
    PatchParams::apply(manager)
}

fn managers(object: &DynamicObject) -> Vec<(String, String)> {
    object
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect()
}

fn fields_of(object: &DynamicObject, manager: &str) -> Value {
    let entry = object
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some(manager))
        .unwrap_or_else(|| panic!("no managedFields entry for {manager}"));
    entry.fields_v1.map(|f| f.0).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_second_apply_by_the_same_manager_removes_the_fields_it_no_longer_sets() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let mut first = cluster_manifest("hippo");
    first["metadata"]["labels"] = json!({ "pgplane.io/tenant": "acme", "pgplane.io/tier": "gold" });
    first["spec"]["port"] = json!(5433);
    first["spec"]["users"] = json!([{ "name": "app", "databases": ["app"] }]);
    let created = api
        .patch("hippo", &apply_params("pgplane"), &Patch::Apply(first))
        .await
        .expect("first apply creates");
    assert_eq!(managers(&created), vec![("pgplane".into(), "Apply".into())]);
    assert_eq!(created.data["spec"]["port"], 5433);

    let mut second = cluster_manifest("hippo");
    second["metadata"]["labels"] = json!({ "pgplane.io/tenant": "acme" });
    let applied = api
        .patch("hippo", &apply_params("pgplane"), &Patch::Apply(second))
        .await
        .expect("second apply");
    let labels = applied.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("pgplane.io/tenant").map(String::as_str),
        Some("acme")
    );
    assert!(
        !labels.contains_key("pgplane.io/tier"),
        "label removed: {labels:?}"
    );
    assert!(applied.data["spec"].get("users").is_none(), "users removed");
    assert_eq!(
        applied.data["spec"]["port"], 5432,
        "port removed, then defaulted by the schema"
    );
    assert_eq!(applied.metadata.generation, Some(2));
    let owned = fields_of(&applied, "pgplane");
    assert!(owned["f:spec"].get("f:users").is_none(), "{owned}");
    assert!(
        owned["f:metadata"]["f:labels"]
            .get("f:pgplane.io/tenant")
            .is_some(),
        "{owned}"
    );
}

#[tokio::test]
async fn a_conflicting_apply_by_another_manager_is_409_unless_forced() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    api.patch(
        "hippo",
        &apply_params("pgplane"),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("pgplane applies");

    let mut other = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": { "name": "hippo" },
        "spec": { "postgresVersion": 18 }
    });
    let err = status(
        api.patch(
            "hippo",
            &apply_params("kubectl"),
            &Patch::Apply(other.clone()),
        )
        .await
        .expect_err("conflict"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"pgplane\": .spec.postgresVersion"
    );
    // As upstream, the details carry only the causes.
    let details = err.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("", ""),
        "{details:?}"
    );
    let cause = &details.causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".spec.postgresVersion")
    );

    other["spec"]["postgresVersion"] = json!(17);
    api.patch(
        "hippo",
        &apply_params("kubectl"),
        &Patch::Apply(other.clone()),
    )
    .await
    .expect("same value: shared ownership, no conflict");

    other["spec"]["postgresVersion"] = json!(18);
    let forced = api
        .patch(
            "hippo",
            &apply_params("kubectl").force(),
            &Patch::Apply(other),
        )
        .await
        .expect("forced");
    assert_eq!(forced.data["spec"]["postgresVersion"], 18);
    assert!(
        fields_of(&forced, "pgplane")["f:spec"]
            .get("f:postgresVersion")
            .is_none(),
        "pgplane lost the field"
    );

    let err = status(
        api.patch(
            "hippo",
            &apply_params("pgplane"),
            &Patch::Apply(cluster_manifest("hippo")),
        )
        .await
        .expect_err("now pgplane conflicts"),
    );
    assert!(
        err.message.contains("conflict with \"kubectl\""),
        "{}",
        err.message
    );
    api.patch(
        "hippo",
        &apply_params("pgplane").force(),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("pgplane forces back");
}

#[tokio::test]
async fn an_update_takes_ownership_of_the_fields_it_changes() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    api.patch(
        "hippo",
        &apply_params("pgplane"),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("apply");
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let edited = api.patch("hippo", &edit, &Patch::Merge(json!({ "spec": { "instances": [{ "name": "instance1", "replicas": 3, "dataVolumeClaimSpec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } } }] } }))).await.expect("edit");
    assert!(managers(&edited).contains(&("kubectl-edit".into(), "Update".into())));
    let err = status(
        api.patch(
            "hippo",
            &apply_params("pgplane"),
            &Patch::Apply(cluster_manifest("hippo")),
        )
        .await
        .expect_err("pgplane would revert replicas"),
    );
    assert!(
        err.message
            .contains(".spec.instances[name=\"instance1\"].replicas"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn map_keyed_lists_merge_items_applied_by_different_managers() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    api.patch(
        "hippo",
        &apply_params("pgplane"),
        &Patch::Apply(cluster_manifest("hippo")),
    )
    .await
    .expect("apply");
    let mut second = cluster_manifest("hippo");
    second["spec"] = json!({ "instances": [{
        "name": "analytics", "replicas": 2,
        "dataVolumeClaimSpec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "2Gi" } } }
    }] });
    let merged = api
        .patch(
            "hippo",
            &apply_params("analytics-team"),
            &Patch::Apply(second),
        )
        .await
        .expect("second manager");
    let names: Vec<&str> = merged.data["spec"]["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, vec!["instance1", "analytics"]);
}

#[tokio::test]
async fn status_writes_change_only_status_and_main_writes_ignore_status() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let created = api
        .create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created");
    assert!(created.data.get("status").is_none());

    let mut with_status = created.clone();
    with_status.data["status"] = json!({ "observedGeneration": 7 });
    with_status.data["spec"]["port"] = json!(5433);
    let main = api
        .replace("hippo", &PostParams::default(), &with_status)
        .await
        .expect("main write");
    assert!(
        main.data.get("status").is_none(),
        "main resource writes ignore .status"
    );
    assert_eq!(main.data["spec"]["port"], 5433);

    let mut status_write = main.clone();
    status_write.data["status"] = json!({ "observedGeneration": 2 });
    status_write.data["spec"]["port"] = json!(6000);
    let after = api
        .replace_status("hippo", &PostParams::default(), &status_write)
        .await
        .expect("status write");
    assert_eq!(after.data["status"]["observedGeneration"], 2);
    assert_eq!(
        after.data["spec"]["port"], 5433,
        "/status ignores spec changes"
    );
    assert_eq!(
        after.metadata.generation, main.metadata.generation,
        "status writes do not bump generation"
    );

    let patched = api
        .patch_status(
            "hippo",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "postgresVersion": 17 } })),
        )
        .await
        .expect("status patch");
    assert_eq!(patched.data["status"]["postgresVersion"], 17);
    let got = api.get_status("hippo").await.expect("get status");
    assert_eq!(got.data["status"]["observedGeneration"], 2);

    let err = status(
        api.patch_status(
            "hippo",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "observedGeneration": "two" } })),
        )
        .await
        .expect_err("status is validated"),
    );
    assert_eq!(err.code, 422);
}

#[tokio::test]
async fn json_patch_merge_patch_and_strategic_merge_patch_follow_their_content_types() {
    let server = server().await;
    let client = server.client();
    let api = clusters(client.clone(), "default");
    api.create(&PostParams::default(), &dynamic(cluster_manifest("hippo")))
        .await
        .expect("created");
    let path =
        "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/default/postgresclusters/hippo";
    let ok = raw(
        &client,
        "PATCH",
        path,
        Some("application/json-patch+json"),
        Some(json!([
            { "op": "test", "path": "/spec/postgresVersion", "value": 17 },
            { "op": "replace", "path": "/spec/postgresVersion", "value": 18 }
        ])),
    )
    .await;
    assert_eq!(ok.code, 200, "{}", ok.body);
    assert_eq!(ok.json()["spec"]["postgresVersion"], 18);
    let failed = raw(
        &client,
        "PATCH",
        path,
        Some("application/json-patch+json"),
        Some(json!([{ "op": "test", "path": "/spec/postgresVersion", "value": 17 }])),
    )
    .await;
    assert_eq!(failed.code, 422, "{}", failed.body);
    let smp = raw(
        &client,
        "PATCH",
        path,
        Some("application/strategic-merge-patch+json"),
        Some(json!({ "spec": { "port": 1 } })),
    )
    .await;
    assert_eq!(
        smp.code, 415,
        "custom resources do not support strategic merge patch"
    );

    let merged = api
        .patch(
            "hippo",
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "metadata": { "labels": { "a": "1" } }, "spec": { "port": null } }),
            ),
        )
        .await
        .expect("merge");
    assert_eq!(
        merged.data["spec"]["port"], 5432,
        "null removes, the default comes back"
    );

    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": "c" }, "data": { "a": "1" } }))
            .expect("cm"),
    )
    .await
    .expect("cm");
    let smp = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({ "data": { "b": "2" } })),
        )
        .await
        .expect("strategic on a built-in");
    assert_eq!(smp.data.expect("data").len(), 2);
}

#[tokio::test]
async fn apply_requires_a_field_manager_and_matching_identity() {
    let server = server().await;
    let client = server.client();
    let path =
        "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/default/postgresclusters/hippo";
    let no_manager = raw(
        &client,
        "PATCH",
        path,
        Some("application/apply-patch+yaml"),
        Some(cluster_manifest("hippo")),
    )
    .await;
    assert_eq!(no_manager.code, 400);
    let wrong_name = raw(
        &client,
        "PATCH",
        &format!("{path}?fieldManager=x"),
        Some("application/apply-patch+yaml"),
        Some(cluster_manifest("other")),
    )
    .await;
    assert_eq!(wrong_name.code, 400);
    let yaml = "apiVersion: postgres-operator.crunchydata.com/v1beta1\nkind: PostgresCluster\nmetadata:\n  name: hippo\nspec:\n  postgresVersion: 17\n  instances:\n  - dataVolumeClaimSpec:\n      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n";
    let mut builder = http::Request::builder()
        .method("PATCH")
        .uri(format!("{path}?fieldManager=yaml-user"));
    builder = builder.header(http::header::CONTENT_TYPE, "application/apply-patch+yaml");
    let response = client
        .send(
            builder
                .body(kube::client::Body::from(yaml.as_bytes().to_vec()))
                .expect("request"),
        )
        .await
        .expect("sent");
    assert_eq!(
        response.status().as_u16(),
        201,
        "YAML apply bodies are accepted and create the object"
    );
}
