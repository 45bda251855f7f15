//! In-process Kubernetes API server for tests (under construction).
mod admission;
mod apply;
mod deletion;
mod discovery;
mod error;
mod faults;
mod meta;
pub mod operator;
mod patch;
mod request_log;
mod resources;
mod routes;
mod selectors;
mod server;
mod store;
pub mod validation;

pub use admission::FieldValidation;
pub use error::StatusCause;
pub use faults::{FaultKind, FaultTarget, Faults};
pub use request_log::{RbacRule, RequestRecord, Verb, rbac_rules};
pub use server::{ServerOptions, TestApiServer};
