//! A simulated Kubernetes Job (PGO runs backups, restores and upgrades as Jobs) and the
//! `PGBackRestJobStatus` PGO copies from it.
//!
//! One Pod attempt takes the scenario's `job_duration`. A succeeding Job completes after its
//! first attempt. A failing one fails one Pod per attempt until `failed` exceeds its backoff
//! limit (Kubernetes' default 6 for PGO's backup and restore Jobs, 0 for the upgrade Job), and
//! only then is it finished; a failed Job has no `completionTime`, as in Kubernetes.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

/// Kubernetes' default `backoffLimit`, which PGO's backup and restore Jobs keep.
pub(crate) const DEFAULT_BACKOFF_LIMIT: u32 = 6;

#[derive(Clone, Debug)]
pub(crate) struct Job {
    started: Instant,
    start_time: String,
    fails: bool,
    backoff_limit: u32,
    failed: u32,
    completion_time: Option<String>,
}

/// What a Job did during one [`Job::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    None,
    Succeeded,
    Failed,
}

impl Job {
    pub fn start(now: Instant, wall: &str, fails: bool, backoff_limit: u32) -> Self {
        Self {
            started: now,
            start_time: wall.to_string(),
            fails,
            backoff_limit,
            failed: 0,
            completion_time: None,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.completion_time.is_some()
    }

    pub fn failed(&self) -> bool {
        self.fails && self.failed > self.backoff_limit
    }

    pub fn finished(&self) -> bool {
        self.succeeded() || self.failed()
    }

    /// Moves the Job on to `now`; reports the transition to a finished state, once.
    pub fn advance(&mut self, now: Instant, step: Duration, wall: &str) -> Transition {
        if self.finished() {
            return Transition::None;
        }
        let step = step.max(Duration::from_millis(1));
        let attempts = (now.saturating_duration_since(self.started).as_nanos() / step.as_nanos())
            .min(u128::from(u32::MAX)) as u32;
        if attempts == 0 {
            return Transition::None;
        }
        if self.fails {
            self.failed = attempts.min(self.backoff_limit + 1);
            if self.failed() {
                return Transition::Failed;
            }
            Transition::None
        } else {
            self.completion_time = Some(wall.to_string());
            Transition::Succeeded
        }
    }

    /// Moves on a Job whose Pod attempts succeed only if `succeeds` holds when they end (a
    /// restore from a repository that may get its first backup while the Job retries).
    pub fn advance_retrying(
        &mut self,
        now: Instant,
        step: Duration,
        wall: &str,
        succeeds: bool,
    ) -> Transition {
        if self.finished() {
            return Transition::None;
        }
        let step = step.max(Duration::from_millis(1));
        let ended = (now.saturating_duration_since(self.started).as_nanos() / step.as_nanos())
            .min(u128::from(u32::MAX)) as u32;
        if ended <= self.failed {
            return Transition::None;
        }
        if succeeds {
            self.completion_time = Some(wall.to_string());
            return Transition::Succeeded;
        }
        self.failed = ended.min(self.backoff_limit + 1);
        if self.failed > self.backoff_limit {
            self.fails = true;
            return Transition::Failed;
        }
        Transition::None
    }

    /// PGO's `PGBackRestJobStatus` for this Job (zero counts omitted, as Go's `omitempty`).
    pub fn status(&self, id: &str) -> Value {
        let mut s = json!({ "id": id, "finished": self.finished(), "startTime": self.start_time });
        if !self.finished() {
            s["active"] = json!(1);
        }
        if self.succeeded() {
            s["succeeded"] = json!(1);
            s["completionTime"] = json!(self.completion_time);
        }
        if self.failed > 0 {
            s["failed"] = json!(self.failed);
        }
        s
    }
}

/// The status PGO writes for an id whose Job does not exist yet.
pub(crate) fn pending_status(id: &str) -> Value {
    json!({ "id": id, "finished": false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_job_counts_failed_pods_until_its_backoff_limit() {
        let t0 = Instant::now();
        let step = Duration::from_millis(10);
        let mut job = Job::start(t0, "2025-01-01T00:00:00Z", true, DEFAULT_BACKOFF_LIMIT);
        assert_eq!(job.advance(t0 + step * 3, step, "x"), Transition::None);
        assert_eq!(job.status("a")["failed"], 3);
        assert_eq!(job.status("a")["finished"], false);
        assert_eq!(job.advance(t0 + step * 9, step, "x"), Transition::Failed);
        let status = job.status("a");
        assert_eq!(
            (status["failed"].as_u64(), status["finished"].as_bool()),
            (Some(7), Some(true))
        );
        assert!(status.get("completionTime").is_none());
        assert!(status.get("active").is_none());
    }

    #[test]
    fn a_retrying_job_succeeds_on_the_first_attempt_that_can() {
        let t0 = Instant::now();
        let step = Duration::from_millis(10);
        let mut job = Job::start(t0, "2025-01-01T00:00:00Z", false, DEFAULT_BACKOFF_LIMIT);
        assert_eq!(job.advance_retrying(t0, step, "x", false), Transition::None);
        assert_eq!(
            job.advance_retrying(t0 + step * 2, step, "x", false),
            Transition::None
        );
        assert_eq!(job.status("a")["failed"], 2);
        assert_eq!(
            job.advance_retrying(t0 + step * 2, step, "x", true),
            Transition::None,
            "the third attempt has not ended"
        );
        assert_eq!(
            job.advance_retrying(t0 + step * 3, step, "y", true),
            Transition::Succeeded
        );
        assert_eq!(job.status("a")["succeeded"], 1);
        let mut doomed = Job::start(t0, "2025-01-01T00:00:00Z", false, DEFAULT_BACKOFF_LIMIT);
        assert_eq!(
            doomed.advance_retrying(t0 + step * 9, step, "x", false),
            Transition::Failed
        );
        assert!(doomed.failed());
        assert_eq!(doomed.status("a")["failed"], 7);
    }

    #[test]
    fn a_succeeding_job_completes_after_one_attempt() {
        let t0 = Instant::now();
        let step = Duration::from_millis(10);
        let mut job = Job::start(t0, "2025-01-01T00:00:00Z", false, DEFAULT_BACKOFF_LIMIT);
        assert_eq!(job.status("a")["active"], 1);
        assert_eq!(
            job.advance(t0 + step, step, "2025-01-01T00:00:01Z"),
            Transition::Succeeded
        );
        assert_eq!(job.advance(t0 + step * 2, step, "y"), Transition::None);
        let status = job.status("a");
        assert_eq!(status["succeeded"], 1);
        assert_eq!(status["completionTime"], "2025-01-01T00:00:01Z");
    }
}
