//! The virtual DBA on real clusters (issue 23): pgplane's collector reads snapshots as its
//! monitoring role, and the insights show what a workload made for the purpose causes: a
//! foreign key without an index, an index never used (with its real size), an index that
//! duplicates another, the statement that ran, exactly as often as it ran. A healthy control
//! cluster shows no finding. The monitoring role cannot read a tenant's rows. A suspended
//! cluster's snapshot fails with the reason while the other cluster's go on.

use std::time::{Duration, Instant};

use pgplane::domain::cluster::naming::INSIGHTS_ROLE;
use pgplane::platform::local::LocalOptions;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};
use uuid::Uuid;

use crate::harness::{LocalWorld, TENANT, small_cluster};

/// A snapshot every 2 s; an index is unused once seen without a scan for 4 s.
const ARGS: &[&str] = &[
    "--insights-interval-seconds",
    "2",
    "--insights-unused-index-after-seconds",
    "4",
    "--metrics-token",
    METRICS_TOKEN,
];
const METRICS_TOKEN: &str = "insights-scrape-token-0123456789";

/// The value of one series on `/metrics` (scraped with the token), if exposed.
async fn metric(world: &LocalWorld, series: &str) -> Option<f64> {
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let call = world
        .app
        .anonymous()
        .send(
            http::Method::GET,
            "/metrics",
            None,
            &[("authorization", &bearer)],
        )
        .await
        .expect(200);
    let text = String::from_utf8(call.body).expect("UTF-8");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `series` until `done` holds for its value (at most 60 s).
async fn metric_until(world: &LocalWorld, series: &str, done: impl Fn(f64) -> bool) -> f64 {
    let started = Instant::now();
    loop {
        if let Some(value) = metric(world, series).await
            && done(value)
        {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{series} is {:?}",
            metric(world, series).await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn insights(world: &LocalWorld, cluster: &str, query: &str) -> Value {
    world
        .app
        .admin()
        .get(&format!(
            "/v1/tenants/{TENANT}/clusters/{cluster}/insights{query}"
        ))
        .await
        .expect(200)
        .json()
}

/// Polls `cluster`'s insights until `done` holds (at most 90 s).
async fn insights_until(
    world: &LocalWorld,
    cluster: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let seen = insights(world, cluster, "?order=calls&page_size=100").await;
        if done(&seen) {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{cluster}: no {what} in time: {seen:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn finding<'a>(insights: &'a Value, kind: &str, object: &str) -> Option<&'a Value> {
    insights["findings"]
        .as_array()?
        .iter()
        .find(|f| f["kind"] == kind && f["object"] == object)
}

/// The monitoring role's password, as pgplane keeps it (sealed).
async fn monitoring_password(world: &LocalWorld, cluster: &str) -> String {
    let (id, sealed): (Uuid, String) =
        sqlx::query_as("select id, role_passwords ->> $2 from clusters where name = $1")
            .bind(cluster)
            .bind(INSIGHTS_ROLE)
            .fetch_one(&world.app.db)
            .await
            .expect("the monitoring role's password is kept");
    let context = pgplane::secrets::role_password_context(id, INSIGHTS_ROLE);
    pgplane::secrets::open_stored(&world.app.secrets(), sealed, &context).expect("opens")
}

async fn connect_as_monitor(world: &LocalWorld, cluster: &str, database: &str) -> PgConnection {
    let connection = world.connection(cluster).await;
    PgConnectOptions::new()
        .host("127.0.0.1")
        .port(connection["primary"]["port"].as_u64().unwrap() as u16)
        .username(INSIGHTS_ROLE)
        .password(&monitoring_password(world, cluster).await)
        .database(database)
        .ssl_mode(PgSslMode::VerifyFull)
        .ssl_root_cert_from_pem(
            connection["ca_certificate"]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
        .connect()
        .await
        .expect("the monitoring role connects")
}

#[tokio::test]
async fn findings_appear_for_their_causes_with_the_right_numbers_and_not_on_a_healthy_cluster() {
    let world = LocalWorld::start_with(LocalOptions::default(), ARGS).await;
    for name in ["shop", "calm"] {
        let created = world.create(small_cluster(name, 1)).await;
        assert_eq!(created["state"], "succeeded", "{created}");
    }

    // shop: a foreign key without an index, two identical indexes nobody uses, a hot query.
    let mut shop = world.owner("shop", "primary").await;
    run(
        &mut shop,
        "create table customers (id int primary key, name text);
         create table orders (id int primary key, customer_id int references customers, note text);
         insert into customers select g, 'c' || g from generate_series(1, 1000) g;
         insert into orders select g, 1 + g % 1000, 'n' || g from generate_series(1, 5000) g;
         create index orders_note_idx on orders (note);
         create index orders_note_copy on orders (note);
         analyze;",
    )
    .await;
    for id in 1..=200 {
        let _: Option<String> = sqlx::query_scalar("select name from customers where id = $1")
            .bind(id)
            .fetch_optional(&mut shop)
            .await
            .expect("the hot query");
    }
    let note_idx_bytes: i64 = sqlx::query_scalar("select pg_relation_size('orders_note_idx')")
        .fetch_one(&mut shop)
        .await
        .unwrap();

    // calm: the same shape done right (the foreign key leads the primary key).
    let mut calm = world.owner("calm", "primary").await;
    run(
        &mut calm,
        "create table customers (id int primary key);
         create table orders (customer_id int references customers, id int,
                              primary key (customer_id, id));
         insert into customers select g from generate_series(1, 100) g;
         insert into orders select 1 + g % 100, g from generate_series(1, 1000) g;
         analyze;",
    )
    .await;

    let seen = insights_until(&world, "shop", "findings", |s| {
        finding(s, "unused_index", "public.orders_note_copy").is_some()
            && finding(s, "unindexed_foreign_key", "public.orders (customer_id)").is_some()
            && finding(s, "duplicate_index", "public.orders_note_idx").is_some()
    })
    .await;
    let fk = finding(
        &seen,
        "unindexed_foreign_key",
        "public.orders (customer_id)",
    )
    .unwrap();
    assert_eq!(
        fk["sql"],
        "CREATE INDEX CONCURRENTLY ON public.orders (customer_id);"
    );
    assert_eq!(fk["evidence"]["references"], "customers");
    let unused = finding(&seen, "unused_index", "public.orders_note_idx").expect("unused");
    assert_eq!(unused["evidence"]["index_bytes"], note_idx_bytes);
    assert_eq!(
        unused["sql"],
        "DROP INDEX CONCURRENTLY public.orders_note_idx;"
    );
    let duplicate = finding(&seen, "duplicate_index", "public.orders_note_idx").unwrap();
    assert_eq!(duplicate["evidence"]["index_bytes"], note_idx_bytes);
    assert!(
        finding(&seen, "duplicate_index", "public.orders_note_copy").is_none(),
        "only one of two identical indexes is reported"
    );
    let hot = seen["statements"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["query"]
                .as_str()
                .is_some_and(|q| q.contains("from customers where id = $1"))
        })
        .unwrap_or_else(|| panic!("the hot query: {seen:#}"));
    assert_eq!(hot["calls"], 200, "{hot}");
    assert_eq!(hot["database"], "shop");
    assert!(seen["last_attempt"]["error"].is_null(), "{seen}");

    // The healthy cluster, observed just as long, has nothing to say.
    let calm_seen = insights_until(&world, "calm", "snapshots over the unused window", |s| {
        let (Some(from), Some(to)) = (s["window"]["from"].as_str(), s["window"]["to"].as_str())
        else {
            return false;
        };
        let span = chrono::DateTime::parse_from_rfc3339(to).unwrap()
            - chrono::DateTime::parse_from_rfc3339(from).unwrap();
        span > chrono::Duration::seconds(10)
    })
    .await;
    assert_eq!(calm_seen["findings"], json!([]), "{calm_seen:#}");

    // The findings reach /metrics: two warnings (the foreign key, the duplicate), two infos
    // (both unused indexes); the healthy cluster has none.
    let shop_series = |severity: &str| {
        format!(
            "pgplane_cluster_insight_findings{{tenant=\"{TENANT}\",cluster=\"shop\",severity=\"{severity}\"}}"
        )
    };
    metric_until(&world, &shop_series("warning"), |v| v == 2.0).await;
    metric_until(&world, &shop_series("info"), |v| v == 2.0).await;
    assert_eq!(metric(&world, &shop_series("critical")).await, Some(0.0));
    let calm_warnings = format!(
        "pgplane_cluster_insight_findings{{tenant=\"{TENANT}\",cluster=\"calm\",severity=\"warning\"}}"
    );
    assert_eq!(metric(&world, &calm_warnings).await, Some(0.0));

    // The monitoring role reads statistics, never a tenant's rows.
    let mut monitor = connect_as_monitor(&world, "shop", "shop").await;
    let refused = sqlx::query("select * from orders")
        .fetch_all(&mut monitor)
        .await
        .expect_err("the monitoring role cannot read orders");
    assert!(
        refused.to_string().contains("permission denied"),
        "{refused}"
    );
    let mut monitor = connect_as_monitor(&world, "shop", "postgres").await;
    let statements: i64 = sqlx::query_scalar("select count(*) from pg_stat_statements")
        .fetch_one(&mut monitor)
        .await
        .expect("the monitoring role reads pg_stat_statements");
    assert!(statements > 0);

    // A suspended cluster's snapshot fails with the reason; the other cluster's go on.
    let suspended_at = chrono::Utc::now();
    let op = world
        .app
        .admin()
        .patch(
            &format!("/v1/tenants/{TENANT}/clusters/calm"),
            json!({"suspended": true}),
        )
        .await
        .expect(202)
        .json();
    let op = world.finished(&op).await;
    assert_eq!(op["state"], "succeeded", "{op}");
    let failed = insights_until(&world, "calm", "a failed snapshot", |s| {
        s["last_attempt"]["error"].is_string()
    })
    .await;
    assert!(
        failed["last_attempt"]["error"]
            .as_str()
            .unwrap()
            .contains("connecting"),
        "{failed}"
    );
    let shop_later = insights_until(&world, "shop", "a newer snapshot", |s| {
        s["last_attempt"]["at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .is_some_and(|at| at > suspended_at + chrono::Duration::seconds(3))
    })
    .await;
    assert!(
        shop_later["last_attempt"]["error"].is_null(),
        "{shop_later}"
    );
    let calm_failing =
        format!("pgplane_cluster_insights_failing{{tenant=\"{TENANT}\",cluster=\"calm\"}}");
    metric_until(&world, &calm_failing, |v| v == 1.0).await;
    let shop_failing =
        format!("pgplane_cluster_insights_failing{{tenant=\"{TENANT}\",cluster=\"shop\"}}");
    assert_eq!(metric(&world, &shop_failing).await, Some(0.0));

    let (count, average, largest): (i64, Option<f64>, Option<i32>) = sqlx::query_as(
        "select count(*), avg(bytes)::float8, max(bytes) from insight_snapshots where data is not null",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    eprintln!("snapshots stored: {count}, bytes each: average {average:?}, largest {largest:?}");
    world.stop().await;
}
