use chrono::{DateTime, Utc};

use super::*;
use crate::domain::insights::forecast::{points_of, storage_forecast};
use crate::domain::insights::snapshot::{
    Connections, Database, ForeignKey, Index, Replica, Server, Snapshot, Table,
};

const GIB: i64 = 1 << 30;

fn cluster() -> ClusterFacts {
    ClusterFacts {
        storage_bytes: 10 * GIB,
        memory_bytes: 2 * GIB,
        pooler_enabled: false,
    }
}

fn at(seconds: i64, snapshot: Snapshot) -> Taken {
    Taken {
        taken_at: DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).unwrap(),
        snapshot,
    }
}

fn table(name: &str, live: i64, dead: i64) -> Table {
    Table {
        schema: "public".into(),
        name: name.into(),
        bytes: 1 << 20,
        live_rows: live,
        dead_rows: dead,
        seq_scans: 0,
        seq_rows_read: 0,
        index_scans: 0,
        last_autovacuum: None,
        xid_age: 100,
    }
}

fn index(table: &str, name: &str, columns: &[i16], scans: i64) -> Index {
    Index {
        schema: "public".into(),
        table: table.into(),
        name: name.into(),
        bytes: 8192 * 10,
        scans,
        columns: columns.to_vec(),
        unique: false,
        primary: false,
        constraint: false,
        valid: true,
        partial_or_expression: false,
        definition: format!("CREATE INDEX {name} ON public.{table} USING btree (…)"),
    }
}

fn primary_key(table: &str) -> Index {
    Index {
        unique: true,
        primary: true,
        constraint: true,
        ..index(table, &format!("{table}_pkey"), &[1], 100)
    }
}

fn db(tables: Vec<Table>, indexes: Vec<Index>, foreign_keys: Vec<ForeignKey>) -> Database {
    Database {
        name: "app".into(),
        bytes: GIB,
        xid_age: 1000,
        tables,
        indexes,
        foreign_keys,
        ..Database::default()
    }
}

fn fk(table: &str, columns: &[i16], names: &[&str]) -> ForeignKey {
    ForeignKey {
        schema: "public".into(),
        table: table.into(),
        name: format!("{table}_fk"),
        columns: columns.to_vec(),
        column_names: names.iter().map(|s| s.to_string()).collect(),
        references: "public.customers".into(),
    }
}

fn snapshot(databases: Vec<Database>) -> Snapshot {
    Snapshot {
        server: Server {
            max_connections: 100,
            shared_buffers_bytes: GIB / 2,
            work_mem_bytes: 4 << 20,
            ..Server::default()
        },
        databases,
        ..Snapshot::default()
    }
}

/// The findings of the window from `oldest` to `newest`, an index unused since `oldest`.
fn run(
    oldest: &Taken,
    newest: &Taken,
    forecast: Option<&Forecast>,
    cluster: &ClusterFacts,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    let evidence = Evidence {
        oldest,
        newest,
        unused_since: Some(oldest),
        forecast,
    };
    findings(&evidence, cluster, thresholds)
}

fn only(newest: &Taken) -> Vec<Finding> {
    run(newest, newest, None, &cluster(), &Thresholds::default())
}

fn kinds(found: &[Finding]) -> Vec<FindingKind> {
    found.iter().map(|f| f.kind).collect()
}

#[test]
fn a_foreign_key_without_an_index_starting_with_its_columns_is_found_with_the_sql() {
    let orders = db(
        vec![table("orders", 50_000, 0), table("items", 10, 0)],
        vec![
            primary_key("orders"),
            // (customer_id, created_at) on items covers items' key on customer_id.
            index("items", "items_customer_created", &[3, 4], 5),
        ],
        vec![
            fk("orders", &[2], &["customer_id"]),
            fk("items", &[3], &["customer_id"]),
        ],
    );
    let found = only(&at(0, snapshot(vec![orders])));
    assert_eq!(kinds(&found), [FindingKind::UnindexedForeignKey]);
    let f = &found[0];
    assert_eq!(f.object.as_deref(), Some("public.orders (customer_id)"));
    assert_eq!(
        f.sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);")
    );
    assert_eq!(f.evidence["table_rows"], 50_000);
}

#[test]
fn an_index_is_unused_only_when_observed_long_enough_without_a_scan() {
    let week = 7 * 24 * 3600;
    let then = db(
        vec![table("orders", 10, 0)],
        vec![
            primary_key("orders"),
            index("orders", "orders_note", &[5], 3),
            index("orders", "orders_day", &[6], 3),
        ],
        vec![],
    );
    let mut now = then.clone();
    now.indexes[2].scans = 9; // orders_day was used
    let (oldest, newest) = (at(0, snapshot(vec![then])), at(week, snapshot(vec![now])));
    let found = run(&oldest, &newest, None, &cluster(), &Thresholds::default());
    let unused: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::UnusedIndex)
        .collect();
    assert_eq!(unused.len(), 1, "{found:#?}");
    assert_eq!(unused[0].object.as_deref(), Some("public.orders_note"));
    assert_eq!(unused[0].evidence["index_bytes"], 81920);
    assert_eq!(
        unused[0].sql.as_deref(),
        Some("DROP INDEX CONCURRENTLY public.orders_note;")
    );
    // A day is not long enough to call it unused.
    let early = at(24 * 3600, newest.snapshot.clone());
    let found = run(&oldest, &early, None, &cluster(), &Thresholds::default());
    assert!(!kinds(&found).contains(&FindingKind::UnusedIndex));
}

#[test]
fn of_two_identical_indexes_one_is_reported_and_a_prefix_of_another_is_covered() {
    let tables = vec![table("orders", 10, 0)];
    let indexes = vec![
        primary_key("orders"),
        index("orders", "orders_a", &[2], 1),
        index("orders", "orders_b", &[2], 1),
        index("orders", "orders_c_d", &[3, 4], 1),
        index("orders", "orders_c", &[3], 1),
        // A unique index on the primary key's column is kept: it is a constraint's index.
        Index {
            unique: true,
            ..index("orders", "orders_id_unique", &[1], 1)
        },
    ];
    let found = only(&at(0, snapshot(vec![db(tables, indexes, vec![])])));
    let mut duplicates: Vec<&str> = found
        .iter()
        .filter(|f| f.kind == FindingKind::DuplicateIndex)
        .filter_map(|f| f.object.as_deref())
        .collect();
    duplicates.sort();
    assert_eq!(duplicates, ["public.orders_b", "public.orders_c"]);
}

#[test]
fn dead_rows_wraparound_and_invalid_indexes_are_found_with_their_severity() {
    let mut database = db(
        vec![table("queue", 10_000, 30_000), table("small", 10, 5_000)],
        vec![Index {
            valid: false,
            ..index("queue", "queue_broken", &[2], 0)
        }],
        vec![],
    );
    database.xid_age = 1_600_000_000;
    let found = only(&at(0, snapshot(vec![database])));
    let dead: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::DeadRows)
        .collect();
    assert_eq!(dead.len(), 1, "a small table is left alone");
    assert_eq!(dead[0].severity, Severity::Critical);
    assert_eq!(dead[0].evidence["dead_rows"], 30_000);
    let wrap = found
        .iter()
        .find(|f| f.kind == FindingKind::TransactionIdWraparound)
        .unwrap();
    assert_eq!(wrap.severity, Severity::Critical);
    assert!(kinds(&found).contains(&FindingKind::InvalidIndex));
    assert_eq!(found[0].severity, Severity::Critical, "most severe first");
}

#[test]
fn saturated_connections_suggest_enabling_the_pooler_unless_it_is_on() {
    let mut snap = snapshot(vec![]);
    snap.connections = Connections {
        by_state: [("idle".to_string(), 70), ("active".to_string(), 15)].into(),
        ..Connections::default()
    };
    let newest = at(0, snap);
    let found = only(&newest);
    let f = found
        .iter()
        .find(|f| f.kind == FindingKind::ConnectionSaturation)
        .unwrap();
    assert_eq!(f.evidence["connections"], 85);
    let action = f.action.as_ref().unwrap();
    assert_eq!(
        (action.method.as_str(), &action.body),
        ("PATCH", &json!({"pooler": {"enabled": true}}))
    );
    let pooled = ClusterFacts {
        pooler_enabled: true,
        ..cluster()
    };
    let found = run(&newest, &newest, None, &pooled, &Thresholds::default());
    assert!(found.iter().all(|f| f.action.is_none()));
}

#[test]
fn storage_filling_within_a_month_suggests_a_resize_lasting_ninety_days() {
    // 9 GiB used of 10, growing 100 MiB a day: about 10 days left.
    let mib = 1_i64 << 20;
    let history: Vec<Taken> = (0..4)
        .map(|day| {
            let mut database = db(vec![], vec![], vec![]);
            database.bytes = 9 * GIB + day * 100 * mib;
            at(day * 86400, snapshot(vec![database]))
        })
        .collect();
    let newest = history.last().unwrap();
    let forecast = |capacity| storage_forecast(points_of(&history), capacity).unwrap();
    let found = run(
        &history[0],
        newest,
        Some(&forecast(10 * GIB)),
        &cluster(),
        &Thresholds::default(),
    );
    let f = found
        .iter()
        .find(|f| f.kind == FindingKind::DiskFullSoon)
        .expect("disk full soon");
    assert_eq!(f.severity, Severity::Warning);
    // 9.3 GiB + 90 × 100 MiB = 18.1 GiB, with 20% headroom: 22Gi.
    assert_eq!(
        f.action.as_ref().unwrap().body,
        json!({"storage": {"size": "22Gi"}})
    );
    let roomy = ClusterFacts {
        storage_bytes: 100 * GIB,
        ..cluster()
    };
    let found = run(
        &history[0],
        newest,
        Some(&forecast(100 * GIB)),
        &roomy,
        &Thresholds::default(),
    );
    assert!(!kinds(&found).contains(&FindingKind::DiskFullSoon));
}

#[test]
fn replication_lag_and_parameters_out_of_line_are_found() {
    let mut snap = snapshot(vec![]);
    snap.replicas = vec![
        Replica {
            name: "orders-2".into(),
            lag_bytes: 2 * GIB,
            replay_lag_seconds: Some(5.0),
        },
        Replica {
            name: "orders-3".into(),
            lag_bytes: 0,
            replay_lag_seconds: Some(0.1),
        },
    ];
    snap.server.shared_buffers_bytes = GIB * 3 / 2; // 75% of 2 GiB
    snap.server.work_mem_bytes = 64 << 20; // × 100 connections = 6.25 GiB
    let found = only(&at(0, snap));
    let lagging: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::ReplicationLag)
        .filter_map(|f| f.object.as_deref())
        .collect();
    assert_eq!(lagging, ["orders-2"]);
    let parameters: Vec<_> = found
        .iter()
        .filter(|f| f.kind == FindingKind::ParameterOutOfLine)
        .filter_map(|f| f.object.as_deref())
        .collect();
    assert_eq!(parameters, ["work_mem", "shared_buffers"]);
}

#[test]
fn a_healthy_cluster_has_no_findings() {
    let database = db(
        vec![table("orders", 10_000, 100)],
        vec![
            primary_key("orders"),
            index("orders", "orders_customer", &[2], 50),
        ],
        vec![fk("orders", &[2], &["customer_id"])],
    );
    let week = 7 * 24 * 3600;
    let oldest = at(0, snapshot(vec![database.clone()]));
    let mut used = database;
    used.indexes[1].scans = 80;
    let newest = at(week, snapshot(vec![used]));
    let forecast = storage_forecast(points_of(&[oldest.clone(), newest.clone()]), 10 * GIB);
    let found = run(
        &oldest,
        &newest,
        forecast.as_ref(),
        &cluster(),
        &Thresholds::default(),
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn identifiers_that_need_quotes_get_them() {
    assert_eq!(quote("orders"), "orders");
    assert_eq!(quote("Order Items"), "\"Order Items\"");
    assert_eq!(quote("a\"b"), "\"a\"\"b\"");
}

#[test]
fn spans_read_as_people_say_them() {
    let s = |secs| span_text(Duration::from_secs(secs));
    assert_eq!(
        [s(30), s(600), s(5 * 3600), s(7 * 86400)],
        ["30 s", "10 min", "5 h", "7.0 days"]
    );
}
