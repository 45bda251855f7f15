//! The cluster lifecycle end to end: the real HTTP API, the real job workers and status sync,
//! the real Kubernetes driver and `kube` client, against the in-process test API server (which
//! validates every PostgresCluster against the real PGO CRDs) and the simulated operator.

mod day2;
mod extensions;
mod faults;
mod ha;
mod happy_path;
mod harness;
mod metrics;
mod recovery;
mod repository;
mod resets;
mod restarts;
mod retention;
mod roles;
mod standby;
mod storage;
mod upgrade;
