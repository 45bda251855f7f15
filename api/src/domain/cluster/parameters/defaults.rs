//! The parameters pgplane sets when the tenant does not: fixed operational defaults (slow
//! statement, checkpoint, lock-wait and autovacuum logging; `pg_stat_statements`; SSD costs)
//! and sizes derived from the instance's memory and volume, recomputed on every read so that a
//! resize carries them along. A tenant override always wins and is never recomputed.
//!
//! | parameter | default |
//! |---|---|
//! | `max_connections` | memory MiB / 20, rounded down to 10, clamped to 50..=500 |
//! | `shared_buffers` | 25% of memory |
//! | `effective_cache_size` | 75% of memory |
//! | `maintenance_work_mem` | 5% of memory, clamped to 64MB..=1GB |
//! | `work_mem` | (memory − shared_buffers) / (3 × max_connections), clamped to 4MB..=1GB |
//! | `max_wal_size` | 10% of the data volume, clamped to 256MB..=16GB |
//! | fixed | see [`FIXED`] |

use std::collections::BTreeMap;

use super::super::FieldError;
use super::super::quantity::parse_bytes;
use super::super::spec::{ClusterSpec, defaults as spec_defaults};
use super::values::{library_list, memory_kb};
use super::{MAX_PARAMETERS, check_names_and_values, lookup};

/// Operational defaults independent of size.
pub const FIXED: &[(&str, &str)] = &[
    ("effective_io_concurrency", "200"),
    ("log_autovacuum_min_duration", "10s"),
    ("log_checkpoints", "on"),
    ("log_lock_waits", "on"),
    ("log_min_duration_statement", "1s"),
    ("log_temp_files", "10MB"),
    ("random_page_cost", "1.1"),
    ("shared_preload_libraries", FIXED_PRELOAD),
];

/// Libraries preloaded unless the tenant sets `shared_preload_libraries`.
const FIXED_PRELOAD: &str = "pg_stat_statements";

const MIB: u64 = 1 << 20;

/// Effective parameters of `spec`: defaults for its size, then the tenant's overrides on top.
pub(in super::super) fn effective(spec: &ClusterSpec) -> BTreeMap<String, String> {
    let memory = parse_bytes(&spec.resources.memory)
        .or_else(|_| parse_bytes(spec_defaults::MEMORY))
        .unwrap_or(2 << 30);
    let storage = parse_bytes(&spec.storage.size)
        .or_else(|_| parse_bytes(spec_defaults::STORAGE_SIZE))
        .unwrap_or(20 << 30);
    let mut out = derived(memory, storage, &spec.parameters);
    out.extend(spec.parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Size-derived and fixed defaults for `memory` and `storage` bytes, given the overrides
/// (an overridden `max_connections` or `shared_buffers` feeds into `work_mem`).
fn derived(
    memory: u64,
    storage: u64,
    overrides: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let memory_mb = memory / MIB;
    let storage_mb = storage / MIB;
    let max_connections = overrides
        .get("max_connections")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| ((memory_mb / 20) / 10 * 10).clamp(50, 500));
    let shared_buffers_mb = overrides
        .get("shared_buffers")
        .and_then(|v| memory_kb(v))
        .and_then(|kb| u64::try_from(kb / 1024).ok())
        .unwrap_or(memory_mb / 4);
    let work_mem_mb =
        (memory_mb.saturating_sub(shared_buffers_mb) / (3 * max_connections)).clamp(4, 1024);

    let mut out: BTreeMap<String, String> = FIXED
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (name, value) in [
        ("max_connections", max_connections.to_string()),
        ("shared_buffers", mb(memory_mb / 4)),
        ("effective_cache_size", mb(memory_mb * 3 / 4)),
        ("maintenance_work_mem", mb((memory_mb / 20).clamp(64, 1024))),
        ("work_mem", mb(work_mem_mb)),
        ("max_wal_size", mb((storage_mb / 10).clamp(256, 16 * 1024))),
    ] {
        out.insert(name.to_string(), value);
    }
    out
}

/// All parameter errors of `overrides` for an instance of `memory` and `storage` bytes (when
/// those parsed): names, values, cross-parameter rules, and the CRD's 50-entry cap.
pub(in super::super) fn validate_overrides(
    overrides: &BTreeMap<String, String>,
    memory: Option<u64>,
    storage: Option<u64>,
) -> Vec<FieldError> {
    let mut errors = check_names_and_values(overrides);
    let kb = |name: &str| overrides.get(name).and_then(|v| memory_kb(v));
    let to_kb = |bytes: u64| i64::try_from(bytes / 1024).unwrap_or(i64::MAX);

    if let (Some(shared_buffers), Some(memory)) = (kb("shared_buffers"), memory)
        && shared_buffers > to_kb(memory) / 2
    {
        errors.push(FieldError::new(
            "parameters.shared_buffers",
            "must be at most half of resources.memory, or PostgreSQL runs out of memory",
        ));
    }
    if let (Some(max_wal), Some(storage)) = (kb("max_wal_size"), storage)
        && max_wal > to_kb(storage) / 2
    {
        errors.push(FieldError::new(
            "parameters.max_wal_size",
            "must be at most half of storage.size, or WAL can fill the data volume",
        ));
    }
    if let (Some(min_wal), Some(storage)) = (kb("min_wal_size"), storage) {
        let max_wal = kb("max_wal_size").unwrap_or_else(|| {
            let derived = derived(memory.unwrap_or(0), storage, overrides);
            derived
                .get("max_wal_size")
                .and_then(|v| memory_kb(v))
                .unwrap_or(i64::MAX)
        });
        if min_wal > max_wal {
            errors.push(FieldError::new(
                "parameters.min_wal_size",
                "must not exceed max_wal_size",
            ));
        }
    }
    if let (Some(connections), Some(memory)) = (
        overrides
            .get("max_connections")
            .and_then(|v| v.parse::<u64>().ok()),
        memory,
    ) && connections > memory / MIB
    {
        errors.push(FieldError::new(
            "parameters.max_connections",
            format!(
                "must be at most one per MiB of memory ({} here): enable the pooler for more clients",
                memory / MIB
            ),
        ));
    }
    let preloaded = overrides
        .get("shared_preload_libraries")
        .map_or(FIXED_PRELOAD, String::as_str);
    if !library_list(preloaded).contains(&"auto_explain") {
        for name in overrides.keys().filter(|k| k.starts_with("auto_explain.")) {
            errors.push(FieldError::new(
                format!("parameters.{name}"),
                "has no effect unless shared_preload_libraries includes auto_explain",
            ));
        }
    }
    let defaults = derived(memory.unwrap_or(0), storage.unwrap_or(0), overrides);
    let total = defaults
        .keys()
        .chain(overrides.keys().filter(|k| !defaults.contains_key(*k)))
        .count();
    if total > MAX_PARAMETERS {
        errors.push(FieldError::new(
            "parameters",
            format!(
                "sets {total} parameters together with pgplane's defaults; PGO accepts at most \
                 {MAX_PARAMETERS}"
            ),
        ));
    }
    errors
}

/// Names of the effective parameters that need a restart and differ between `old` and `new`.
pub fn restart_parameters(old: &ClusterSpec, new: &ClusterSpec) -> Vec<String> {
    let (before, after) = (effective(old), effective(new));
    let mut names: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| lookup(name).is_some_and(|p| p.restart))
        .filter(|name| before.get(name) != after.get(name))
        .collect()
}

/// Whether moving from `old` to `new` restarts PostgreSQL (one instance at a time when HA):
/// a restart-context parameter changes, or the instance pods are rebuilt because CPU or memory
/// change, or monitoring or backups are toggled (sidecars and preloaded libraries change).
pub fn restart_required(old: &ClusterSpec, new: &ClusterSpec) -> bool {
    !restart_parameters(old, new).is_empty()
        || old.resources != new.resources
        || old.monitoring.enabled != new.monitoring.enabled
        || old.backups.enabled != new.backups.enabled
}

/// `megabytes` written the way a DBA would: whole gigabytes as `GB`, otherwise `MB`.
fn mb(megabytes: u64) -> String {
    if megabytes >= 1024 && megabytes.is_multiple_of(1024) {
        format!("{}GB", megabytes / 1024)
    } else {
        format!("{megabytes}MB")
    }
}

#[cfg(test)]
mod tests;
