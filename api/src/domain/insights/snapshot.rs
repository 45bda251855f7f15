//! What one collection reads from a cluster's primary, as stored (JSON) and as the insights and
//! findings read it. Counters are PostgreSQL's cumulative ones (since its statistics were last
//! reset); insights take differences between two snapshots, never the totals.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One snapshot of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub server: Server,
    pub connections: Connections,
    /// The most expensive statements by total time (at most [`STATEMENTS_KEPT`]).
    pub statements: Vec<Statement>,
    /// The tenant's databases (the cluster's own and its users').
    pub databases: Vec<Database>,
    /// Streaming replicas as the primary sees them.
    #[serde(default)]
    pub replicas: Vec<Replica>,
}

/// How many statements a snapshot keeps, and how much of each one's text.
pub const STATEMENTS_KEPT: usize = 100;
pub const STATEMENT_TEXT_KEPT: usize = 2000;

/// Server-wide facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// `server_version_num`.
    pub version_num: i64,
    pub max_connections: i64,
    pub shared_buffers_bytes: i64,
    pub work_mem_bytes: i64,
    /// Whether `pg_stat_statements` could be read (preloaded and created).
    pub statements_available: bool,
    /// When the statement statistics were last reset, if known.
    #[serde(default)]
    pub statements_reset_at: Option<DateTime<Utc>>,
}

/// Client connections right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    /// Client backends by `state` (`active`, `idle`, `idle in transaction`, …).
    pub by_state: BTreeMap<String, i64>,
    /// Backends waiting for a lock.
    pub waiting_on_locks: i64,
    /// The longest-running transactions (at most 5), oldest first.
    pub longest_transactions: Vec<Session>,
}

impl Connections {
    pub fn total(&self) -> i64 {
        self.by_state.values().sum()
    }
}

/// A session with an open transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub pid: i64,
    pub database: String,
    pub user: String,
    pub state: String,
    pub transaction_seconds: f64,
    /// The start of its current (or last) statement.
    pub query: String,
}

/// One normalised statement's cumulative figures (`pg_stat_statements`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub queryid: i64,
    pub database: String,
    pub user: String,
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub rows: i64,
    /// Blocks read from outside shared buffers and found in them.
    pub blocks_read: i64,
    pub blocks_hit: i64,
}

/// One database's size, age and objects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub bytes: i64,
    /// `age(datfrozenxid)`: transactions since everything was last frozen.
    pub xid_age: i64,
    pub blocks_read: i64,
    pub blocks_hit: i64,
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// A user table (`pg_stat_user_tables` and its size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// Heap, indexes and TOAST.
    pub bytes: i64,
    pub live_rows: i64,
    pub dead_rows: i64,
    pub seq_scans: i64,
    pub seq_rows_read: i64,
    pub index_scans: i64,
    pub last_autovacuum: Option<DateTime<Utc>>,
    pub xid_age: i64,
}

/// An index of a user table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub schema: String,
    pub table: String,
    pub name: String,
    pub bytes: i64,
    pub scans: i64,
    /// Column numbers (`pg_index.indkey`; 0 for an expression).
    pub columns: Vec<i16>,
    pub unique: bool,
    pub primary: bool,
    /// Backs a constraint (primary key, unique, exclusion): dropping it is not an option.
    pub constraint: bool,
    /// Usable (`indisvalid`); an invalid index is a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
    /// Has a `WHERE` clause or expressions: compared only with identical definitions.
    pub partial_or_expression: bool,
    /// `pg_get_indexdef`.
    pub definition: String,
}

/// A foreign key of a user table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// Column numbers of the referencing columns, in key order.
    pub columns: Vec<i16>,
    pub column_names: Vec<String>,
    /// `schema.table` it references.
    pub references: String,
}

/// A streaming replica (`pg_stat_replication`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    pub name: String,
    pub lag_bytes: i64,
    pub replay_lag_seconds: Option<f64>,
}

/// A stored snapshot: when it was taken and what it read.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub taken_at: DateTime<Utc>,
    pub snapshot: Snapshot,
}
