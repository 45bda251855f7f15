//! The reliability suite (issue 9): convergence under Kubernetes faults with worker processes
//! killed by SIGKILL, a worker process killed mid-job and its job taken over, a metadata
//! database restart under load, API fuzzing with schemathesis, and the security sweeps (tenant
//! isolation from the spec, secrets in logs). One test binary, bounded in time; `scripts/test`
//! runs it in CI (the schemathesis run too).

mod convergence;
mod fuzz_world;
mod isolation;
mod isolation_inputs;
/// The local-platform tier's harness (real PostgreSQL processes as clusters), which the
/// schemathesis stage fuzzes; this binary uses only part of it.
#[allow(dead_code)]
#[path = "../local/harness.rs"]
mod local_harness;
mod metadata_restart;
mod schemathesis;
mod secrets_at_rest;
mod secrets_in_logs;
mod support;
mod worker_crash;
