//! In-process Kubernetes API server for tests (under construction).
mod error;
mod meta;
mod resources;
mod selectors;
pub mod validation;
