//! The `postgresql.conf` parameters a tenant may set, how each value is checked, which ones
//! need a restart, and the defaults a DBA would pick for the instance size.
//!
//! Only allow-listed names are accepted ([`ALLOWED`]), each with a typed rule ([`Kind`]): a
//! parameter PGO forbids through the CRD's CEL rules (ports, TLS, archiving, recovery, paths…)
//! or manages itself (`wal_level`, `huge_pages`) is never on the list. The tenant's overrides
//! are stored verbatim in `ClusterSpec.parameters`;
//! [`ClusterSpec::effective_parameters`](super::ClusterSpec::effective_parameters) adds the size-derived
//! defaults at read time, so resizing an instance re-derives everything the tenant did not pin.

mod defaults;
mod values;

use std::collections::BTreeMap;

use serde::Serialize;

use super::FieldError;

pub use defaults::{FIXED, restart_parameters, restart_required};
pub(super) use defaults::{effective, validate_overrides};

/// Most entries `spec.config.parameters` may hold (CRD `maxProperties`).
pub const MAX_PARAMETERS: usize = 50;

/// How a parameter's value is written and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// A plain integer in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A decimal such as `1.1` in `min..=max`.
    Real { min: f64, max: f64 },
    /// An integer with a unit `kB`, `MB`, `GB` or `TB`, in `min_kb..=max_kb` (bare `0` allowed
    /// when 0 is in range); `-1` also when `disable` ("off" / "use the default").
    Memory {
        min_kb: i64,
        max_kb: i64,
        disable: bool,
    },
    /// An integer with a unit `ms`, `s`, `min`, `h` or `d`, in `min_ms..=max_ms` (bare `0`
    /// allowed when 0 is in range); `-1` also when `disable`.
    Duration {
        min_ms: i64,
        max_ms: i64,
        disable: bool,
    },
    /// `on`, `off`, `true` or `false`.
    Bool,
    /// One of a fixed set of strings.
    Enum { values: &'static [&'static str] },
    /// A comma-separated list drawn from `allowed` that must contain every `required` entry.
    Libraries {
        allowed: &'static [&'static str],
        required: &'static [&'static str],
    },
}

/// One allow-listed parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parameter {
    /// Name exactly as written in `postgresql.conf` (lowercase).
    pub name: &'static str,
    /// Value rule.
    pub kind: Kind,
    /// PostgreSQL context `postmaster`: changing it restarts PostgreSQL.
    pub restart: bool,
}

const fn int(name: &'static str, min: i64, max: i64, restart: bool) -> Parameter {
    Parameter {
        name,
        kind: Kind::Integer { min, max },
        restart,
    }
}
const fn real(name: &'static str, min: f64, max: f64) -> Parameter {
    Parameter {
        name,
        kind: Kind::Real { min, max },
        restart: false,
    }
}
const fn mem(
    name: &'static str,
    min_kb: i64,
    max_kb: i64,
    disable: bool,
    restart: bool,
) -> Parameter {
    Parameter {
        name,
        kind: Kind::Memory {
            min_kb,
            max_kb,
            disable,
        },
        restart,
    }
}
const fn dur(name: &'static str, min_ms: i64, max_ms: i64, disable: bool) -> Parameter {
    Parameter {
        name,
        kind: Kind::Duration {
            min_ms,
            max_ms,
            disable,
        },
        restart: false,
    }
}
const fn boolean(name: &'static str) -> Parameter {
    Parameter {
        name,
        kind: Kind::Bool,
        restart: false,
    }
}
const fn one_of(name: &'static str, values: &'static [&'static str]) -> Parameter {
    Parameter {
        name,
        kind: Kind::Enum { values },
        restart: false,
    }
}

const KB: i64 = 1;
const MB: i64 = 1024;
const GB: i64 = 1024 * 1024;
const TB: i64 = 1024 * 1024 * 1024;
const MS: i64 = 1;
const S: i64 = 1000;
const MIN: i64 = 60 * S;
const H: i64 = 60 * MIN;
const D: i64 = 24 * H;

/// Libraries a tenant may preload (shipped in the Crunchy images; `pgaudit`, and with
/// monitoring `pgnodemx`, are always added by PGO on top of these).
pub const PRELOADABLE_LIBRARIES: &[&str] = &["pg_stat_statements", "auto_explain", "pg_prewarm"];

/// Every parameter a tenant may set, sorted by name.
pub const ALLOWED: &[Parameter] = &[
    dur("auto_explain.log_min_duration", 0, D, true),
    boolean("autovacuum"),
    real("autovacuum_analyze_scale_factor", 0.0, 1.0),
    // `postmaster` up to PostgreSQL 17 (reloadable from 18): treated as needing a restart.
    int("autovacuum_max_workers", 1, 16, true),
    dur("autovacuum_naptime", S, D, false),
    dur("autovacuum_vacuum_cost_delay", 0, 100 * MS, true),
    int("autovacuum_vacuum_cost_limit", -1, 10_000, false),
    real("autovacuum_vacuum_insert_scale_factor", 0.0, 1.0),
    real("autovacuum_vacuum_scale_factor", 0.0, 1.0),
    mem("autovacuum_work_mem", MB, GB, true, false),
    real("checkpoint_completion_target", 0.0, 1.0),
    dur("checkpoint_timeout", 30 * S, D, false),
    dur("deadlock_timeout", MS, H, false),
    int("default_statistics_target", 1, 10_000, false),
    one_of(
        "default_transaction_isolation",
        &[
            "serializable",
            "repeatable read",
            "read committed",
            "read uncommitted",
        ],
    ),
    mem("effective_cache_size", 8 * MB, TB, false, false),
    int("effective_io_concurrency", 0, 1000, false),
    real("hash_mem_multiplier", 1.0, 100.0),
    boolean("hot_standby_feedback"),
    dur("idle_in_transaction_session_timeout", 0, D, false),
    dur("idle_session_timeout", 0, D, false),
    boolean("jit"),
    dur("lock_timeout", 0, D, false),
    dur("log_autovacuum_min_duration", 0, D, true),
    boolean("log_checkpoints"),
    boolean("log_disconnections"),
    boolean("log_lock_waits"),
    dur("log_min_duration_statement", 0, D, true),
    one_of("log_statement", &["none", "ddl", "mod", "all"]),
    mem("log_temp_files", 0, TB, true, false),
    mem("maintenance_work_mem", MB, 2047 * MB, false, false),
    int("max_connections", 25, 5000, true),
    int("max_locks_per_transaction", 10, 4096, true),
    int("max_parallel_maintenance_workers", 0, 64, false),
    int("max_parallel_workers", 0, 256, false),
    int("max_parallel_workers_per_gather", 0, 64, false),
    int("max_prepared_transactions", 0, 1000, true),
    int("max_replication_slots", 10, 64, true),
    mem("max_wal_size", 64 * MB, 64 * GB, false, false),
    int("max_worker_processes", 1, 256, true),
    mem("min_wal_size", 32 * MB, 16 * GB, false, false),
    int("pg_stat_statements.max", 100, 50_000, true),
    one_of("pg_stat_statements.track", &["none", "top", "all"]),
    real("random_page_cost", 0.1, 100.0),
    real("seq_page_cost", 0.1, 100.0),
    mem("shared_buffers", 16 * MB, 64 * GB, false, true),
    Parameter {
        name: "shared_preload_libraries",
        kind: Kind::Libraries {
            allowed: PRELOADABLE_LIBRARIES,
            required: &["pg_stat_statements"],
        },
        restart: true,
    },
    dur("statement_timeout", 0, D, false),
    one_of(
        "synchronous_commit",
        &["on", "off", "local", "remote_write", "remote_apply"],
    ),
    mem("temp_buffers", 800 * KB, GB, false, false),
    boolean("track_io_timing"),
    one_of("wal_compression", &["off", "on", "pglz", "lz4", "zstd"]),
    mem("work_mem", 64 * KB, GB, false, false),
];

/// The allow-list entry for `name`, if any.
pub fn lookup(name: &str) -> Option<&'static Parameter> {
    ALLOWED.iter().find(|p| p.name == name)
}

/// Checks `value` against the rule of parameter `param`.
pub fn validate_value(param: &Parameter, value: &str) -> Result<(), String> {
    values::check(param.kind, value)
}

/// Why PGO's CRD (its CEL rules on `spec.config.parameters`) refuses `name`, if it does.
/// Mirrors the 18 rules of PGO v5.8.9 and v6.0.3; `wal_level` is listed because PGO sets it.
pub fn pgo_forbidden(name: &str) -> Option<&'static str> {
    let exact: &[(&str, &str)] = &[
        (
            "config_file",
            "cannot change PGDATA path: config_file, data_directory",
        ),
        (
            "data_directory",
            "cannot change PGDATA path: config_file, data_directory",
        ),
        ("external_pid_file", "cannot change external_pid_file"),
        (
            "hba_file",
            "cannot change authentication path: hba_file, ident_file",
        ),
        (
            "ident_file",
            "cannot change authentication path: hba_file, ident_file",
        ),
        (
            "listen_addresses",
            "network connectivity is always enabled: listen_addresses",
        ),
        ("port", "change port using .spec.port instead"),
        ("ssl", "TLS is always enabled"),
        ("wal_level", "wal_level is managed by PGO (logical)"),
        ("wal_log_hints", "wal_log_hints are always enabled"),
        ("archive_mode", "WAL archiving is managed by PGO"),
        ("archive_command", "WAL archiving is managed by PGO"),
        ("restore_command", "WAL archiving is managed by PGO"),
        ("recovery_target", "recovery targets are managed by PGO"),
        ("hot_standby", "hot_standby is always enabled"),
        (
            "synchronous_standby_names",
            "synchronous replication is managed by Patroni",
        ),
        ("primary_conninfo", "replication is managed by Patroni"),
        ("primary_slot_name", "replication is managed by Patroni"),
        (
            "recovery_min_apply_delay",
            "delayed replication is not supported at this time",
        ),
        (
            "cluster_name",
            "cluster_name is derived from the PostgresCluster name",
        ),
        ("logging_collector", "disabling logging_collector is unsafe"),
        ("log_file_mode", "log_file_mode cannot be changed"),
    ];
    if let Some((_, why)) = exact.iter().find(|(n, _)| *n == name) {
        return Some(why);
    }
    if name.starts_with("ssl_") && name != "ssl_groups" && name != "ssl_ecdh_curve" {
        return Some("TLS is always enabled");
    }
    if name.starts_with("unix_socket_") {
        return Some("domain socket paths cannot be changed");
    }
    if name.starts_with("recovery_target_") {
        return Some("recovery targets are managed by PGO");
    }
    None
}

/// Errors for every override whose name is not allow-listed or whose value breaks its rule.
pub(super) fn check_names_and_values(overrides: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (name, value) in overrides {
        let field = format!("parameters.{name}");
        match lookup(name) {
            Some(param) => {
                if let Err(why) = validate_value(param, value) {
                    errors.push(FieldError::new(field, why));
                }
            }
            None => {
                let why = match pgo_forbidden(name) {
                    Some(reason) => {
                        format!("is managed by the operator and cannot be set: {reason}")
                    }
                    None => "is not a parameter pgplane allows; see the allow-list".to_string(),
                };
                errors.push(FieldError::new(field, why));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests;
