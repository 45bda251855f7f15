//! Test harness for pgplane's integration tests: a real PostgreSQL (from `DATABASE_URL`, or a
//! throwaway server started from the installed binaries), a fresh database per test, the real
//! HTTP server on a loopback port, and a typed client that asserts statuses inside its helpers.

pub mod app;
pub mod bench;
pub mod client;
pub mod envtest;
pub mod oidc;
pub mod postgres;
pub mod process;
pub mod watch;

pub use app::{PASSWORD, TestApp};
pub use client::{Call, TestClient};
