use std::collections::BTreeMap;

use super::super::super::ClusterSpec;
use super::super::super::quantity::parse_bytes;
use super::super::{ALLOWED, Kind, check_names_and_values, lookup, validate_value};
use super::*;

const GI: u64 = 1 << 30;

fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn fields(pairs: &[(&str, &str)], memory: u64, storage: u64) -> Vec<String> {
    validate_overrides(&overrides(pairs), Some(memory), Some(storage))
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn defaults_follow_the_instance_size() {
    let at = |memory: &str, storage: &str| {
        ClusterSpec::test()
            .with_memory(memory)
            .with_storage(storage)
            .effective_parameters()
    };
    let small = at("512Mi", "1Gi");
    let standard = at("2Gi", "20Gi");
    let large = at("128Gi", "16Ti");
    let row = |p: &BTreeMap<String, String>| {
        [
            "max_connections",
            "shared_buffers",
            "effective_cache_size",
            "maintenance_work_mem",
            "work_mem",
            "max_wal_size",
        ]
        .map(|k| p[k].clone())
    };
    assert_eq!(
        row(&small),
        ["50", "128MB", "384MB", "64MB", "4MB", "256MB"]
    );
    assert_eq!(
        row(&standard),
        ["100", "512MB", "1536MB", "102MB", "5MB", "2GB"]
    );
    assert_eq!(row(&large), ["500", "32GB", "96GB", "1GB", "65MB", "16GB"]);
}

#[test]
fn operational_defaults_are_always_present() {
    let effective = ClusterSpec::test().effective_parameters();
    for (name, value) in FIXED {
        assert_eq!(effective[*name], *value, "{name}");
    }
    assert_eq!(effective["shared_preload_libraries"], "pg_stat_statements");
    assert_eq!(effective["log_min_duration_statement"], "1s");
    assert_eq!(effective.len(), 14);
}

#[test]
fn every_default_passes_its_own_rule_at_every_bound() {
    for memory in ["512Mi", "1Gi", "3Gi", "128Gi"] {
        for storage in ["1Gi", "20Gi", "16Ti"] {
            let spec = ClusterSpec::test()
                .with_memory(memory)
                .with_storage(storage);
            for (name, value) in spec.effective_parameters() {
                let param = lookup(&name).expect("defaults are allow-listed");
                assert_eq!(
                    validate_value(param, &value),
                    Ok(()),
                    "{name}={value} at {memory}/{storage}"
                );
            }
            let sizes = (parse_bytes(memory).ok(), parse_bytes(storage).ok());
            let pinned = validate_overrides(&spec.effective_parameters(), sizes.0, sizes.1);
            assert!(pinned.is_empty(), "{memory}/{storage}: {pinned:?}");
        }
    }
}

#[test]
fn a_tenant_override_wins_and_survives_a_resize() {
    let spec = ClusterSpec::test()
        .with_parameter("shared_buffers", "256MB")
        .with_parameter("work_mem", "32MB");
    let resized = spec.clone().with_memory("8Gi");
    assert_eq!(resized.effective_parameters()["shared_buffers"], "256MB");
    assert_eq!(resized.effective_parameters()["work_mem"], "32MB");
    assert_eq!(
        resized.effective_parameters()["effective_cache_size"],
        "6GB"
    );
}

#[test]
fn overriding_connections_or_buffers_rederives_work_mem() {
    let base = ClusterSpec::test().with_memory("8Gi");
    assert_eq!(base.effective_parameters()["work_mem"], "5MB");
    let fewer = base.clone().with_parameter("max_connections", "50");
    assert_eq!(fewer.effective_parameters()["work_mem"], "40MB");
    let bigger_buffers = fewer.with_parameter("shared_buffers", "4GB");
    assert_eq!(bigger_buffers.effective_parameters()["work_mem"], "27MB");
}

#[test]
fn shared_buffers_above_half_the_memory_is_rejected() {
    let errors = validate_overrides(
        &overrides(&[("shared_buffers", "1025MB")]),
        Some(2 * GI),
        Some(20 * GI),
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "parameters.shared_buffers");
    assert!(
        validate_overrides(&overrides(&[("shared_buffers", "1GB")]), Some(2 * GI), None).is_empty()
    );
}

#[test]
fn wal_sizes_must_fit_the_volume_and_each_other() {
    let check = |pairs: &[(&str, &str)]| -> Vec<String> {
        validate_overrides(&overrides(pairs), Some(2 * GI), Some(20 * GI))
            .into_iter()
            .map(|e| e.field)
            .collect()
    };
    assert_eq!(check(&[("max_wal_size", "10GB")]), Vec::<String>::new());
    assert_eq!(
        check(&[("max_wal_size", "11GB")]),
        ["parameters.max_wal_size"]
    );
    assert_eq!(
        check(&[("min_wal_size", "4GB")]),
        ["parameters.min_wal_size"]
    );
    assert_eq!(
        check(&[("min_wal_size", "1GB"), ("max_wal_size", "512MB")]),
        ["parameters.min_wal_size"]
    );
    assert_eq!(check(&[("min_wal_size", "1GB")]), Vec::<String>::new());
}

#[test]
fn more_parameters_than_pgo_accepts_is_rejected() {
    let every: BTreeMap<String, String> = ALLOWED
        .iter()
        .map(|p| (p.name.to_string(), sample(p.kind)))
        .collect();
    assert!(
        check_names_and_values(&every).is_empty(),
        "samples are valid"
    );
    let errors = validate_overrides(&every, Some(16 * GI), Some(100 * GI));
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["parameters"]);
    assert!(errors[0].message.contains("at most 50"));
}

/// The smallest valid value of a parameter kind.
fn sample(kind: Kind) -> String {
    match kind {
        Kind::Integer { min, .. } => min.to_string(),
        Kind::Real { min, .. } => min.to_string(),
        Kind::Memory { min_kb, .. } => format!("{min_kb}kB"),
        Kind::Duration { min_ms, .. } => format!("{min_ms}ms"),
        Kind::Bool => "on".into(),
        Kind::Enum { values } => values[0].into(),
        Kind::Libraries { .. } => "pg_stat_statements,auto_explain".into(),
    }
}

#[test]
fn restart_is_required_for_postmaster_parameters_and_pod_changes() {
    let base = ClusterSpec::test();
    let changed = |spec: ClusterSpec| restart_required(&base, &spec);
    assert!(!changed(base.clone()));
    assert!(changed(
        base.clone().with_parameter("shared_buffers", "256MB")
    ));
    assert!(changed(
        base.clone().with_parameter("max_connections", "300")
    ));
    assert!(!changed(base.clone().with_parameter("work_mem", "64MB")));
    assert!(!changed(
        base.clone().with_parameter("log_statement", "ddl")
    ));
    assert!(
        changed(base.clone().with_memory("4Gi")),
        "resizing rebuilds the pods"
    );
    assert!(changed(base.clone().with_monitoring(true)));
    assert!(changed(base.clone().with_backups(false)));
    assert!(!changed(base.clone().with_pooler(true, 2)));
    assert!(!changed(base.clone().with_instances(3)));
    assert!(!changed(base.clone().with_storage("40Gi")));
}

#[test]
fn restart_parameters_names_what_changed() {
    let base = ClusterSpec::test();
    let resized = base.clone().with_memory("4Gi");
    assert_eq!(
        restart_parameters(&base, &resized),
        ["max_connections", "shared_buffers"]
    );
    let pinned = base
        .clone()
        .with_parameter("shared_buffers", "512MB")
        .with_parameter("max_connections", "100");
    assert_eq!(restart_parameters(&base, &pinned), Vec::<String>::new());
}

#[test]
fn more_connections_than_mebibytes_of_memory_is_rejected() {
    assert!(fields(&[("max_connections", "512")], 512 << 20, 20 * GI).is_empty());
    assert_eq!(
        fields(&[("max_connections", "513")], 512 << 20, 20 * GI),
        ["parameters.max_connections"]
    );
}

#[test]
fn auto_explain_settings_need_the_library_preloaded() {
    let setting = ("auto_explain.log_min_duration", "5s");
    assert_eq!(
        fields(&[setting], 2 * GI, 20 * GI),
        ["parameters.auto_explain.log_min_duration"]
    );
    let preloaded = (
        "shared_preload_libraries",
        "pg_stat_statements,auto_explain",
    );
    assert!(fields(&[setting, preloaded], 2 * GI, 20 * GI).is_empty());
}
