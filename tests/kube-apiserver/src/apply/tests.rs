//! Unit tests of field sets and apply semantics, on built-in types (no server).

use serde_json::{Value, json};

use super::fieldset::{FieldSet, Scope, display};
use super::hints::Cursor;
use super::{record_update, server_side_apply};
use crate::resources::{self, ResourceDef};

fn def(plural: &str) -> &'static ResourceDef {
    let group = if plural == "postgresclusters" {
        resources::PGO_GROUP
    } else {
        ""
    };
    let version = if group.is_empty() { "v1" } else { "v1beta1" };
    resources::find(group, version, plural).expect("served type")
}

fn service(ports: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "db", "namespace": "default", "labels": labels },
        "spec": { "ports": ports, "selector": { "app": "db" } }
    })
}

fn owned(object: &Value, manager: &str) -> FieldSet {
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = entries
        .into_iter()
        .find(|e| e["manager"] == manager)
        .expect("entry");
    FieldSet::from_fields_v1(&entry["fieldsV1"])
}

#[test]
fn fields_v1_round_trips_and_marks_items_that_have_children() {
    let svc = service(
        json!([{ "port": 5432, "protocol": "TCP", "name": "pg" }]),
        json!({ "a": "1" }),
    );
    let set = FieldSet::of(
        &svc,
        &Cursor::root(def("services")),
        Scope::MainWithoutStatus,
    );
    let v1 = set.to_fields_v1();
    assert_eq!(
        v1,
        json!({
            "f:metadata": { "f:labels": { "f:a": {} } },
            "f:spec": {
                "f:ports": { "k:{\"port\":5432,\"protocol\":\"TCP\"}": { ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {} } },
                "f:selector": {}
            }
        })
    );
    assert_eq!(FieldSet::from_fields_v1(&v1), set);
}

#[test]
fn paths_render_like_structured_merge_diff() {
    let path: Vec<String> = vec![
        "f:spec".into(),
        "f:ports".into(),
        "k:{\"port\":5432,\"protocol\":\"TCP\"}".into(),
        "f:name".into(),
    ];
    assert_eq!(
        display(&path),
        ".spec.ports[port=5432,protocol=\"TCP\"].name"
    );
    let set_item: Vec<String> = vec![
        "f:metadata".into(),
        "f:finalizers".into(),
        "v:\"a/b\"".into(),
    ];
    assert_eq!(display(&set_item), ".metadata.finalizers[=\"a/b\"]");
}

#[test]
fn applies_merge_map_keyed_lists_and_sets_item_by_item() {
    let d = def("services");
    let first = server_side_apply(
        d,
        None,
        &service(json!([{ "port": 1, "protocol": "TCP" }]), json!({})),
        "a",
        false,
        false,
    )
    .expect("a");
    let second = server_side_apply(
        d,
        Some(&first),
        &service(json!([{ "port": 2, "protocol": "TCP" }]), json!({})),
        "b",
        false,
        false,
    )
    .expect("b");
    let ports: Vec<i64> = second["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(ports, vec![1, 2]);

    let mut with_finalizers = service(json!([]), json!({}));
    with_finalizers["metadata"]["finalizers"] = json!(["x.io/a"]);
    let mut other = service(json!([]), json!({}));
    other["metadata"]["finalizers"] = json!(["x.io/b"]);
    let one = server_side_apply(d, Some(&second), &with_finalizers, "c", false, false).expect("c");
    let two = server_side_apply(d, Some(&one), &other, "e", false, false).expect("e");
    assert_eq!(two["metadata"]["finalizers"], json!(["x.io/a", "x.io/b"]));
}

#[test]
fn atomic_maps_are_owned_whole_and_conflict_whole() {
    let d = def("services");
    let first = server_side_apply(
        d,
        None,
        &service(json!([{ "port": 1 }]), json!({})),
        "a",
        false,
        false,
    )
    .expect("a");
    let mut other = service(json!([{ "port": 1 }]), json!({}));
    other["spec"]["selector"] = json!({ "app": "web" });
    let err = server_side_apply(d, Some(&first), &other, "b", false, false)
        .expect_err("selector is atomic and owned by a");
    assert_eq!(err.causes[0].field, ".spec.selector");
}

#[test]
fn updates_take_the_fields_they_change_from_appliers() {
    let d = def("services");
    let applied = server_side_apply(
        d,
        None,
        &service(json!([{ "port": 1 }]), json!({ "team": "a" })),
        "pgplane",
        false,
        false,
    )
    .expect("apply");
    let mut edited = applied.clone();
    edited["metadata"]["labels"]["team"] = json!("b");
    record_update(d, Some(&applied), &mut edited, "kubectl-edit", false);
    let editor = owned(&edited, "kubectl-edit");
    assert_eq!(editor.0.len(), 1);
    assert!(!owned(&edited, "pgplane").covers(&[
        "f:metadata".into(),
        "f:labels".into(),
        "f:team".into()
    ]));
}

#[test]
fn status_writes_are_tracked_apart_from_the_main_resource() {
    let d = def("services");
    let created = server_side_apply(
        d,
        None,
        &service(json!([{ "port": 1 }]), json!({})),
        "pgplane",
        false,
        false,
    )
    .expect("apply");
    let mut with_status = created.clone();
    with_status["status"] = json!({ "loadBalancer": {} });
    record_update(d, Some(&created), &mut with_status, "controller", true);
    let entries = with_status["metadata"]["managedFields"]
        .as_array()
        .expect("entries");
    let status_entry = entries
        .iter()
        .find(|e| e["manager"] == "controller")
        .expect("status entry");
    assert_eq!(status_entry["subresource"], "status");
    assert_eq!(
        status_entry["fieldsV1"],
        json!({ "f:status": { "f:loadBalancer": {} } })
    );
}

#[test]
fn a_map_applied_empty_then_with_members_keeps_them() {
    let first = service(json!([]), json!({}));
    let live = server_side_apply(def("services"), None, &first, "op", true, false).expect("apply");
    let second = service(json!([]), json!({ "a": "1" }));
    let merged =
        server_side_apply(def("services"), Some(&live), &second, "op", true, false).expect("apply");
    assert_eq!(merged["metadata"]["labels"], json!({ "a": "1" }));
    let third = service(json!([]), json!({}));
    let emptied = server_side_apply(def("services"), Some(&merged), &third, "op", true, false)
        .expect("apply");
    assert_eq!(
        emptied["metadata"]["labels"],
        json!({}),
        "no longer applied: removed"
    );
}
