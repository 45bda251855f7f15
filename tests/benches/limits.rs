//! Read path and list scaling against their limits (prints figures; never fails on time):
//!
//! 1. `GET /v1/tenants/{t}/clusters/{c}` of a release `pgplane serve` under `oha` at 32
//!    connections (peak rate, then p50/p99 at half the peak), against `pgbench` running the
//!    handler's own indexed SELECT with 32 clients on the same database, and against a trivial
//!    axum handler with no database (the framework's ceiling on this machine);
//! 2. p99 of the first and of a deep page of `GET /v1/tenants/{t}/clusters` with 1,000 and with
//!    1,000,000 clusters in the metadata database.
//!
//! Run through `scripts/bench` (it installs `oha` and builds the release binary).
//! `BENCH_SECONDS` (per load run, default 10) and `BENCH_LIST_BIG` (default 1,000,000) scale it.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pgplane::config::DatabaseConfig;
use pgplane_tests::bench::{self, Load, env_usize, round2};
use pgplane_tests::process::ServeProcess;
use pgplane_tests::{PASSWORD, TestClient};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const CONNECTIONS: usize = 32;
const SMALL: usize = 1000;

/// The one SELECT the handler runs for a member: the tenant, the caller's role in it and the
/// cluster ($1 tenant name, $2 user id, $3 cluster).
const FIND_SQL: &str = pgplane::store::clusters::FIND_WITH_MEMBER_ROLE_SQL;

fn show(what: &str, load: &Load) {
    println!(
        "  {what:<40} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ok {:.3}",
        load.rps, load.p50_ms, load.p99_ms, load.success
    );
}

/// A trivial axum server (one static JSON answer) on its own 2-thread runtime.
fn trivial_axum() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new().route(
                "/",
                axum::routing::get(|| async { axum::Json(json!({"ok": true})) }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}/")
}

/// Creates `n` clusters in `tenant` through the API (the platform is `none`: they stay pending).
async fn create_clusters(admin: &TestClient, tenant: &str, n: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|i| {
            let admin = admin.clone();
            let path = format!("/v1/tenants/{tenant}/clusters");
            async move {
                admin
                    .post(
                        &path,
                        json!({"name": format!("c{i}"), "backups": {"enabled": false}}),
                    )
                    .await
                    .expect(202);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

/// Copies one cluster row `n` times into `tenant_id` in SQL (a million through the API would
/// take the benchmark's whole budget).
async fn clone_clusters(db: &PgPool, template: Uuid, tenant_id: Uuid, n: usize) {
    sqlx::query(
        "insert into clusters (id, tenant_id, name, spec, instances, cpu_millis, memory_mib, storage_gib,
                               phase, status, connection)
         select gen_random_uuid(), $1, 'b' || g, jsonb_set(t.spec, '{name}', to_jsonb('b' || g)),
                t.instances, t.cpu_millis, t.memory_mib, t.storage_gib, t.phase, t.status, t.connection
         from clusters t, generate_series(1, $2) g where t.id = $3",
    )
    .bind(tenant_id)
    .bind(n as i64)
    .bind(template)
    .execute(db)
    .await
    .expect("clone clusters");
    sqlx::query("analyze clusters").execute(db).await.unwrap();
}

/// A page token pointing `offset` rows into the tenant's list.
async fn deep_token(db: &PgPool, tenant_id: Uuid, offset: usize) -> String {
    let id: Uuid = sqlx::query_scalar(
        "select id from clusters where tenant_id = $1 order by id offset $2 limit 1",
    )
    .bind(tenant_id)
    .bind(offset as i64)
    .fetch_one(db)
    .await
    .unwrap();
    URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
}

async fn tenant_id(db: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("select id from tenants where name = $1")
        .bind(name)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let seconds = env_usize("BENCH_SECONDS", 10) as u64;
    let big = env_usize("BENCH_LIST_BIG", 1_000_000);
    let database_url = pgplane_tests::postgres::fresh_database().await;
    let log = bench::out_dir().join("limits-serve.log");
    let _ = std::fs::remove_file(&log);
    let serve = ServeProcess::start(
        &database_url,
        &[
            ("PGPLANE_DEFAULT_MAX_CLUSTERS", "100000"),
            ("PGPLANE_DEFAULT_MAX_INSTANCES", "100000"),
            ("PGPLANE_DEFAULT_MAX_CPU_MILLIS", "100000000"),
            ("PGPLANE_DEFAULT_MAX_MEMORY_MIB", "100000000"),
            ("PGPLANE_DEFAULT_MAX_STORAGE_GIB", "100000000"),
            ("PGPLANE_TOKEN_TTL_SECONDS", "86400"),
        ],
        &log,
    )
    .await;
    let db = PgPool::connect(&database_url).await.unwrap();
    let database = DatabaseConfig {
        database_url: database_url.clone(),
        db_max_connections: 2,
    };
    let admin_key =
        pgplane::cli::bootstrap_admin(&database, "admin@bench.local", PASSWORD, "Admin")
            .await
            .unwrap();
    let admin = TestClient::new(&serve.base_url, Some(admin_key));
    for tenant in ["small", "big"] {
        admin
            .post("/v1/tenants", json!({"name": tenant}))
            .await
            .expect(201);
    }
    create_clusters(&admin, "small", SMALL).await;
    create_clusters(&admin, "big", 1).await;

    // A developer of the tenant reads, with a password-login token (the usual portal caller).
    let email = "dev@small.example.com";
    admin
        .post(
            "/v1/users",
            json!({"email": email, "password": PASSWORD, "name": "Dev"}),
        )
        .await
        .expect(201);
    for tenant in ["small", "big"] {
        admin
            .put(
                &format!("/v1/tenants/{tenant}/members/{email}"),
                json!({"role": "developer"}),
            )
            .await
            .expect(201);
    }
    let token = TestClient::new(&serve.base_url, None)
        .post(
            "/v1/auth/token",
            json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(200)
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = vec![format!("Authorization: Bearer {token}")];
    let small_id = tenant_id(&db, "small").await;

    // 1. Read path.
    println!(
        "read path: GET /v1/tenants/small/clusters/c500, {CONNECTIONS} connections, {seconds} s per run"
    );
    let url = format!("{}/v1/tenants/small/clusters/c500", serve.base_url);
    bench::oha(&url, CONNECTIONS, 2, None, &auth); // warm-up
    let peak = bench::oha(&url, CONNECTIONS, seconds, None, &auth);
    show("pgplane, peak", &peak);
    let half = bench::oha(&url, CONNECTIONS, seconds, Some(peak.rps / 2.0), &auth);
    show("pgplane, at half the peak rate", &half);
    let user_id: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&db)
        .await
        .unwrap();
    let script = format!(
        "{};\n",
        FIND_SQL
            .replace("$1", "'small'")
            .replace("$2", &format!("'{user_id}'"))
            .replace("$3", "'c500'")
    );
    let pgbench_tps = bench::pgbench(&database_url, &script, CONNECTIONS, seconds);
    println!(
        "  {:<40} {pgbench_tps:>9.0} tx/s",
        "pgbench, the handler's SELECT"
    );
    let trivial_url = trivial_axum();
    bench::oha(&trivial_url, CONNECTIONS, 2, None, &[]);
    let trivial = bench::oha(&trivial_url, CONNECTIONS, seconds, None, &[]);
    show("trivial axum handler, peak", &trivial);
    let rss_after_reads = serve.rss_mib();

    // 2. List scaling.
    println!("list scaling: first and deep page (50 items) with {SMALL} and {big} clusters");
    let big_id = tenant_id(&db, "big").await;
    let template: Uuid = sqlx::query_scalar("select id from clusters where tenant_id = $1")
        .bind(big_id)
        .fetch_one(&db)
        .await
        .unwrap();
    let started = Instant::now();
    clone_clusters(&db, template, big_id, big.saturating_sub(1)).await;
    println!(
        "  inserted {big} clusters in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let list_seconds = seconds.div_ceil(2);
    let mut p99 = std::collections::BTreeMap::new();
    for (tenant, id, n) in [("small", small_id, SMALL), ("big", big_id, big)] {
        let base = format!("{}/v1/tenants/{tenant}/clusters", serve.base_url);
        let deep = format!(
            "{base}?page_token={}",
            deep_token(&db, id, n * 9 / 10).await
        );
        for (page, url) in [("first", base.clone()), ("deep", deep)] {
            let load = bench::oha(&url, 4, list_seconds, None, &auth);
            show(&format!("{n} clusters, {page} page"), &load);
            p99.insert((page, n), load.p99_ms);
        }
    }
    let ratio_first = p99[&("first", big)] / p99[&("first", SMALL)];
    let ratio_deep = p99[&("deep", big)] / p99[&("deep", SMALL)];

    bench::record(
        "read path and list scaling (release build, oha + pgbench)",
        &[
            ("read_rps_api", round2(peak.rps)),
            ("read_rps_pgbench", round2(pgbench_tps)),
            ("read_ratio", round2(peak.rps / pgbench_tps)),
            ("read_p50_ms", round2(half.p50_ms)),
            ("read_p99_ms", round2(half.p99_ms)),
            ("read_p99_ms_at_peak", round2(peak.p99_ms)),
            ("read_rps_trivial_axum", round2(trivial.rps)),
            ("read_ratio_to_trivial_axum", round2(peak.rps / trivial.rps)),
            ("rss_after_reads_mb", round2(rss_after_reads)),
            ("list_p99_ms_first_1k", round2(p99[&("first", SMALL)])),
            ("list_p99_ms_deep_1k", round2(p99[&("deep", SMALL)])),
            ("list_p99_ms_first_1m", round2(p99[&("first", big)])),
            ("list_p99_ms_deep_1m", round2(p99[&("deep", big)])),
            ("list_p99_ratio_1m_1k", round2(ratio_first.max(ratio_deep))),
        ],
    );
    drop(serve);
}
