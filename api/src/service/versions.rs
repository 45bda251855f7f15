//! The PostgreSQL versions a tenant may choose: what the platform runs (the local platform:
//! the servers installed on its host), else every major pgplane supports; and the one a
//! cluster gets when its request names none.

use crate::app::AppState;
use crate::domain::cluster::{bounds, defaults};

/// One choosable major version.
pub struct Version {
    pub version: u32,
    /// A create without `postgres_version` gets this one.
    pub default: bool,
}

/// Oldest first.
pub fn available(state: &AppState) -> Vec<Version> {
    let platform = state.platform.as_ref();
    let versions = platform
        .and_then(|p| p.postgres_versions())
        .unwrap_or_else(|| bounds::POSTGRES_VERSIONS.collect());
    let default = platform
        .and_then(|p| p.default_postgres_version())
        .unwrap_or(defaults::POSTGRES_VERSION);
    versions
        .into_iter()
        .map(|version| Version {
            version,
            default: version == default,
        })
        .collect()
}
