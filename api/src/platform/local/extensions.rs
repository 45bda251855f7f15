//! Extensions in a local cluster, over a superuser connection to the primary: what is installed
//! (`pg_extension`), and `CREATE`/`DROP EXTENSION` with the name quoted by the server's own
//! `format('%I')`. Whether an extension exists is up to the PostgreSQL installed on this host.

use sqlx::PgConnection;

use super::roles::{close, connect_to};
use crate::platform::InstalledExtension;

pub async fn list(
    port: u16,
    superuser_password: &str,
    database: &str,
) -> sqlx::Result<Vec<InstalledExtension>> {
    let mut conn = connect_to(port, superuser_password, database).await?;
    let rows: sqlx::Result<Vec<(String, String)>> =
        sqlx::query_as("select extname::text, extversion from pg_extension order by extname")
            .fetch_all(&mut conn)
            .await;
    close(conn).await;
    Ok(rows?
        .into_iter()
        .map(|(name, version)| InstalledExtension { name, version })
        .collect())
}

pub async fn set(
    port: u16,
    superuser_password: &str,
    database: &str,
    name: &str,
    enable: bool,
) -> sqlx::Result<()> {
    let mut conn = connect_to(port, superuser_password, database).await?;
    let result = run(&mut conn, name, enable).await;
    close(conn).await;
    result
}

async fn run(conn: &mut PgConnection, name: &str, enable: bool) -> sqlx::Result<()> {
    let template = if enable {
        "create extension if not exists %I"
    } else {
        "drop extension if exists %I"
    };
    let statement: String = sqlx::query_scalar("select format($1, $2::text)")
        .bind(template)
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
