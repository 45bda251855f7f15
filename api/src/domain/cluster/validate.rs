//! Validators for single values: cluster names, database and role names, role options,
//! storage class names. Each returns `Err(message)`; [`super::build`] attaches the field path.
//!
//! The rules are PGO's CRD rules (patterns, lengths, CEL messages) tightened where PGO would
//! accept something that breaks later: a role PGO treats specially (`postgres`), a role option
//! that hands out superuser power, a name too long for the objects PGO derives from it.

use super::naming::{self, MAX_CLUSTER_NAME_LEN};

/// Role names PostgreSQL or PGO reserve: `postgres` gets superuser treatment from PGO, the
/// others are reserved words or `pg_hba.conf` keywords.
const RESERVED_ROLES: &[&str] = &[
    "postgres",
    "public",
    "none",
    "all",
    "current_user",
    "current_role",
    "session_user",
    "sameuser",
    "samerole",
    "samegroup",
    "replication",
    // pgplane's insights collector.
    super::naming::INSIGHTS_ROLE,
];

/// Databases every cluster already has and tenants must not claim.
const RESERVED_DATABASES: &[&str] = &["postgres", "template0", "template1"];

/// Role attributes a tenant may give a user. SUPERUSER, REPLICATION and BYPASSRLS are left
/// out on purpose: they would let a tenant reach past the database into the pod or the WAL.
const ROLE_ATTRIBUTES: &[(&str, &str)] = &[
    ("LOGIN", "login"),
    ("NOLOGIN", "login"),
    ("CREATEDB", "createdb"),
    ("NOCREATEDB", "createdb"),
    ("CREATEROLE", "createrole"),
    ("NOCREATEROLE", "createrole"),
    ("INHERIT", "inherit"),
    ("NOINHERIT", "inherit"),
    ("NOSUPERUSER", "superuser"),
    ("NOREPLICATION", "replication"),
    ("NOBYPASSRLS", "bypassrls"),
];

/// Longest `users[].options` PGO accepts.
const MAX_ROLE_OPTIONS_LEN: usize = 200;

/// A cluster name: a DNS-1035 label short enough for every object PGO derives from it.
pub(super) fn cluster_name(name: &str) -> Result<(), String> {
    dns_1035_label(name)?;
    if name.len() > MAX_CLUSTER_NAME_LEN {
        return Err(format!(
            "must be at most {MAX_CLUSTER_NAME_LEN} characters: PGO names the instance \
             StatefulSet `<name>-{}-xxxx` and limits it to 52",
            naming::INSTANCE_SET_NAME
        ));
    }
    for derived in naming::derived_names(name, []) {
        if derived.name.len() > derived.max {
            return Err(format!(
                "is too long for the {} `{}` PGO derives from it (max {})",
                derived.kind, derived.name, derived.max
            ));
        }
    }
    Ok(())
}

/// A PostgreSQL role pgplane asks PGO to create: PGO's `users[].name` pattern
/// (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, ≤ 63), starting with a letter, not reserved.
pub(super) fn role_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("must be 1 to 63 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.ends_with('-')
    {
        return Err(
            "may contain only lowercase letters, digits and hyphens (PGO stores it in \
                    Kubernetes names), and must not end with a hyphen"
                .into(),
        );
    }
    if RESERVED_ROLES.contains(&name) {
        return Err(format!("`{name}` is reserved"));
    }
    Ok(())
}

/// A database name: lowercase letters, digits, `_` and `-`, starting with a letter,
/// at most 63 bytes (PostgreSQL's NAMEDATALEN − 1), not `pg_*`, not a built-in database.
pub(super) fn database_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("must be 1 to 63 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err("may contain only lowercase letters, digits, `_` and `-`".into());
    }
    if name.starts_with("pg_") {
        return Err("must not start with `pg_` (reserved for system objects)".into());
    }
    if RESERVED_DATABASES.contains(&name) {
        return Err(format!("`{name}` is reserved"));
    }
    Ok(())
}

/// `ALTER ROLE` options for an extra user: PGO's CRD rules (≤ 200, no `;`, no PASSWORD, no
/// comments) plus an allow-list of attributes and `CONNECTION LIMIT n`, each at most once.
pub(super) fn role_options(options: &str) -> Result<(), String> {
    if options.len() > MAX_ROLE_OPTIONS_LEN {
        return Err(format!("must be at most {MAX_ROLE_OPTIONS_LEN} characters"));
    }
    if options.contains(';') || options.contains("--") || options.contains("/*") {
        return Err("must not contain `;` or comments".into());
    }
    if options.to_ascii_uppercase().contains("PASSWORD") {
        return Err("cannot assign a password: PGO generates it into the user's Secret".into());
    }
    let tokens: Vec<String> = options
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (attribute, width) = match tokens[i].as_str() {
            "CONNECTION" => {
                let limit_ok = tokens.get(i + 1).is_some_and(|t| t == "LIMIT")
                    && tokens
                        .get(i + 2)
                        .and_then(|n| n.parse::<i32>().ok())
                        .is_some_and(|n| (-1..=10_000).contains(&n));
                if !limit_ok {
                    return Err("`CONNECTION LIMIT` needs a number from -1 to 10000".into());
                }
                ("connection limit", 3)
            }
            token => match ROLE_ATTRIBUTES.iter().find(|(name, _)| *name == token) {
                Some((_, attribute)) => (*attribute, 1),
                None => {
                    return Err(format!(
                        "`{token}` is not an allowed role option (allowed: {}, CONNECTION LIMIT n)",
                        ROLE_ATTRIBUTES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            },
        };
        if seen.contains(&attribute) {
            return Err(format!("sets {attribute} more than once"));
        }
        seen.push(attribute);
        i += width;
    }
    Ok(())
}

/// A StorageClass name: a DNS-1123 subdomain (≤ 253, dot-separated DNS-1123 labels).
pub(super) fn storage_class(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    if !name.split('.').all(is_dns_1123_label) {
        return Err(
            "must be a DNS subdomain: lowercase letters, digits, `-` and `.`, \
                    starting and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

fn dns_1035_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    if !is_dns_1123_label(name) || name.len() > 63 {
        return Err("must be a DNS label: lowercase letters, digits and `-`, \
                    ending with a letter or digit"
            .into());
    }
    Ok(())
}

fn is_dns_1123_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests;
