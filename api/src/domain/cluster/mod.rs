//! The Postgres cluster domain: what a tenant may ask for and what pgplane makes of it.
//!
//! This module owns, as pure functions over plain types (no I/O, no clock, no randomness):
//! the tenant-facing cluster document ([`ClusterRequest`] in, [`ClusterSpec`] out, with every
//! server default written back so a declarative client never sees a perpetual diff), its
//! validation ([`FieldError`] per bad field, all of them at once), RFC 7386 merge patches
//! ([`ClusterSpec::apply_merge_patch`]), the `postgresql.conf` allow-list and the DBA defaults
//! derived from the instance size ([`parameters`]), quota arithmetic ([`ResourceUsage`]), the
//! desired PGO `PostgresCluster` manifest ([`desired_postgrescluster`]) and the mapping of PGO's
//! status to our phase ([`observe`]).
//!
//! It must not talk to Kubernetes, the database or the network, and must not know HTTP: the
//! `http` layer turns [`FieldError`]s into problem+json, the `platform` driver applies the
//! manifest, the `sync` watcher feeds PGO status into [`observe`]. Siblings are referred to only
//! through `super::` so the folder can move inside the `pgplane` crate unchanged.

mod actions;
pub mod backup_health;
mod build;
mod connection;
pub mod cron;
pub mod extensions;
pub mod images;
mod manifest;
pub mod naming;
pub mod parameters;
mod patch;
mod quantity;
mod quota;
pub mod repository;
mod request;
mod resets;
mod site;
mod spec;
mod status;
mod target;
mod validate;

#[cfg(test)]
mod testing;

pub use actions::{
    ActionKind, ActiveOperation, Allowance, AllowedActions, ClusterFacts, Refusal, allowed_actions,
    check, require_running,
};
pub use actions::{BackupFacts, BackupType, ClusterAction};
pub use connection::{CertificateFacts, ConnectionFacts, Endpoint};
pub use extensions::InstalledExtension;
pub use manifest::{
    API_VERSION, BACKUP_REPO_SIZE_FACTOR, KIND, ManifestInput, desired_postgrescluster,
};
pub use parameters::{restart_parameters, restart_required};
pub use quantity::parse_bytes;
pub use quota::{ExceededLimit, POOLER_CPU_MILLIS, POOLER_MEMORY_MIB, QuotaLimits, ResourceUsage};
pub use request::{
    BackupSchedulesRequest, BackupsRequest, ClusterRequest, ClusterSourceRequest,
    DatabaseUserRequest, MonitoringRequest, PoolerRequest, ResourcesRequest, StandbyRequest,
    StorageRequest,
};
pub use site::Site;
pub use spec::{
    BackupSchedules, Backups, ClusterSource, ClusterSpec, DatabaseUser, DeletionPolicy, Monitoring,
    Pooler, Resources, StandbySource, Storage, bounds, defaults,
};
pub use status::{
    InitialBackup, InstanceCounts, Observed, Phase, PoolerState, Report, RepositoryState,
    ScheduledBackup, observe,
};
pub use target::{ClusterTarget, TenantTarget};

pub use super::FieldError;
pub use super::operation::{OperationKind, OperationState};
