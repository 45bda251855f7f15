//! Extensions through `psql` in the primary's `database` container (PGO has no spec field for
//! them): connected over the local socket as `postgres`, one statement per call, stopping at
//! the first error. Extension names come from the domain allow-list, so quoting them as
//! identifiers is enough; the database travels as its own argument, never inside SQL.

use super::exec::{ExecOutput, psql_in_primary};
use crate::platform::{ActionProgress, ClusterTarget, InstalledExtension, PlatformError};

const LIST_SQL: &str = "SELECT extname, extversion FROM pg_extension ORDER BY extname";

/// psql's exit code when it could not connect (e.g. the database does not exist).
const PSQL_CONNECTION_FAILED: i32 = 2;

/// A failed statement is the tenant's to fix (PostgreSQL says why); a connection failure to a
/// database the spec has means PGO has not created it yet, which passes.
fn check(output: &ExecOutput, database: &str) -> Result<(), PlatformError> {
    match output.exit_code {
        0 => Ok(()),
        PSQL_CONNECTION_FAILED => Err(PlatformError::Transient(format!(
            "cannot connect to database `{database}` yet: {}",
            output.failure()
        ))),
        _ => Err(PlatformError::Rejected(output.failure())),
    }
}

/// Reads `extname|extversion` lines.
fn parse_list(stdout: &str) -> Vec<InstalledExtension> {
    stdout
        .lines()
        .filter_map(|line| line.split_once('|'))
        .map(|(name, version)| InstalledExtension {
            name: name.trim().to_string(),
            version: version.trim().to_string(),
        })
        .collect()
}

pub async fn list(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    database: &str,
) -> Result<Vec<InstalledExtension>, PlatformError> {
    let output = psql_in_primary(client, namespace, &target.spec.name, database, LIST_SQL).await?;
    check(&output, database)?;
    Ok(parse_list(&output.stdout))
}

/// Idempotent either way (`IF NOT EXISTS` / `IF EXISTS`), so a retried job is harmless.
pub async fn set(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    database: &str,
    name: &str,
    enable: bool,
) -> Result<ActionProgress, PlatformError> {
    let sql = if enable {
        format!("CREATE EXTENSION IF NOT EXISTS \"{name}\"")
    } else {
        format!("DROP EXTENSION IF EXISTS \"{name}\"")
    };
    let output = psql_in_primary(client, namespace, &target.spec.name, database, &sql).await?;
    check(&output, database)?;
    Ok(ActionProgress::done())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_is_read_from_psqls_unaligned_output() {
        let listed = parse_list("plpgsql|1.0\nvector|0.8.0\n\n");
        assert_eq!(
            listed,
            vec![
                InstalledExtension {
                    name: "plpgsql".into(),
                    version: "1.0".into()
                },
                InstalledExtension {
                    name: "vector".into(),
                    version: "0.8.0".into()
                },
            ]
        );
    }

    #[test]
    fn sql_errors_are_the_tenants_and_connection_errors_pass() {
        let out = |code, stderr: &str| ExecOutput {
            stdout: String::new(),
            stderr: stderr.into(),
            exit_code: code,
        };
        assert!(check(&out(0, ""), "app").is_ok());
        assert!(matches!(
            check(&out(1, "ERROR:  extension \"postgis\" is not available"), "app"),
            Err(PlatformError::Rejected(m)) if m.contains("not available")
        ));
        assert!(matches!(
            check(&out(2, "FATAL:  database \"app\" does not exist"), "app"),
            Err(PlatformError::Transient(_))
        ));
    }
}
