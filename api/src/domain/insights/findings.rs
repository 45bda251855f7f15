//! Findings: what a DBA would point out in a cluster, each with its severity, the evidence in
//! numbers, why it matters and what to do. They are computed from the newest snapshot and, for
//! what needs time (an index never used, growth), the oldest one of the window. SQL advice is
//! shown for the tenant to run; pgplane never runs DDL in a tenant's database. Where pgplane
//! has an operation for the remedy, the finding carries the API call the portal would make.
//!
//! The thresholds follow PgHero's and Supabase's advisors where they publish them.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::forecast::Forecast;
use super::snapshot::{Database, Index, Taken};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    UnindexedForeignKey,
    UnusedIndex,
    DuplicateIndex,
    InvalidIndex,
    SequentialScans,
    DeadRows,
    TransactionIdWraparound,
    ConnectionSaturation,
    ReplicationLag,
    DiskFullSoon,
    ParameterOutOfLine,
}

/// The API call that carries out the remedy (as the portal makes it).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SuggestedAction {
    pub method: String,
    /// Relative to the cluster: `""` is `PATCH /v1/tenants/{tenant}/clusters/{cluster}`.
    pub path: String,
    #[schema(value_type = Object)]
    pub body: Value,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The database it concerns, when one.
    pub database: Option<String>,
    /// The object it concerns (`schema.table`, an index, a replica), when one.
    pub object: Option<String>,
    pub title: String,
    /// The numbers behind it.
    #[schema(value_type = Object)]
    pub evidence: Value,
    pub why: String,
    pub advice: String,
    /// SQL for the tenant to run (pgplane never runs DDL in a tenant's database).
    pub sql: Option<String>,
    pub action: Option<SuggestedAction>,
}

/// What the findings need to know of the cluster beyond its snapshots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterFacts {
    pub storage_bytes: i64,
    pub memory_bytes: i64,
    pub pooler_enabled: bool,
}

/// Thresholds that tests (and platform teams) may change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// How long an index must be seen unused before it is called unused.
    pub unused_index_after: Duration,
    /// Dead rows from which a table is looked at, and the share of dead rows that is too much.
    pub dead_rows_min: i64,
    pub dead_rows_share: f64,
    /// A table this large read mostly by sequential scans is worth an index.
    pub seq_scan_table_bytes: i64,
    /// Storage running out within this many days is a finding...
    pub disk_full_days: f64,
    /// ...when the growth was measured over at least this long (a few minutes of a new
    /// cluster's first tables say nothing about next month).
    pub forecast_min_span: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            unused_index_after: Duration::from_secs(7 * 24 * 3600),
            dead_rows_min: 10_000,
            dead_rows_share: 0.2,
            seq_scan_table_bytes: 64 << 20,
            disk_full_days: 30.0,
            forecast_min_span: Duration::from_secs(6 * 3600),
        }
    }
}

/// `xid_age` from which wraparound is a warning, and critical (of the 2^31 PostgreSQL allows).
const XID_WARNING: i64 = 1_000_000_000;
const XID_CRITICAL: i64 = 1_500_000_000;
/// Share of `max_connections` in use from which the pooler is suggested.
const CONNECTIONS_SHARE: f64 = 0.8;
/// Replication lag that is a finding.
const LAG_SECONDS: f64 = 60.0;
const LAG_BYTES: i64 = 1 << 30;
/// Storage a resize should last for.
const RESIZE_FOR_DAYS: f64 = 90.0;

/// The snapshots a set of findings is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The window's first and last snapshots (the same one when there is one).
    pub oldest: &'a Taken,
    pub newest: &'a Taken,
    /// The newest snapshot at least [`Thresholds::unused_index_after`] older than `newest`:
    /// an index with as many scans then as now is unused (none: not observed long enough).
    pub unused_since: Option<&'a Taken>,
    /// Storage over the window.
    pub forecast: Option<&'a Forecast>,
}

/// Every finding the evidence supports, most severe first.
pub fn findings(
    evidence: &Evidence<'_>,
    cluster: &ClusterFacts,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    let Evidence {
        oldest,
        newest,
        unused_since,
        forecast,
    } = *evidence;
    let mut out = Vec::new();
    for db in &newest.snapshot.databases {
        let named = |t: &Taken| {
            t.snapshot
                .databases
                .iter()
                .find(|d| d.name == db.name)
                .cloned()
        };
        unindexed_foreign_keys(db, &mut out);
        if let Some(reference) = unused_since
            && let Some(before) = named(reference)
        {
            let observed = (newest.taken_at - reference.taken_at)
                .to_std()
                .unwrap_or_default();
            if observed >= thresholds.unused_index_after {
                unused_indexes(db, &before, observed, &mut out);
            }
        }
        duplicate_indexes(db, &mut out);
        invalid_indexes(db, &mut out);
        if let Some(before) = named(oldest) {
            sequential_scans(db, &before, thresholds, &mut out);
        }
        dead_rows(db, thresholds, &mut out);
        wraparound(db, &mut out);
    }
    connections(newest, cluster, &mut out);
    replication(newest, &mut out);
    if let Some(forecast) = forecast
        && forecast
            .days_left
            .is_some_and(|d| d <= thresholds.disk_full_days)
        && forecast.span() >= thresholds.forecast_min_span
    {
        out.push(disk_full(forecast, cluster));
    }
    parameters(newest, cluster, &mut out);
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote(schema), quote(name))
}

/// An identifier as SQL needs it (quoted unless plain lowercase).
fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Whether one of `indexes` on `schema.table` starts with exactly `columns` (in any order).
fn covered(indexes: &[Index], schema: &str, table: &str, columns: &[i16]) -> bool {
    indexes.iter().any(|i| {
        i.schema == schema
            && i.table == table
            && i.valid
            && i.columns.len() >= columns.len()
            && columns
                .iter()
                .all(|c| i.columns[..columns.len()].contains(c))
    })
}

fn unindexed_foreign_keys(db: &Database, out: &mut Vec<Finding>) {
    for fk in &db.foreign_keys {
        if covered(&db.indexes, &fk.schema, &fk.table, &fk.columns) {
            continue;
        }
        let table = db
            .tables
            .iter()
            .find(|t| t.schema == fk.schema && t.name == fk.table);
        let columns = fk
            .column_names
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let object = qualified(&fk.schema, &fk.table);
        out.push(Finding {
            kind: FindingKind::UnindexedForeignKey,
            severity: Severity::Warning,
            database: Some(db.name.clone()),
            object: Some(format!("{object} ({columns})")),
            title: format!("Foreign key {} of {object} has no index", fk.name),
            evidence: json!({
                "foreign_key": fk.name,
                "columns": fk.column_names,
                "references": fk.references,
                "table_rows": table.map(|t| t.live_rows),
                "table_bytes": table.map(|t| t.bytes),
            }),
            why: format!(
                "Every delete or key update in {} scans {object} to find the rows that refer to \
                 it, and joins on ({columns}) cannot use an index.",
                fk.references
            ),
            advice: "Create an index on the foreign key's columns.".into(),
            sql: Some(format!(
                "CREATE INDEX CONCURRENTLY ON {object} ({columns});"
            )),
            action: None,
        });
    }
}

fn droppable(index: &Index) -> bool {
    !index.unique && !index.primary && !index.constraint
}

fn unused_indexes(db: &Database, before: &Database, observed: Duration, out: &mut Vec<Finding>) {
    for index in db.indexes.iter().filter(|i| i.valid && droppable(i)) {
        let Some(then) = before
            .indexes
            .iter()
            .find(|i| i.schema == index.schema && i.name == index.name)
        else {
            continue; // not seen for the whole window
        };
        if index.scans != then.scans {
            continue; // used (or its statistics were reset: nothing to say)
        }
        let object = qualified(&index.schema, &index.name);
        let days = observed.as_secs_f64() / 86400.0;
        let span = span_text(observed);
        out.push(Finding {
            kind: FindingKind::UnusedIndex,
            severity: Severity::Info,
            database: Some(db.name.clone()),
            object: Some(object.clone()),
            title: format!(
                "Index {object} on {} was not used in {span}",
                qualified(&index.schema, &index.table)
            ),
            evidence: json!({"index_bytes": index.bytes, "scans": 0, "observed_days": days}),
            why: "An index nobody reads still costs its disk space and slows every insert, \
                  update and delete of its table."
                .into(),
            advice: "Drop it unless it serves a rare but important query (a monthly report) \
                     or a replica's reads, which this primary does not see."
                .into(),
            sql: Some(format!("DROP INDEX CONCURRENTLY {object};")),
            action: None,
        });
    }
}

/// A duration as people say it: `45 s`, `12 min`, `5 h`, `7.0 days`.
fn span_text(span: Duration) -> String {
    let seconds = span.as_secs();
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        7200..172_800 => format!("{} h", seconds / 3600),
        _ => format!("{:.1} days", span.as_secs_f64() / 86400.0),
    }
}

fn duplicate_indexes(db: &Database, out: &mut Vec<Finding>) {
    let plain: Vec<&Index> = db
        .indexes
        .iter()
        .filter(|i| i.valid && !i.partial_or_expression && !i.columns.contains(&0))
        .collect();
    for redundant in &plain {
        if !droppable(redundant) {
            continue;
        }
        // The index that makes it redundant: the same columns (the first such one, so only
        // one of two identical indexes is reported), or the same columns and more.
        let cover = plain.iter().find(|other| {
            other.name != redundant.name
                && other.schema == redundant.schema
                && other.table == redundant.table
                && other.columns.starts_with(&redundant.columns)
                && (other.columns.len() > redundant.columns.len()
                    || !droppable(other)
                    || other.name < redundant.name)
        });
        let Some(cover) = cover else { continue };
        let object = qualified(&redundant.schema, &redundant.name);
        let same = cover.columns == redundant.columns;
        out.push(Finding {
            kind: FindingKind::DuplicateIndex,
            severity: Severity::Warning,
            database: Some(db.name.clone()),
            object: Some(object.clone()),
            title: if same {
                format!("Index {object} duplicates {}", quote(&cover.name))
            } else {
                format!("Index {object} is covered by {}", quote(&cover.name))
            },
            evidence: json!({
                "index_bytes": redundant.bytes,
                "definition": redundant.definition,
                "covered_by": cover.definition,
            }),
            why: format!(
                "{} answers every query {object} can, so {object} only costs disk space and \
                 slows writes.",
                quote(&cover.name)
            ),
            advice: "Drop the redundant index.".into(),
            sql: Some(format!("DROP INDEX CONCURRENTLY {object};")),
            action: None,
        });
    }
}

fn invalid_indexes(db: &Database, out: &mut Vec<Finding>) {
    for index in db.indexes.iter().filter(|i| !i.valid) {
        let object = qualified(&index.schema, &index.name);
        out.push(Finding {
            kind: FindingKind::InvalidIndex,
            severity: Severity::Warning,
            database: Some(db.name.clone()),
            object: Some(object.clone()),
            title: format!("Index {object} is invalid"),
            evidence: json!({"index_bytes": index.bytes, "definition": index.definition}),
            why: "A failed CREATE INDEX CONCURRENTLY leaves an index that queries never use but \
                  every write still maintains."
                .into(),
            advice: "Drop it and create it again.".into(),
            sql: Some(format!(
                "DROP INDEX CONCURRENTLY {object};\n{};",
                index
                    .definition
                    .replacen("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
            )),
            action: None,
        });
    }
}

fn sequential_scans(db: &Database, before: &Database, t: &Thresholds, out: &mut Vec<Finding>) {
    for table in db
        .tables
        .iter()
        .filter(|t2| t2.bytes >= t.seq_scan_table_bytes)
    {
        let Some(then) = before
            .tables
            .iter()
            .find(|x| x.schema == table.schema && x.name == table.name)
        else {
            continue;
        };
        let scans = table.seq_scans - then.seq_scans;
        let index_scans = (table.index_scans - then.index_scans).max(0);
        let rows = table.seq_rows_read - then.seq_rows_read;
        if scans < 10 || scans <= index_scans || rows / scans.max(1) < 10_000 {
            continue;
        }
        let object = qualified(&table.schema, &table.name);
        out.push(Finding {
            kind: FindingKind::SequentialScans,
            severity: Severity::Warning,
            database: Some(db.name.clone()),
            object: Some(object.clone()),
            title: format!("{object} is mostly read by sequential scans"),
            evidence: json!({
                "table_bytes": table.bytes,
                "sequential_scans": scans,
                "index_scans": index_scans,
                "rows_read_per_scan": rows / scans.max(1),
            }),
            why: "Each sequential scan reads the whole table; on a large table that is most of \
                  the I/O and time of the queries doing it."
                .into(),
            advice: "Find the statements filtering this table (top statements by I/O) and index \
                     the columns they filter on."
                .into(),
            sql: None,
            action: None,
        });
    }
}

fn dead_rows(db: &Database, t: &Thresholds, out: &mut Vec<Finding>) {
    for table in &db.tables {
        let total = table.live_rows + table.dead_rows;
        if table.dead_rows < t.dead_rows_min || total == 0 {
            continue;
        }
        let share = table.dead_rows as f64 / total as f64;
        if share < t.dead_rows_share {
            continue;
        }
        let object = qualified(&table.schema, &table.name);
        out.push(Finding {
            kind: FindingKind::DeadRows,
            severity: if share >= 0.5 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            database: Some(db.name.clone()),
            object: Some(object.clone()),
            title: format!("{:.0}% of {object}'s rows are dead", share * 100.0),
            evidence: json!({
                "dead_rows": table.dead_rows,
                "live_rows": table.live_rows,
                "dead_share": share,
                "last_autovacuum": table.last_autovacuum,
            }),
            why: "Dead rows take space and slow every scan until vacuum removes them; this many \
                  means autovacuum is falling behind the table's updates and deletes."
                .into(),
            advice: "Vacuum the table now, and make autovacuum visit it sooner (a lower \
                     autovacuum_vacuum_scale_factor for it)."
                .into(),
            sql: Some(format!(
                "VACUUM (VERBOSE, ANALYZE) {object};\nALTER TABLE {object} SET (autovacuum_vacuum_scale_factor = 0.05);"
            )),
            action: None,
        });
    }
}

fn wraparound(db: &Database, out: &mut Vec<Finding>) {
    if db.xid_age < XID_WARNING {
        return;
    }
    out.push(Finding {
        kind: FindingKind::TransactionIdWraparound,
        severity: if db.xid_age >= XID_CRITICAL {
            Severity::Critical
        } else {
            Severity::Warning
        },
        database: Some(db.name.clone()),
        object: None,
        title: format!(
            "Database {} is {:.0}% of the way to transaction ID wraparound",
            db.name,
            db.xid_age as f64 / 2_147_483_648.0 * 100.0
        ),
        evidence: json!({"xid_age": db.xid_age, "limit": 2_147_483_648_i64}),
        why: "Before transaction IDs wrap around PostgreSQL stops accepting writes until the \
              database is vacuumed, which can take hours on a large database."
            .into(),
        advice: "Find what keeps vacuum from freezing rows (long transactions, abandoned \
                 replication slots) and vacuum the oldest tables."
            .into(),
        sql: Some("VACUUM (FREEZE, VERBOSE);".into()),
        action: None,
    });
}

fn connections(newest: &Taken, cluster: &ClusterFacts, out: &mut Vec<Finding>) {
    let max = newest.snapshot.server.max_connections;
    let used = newest.snapshot.connections.total();
    if max <= 0 || (used as f64) < CONNECTIONS_SHARE * max as f64 {
        return;
    }
    out.push(Finding {
        kind: FindingKind::ConnectionSaturation,
        severity: if used >= max - 3 {
            Severity::Critical
        } else {
            Severity::Warning
        },
        database: None,
        object: None,
        title: format!("{used} of {max} connections are in use"),
        evidence: json!({"connections": used, "max_connections": max, "by_state": newest.snapshot.connections.by_state}),
        why: "Once max_connections is reached new clients are refused; each idle connection \
              also holds memory."
            .into(),
        advice: if cluster.pooler_enabled {
            "Connect the applications through the pooler endpoint instead of the primary."
                .into()
        } else {
            "Enable the connection pooler (PgBouncer) and connect the applications through it."
                .into()
        },
        sql: None,
        action: (!cluster.pooler_enabled).then(|| SuggestedAction {
            method: "PATCH".into(),
            path: String::new(),
            body: json!({"pooler": {"enabled": true}}),
        }),
    });
}

fn replication(newest: &Taken, out: &mut Vec<Finding>) {
    for replica in &newest.snapshot.replicas {
        let seconds = replica.replay_lag_seconds.unwrap_or(0.0);
        if seconds < LAG_SECONDS && replica.lag_bytes < LAG_BYTES {
            continue;
        }
        out.push(Finding {
            kind: FindingKind::ReplicationLag,
            severity: Severity::Warning,
            database: None,
            object: Some(replica.name.clone()),
            title: format!("Replica {} lags behind the primary", replica.name),
            evidence: json!({"lag_bytes": replica.lag_bytes, "replay_lag_seconds": replica.replay_lag_seconds}),
            why: "Reads from a lagging replica see old data, and a failover to it loses \
                  nothing but takes longer while it catches up."
                .into(),
            advice: "Look for long queries on the replica and heavy writes on the primary; give \
                     the instances more CPU or faster storage if it persists."
                .into(),
            sql: None,
            action: None,
        });
    }
}

fn disk_full(forecast: &Forecast, cluster: &ClusterFacts) -> Finding {
    let days = forecast.days_left.unwrap_or(0.0);
    let lasting = forecast.bytes_now as f64 + forecast.bytes_per_day * RESIZE_FOR_DAYS;
    let gib = ((lasting * 1.2) / (1u64 << 30) as f64).ceil().max(1.0) as i64;
    let gib = gib.max(cluster.storage_bytes / (1 << 30) + 1);
    Finding {
        kind: FindingKind::DiskFullSoon,
        severity: if days <= 7.0 {
            Severity::Critical
        } else {
            Severity::Warning
        },
        database: None,
        object: None,
        title: format!("Storage fills in {days:.0} days at the current rate"),
        evidence: json!({
            "bytes_now": forecast.bytes_now,
            "bytes_per_day": forecast.bytes_per_day,
            "capacity_bytes": cluster.storage_bytes,
            "full_at": forecast.full_at,
        }),
        why: "A primary whose volume is full stops; PostgreSQL cannot write WAL.".into(),
        advice: format!("Resize the storage to {gib}Gi, which lasts about 90 days at this rate."),
        sql: None,
        action: Some(SuggestedAction {
            method: "PATCH".into(),
            path: String::new(),
            body: json!({"storage": {"size": format!("{gib}Gi")}}),
        }),
    }
}

fn parameters(newest: &Taken, cluster: &ClusterFacts, out: &mut Vec<Finding>) {
    let server = &newest.snapshot.server;
    let memory = cluster.memory_bytes;
    if memory <= 0 || server.shared_buffers_bytes <= 0 {
        return;
    }
    let share = server.shared_buffers_bytes as f64 / memory as f64;
    if !(0.1..=0.4).contains(&share) {
        out.push(Finding {
            kind: FindingKind::ParameterOutOfLine,
            severity: Severity::Info,
            database: None,
            object: Some("shared_buffers".into()),
            title: format!(
                "shared_buffers is {:.0}% of the instance's memory",
                share * 100.0
            ),
            evidence: json!({"shared_buffers_bytes": server.shared_buffers_bytes, "memory_bytes": memory}),
            why: "Around a quarter of the memory is the usual balance between PostgreSQL's \
                  cache and the operating system's."
                .into(),
            advice: "Remove the override so pgplane sizes it from the memory (25%), or set it \
                     between 10% and 40%."
                .into(),
            sql: None,
            action: None,
        });
    }
    let worst_case = server.work_mem_bytes.saturating_mul(server.max_connections);
    if server.work_mem_bytes > 0 && worst_case > memory.saturating_mul(2) {
        out.push(Finding {
            kind: FindingKind::ParameterOutOfLine,
            severity: Severity::Warning,
            database: None,
            object: Some("work_mem".into()),
            title: "work_mem × max_connections is more than twice the memory".into(),
            evidence: json!({
                "work_mem_bytes": server.work_mem_bytes,
                "max_connections": server.max_connections,
                "memory_bytes": memory,
            }),
            why: "Each sort or hash of each connection may use work_mem; with many busy \
                  connections the instance runs out of memory and is killed."
                .into(),
            advice: "Lower work_mem or max_connections (a pooler lets fewer connections serve \
                     the same clients)."
                .into(),
            sql: None,
            action: None,
        });
    }
}

#[cfg(test)]
mod tests;
