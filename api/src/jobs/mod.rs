//! Durable job workers. The operation row is the job (see `store::operations`): workers claim
//! due operations with `FOR UPDATE SKIP LOCKED`, hold a renewed lease, carry the operation out
//! through the platform driver, and record the outcome fenced by their attempt. New work wakes
//! them through `LISTEN/NOTIFY`; otherwise they sleep until the next operation is due.

mod backoff;
pub mod effects;
mod execute;
mod worker;

use std::time::Duration;

pub use worker::run;

/// How workers behave.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Operations carried out at once by this process.
    pub concurrency: usize,
    /// How long a claim lasts without renewal; a crashed worker's job is taken over after it.
    pub lease: Duration,
    /// How often a waiting create/update is re-applied (harmless: applies are idempotent).
    pub recheck: Duration,
    /// How often a waiting delete looks again whether the cluster is gone.
    pub delete_recheck: Duration,
    /// First retry delay after a transient failure; doubles per failure (with jitter).
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            lease: Duration::from_secs(30),
            recheck: Duration::from_secs(30),
            delete_recheck: Duration::from_secs(5),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}
