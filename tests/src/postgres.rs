//! The database side of the harness. Every test gets its own database (`pgplane_test_<pid>_<n>`)
//! on one server per test process: the server at `DATABASE_URL` when it is set, otherwise a
//! throwaway server in a temporary directory, stopped and removed when the test process exits.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use pgplane::embedded_pg::{EmbeddedPostgres, free_port};
use sqlx::{Connection, PgConnection};

static SERVER_URL: OnceLock<String> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// URL of a maintenance database on the test server, starting the throwaway server if needed.
pub fn server_url() -> String {
    SERVER_URL
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => start_throwaway_server()
                .unwrap_or_else(|e| panic!("cannot start a test PostgreSQL: {e:#}")),
        })
        .clone()
}

fn start_throwaway_server() -> anyhow::Result<String> {
    let dir = tempfile::Builder::new()
        .prefix("pgplane-test-pg-")
        .tempdir()?
        .keep();
    // The server may run as another user (when we are root): let it reach its data directory.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let server = EmbeddedPostgres::new(dir.join("data"), free_port()?)?;
    server.init()?;
    server.start()?;
    watch_for_exit(&server, &dir);
    Ok(server.url("postgres"))
}

/// Spawns a watchdog that stops the server and removes its directory once this process exits,
/// since Rust test binaries offer no hook at exit.
fn watch_for_exit(server: &EmbeddedPostgres, dir: &std::path::Path) {
    let pg_ctl = server.bins.bin_dir.join("pg_ctl");
    let runner = if unsafe_is_root() {
        "runuser -u $(stat -c %U \"$DATA\") --"
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runner} \"{pg_ctl}\" -D \"$DATA\" -m immediate stop >/dev/null 2>&1; rm -rf \"{dir}\"",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        dir = dir.display(),
    );
    let _ = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("DATA", &server.data_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

fn unsafe_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

/// Creates an empty database for one test and returns its URL. Databases of test processes
/// that no longer run are dropped first, so a shared server does not fill up.
pub async fn fresh_database() -> String {
    let server = server_url();
    let mut conn = PgConnection::connect(&server)
        .await
        .expect("connect to the test PostgreSQL");
    if NEXT_DB.load(Ordering::SeqCst) == 0 {
        drop_stale_databases(&mut conn).await;
    }
    let name = format!(
        "pgplane_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    with_database(&server, &name)
}

async fn drop_stale_databases(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'pgplane_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_replace_the_path_of_a_url() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
