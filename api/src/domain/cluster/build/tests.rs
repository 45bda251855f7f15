use serde_json::{Value, json};

use super::super::{ClusterSpec, FieldError};

/// Builds a spec from a JSON request the way the API does.
pub(super) fn create(document: Value) -> Result<ClusterSpec, Vec<FieldError>> {
    ClusterSpec::from_json(&document)
}

/// The fields named by the errors of `document`, in order.
pub(super) fn error_fields(document: Value) -> Vec<String> {
    create(document)
        .expect_err("request should be refused")
        .into_iter()
        .map(|e| e.field)
        .collect()
}

pub(super) fn accepts(document: Value) -> ClusterSpec {
    create(document.clone()).unwrap_or_else(|e| panic!("{document} should be valid: {e:?}"))
}

pub(super) fn with(field: &str, value: Value) -> Value {
    let mut document = json!({ "name": "orders" });
    document[field] = value;
    document
}

#[test]
fn a_name_only_request_gets_every_default_written_back() {
    let spec = accepts(json!({ "name": "orders" }));
    assert_eq!(
        serde_json::to_value(&spec).unwrap(),
        json!({
            "name": "orders", "postgres_version": 18, "instances": 1,
            "resources": { "cpu": "1", "memory": "2Gi" },
            "storage": { "size": "20Gi", "class": null },
            "backups": {
                "enabled": true,
                "schedules": { "full": "0 1 * * 0", "differential": null, "incremental": "0 1 * * 1-6" },
                "retention_full": 4
            },
            "pooler": { "enabled": false, "replicas": 1 },
            "monitoring": { "enabled": false },
            "parameters": {},
            "database": "orders", "owner": "orders", "users": [],
            "deletion_policy": "keep_backups", "deletion_protection": false, "suspended": false,
            "source": null, "standby": null
        })
    );
}

#[test]
fn the_contract_example_comes_back_as_sent_plus_explicit_defaults() {
    let sent = json!({
        "name": "orders", "postgres_version": 17, "instances": 3,
        "resources": {"cpu": "1", "memory": "2Gi"}, "storage": {"size": "20Gi", "class": null},
        "backups": {"enabled": true, "schedules": {"full": "0 1 * * 0", "incremental": "0 1 * * 1-6"}, "retention_full": 4},
        "pooler": {"enabled": false, "replicas": 1}, "monitoring": {"enabled": false},
        "parameters": {"max_connections": "200"}, "database": "orders", "owner": "orders",
        "deletion_policy": "keep_backups", "deletion_protection": false
    });
    let mut expected = sent.clone();
    expected["backups"]["schedules"]["differential"] = Value::Null;
    expected["users"] = json!([]);
    expected["suspended"] = json!(false);
    expected["source"] = json!(null);
    expected["standby"] = json!(null);
    assert_eq!(serde_json::to_value(accepts(sent)).unwrap(), expected);
}

#[test]
fn reading_back_a_serialised_spec_gives_the_same_spec() {
    let specs = [
        ClusterSpec::test(),
        ClusterSpec::test()
            .with_instances(3)
            .with_pooler(true, 2)
            .with_monitoring(true),
        ClusterSpec::test()
            .with_backups(false)
            .with_storage_class(Some("fast"))
            .suspended(),
        ClusterSpec::test()
            .with_parameter("work_mem", "16MB")
            .with_user("reporting", &["orders", "reports"], Some("NOLOGIN")),
    ];
    for spec in specs {
        assert!(spec.validation_errors().is_empty(), "{spec:?}");
        let read_back = create(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(read_back, spec);
    }
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    assert_eq!(error_fields(with("colour", json!("blue"))), ["colour"]);
    assert_eq!(
        error_fields(with("resources", json!({"cpu": "1", "cores": 2}))),
        ["resources"]
    );
    assert_eq!(
        error_fields(with(
            "backups",
            json!({"schedules": {"weekly": "0 1 * * 0"}})
        )),
        ["backups"]
    );
    assert_eq!(
        error_fields(with("users", json!([{"name": "a", "role": "x"}]))),
        ["users[0]"]
    );
}

#[test]
fn the_name_is_required_and_must_be_a_string() {
    assert_eq!(error_fields(json!({})), ["name"]);
    assert_eq!(error_fields(json!({ "name": null })), ["name"]);
    assert_eq!(error_fields(json!({ "name": 7 })), ["name"]);
    assert_eq!(error_fields(json!("orders")), [""]);
}

#[test]
fn wrongly_typed_fields_are_reported_by_name() {
    let fields = error_fields(json!({
        "name": "orders", "instances": "three", "suspended": "no", "parameters": {"work_mem": 4}
    }));
    assert_eq!(fields, ["instances", "parameters.work_mem", "suspended"]);
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let fields = error_fields(json!({
        "name": "Orders", "postgres_version": 9, "instances": 5,
        "resources": { "cpu": "100m", "memory": "64Mi" }, "storage": { "size": "100Mi" },
        "backups": { "retention_full": 0 }, "pooler": { "replicas": 9 },
        "parameters": { "port": "5433", "work_mem": "lots" },
        "database": "pg_x", "owner": "root_"
    }));
    assert_eq!(
        fields,
        [
            "name",
            "postgres_version",
            "instances",
            "resources.cpu",
            "resources.memory",
            "storage.size",
            "backups.retention_full",
            "pooler.replicas",
            "database",
            "owner",
            "parameters.port",
            "parameters.work_mem"
        ]
    );
}

#[test]
fn parameter_errors_name_the_parameter() {
    let errors = create(with(
        "parameters",
        json!({ "ssl_ciphers": "ALL", "work_mem": "4" }),
    ))
    .unwrap_err();
    assert_eq!(errors[0].field, "parameters.ssl_ciphers");
    assert!(errors[0].message.contains("TLS is always enabled"));
    assert_eq!(errors[1].field, "parameters.work_mem");
    assert!(errors[1].message.contains("kB, MB, GB or TB"));
}

#[test]
fn enums_use_snake_case_on_the_wire() {
    let spec = accepts(with("deletion_policy", json!("delete_backups")));
    assert_eq!(
        serde_json::to_value(spec.deletion_policy).unwrap(),
        json!("delete_backups")
    );
    assert_eq!(
        error_fields(with("deletion_policy", json!("DeleteBackups"))),
        ["deletion_policy"]
    );
}

#[test]
fn parameter_values_must_be_json_strings_each_reported_by_name() {
    let fields = error_fields(with(
        "parameters",
        json!({ "max_connections": 200, "jit": true, "work_mem": "8MB", "fsync": "off" }),
    ));
    assert_eq!(
        fields,
        [
            "parameters.jit",
            "parameters.max_connections",
            "parameters.fsync"
        ]
    );
    let spec = accepts(with(
        "parameters",
        json!({ "work_mem": null, "jit": "off" }),
    ));
    assert_eq!(spec.parameters.len(), 1, "null members are no override");
    assert_eq!(
        error_fields(with("parameters", json!(["work_mem"]))),
        ["parameters"]
    );
}

#[test]
fn unreadable_users_are_reported_by_index_without_noise_from_the_rest() {
    let fields = error_fields(with(
        "users",
        json!([{ "name": "ok" }, null, { "name": 7 }, { "name": "Bad" }]),
    ));
    assert_eq!(fields, ["users[1]", "users[2]"]);
    assert_eq!(
        error_fields(with("users", json!({ "name": "a" }))),
        ["users"]
    );
    let spec = accepts(with(
        "users",
        json!([{ "name": "reader", "databases": null }]),
    ));
    assert!(spec.users[0].databases.is_empty());
}

#[test]
fn a_standby_names_another_cluster_and_is_not_also_a_clone() {
    let spec = accepts(json!({"name": "orders-dr", "standby": {"source": "orders"}}));
    assert!(
        spec.backups.enabled && !spec.takes_backups(),
        "no backups while a standby"
    );
    assert_eq!(spec.standby.unwrap().source, "orders");
    assert_eq!(
        error_fields(json!({"name": "orders", "standby": {"source": "orders"}})),
        ["standby.source"]
    );
    assert_eq!(
        error_fields(json!({"name": "dr", "standby": {"source": "Orders!"}})),
        ["standby.source"]
    );
    assert_eq!(
        error_fields(
            json!({"name": "dr", "standby": {"source": "orders"}, "source": {"cluster": "orders"}})
        ),
        ["standby"]
    );
    assert_eq!(
        error_fields(json!({"name": "dr", "standby": {"source": "orders", "host": "x"}})),
        ["standby"]
    );
}
