//! The PostgreSQL extensions a tenant may enable in its databases: the ones the Crunchy
//! PostgreSQL images carry, are trusted with the application's data, and need no
//! `shared_preload_libraries` change pgplane does not already make (`pg_stat_statements` is
//! always preloaded; PGO preloads `pgaudit` and creates it in every database itself).
//! Anything else (untrusted languages, `dblink`/`postgres_fdw` that reach other hosts,
//! `pg_cron` that needs a preload) stays a platform team's decision.

use serde::Serialize;
use utoipa::ToSchema;

use super::spec::ClusterSpec;

/// One allow-listed extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct AllowedExtension {
    /// The name `CREATE EXTENSION` takes.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
}

const fn ext(name: &'static str, description: &'static str) -> AllowedExtension {
    AllowedExtension { name, description }
}

/// Sorted by name.
pub const ALLOWED_EXTENSIONS: &[AllowedExtension] = &[
    ext("btree_gin", "GIN operator classes for B-tree types"),
    ext(
        "btree_gist",
        "GiST operator classes for B-tree types (exclusion constraints)",
    ),
    ext("citext", "case-insensitive text"),
    ext("hstore", "key/value pairs in one column"),
    ext(
        "pg_partman",
        "time and serial based table partition management",
    ),
    ext(
        "pg_stat_statements",
        "execution statistics of every statement (already preloaded)",
    ),
    ext("pg_trgm", "trigram similarity and indexes for LIKE/ILIKE"),
    ext(
        "pgaudit",
        "session and object audit logging (PGO preloads it)",
    ),
    ext("pgcrypto", "cryptographic functions"),
    ext(
        "postgis",
        "geographic objects (where the image carries PostGIS)",
    ),
    ext("uuid-ossp", "UUID generation functions"),
    ext("vector", "pgvector: vector similarity search"),
];

/// The allow-listed extension `name`, or why it is not one.
pub fn allowed_extension(name: &str) -> Result<&'static AllowedExtension, String> {
    ALLOWED_EXTENSIONS
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            format!(
                "`{name}` is not an extension tenants may enable; allowed: {}",
                ALLOWED_EXTENSIONS
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The databases of a cluster: the application database and every user's databases.
pub fn databases(spec: &ClusterSpec) -> Vec<&str> {
    let mut names: Vec<&str> = std::iter::once(spec.database.as_str())
        .chain(
            spec.users
                .iter()
                .flat_map(|u| u.databases.iter().map(String::as_str)),
        )
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `database` when the cluster has it, or why not (naming the ones it has).
pub fn known_database<'a>(spec: &'a ClusterSpec, database: &str) -> Result<&'a str, String> {
    let names = databases(spec);
    names
        .iter()
        .find(|d| **d == database)
        .copied()
        .ok_or_else(|| {
            format!(
                "cluster `{}` has no database `{database}`; its databases are {}",
                spec.name,
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::{ClusterRequest, DatabaseUserRequest};

    #[test]
    fn the_allow_list_is_sorted_and_names_what_is_allowed_when_refusing() {
        let names: Vec<_> = ALLOWED_EXTENSIONS.iter().map(|e| e.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(allowed_extension("vector").unwrap().name, "vector");
        let refused = allowed_extension("plpython3u").unwrap_err();
        assert!(refused.contains("plpython3u") && refused.contains("pg_trgm"));
        // Identifiers are allow-listed, so they are safe inside double quotes.
        assert!(names.iter().all(|n| {
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
        }));
    }

    #[test]
    fn databases_are_the_application_database_and_every_users_databases() {
        let spec = ClusterSpec::from_request(ClusterRequest {
            name: "orders".into(),
            users: Some(vec![DatabaseUserRequest {
                name: "reporting".into(),
                databases: Some(vec!["analytics".into(), "app".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(databases(&spec), vec!["analytics", "app", "orders"]);
        assert_eq!(known_database(&spec, "analytics"), Ok("analytics"));
        let missing = known_database(&spec, "billing").unwrap_err();
        assert!(missing.contains("analytics, app, orders"), "{missing}");
    }
}

/// An extension installed in a database (`pg_extension`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct InstalledExtension {
    pub name: String,
    pub version: String,
}
