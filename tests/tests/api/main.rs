//! Integration tests of the pgplane HTTP API against a real PostgreSQL (one test binary).

mod api_keys;
mod audit;
mod auth;
mod cli;
mod clusters;
mod fixtures;
mod http_behaviour;
mod openapi;
mod portal;
mod quotas;
mod roles;
mod tenants;
mod users;
