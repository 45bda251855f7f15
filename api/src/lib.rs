//! pgplane: a Postgres-as-a-service control plane over the Crunchy Data Postgres Operator.
//!
//! Layers, in the direction requests flow: `http` (axum handlers, problem+json, auth) →
//! `domain` (pure rules: names, roles, quotas) → `store` (sqlx, the only module that talks SQL).
//! `auth` holds the credential mechanics (passwords, JWTs, API keys) shared by `http` and `cli`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dev;
pub mod domain;
pub mod embedded_pg;
pub mod http;
pub mod jobs;
pub mod observability;
pub mod openapi;
pub mod openapi_links;
pub mod platform;
pub mod store;
pub mod strict_json;
pub mod sync;
pub mod telemetry;
