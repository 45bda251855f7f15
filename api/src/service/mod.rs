//! The application layer: one function per use case, each owning its transaction (load, ask
//! the domain whether the action is allowed, write the desired state and the operation that
//! carries it out, commit). Handlers in `http` parse a request, call one function here and map
//! its result to HTTP; nothing here knows HTTP beyond the problem document (`crate::problem`)
//! it answers with. Requests read only pgplane's database, but for the two live questions of
//! [`probe`].

mod access;
pub mod actions;
pub mod backups;
pub mod clusters;
pub mod connection;
pub mod extensions;
pub mod insights;
pub mod login;
pub mod operations;
pub mod probe;
pub mod sso;
pub mod standby;
pub mod tenants;
pub mod upgrade;
pub mod users;
pub mod versions;

pub use access::TenantAccess;

use crate::domain::cluster::ClusterSpec;
use crate::problem::{ApiError, ApiResult};
use crate::store::clusters::ClusterRow;

/// The stored spec of a cluster (written by pgplane itself, so unreadable means a bug: 500).
pub fn spec_of(row: &ClusterRow) -> ApiResult<ClusterSpec> {
    serde_json::from_value(row.spec.0.clone()).map_err(ApiError::internal)
}
