//! Metrics of the background machinery, next to the per-route HTTP metrics of `http::metrics`.
//! Labels come from closed sets (job outcome, phase, event kind, operation kind as constrained
//! by the database); never an operation id, and a tenant or cluster only in backup and
//! certificate health.
//!
//! - Gauges sampled from the metadata database when `/metrics` is scraped ([`sample`]): jobs by
//!   queue state, the age of the oldest queued job and of the oldest active operation, clusters
//!   by phase. Every replica reports the same database-wide values: aggregate them with `max`.
//! - Counters the job workers bump ([`job_attempt`]) and the status sync bumps
//!   ([`operation_finished`]): attempts by kind and outcome, operations
//!   finished by kind and outcome. Per process: aggregate them with `sum`.
//! - The status sync ([`sync_leading`], [`timed`], [`sync_event`]): whether this process leads,
//!   events by kind, the lag from the platform watch to the database, the backlog.
//! - Backup health ([`backup_health`]), certificate expiry ([`certificate_health`]) and the
//!   virtual DBA's findings ([`insight_health`]) per cluster: the only places a cluster is a
//!   label, because an overdue backup, a certificate about to expire or a finding must say
//!   whose it is.

pub mod backup_health;
pub mod certificate_health;
mod exposition;
pub mod insight_health;

use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::domain::cluster::Phase;
use crate::platform::PlatformEvent;
use crate::store;

/// Upper bound of one sample of the metadata database; a scrape never waits longer for it.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// An operation kind as a label: the kinds are a closed set (the `operations_kind_known`
/// constraint); anything unexpected is `other` rather than a new series.
fn kind_label(kind: &str) -> String {
    let plain = !kind.is_empty()
        && kind.len() <= 32
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain { kind } else { "other" }.to_string()
}

/// Samples the metadata database into the queue and phase gauges. A failed or slow sample
/// leaves the previous values and counts `pgplane_metrics_sample_errors_total`.
pub async fn sample(db: &PgPool) {
    let queries = async {
        let queue = store::observability::queue(db).await?;
        let phases = store::observability::clusters_by_phase(db).await?;
        Ok::<_, store::StoreError>((queue, phases))
    };
    let Some((queue, phases)) = bounded_sample("the metadata database", queries).await else {
        return;
    };
    counter!("pgplane_metrics_sample_errors_total").increment(0);
    for (state, count) in [
        ("queued", queue.queued),
        ("running", queue.running),
        ("scheduled", queue.scheduled),
    ] {
        gauge!("pgplane_jobs", "state" => state).set(count as f64);
    }
    gauge!("pgplane_jobs_oldest_queued_age_seconds").set(queue.oldest_queued_seconds);
    gauge!("pgplane_operations_oldest_active_age_seconds").set(queue.oldest_active_seconds);
    // Every phase, so each has a series (0 included) for alerts to compare against.
    for phase in Phase::ALL {
        let label = phase.as_str();
        let count = phases
            .iter()
            .find(|(p, _)| p == label)
            .map_or(0, |(_, n)| *n);
        gauge!("pgplane_clusters", "phase" => label).set(count as f64);
    }
}

/// `queries` within [`SAMPLE_TIMEOUT`]; a failure or a timeout is logged, counted in
/// `pgplane_metrics_sample_errors_total` and gives `None`.
pub(crate) async fn bounded_sample<T>(
    what: &str,
    queries: impl Future<Output = Result<T, store::StoreError>>,
) -> Option<T> {
    match tokio::time::timeout(SAMPLE_TIMEOUT, queries).await {
        Ok(Ok(sampled)) => Some(sampled),
        Ok(Err(error)) => {
            tracing::warn!(%error, "sampling {what} for metrics failed");
            counter!("pgplane_metrics_sample_errors_total").increment(1);
            None
        }
        Err(_) => {
            tracing::warn!("sampling {what} for metrics timed out");
            counter!("pgplane_metrics_sample_errors_total").increment(1);
            None
        }
    }
}

/// How one job attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Applied; the operation waits for the platform to report.
    Waiting,
    /// The operation succeeded.
    Succeeded,
    /// The operation failed (refused, failed outcome, or out of retries).
    Failed,
    /// A transient error; a retry is scheduled with backoff.
    Retry,
    /// The lease was lost or the claim superseded: another attempt owns the operation.
    Lost,
}

impl JobOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Retry => "retry",
            Self::Lost => "lost",
        }
    }
}

/// The end of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationOutcome {
    Succeeded,
    Failed,
}

/// A job attempt of an operation of `kind` ended with `outcome`; `recorded` is false when the
/// outcome could not be written because the claim was no longer this worker's.
pub fn job_attempt(kind: &str, outcome: JobOutcome, recorded: bool) {
    let outcome = if recorded { outcome } else { JobOutcome::Lost };
    counter!("pgplane_job_attempts_total", "kind" => kind_label(kind), "outcome" => outcome.label())
        .increment(1);
    match outcome {
        JobOutcome::Succeeded => operation_finished(kind, OperationOutcome::Succeeded),
        JobOutcome::Failed => operation_finished(kind, OperationOutcome::Failed),
        _ => {}
    }
}

/// An operation of `kind` finished.
pub fn operation_finished(kind: &str, outcome: OperationOutcome) {
    let outcome = match outcome {
        OperationOutcome::Succeeded => "succeeded",
        OperationOutcome::Failed => "failed",
    };
    counter!("pgplane_operations_finished_total", "kind" => kind_label(kind), "outcome" => outcome)
        .increment(1);
}

/// Whether this process leads the status sync (exactly one replica should report 1).
pub fn sync_leading(leading: bool) {
    gauge!("pgplane_sync_leader").set(if leading { 1.0 } else { 0.0 });
}

/// A platform event and when the sync took it from the watch.
pub struct Timed {
    pub event: PlatformEvent,
    pub received: Instant,
}

/// Forwards `raw` into a channel of `capacity`, stamping each event as it arrives. Give `raw`
/// a capacity of 1 so the stamp is when the watch produced the event, and the backlog waits
/// here, where [`sync_event`] measures it.
pub fn timed(mut raw: mpsc::Receiver<PlatformEvent>, capacity: usize) -> mpsc::Receiver<Timed> {
    let (tx, rx) = mpsc::channel(capacity);
    tokio::spawn(async move {
        while let Some(event) = raw.recv().await {
            let timed = Timed {
                event,
                received: Instant::now(),
            };
            if tx.send(timed).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// The label of an event.
pub fn event_label(event: &PlatformEvent) -> &'static str {
    match event {
        PlatformEvent::Observed(_) => "observed",
        PlatformEvent::Gone { .. } => "gone",
        PlatformEvent::Resynced => "resynced",
    }
}

/// The sync handled an event of kind `label` taken at `received`: whether it was recorded, the
/// lag until now, and how many events still wait.
pub fn sync_event(label: &'static str, received: Instant, recorded: bool, backlog: usize) {
    counter!("pgplane_sync_events_total", "event" => label).increment(1);
    // Incremented by 0 too, so the series exists (at 0) for alerts before any error.
    counter!("pgplane_sync_event_errors_total").increment(u64::from(!recorded));
    histogram!("pgplane_sync_event_lag_seconds").record(received.elapsed().as_secs_f64());
    gauge!("pgplane_sync_backlog_events").set(backlog as f64);
}

/// Bucket bounds of `pgplane_sync_event_lag_seconds`: 1 ms to 2 minutes.
pub const LAG_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0, 120.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_labels_are_the_stored_phase_names() {
        for phase in Phase::ALL {
            assert_eq!(
                serde_json::to_value(phase).unwrap(),
                serde_json::json!(phase.as_str())
            );
        }
    }

    #[test]
    fn unexpected_operation_kinds_share_one_label() {
        assert_eq!(kind_label("create"), "create");
        assert_eq!(kind_label("pg_upgrade"), "pg_upgrade");
        assert_eq!(kind_label("Create; drop"), "other");
        assert_eq!(kind_label(&"x".repeat(40)), "other");
        assert_eq!(kind_label(""), "other");
    }
}
