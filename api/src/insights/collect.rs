//! One snapshot of a cluster, read over a connection as pgplane's monitoring role (a member of
//! `pg_monitor`: statistics and catalogs, never a tenant's rows). Server-wide figures come from
//! the `postgres` database, where pgplane creates `pg_stat_statements`; each tenant database is
//! visited for its tables, indexes and foreign keys. Every statement runs under a
//! `statement_timeout`, so a slow cluster costs at most its budget.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use crate::domain::insights::snapshot::{
    Connections, Database, ForeignKey, Index, Replica, STATEMENT_TEXT_KEPT, STATEMENTS_KEPT,
    Server, Session, Snapshot, Statement, Table,
};

/// Tables and indexes kept per database (the largest).
const TABLES_KEPT: i64 = 500;
const INDEXES_KEPT: i64 = 2000;

/// Reads the server-wide part over `conn` (connected to the `postgres` database).
pub async fn server_part(conn: &mut PgConnection) -> sqlx::Result<Snapshot> {
    let (version_num, max_connections, shared_buffers_bytes, work_mem_bytes, recovery): (
        i64,
        i64,
        i64,
        i64,
        bool,
    ) = sqlx::query_as(
        "select current_setting('server_version_num')::bigint,
                current_setting('max_connections')::bigint,
                pg_size_bytes(current_setting('shared_buffers')),
                pg_size_bytes(current_setting('work_mem')),
                pg_is_in_recovery()",
    )
    .fetch_one(&mut *conn)
    .await?;
    let statements_available: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_extension where extname = 'pg_stat_statements')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut snapshot = Snapshot {
        server: Server {
            version_num,
            max_connections,
            shared_buffers_bytes,
            work_mem_bytes,
            statements_available,
            statements_reset_at: None,
        },
        connections: connections(conn).await?,
        ..Snapshot::default()
    };
    if statements_available {
        snapshot.statements = statements(conn).await?;
        if version_num >= 140000 {
            snapshot.server.statements_reset_at =
                sqlx::query_scalar("select stats_reset from pg_stat_statements_info")
                    .fetch_optional(&mut *conn)
                    .await?
                    .flatten();
        }
    }
    if !recovery {
        snapshot.replicas = replicas(conn).await?;
    }
    Ok(snapshot)
}

async fn connections(conn: &mut PgConnection) -> sqlx::Result<Connections> {
    let by_state: Vec<(String, i64)> = sqlx::query_as(
        "select coalesce(state, 'unknown'), count(*) from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid() group by 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let waiting_on_locks: i64 =
        sqlx::query_scalar("select count(*) from pg_stat_activity where wait_event_type = 'Lock'")
            .fetch_one(&mut *conn)
            .await?;
    let longest: Vec<SessionRow> = sqlx::query_as(
        "select pid, datname::text, usename::text, state,
                    extract(epoch from now() - xact_start)::float8, left(query, 200)
               from pg_stat_activity
              where xact_start is not null and backend_type = 'client backend'
                and pid <> pg_backend_pid()
              order by xact_start limit 5",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Connections {
        by_state: by_state.into_iter().collect::<BTreeMap<_, _>>(),
        waiting_on_locks,
        longest_transactions: longest
            .into_iter()
            .map(|(pid, database, user, state, seconds, query)| Session {
                pid: i64::from(pid),
                database: database.unwrap_or_default(),
                user: user.unwrap_or_default(),
                state: state.unwrap_or_default(),
                transaction_seconds: seconds,
                query,
            })
            .collect(),
    })
}

type SessionRow = (
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    f64,
    String,
);
type StatementRow = (i64, String, String, String, i64, f64, i64, i64, i64);

async fn statements(conn: &mut PgConnection) -> sqlx::Result<Vec<Statement>> {
    // pgplane's own statements are left out: this role's, and the superuser's (the platform's
    // own work: backups, archiving, roles; tenants never get a superuser).
    let rows: Vec<StatementRow> = sqlx::query_as(
        "select s.queryid, d.datname::text, pg_get_userbyid(s.userid)::text, left(s.query, $1),
                s.calls, s.total_exec_time, s.rows, s.shared_blks_read, s.shared_blks_hit
           from pg_stat_statements s join pg_database d on d.oid = s.dbid
          where s.queryid is not null
            and s.userid not in (select oid from pg_roles where rolname = current_user or rolsuper)
          order by s.total_exec_time desc limit $2",
    )
    .bind(STATEMENT_TEXT_KEPT as i32)
    .bind(STATEMENTS_KEPT as i64)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(queryid, database, user, query, calls, total_ms, rows, read, hit)| Statement {
                queryid,
                database,
                user,
                query,
                calls,
                total_ms,
                rows,
                blocks_read: read,
                blocks_hit: hit,
            },
        )
        .collect())
}

async fn replicas(conn: &mut PgConnection) -> sqlx::Result<Vec<Replica>> {
    let rows: Vec<(Option<String>, i64, Option<f64>)> = sqlx::query_as(
        "select application_name,
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
                extract(epoch from replay_lag)::float8
           from pg_stat_replication",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, lag_bytes, replay_lag_seconds)| Replica {
            name: name.unwrap_or_default(),
            lag_bytes,
            replay_lag_seconds,
        })
        .collect())
}

type TableRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<DateTime<Utc>>,
    i32,
);
type IndexRow = (
    String,
    String,
    String,
    i64,
    i64,
    Vec<i16>,
    bool,
    bool,
    bool,
    bool,
    bool,
    String,
);
type ForeignKeyRow = (String, String, String, Vec<i16>, Vec<String>, String);

/// Reads one database's part over `conn` (connected to it).
pub async fn database_part(conn: &mut PgConnection) -> sqlx::Result<Database> {
    let (name, bytes, xid_age, blocks_read, blocks_hit): (String, i64, i32, i64, i64) =
        sqlx::query_as(
            "select d.datname::text, pg_database_size(d.oid), age(d.datfrozenxid),
                    coalesce(s.blks_read, 0), coalesce(s.blks_hit, 0)
               from pg_database d left join pg_stat_database s on s.datid = d.oid
              where d.datname = current_database()",
        )
        .fetch_one(&mut *conn)
        .await?;
    let tables: Vec<TableRow> = sqlx::query_as(
        "select t.schemaname::text, t.relname::text, pg_total_relation_size(t.relid),
                t.n_live_tup, t.n_dead_tup, t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0),
                t.last_autovacuum, age(c.relfrozenxid)
           from pg_stat_user_tables t join pg_class c on c.oid = t.relid
          order by 3 desc limit $1",
    )
    .bind(TABLES_KEPT)
    .fetch_all(&mut *conn)
    .await?;
    let indexes: Vec<IndexRow> = sqlx::query_as(
        "select n.nspname::text, t.relname::text, i.relname::text, pg_relation_size(i.oid),
                coalesce(s.idx_scan, 0),
                array(select k from unnest(x.indkey) with ordinality u(k, o) order by o),
                x.indisunique, x.indisprimary,
                exists (select 1 from pg_constraint c where c.conindid = x.indexrelid),
                x.indisvalid, x.indpred is not null or x.indexprs is not null,
                pg_get_indexdef(x.indexrelid)
           from pg_index x
           join pg_class i on i.oid = x.indexrelid
           join pg_class t on t.oid = x.indrelid
           join pg_namespace n on n.oid = t.relnamespace
           left join pg_stat_user_indexes s on s.indexrelid = x.indexrelid
          where n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg_toast%'
          order by 4 desc limit $1",
    )
    .bind(INDEXES_KEPT)
    .fetch_all(&mut *conn)
    .await?;
    let foreign_keys: Vec<ForeignKeyRow> = sqlx::query_as(
        "select n.nspname::text, t.relname::text, c.conname::text, c.conkey,
                array(select a.attname::text
                        from unnest(c.conkey) with ordinality k(num, ord)
                        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.num
                       order by k.ord),
                c.confrelid::regclass::text
           from pg_constraint c
           join pg_class t on t.oid = c.conrelid
           join pg_namespace n on n.oid = t.relnamespace
          where c.contype = 'f' and n.nspname not in ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Database {
        name,
        bytes,
        xid_age: i64::from(xid_age),
        blocks_read,
        blocks_hit,
        tables: tables.into_iter().map(table).collect(),
        indexes: indexes.into_iter().map(index).collect(),
        foreign_keys: foreign_keys
            .into_iter()
            .map(
                |(schema, table, name, columns, column_names, references)| ForeignKey {
                    schema,
                    table,
                    name,
                    columns,
                    column_names,
                    references,
                },
            )
            .collect(),
    })
}

fn table(row: TableRow) -> Table {
    let (schema, name, bytes, live, dead, seq, seq_read, idx, vacuumed, xid_age) = row;
    Table {
        schema,
        name,
        bytes,
        live_rows: live,
        dead_rows: dead,
        seq_scans: seq,
        seq_rows_read: seq_read,
        index_scans: idx,
        last_autovacuum: vacuumed,
        xid_age: i64::from(xid_age),
    }
}

fn index(row: IndexRow) -> Index {
    let (
        schema,
        table,
        name,
        bytes,
        scans,
        columns,
        unique,
        primary,
        constraint,
        valid,
        partial,
        definition,
    ) = row;
    Index {
        schema,
        table,
        name,
        bytes,
        scans,
        columns,
        unique,
        primary,
        constraint,
        valid,
        partial_or_expression: partial,
        definition,
    }
}

/// Closes a connection, ignoring errors (the server may be going away).
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}
