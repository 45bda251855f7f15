//! Integration tests of the pgplane HTTP API against a real PostgreSQL (one test binary).

mod api_keys;
mod audit;
mod auth;
mod cli;
mod clusters;
mod fenced_effects;
mod fixtures;
mod house_rules;
mod http_behaviour;
mod nul_bytes;
mod openapi;
mod order_of_checks;
mod portal;
mod quotas;
mod roles;
mod sessions;
mod spec_exactness;
mod spec_sweep;
mod sso;
mod tenants;
mod users;
