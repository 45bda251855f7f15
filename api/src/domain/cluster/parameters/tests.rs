use std::collections::BTreeMap;

use serde_json::Value;

use super::super::testing::{PGO_VERSIONS, crd_schema};
use super::*;

fn value_error(name: &str, value: &str) -> Option<String> {
    validate_value(lookup(name).expect("allow-listed"), value).err()
}

fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_allow_list_is_sorted_and_unique() {
    let names: Vec<_> = ALLOWED.iter().map(|p| p.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
}

#[test]
fn no_allow_listed_parameter_is_forbidden_by_pgo() {
    for param in ALLOWED {
        assert_eq!(pgo_forbidden(param.name), None, "{}", param.name);
    }
}

#[test]
fn the_forbidden_list_covers_every_cel_rule_of_both_crds() {
    for version in PGO_VERSIONS {
        let rules = &crd_schema(version)["properties"]["spec"]["properties"]["config"]["properties"]
            ["parameters"]["x-kubernetes-validations"];
        let rules = rules.as_array().expect("CEL rules on config.parameters");
        assert_eq!(
            rules.len(),
            18,
            "PGO {version} changed its parameter rules: review pgo_forbidden"
        );
        for rule in rules.iter().filter_map(|r| r["rule"].as_str()) {
            for name in between(rule, "has(self.", ")") {
                let is_wal_level = name == "wal_level";
                assert!(
                    pgo_forbidden(name).is_some() || is_wal_level,
                    "{version}: {name} in {rule}"
                );
            }
            for prefix in between(rule, "k.startsWith(\"", "\")") {
                assert!(
                    pgo_forbidden(&format!("{prefix}anything")).is_some(),
                    "{version}: {prefix}*"
                );
            }
        }
    }
    assert_eq!(
        pgo_forbidden("ssl_groups"),
        None,
        "allowed by the CRD from PG 18, just not by us"
    );
    assert!(lookup("ssl_groups").is_none());
}

/// Every substring of `text` between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    text.split(start)
        .skip(1)
        .filter_map(|rest| rest.split(end).next())
        .collect()
}

#[test]
fn integers_are_checked_against_their_range() {
    assert_eq!(value_error("max_connections", "200"), None);
    assert_eq!(value_error("autovacuum_vacuum_cost_limit", "-1"), None);
    assert!(
        value_error("max_connections", "24")
            .unwrap()
            .contains("25..=5000")
    );
    assert!(value_error("max_connections", "5001").is_some());
    for bad in ["1e3", "200.0", "", "two", "+5", "- 1"] {
        assert!(
            value_error("max_connections", bad)
                .unwrap()
                .contains("integer"),
            "{bad}"
        );
    }
}

#[test]
fn reals_are_plain_decimals_in_range() {
    for ok in ["1.1", "4", "0.5", "100"] {
        assert_eq!(value_error("random_page_cost", ok), None, "{ok}");
    }
    assert!(
        value_error("random_page_cost", "0.05")
            .unwrap()
            .contains("outside")
    );
    assert!(value_error("checkpoint_completion_target", "1.5").is_some());
    for bad in [".5", "1.", "1e2", "-1", "NaN", "inf", "1,5"] {
        assert!(value_error("random_page_cost", bad).is_some(), "{bad}");
    }
}

#[test]
fn memory_sizes_need_a_postgres_unit() {
    for ok in ["128MB", "4GB", "65536kB", "1TB"] {
        assert_eq!(value_error("effective_cache_size", ok), None, "{ok}");
    }
    for bad in ["4", "4mb", "4 MB", "4Gi", "4G", "1.5GB", "MB", "-1"] {
        assert!(
            value_error("work_mem", bad)
                .unwrap()
                .contains("kB, MB, GB or TB"),
            "{bad}"
        );
    }
    assert!(
        value_error("work_mem", "32kB")
            .unwrap()
            .contains("64kB..=1GB")
    );
    assert!(value_error("work_mem", "2GB").is_some());
}

#[test]
fn memory_sizes_that_may_be_disabled_accept_minus_one_and_zero() {
    assert_eq!(value_error("autovacuum_work_mem", "-1"), None);
    assert_eq!(value_error("log_temp_files", "-1"), None);
    assert_eq!(value_error("log_temp_files", "0"), None);
    assert!(value_error("shared_buffers", "0").is_some());
}

#[test]
fn durations_need_a_postgres_unit() {
    for ok in ["250ms", "30s", "5min", "1h", "1d", "0"] {
        assert_eq!(value_error("statement_timeout", ok), None, "{ok}");
    }
    for bad in ["30", "30sec", "5m", "1 h", "1.5s", "-5s"] {
        assert!(
            value_error("statement_timeout", bad)
                .unwrap()
                .contains("ms, s, min, h or d"),
            "{bad}"
        );
    }
    assert!(
        value_error("statement_timeout", "2d")
            .unwrap()
            .contains("0ms..=1d")
    );
    assert!(
        value_error("checkpoint_timeout", "10s")
            .unwrap()
            .contains("30s..=1d")
    );
    assert_eq!(value_error("log_min_duration_statement", "-1"), None);
    assert!(value_error("statement_timeout", "-1").is_some());
}

#[test]
fn booleans_are_on_off_true_or_false() {
    for ok in ["on", "off", "true", "false"] {
        assert_eq!(value_error("log_checkpoints", ok), None);
    }
    for bad in ["ON", "yes", "1", ""] {
        assert!(value_error("log_checkpoints", bad).is_some(), "{bad}");
    }
}

#[test]
fn enums_accept_only_their_values() {
    assert_eq!(value_error("synchronous_commit", "remote_apply"), None);
    assert_eq!(
        value_error("default_transaction_isolation", "repeatable read"),
        None
    );
    assert!(
        value_error("log_statement", "everything")
            .unwrap()
            .contains("none, ddl, mod, all")
    );
    assert!(value_error("wal_compression", "LZ4").is_some());
}

#[test]
fn preload_libraries_are_a_list_that_keeps_pg_stat_statements() {
    let libs = "shared_preload_libraries";
    assert_eq!(value_error(libs, "pg_stat_statements"), None);
    assert_eq!(value_error(libs, "pg_stat_statements,auto_explain"), None);
    assert_eq!(
        value_error(libs, "auto_explain, pg_stat_statements, pg_prewarm"),
        None
    );
    assert!(
        value_error(libs, "auto_explain")
            .unwrap()
            .contains("must include `pg_stat_statements`")
    );
    assert!(
        value_error(libs, "pg_stat_statements,timescaledb")
            .unwrap()
            .contains("not one of")
    );
    assert!(
        value_error(libs, "pg_stat_statements,pg_stat_statements")
            .unwrap()
            .contains("twice")
    );
    assert!(value_error(libs, "").is_some());
}

#[test]
fn changing_a_postmaster_parameter_needs_a_restart() {
    let restart: Vec<_> = ALLOWED
        .iter()
        .filter(|p| p.restart)
        .map(|p| p.name)
        .collect();
    for name in [
        "shared_buffers",
        "max_connections",
        "shared_preload_libraries",
        "max_worker_processes",
    ] {
        assert!(restart.contains(&name), "{name}");
    }
    for name in [
        "work_mem",
        "statement_timeout",
        "log_min_duration_statement",
        "random_page_cost",
    ] {
        assert!(!restart.contains(&name), "{name}");
    }
}

#[test]
fn unknown_and_operator_managed_parameters_are_explained() {
    let errors = check_names_and_values(&overrides(&[
        ("port", "5433"),
        ("archive_command", "true"),
        ("unix_socket_directories", "/tmp"),
        ("recovery_target_time", "x"),
        ("fsync", "off"),
        ("Work_Mem", "4MB"),
    ]));
    let messages: BTreeMap<_, _> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert!(messages["parameters.port"].contains(".spec.port"));
    assert!(messages["parameters.archive_command"].contains("managed by the operator"));
    assert!(messages["parameters.unix_socket_directories"].contains("socket"));
    assert!(messages["parameters.recovery_target_time"].contains("recovery"));
    assert!(messages["parameters.fsync"].contains("not a parameter pgplane allows"));
    assert!(messages["parameters.Work_Mem"].contains("not a parameter pgplane allows"));
}

#[test]
fn the_allow_list_serialises_for_documentation() {
    let json = serde_json::to_value(lookup("work_mem").unwrap()).unwrap();
    assert_eq!(json["kind"]["type"], Value::from("memory"));
    assert_eq!(json["restart"], Value::from(false));
}
