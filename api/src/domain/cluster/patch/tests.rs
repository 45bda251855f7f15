use serde_json::{Value, json};

use super::super::{ClusterSpec, FieldError};
use super::merge_patch;

fn patched(spec: &ClusterSpec, patch: Value) -> ClusterSpec {
    spec.apply_merge_patch(&patch)
        .unwrap_or_else(|e| panic!("{patch} should apply: {e:?}"))
}

fn refused(spec: &ClusterSpec, patch: Value) -> Vec<FieldError> {
    spec.apply_merge_patch(&patch)
        .expect_err("patch should be refused")
}

fn fields(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn merge_patch_follows_rfc_7386_examples() {
    // RFC 7386, Appendix A, a selection.
    for (target, patch, result) in [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ] {
        let mut target = target;
        merge_patch(&mut target, &patch);
        assert_eq!(target, result, "patch {patch}");
    }
}

#[test]
fn an_empty_patch_changes_nothing() {
    let spec = ClusterSpec::test()
        .with_instances(2)
        .with_parameter("work_mem", "8MB");
    assert_eq!(patched(&spec, json!({})), spec);
}

#[test]
fn a_patch_changes_only_the_fields_it_names() {
    let spec = ClusterSpec::test();
    let updated = patched(
        &spec,
        json!({ "instances": 3, "resources": { "memory": "8Gi" } }),
    );
    let mut expected = spec.clone().with_instances(3).with_memory("8Gi");
    expected.resources.cpu = spec.resources.cpu.clone();
    assert_eq!(updated, expected);
}

#[test]
fn null_resets_a_field_to_its_default() {
    let spec = ClusterSpec::test()
        .with_cpu("4")
        .with_instances(3)
        .with_pooler(true, 3);
    let updated = patched(
        &spec,
        json!({ "resources": { "cpu": null }, "instances": null, "pooler": null }),
    );
    assert_eq!(updated.resources.cpu, "1");
    assert_eq!(updated.instances, 1);
    assert_eq!(
        (updated.pooler.enabled, updated.pooler.replicas),
        (false, 1)
    );
}

#[test]
fn null_removes_a_parameter_override_so_its_default_returns() {
    let spec = ClusterSpec::test().with_parameter("work_mem", "64MB");
    let updated = patched(&spec, json!({ "parameters": { "work_mem": null } }));
    assert!(updated.parameters.is_empty());
    assert_eq!(updated.effective_parameters()["work_mem"], "5MB");
}

#[test]
fn null_unschedules_one_backup_kind_and_null_schedules_restores_the_defaults() {
    let spec = ClusterSpec::test();
    let fewer = patched(
        &spec,
        json!({ "backups": { "schedules": { "incremental": null } } }),
    );
    assert_eq!(fewer.backups.schedules.incremental, None);
    assert_eq!(fewer.backups.schedules.full, spec.backups.schedules.full);
    let restored = patched(&fewer, json!({ "backups": { "schedules": null } }));
    assert_eq!(restored.backups.schedules, spec.backups.schedules);
}

#[test]
fn changing_an_immutable_field_is_an_error_naming_it() {
    let spec = ClusterSpec::test();
    for (field, value) in [
        ("name", json!("billing")),
        ("database", json!("billing")),
        ("owner", json!("billing")),
        ("postgres_version", json!(17)),
    ] {
        let errors = refused(&spec, json!({ field: value }));
        assert_eq!(fields(errors), [field], "{field}");
    }
}

#[test]
fn removing_the_name_is_refused_as_a_change_not_as_missing() {
    let errors = refused(&ClusterSpec::test(), json!({ "name": null }));
    assert_eq!(errors, [FieldError::new("name", "cannot be changed")]);
}

#[test]
fn null_on_database_is_fine_while_it_equals_the_default() {
    let spec = ClusterSpec::test();
    assert_eq!(
        patched(&spec, json!({ "database": null, "owner": null })),
        spec
    );
    let custom = ClusterSpec::from_request(super::super::ClusterRequest {
        database: Some("shop".into()),
        ..super::super::ClusterRequest::named("orders")
    })
    .unwrap();
    assert_eq!(
        fields(refused(&custom, json!({ "database": null }))),
        ["database"]
    );
}

#[test]
fn resubmitting_the_same_immutable_values_is_fine() {
    let spec = ClusterSpec::test();
    let document = serde_json::to_value(&spec).unwrap();
    assert_eq!(patched(&spec, document), spec);
}

#[test]
fn storage_may_grow_but_not_shrink() {
    let spec = ClusterSpec::test().with_storage("20Gi");
    assert_eq!(
        patched(&spec, json!({ "storage": { "size": "21474836480" } }))
            .storage
            .size,
        "21474836480"
    );
    assert_eq!(
        patched(&spec, json!({ "storage": { "size": "50Gi" } }))
            .storage
            .size,
        "50Gi"
    );
    let errors = refused(&spec, json!({ "storage": { "size": "10Gi" } }));
    assert_eq!(fields(errors), ["storage.size"]);
}

#[test]
fn the_storage_class_cannot_change() {
    let spec = ClusterSpec::test();
    assert_eq!(
        fields(refused(&spec, json!({ "storage": { "class": "fast" } }))),
        ["storage.class"]
    );
    let classed = ClusterSpec::test().with_storage_class(Some("fast"));
    assert_eq!(
        fields(refused(&classed, json!({ "storage": { "class": null } }))),
        ["storage.class"]
    );
}

#[test]
fn a_patch_is_revalidated_as_a_whole() {
    let spec = ClusterSpec::test()
        .with_memory("8Gi")
        .with_parameter("shared_buffers", "4GB");
    let errors = refused(&spec, json!({ "resources": { "memory": "4Gi" } }));
    assert_eq!(fields(errors), ["parameters.shared_buffers"]);
}

#[test]
fn all_patch_errors_are_reported_together() {
    let errors = refused(
        &ClusterSpec::test(),
        json!({ "owner": "someone", "instances": 7, "colour": "red", "storage": { "size": "1Gi" } }),
    );
    assert_eq!(
        fields(errors),
        ["owner", "colour", "instances", "storage.size"]
    );
}

#[test]
fn a_patch_that_is_not_an_object_is_refused() {
    assert_eq!(fields(refused(&ClusterSpec::test(), json!([1]))), [""]);
    assert_eq!(fields(refused(&ClusterSpec::test(), json!(null))), [""]);
}

#[test]
fn users_are_replaced_wholesale() {
    let spec = ClusterSpec::test()
        .with_user("a", &[], None)
        .with_user("b", &[], None);
    let updated = patched(
        &spec,
        json!({ "users": [{ "name": "c", "databases": ["orders"] }] }),
    );
    assert_eq!(updated.users.len(), 1);
    assert_eq!(updated.users[0].name, "c");
}

#[test]
fn suspending_and_resuming_is_a_plain_patch() {
    let spec = ClusterSpec::test();
    let suspended = patched(&spec, json!({ "suspended": true }));
    assert!(suspended.suspended);
    assert_eq!(patched(&suspended, json!({ "suspended": null })), spec);
}

#[test]
fn a_standby_stays_one_until_promoted_and_a_primary_cannot_become_one() {
    let mut standby = ClusterSpec::test().named("orders-dr");
    standby.standby = Some(super::super::StandbySource {
        source: "orders".into(),
    });
    assert_eq!(
        fields(refused(&standby, json!({"standby": null}))),
        ["standby"]
    );
    assert_eq!(
        fields(refused(&standby, json!({"standby": {"source": "billing"}}))),
        ["standby"]
    );
    assert_eq!(
        patched(&standby, json!({"instances": 2})).standby,
        standby.standby
    );
    assert_eq!(
        fields(refused(
            &ClusterSpec::test(),
            json!({"standby": {"source": "billing"}})
        )),
        ["standby"]
    );
}
