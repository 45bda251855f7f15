//! The tenant's roles and databases inside a local cluster, created the way PGO creates them
//! from `spec.users`: the owner owns the application database; each additional user gets its
//! databases (created if missing) with all privileges on them. Statements are built with the
//! server's own `format('%I', '%L')`, so names and passwords are quoted by PostgreSQL.

use std::collections::BTreeMap;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::state::SUPERUSER;
use crate::domain::cluster::ClusterSpec;

/// A superuser connection to the instance on `port`.
pub async fn connect(port: u16, superuser_password: &str) -> sqlx::Result<PgConnection> {
    connect_to(port, superuser_password, "postgres").await
}

/// A superuser connection to `database` of the instance on `port`.
pub async fn connect_to(
    port: u16,
    superuser_password: &str,
    database: &str,
) -> sqlx::Result<PgConnection> {
    PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(SUPERUSER)
        .password(superuser_password)
        .database(database)
        .ssl_mode(PgSslMode::Require)
        .disable_statement_logging()
        .connect()
        .await
}

/// Runs the statement `format(template, args…)` produces.
async fn execute_formatted(
    conn: &mut PgConnection,
    template: &str,
    args: &[&str],
) -> sqlx::Result<()> {
    let placeholders: Vec<String> = (2..=args.len() + 1).map(|i| format!("${i}")).collect();
    let query = format!("select format($1, {})", placeholders.join(", "));
    let mut formatted = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query)).bind(template);
    for arg in args {
        formatted = formatted.bind(*arg);
    }
    let statement = formatted.fetch_one(&mut *conn).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn exists(conn: &mut PgConnection, query: &'static str, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(query)
        .bind(name)
        .fetch_one(&mut *conn)
        .await
}

/// Makes roles and databases match `spec` (creating what is missing, never dropping data).
pub async fn ensure(
    conn: &mut PgConnection,
    spec: &ClusterSpec,
    passwords: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let mut roles: Vec<(&str, Vec<&str>)> = vec![(&spec.owner, vec![])];
    for user in &spec.users {
        roles.push((
            &user.name,
            user.databases.iter().map(String::as_str).collect(),
        ));
    }
    for (role, _) in &roles {
        let password = passwords
            .get(*role)
            .ok_or_else(|| anyhow::anyhow!("no password generated for role {role}"))?;
        set_login_role(conn, role, password).await?;
    }
    ensure_database(conn, &spec.database, &spec.owner).await?;
    for user in &spec.users {
        if let Some(options) = &user.options {
            // Validated against PGO's rules when the spec was accepted; `%` is doubled so
            // format() copies the options literally.
            let statement = format!("alter role %I {}", options.replace('%', "%%"));
            execute_formatted(conn, &statement, &[&user.name]).await?;
        }
        for database in &user.databases {
            ensure_database(conn, database, SUPERUSER).await?;
            execute_formatted(
                conn,
                "grant all privileges on database %I to %I",
                &[database, &user.name],
            )
            .await?;
        }
    }
    Ok(())
}

async fn ensure_database(conn: &mut PgConnection, name: &str, owner: &str) -> anyhow::Result<()> {
    if !exists(
        conn,
        "select exists (select 1 from pg_database where datname = $1)",
        name,
    )
    .await?
    {
        execute_formatted(conn, "create database %I owner %I", &[name, owner]).await?;
    }
    Ok(())
}

/// Sets `role`'s password (the old one stops working for new connections at once).
pub async fn set_password(
    conn: &mut PgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    execute_formatted(conn, "alter role %I with password %L", &[role, password]).await?;
    Ok(())
}

/// Creates `role` as a login role with `password`, or gives an existing one that password.
async fn set_login_role(conn: &mut PgConnection, role: &str, password: &str) -> anyhow::Result<()> {
    let template = if exists(
        conn,
        "select exists (select 1 from pg_roles where rolname = $1)",
        role,
    )
    .await?
    {
        "alter role %I with login password %L"
    } else {
        "create role %I with login password %L"
    };
    execute_formatted(conn, template, &[role, password]).await?;
    Ok(())
}

/// The metrics exporter's role (`role`, a member of `pg_monitor`: statistics, no tenant rows),
/// created or given `password`.
pub async fn ensure_monitoring(
    conn: &mut PgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    set_login_role(conn, role, password).await?;
    execute_formatted(conn, "grant pg_monitor to %I", &[role]).await?;
    Ok(())
}

/// The insights collector's role (a member of `pg_monitor`), created or given `password`, and
/// `pg_stat_statements` in the `postgres` database it reads statements from (`conn` is
/// connected there), as PGO's `EnableExporterInPostgreSQL` creates it for its exporter.
pub async fn ensure_insights(
    conn: &mut PgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    ensure_monitoring(conn, role, password).await?;
    sqlx::raw_sql("create extension if not exists pg_stat_statements")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Closes a connection, ignoring errors (the server may be going away).
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}
