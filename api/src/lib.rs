//! pgplane: a Postgres-as-a-service control plane over the Crunchy Data Postgres Operator.
//!
//! Layers, in the direction requests flow: `http` (axum handlers: parse, call, map; auth) →
//! `service` (one function per use case, owning its transaction) → `domain` (pure rules:
//! names, roles, quotas, which cluster actions are allowed) and `store` (sqlx, the only module
//! that talks SQL). `problem` is the error document every layer above `store` answers with.
//! Off the request path: `jobs` (durable workers) and `sync` (status) drive `platform`, and
//! `insights` collects what each cluster's PostgreSQL says about itself.
//! `auth` holds the credential mechanics (passwords, JWTs, API keys) shared by `http` and `cli`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dev;
pub mod domain;
pub mod embedded_pg;
pub mod http;
pub mod insights;
pub mod jobs;
pub mod observability;
pub mod oidc;
pub mod openapi;
pub mod openapi_links;
pub mod platform;
pub mod problem;
pub mod secrets;
pub mod service;
pub mod store;
pub mod strict_json;
pub mod sync;
pub mod telemetry;
