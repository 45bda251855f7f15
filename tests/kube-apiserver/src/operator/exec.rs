//! The commands the simulated operator answers through `pods/exec` in the `database` container
//! of its instance Pods (registered when the operator starts, removed when it stops):
//!
//! - `pgbackrest info [--stanza=<name>] [--output=json|text]`: the repository of
//!   [`super::repository`], exit 0. Before `stanza-create` (or for another stanza) pgBackRest
//!   still exits 0 and prints the stanza with status code 1 `missing stanza path`. Other
//!   options and subcommands exit 1 with a "not simulated" message.
//! - `psql -X -q -v ON_ERROR_STOP=1 -At -d <database> -c <sql>` (exactly that argv) with one
//!   of the statements below; any other argv exits 1 with a "not simulated" message. The sim
//!   is not a SQL engine: any other statement is a syntax error (exit 1), which is also what a
//!   caller sees for a typo.
//!   - `SELECT extname, extversion FROM pg_extension ORDER BY extname`: `name|version` lines;
//!   - `CREATE EXTENSION IF NOT EXISTS "<name>"`: exit 0 silently (`-q`); an installed one
//!     prints PostgreSQL's NOTICE on stderr; one the image does not carry (not in
//!     [`EXTENSION_CATALOG`], or removed by [`super::Scenario::without_extensions`]) is
//!     `ERROR:  extension "<name>" is not available` (with PostgreSQL 15+'s DETAIL/HINT);
//!   - `DROP EXTENSION IF EXISTS "<name>"`: exit 0 (a NOTICE when absent), `plpgsql` too,
//!     as in PostgreSQL.
//!
//!   - `SELECT pg_is_in_recovery()`: `f` on the leader of a cluster out of recovery, `t` on
//!     replicas and on every instance of a standby (see `recovery.rs`).
//!
//!   A failed statement exits 1 (psql runs `-c` as a single query, so `ON_ERROR_STOP`'s exit
//!   code 3 of scripts does not apply); a database that does not exist exits 2 (connection
//!   failure); a replica (Pod without Patroni's leader role) or any instance of a standby
//!   refuses CREATE/DROP as a read-only transaction. A Pod without a role label (PostgreSQL
//!   does not run) refuses the connection (exit 2). A `;` at the end of the statement is
//!   accepted.
//!
//! Databases: `postgres`, `template1` and every `spec.users[].databases[]` (PGO's default user's
//! database named after the cluster when `spec.users` is absent), as seen by the last
//! reconcile. Every database starts with `plpgsql`, and with `pgaudit`, which PGO creates in
//! every database (`CREATE EXTENSION IF NOT EXISTS pgaudit`) when the image carries it.
//! Extension state lives per (cluster, database) in the operator's shared state: it survives
//! restarts, switchovers and upgrades (it is in the data; versions are not updated by an
//! upgrade), is not rolled back by a restore, and is forgotten when the cluster is deleted.
//! A streaming standby's databases and extensions are its source's (`recovery.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::Shared;
use super::children::{Cluster, LABEL_CLUSTER, LABEL_ROLE};
use super::instances::{LABEL_DATA, ROLE_LEADER};
use super::recovery::Recovery;
use super::repository::{Repository, STANZA, repo_key};
use crate::exec::{ExecOutput, ExecRequest};

/// The extensions the simulated image (Crunchy Postgres 17) carries, with the version
/// `CREATE EXTENSION` installs. `pgaudit`'s version follows the PostgreSQL major version
/// (`17.0` on 17, `16.0` on 16), as pgAudit's releases do.
pub const EXTENSION_CATALOG: &[(&str, &str)] = &[
    ("btree_gist", "1.7"),
    ("citext", "1.6"),
    ("hstore", "1.8"),
    ("pg_partman", "5.2.4"),
    ("pg_stat_statements", "1.11"),
    ("pg_trgm", "1.6"),
    ("pgaudit", "17.0"),
    ("pgcrypto", "1.3"),
    ("plpgsql", "1.0"),
    ("postgis", "3.5.2"),
    ("uuid-ossp", "1.1"),
    ("vector", "0.8.0"),
];

/// The exact psql argv prefix answered (`-d <database> -c <sql>` follow).
pub const PSQL_ARGV: &[&str] = &["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"];

/// What the exec handler needs to know of a cluster, refreshed on every reconcile.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterFacts {
    pub databases: Vec<String>,
    port: i64,
    version: i64,
    repos: Vec<u32>,
}

impl ClusterFacts {
    pub fn of(c: &Cluster<'_>) -> Self {
        let mut databases = vec!["postgres".to_string(), "template1".to_string()];
        for db in c.users().into_iter().flat_map(|u| u.databases) {
            if !databases.contains(&db) {
                databases.push(db);
            }
        }
        let repos = c
            .spec
            .pointer("/backups/pgbackrest/repos")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(repo_key))
            .collect();
        Self {
            databases,
            port: c.port(),
            version: c
                .spec
                .get("postgresVersion")
                .and_then(Value::as_i64)
                .unwrap_or(17),
            repos,
        }
    }
}

/// Extension state of one cluster: installed extensions (name -> version) per database.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterData {
    pub facts: ClusterFacts,
    pub extensions: HashMap<String, BTreeMap<String, String>>,
    /// The databases replayed from a standby's source (they exist in the data).
    pub replayed_databases: Vec<String>,
    pub recovery: Recovery,
}

/// The version the image installs, unless the scenario removed the extension.
fn available(name: &str, version: i64, missing: &[String]) -> Option<String> {
    if missing.iter().any(|m| m == name) {
        return None;
    }
    EXTENSION_CATALOG
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, v)| {
            if *n == "pgaudit" {
                format!("{version}.0")
            } else {
                v.to_string()
            }
        })
}

impl ClusterData {
    /// The installed extensions of `db`, created on first use the way the database starts.
    fn installed(&mut self, db: &str, missing: &[String]) -> &mut BTreeMap<String, String> {
        let version = self.facts.version;
        self.extensions.entry(db.to_string()).or_insert_with(|| {
            ["plpgsql", "pgaudit"]
                .iter()
                .filter_map(|n| available(n, version, missing).map(|v| (n.to_string(), v)))
                .collect()
        })
    }
}

/// The handler the operator registers with the server.
pub(crate) fn handler(
    shared: Arc<Shared>,
) -> impl Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync + 'static {
    move |request| answer(&shared, request)
}

fn label<'a>(pod: &'a Value, key: &str) -> Option<&'a str> {
    pod.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

fn not_simulated(command: &[String]) -> ExecOutput {
    ExecOutput::fail(
        1,
        format!(
            "kube-test-apiserver: this command line is not simulated: {}\n",
            command.join(" ")
        ),
    )
}

fn answer(shared: &Shared, r: &ExecRequest) -> Option<ExecOutput> {
    if r.container != "database" || label(&r.pod_object, LABEL_DATA) != Some("postgres") {
        return None;
    }
    let cluster = label(&r.pod_object, LABEL_CLUSTER)?;
    let key = (r.namespace.clone(), cluster.to_string());
    match r.command.first().map(String::as_str) {
        Some("pgbackrest") => Some(pgbackrest(shared, &key, &r.command)),
        Some("psql") => Some(match label(&r.pod_object, LABEL_ROLE) {
            Some(role) => psql(shared, &key, role == ROLE_LEADER, &r.command),
            None => not_running(shared, &key),
        }),
        _ => None,
    }
}

fn pgbackrest(shared: &Shared, key: &(String, String), command: &[String]) -> ExecOutput {
    if command.get(1).map(String::as_str) != Some("info") {
        return not_simulated(command);
    }
    let mut stanza = STANZA.to_string();
    let mut json = false;
    for option in &command[2..] {
        match option.split_once('=') {
            Some(("--output", "json")) => json = true,
            Some(("--output", "text")) => json = false,
            Some(("--stanza", s)) => stanza = s.to_string(),
            _ => return not_simulated(command),
        }
    }
    let repos = shared
        .data
        .lock()
        .ok()
        .and_then(|d| d.get(key).map(|c| c.facts.repos.clone()))
        .unwrap_or_default();
    let info = shared
        .repositories
        .lock()
        .ok()
        .and_then(|r| r.get(key).cloned())
        .filter(|_| stanza == STANZA)
        .unwrap_or_default()
        .info_or_missing(&stanza, &repos);
    let stdout = if json {
        format!("{info}\n")
    } else {
        text(&info)
    };
    ExecOutput::ok(stdout)
}

/// pgBackRest's text output, abridged to the stanza status and backup labels.
fn text(info: &Value) -> String {
    let mut out = String::new();
    for s in info.as_array().into_iter().flatten() {
        let code = s["status"]["code"].as_i64().unwrap_or(0);
        let message = s["status"]["message"].as_str().unwrap_or("");
        let status = if code == 0 {
            "ok".to_string()
        } else {
            format!("error ({message})")
        };
        out.push_str(&format!(
            "stanza: {}\n    status: {status}\n",
            s["name"].as_str().unwrap_or("")
        ));
        for b in s["backup"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n        {} backup: {}\n",
                b["type"].as_str().unwrap_or(""),
                b["label"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// `"name"` -> `name` (a double-quoted identifier, `""` escaping a quote).
fn quoted_identifier(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    if inner.is_empty() || inner.replace("\"\"", "").contains('"') {
        return None;
    }
    Some(inner.replace("\"\"", "\""))
}

fn sql_error(message: &str) -> ExecOutput {
    ExecOutput::fail(1, format!("ERROR:  {message}\n"))
}

/// psql in a Pod whose PostgreSQL does not run (no Patroni role).
fn not_running(shared: &Shared, key: &(String, String)) -> ExecOutput {
    let port = shared
        .data
        .lock()
        .ok()
        .and_then(|d| d.get(key).map(|c| c.facts.port))
        .unwrap_or(5432);
    ExecOutput::fail(
        2,
        format!(
            "psql: error: connection to server on socket \"/tmp/postgres/.s.PGSQL.{port}\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n"
        ),
    )
}

fn psql(shared: &Shared, key: &(String, String), leader: bool, command: &[String]) -> ExecOutput {
    let shape = command.len() == PSQL_ARGV.len() + 4
        && command.iter().zip(PSQL_ARGV).all(|(a, b)| a == b)
        && command[PSQL_ARGV.len()] == "-d"
        && command[PSQL_ARGV.len() + 2] == "-c";
    if !shape {
        return not_simulated(command);
    }
    let db = &command[PSQL_ARGV.len() + 1];
    let sql = command[PSQL_ARGV.len() + 3].trim();
    let sql = sql.strip_suffix(';').unwrap_or(sql).trim_end();
    let missing = shared.scenario_for(&key.0, &key.1).missing_extensions;
    shared.replay_now(key);
    let mut data = shared.data.lock().unwrap_or_else(|p| p.into_inner());
    // A cluster not (or no longer) known has no databases; its entry is not created here, so
    // a deleted cluster's state cannot come back through a late exec.
    let port = data.get(key).map_or(5432, |c| c.facts.port);
    let Some(cluster) = data.get_mut(key).filter(|c| c.databases().contains(db)) else {
        return ExecOutput::fail(
            2,
            format!(
                "psql: error: connection to server on socket \"/tmp/postgres/.s.PGSQL.{port}\" failed: FATAL:  database \"{db}\" does not exist\n",
            ),
        );
    };
    let version = cluster.facts.version;
    let read_only = !leader || cluster.recovery.in_recovery;
    if sql == "SELECT pg_is_in_recovery()" {
        return ExecOutput::ok(if read_only { "t\n" } else { "f\n" });
    }
    if sql == "SELECT extname, extversion FROM pg_extension ORDER BY extname" {
        let lines: String = cluster
            .installed(db, &missing)
            .iter()
            .map(|(n, v)| format!("{n}|{v}\n"))
            .collect();
        return ExecOutput::ok(lines);
    }
    if let Some(name) = sql
        .strip_prefix("CREATE EXTENSION IF NOT EXISTS ")
        .and_then(quoted_identifier)
    {
        if read_only {
            return sql_error("cannot execute CREATE EXTENSION in a read-only transaction");
        }
        let installed = cluster.installed(db, &missing);
        if installed.contains_key(&name) {
            return ExecOutput::ok("").with_stderr(format!(
                "NOTICE:  extension \"{name}\" already exists, skipping\n"
            ));
        }
        let Some(v) = available(&name, version, &missing) else {
            return ExecOutput::fail(
                1,
                format!(
                    "ERROR:  extension \"{name}\" is not available\nDETAIL:  Could not open extension control file \"/usr/pgsql-{version}/share/extension/{name}.control\": No such file or directory.\nHINT:  The extension must first be installed on the system where PostgreSQL is running.\n"
                ),
            );
        };
        installed.insert(name, v);
        return ExecOutput::ok("");
    }
    if let Some(name) = sql
        .strip_prefix("DROP EXTENSION IF EXISTS ")
        .and_then(quoted_identifier)
    {
        if read_only {
            return sql_error("cannot execute DROP EXTENSION in a read-only transaction");
        }
        return match cluster.installed(db, &missing).remove(&name) {
            Some(_) => ExecOutput::ok(""),
            None => ExecOutput::ok("").with_stderr(format!(
                "NOTICE:  extension \"{name}\" does not exist, skipping\n"
            )),
        };
    }
    let first = sql.split_whitespace().next().unwrap_or("");
    ExecOutput::fail(
        1,
        format!("ERROR:  syntax error at or near \"{first}\"\nLINE 1: {sql}\n        ^\n"),
    )
}

impl Repository {
    /// [`Repository::info`], or for another stanza (or none yet) pgBackRest's "missing stanza
    /// path" listing of the configured repositories `repos`.
    pub(crate) fn info_or_missing(&self, stanza: &str, repos: &[u32]) -> Value {
        if stanza == STANZA && self.has_stanza() {
            return self.info();
        }
        let mut info = Repository::default().with_repos(repos).info();
        info[0]["name"] = Value::from(stanza);
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_must_be_double_quoted() {
        assert_eq!(
            quoted_identifier("\"uuid-ossp\"").as_deref(),
            Some("uuid-ossp")
        );
        assert_eq!(quoted_identifier("\"a\"\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(quoted_identifier("postgis"), None);
        assert_eq!(quoted_identifier("\"a\"b\""), None);
        assert_eq!(quoted_identifier("\"\""), None);
    }

    #[test]
    fn pgaudit_follows_the_major_version_and_scenarios_remove_extensions() {
        assert_eq!(available("pgaudit", 16, &[]).as_deref(), Some("16.0"));
        assert_eq!(available("vector", 17, &[]).as_deref(), Some("0.8.0"));
        assert_eq!(available("postgis", 17, &["postgis".into()]), None);
        assert_eq!(available("nope", 17, &[]), None);
    }

    #[test]
    fn a_missing_stanza_lists_the_configured_repositories() {
        let info = Repository::default().info_or_missing("other", &[1, 2]);
        assert_eq!(info[0]["name"], "other");
        assert_eq!(info[0]["status"]["code"], 1);
        assert_eq!(info[0]["repo"][1]["key"], 2);
        assert!(text(&info).contains("status: error (missing stanza path)"));
    }
}
