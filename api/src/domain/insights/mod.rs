//! The virtual DBA's reading of a cluster: snapshots of what PostgreSQL says about itself
//! (`snapshot`), the statements that cost the most over a window (`statements`), when storage
//! fills (`forecast`), and what a DBA would point out (`findings`). Pure: the collector
//! (`crate::insights`) reads the snapshots, the store keeps them.

pub mod findings;
pub mod forecast;
pub mod snapshot;
pub mod statements;

pub use findings::{
    ClusterFacts, Evidence, Finding, FindingKind, Severity, SuggestedAction, Thresholds, findings,
};
pub use forecast::{Forecast, StoragePoint};
pub use snapshot::{Snapshot, Taken};
pub use statements::{StatementOrder, StatementStats, top_statements};
