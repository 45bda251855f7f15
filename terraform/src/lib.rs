//! The Terraform provider for pgplane (`pgplane/pgplane`): resources and data sources over
//! pgplane's REST API, served to Terraform over the plugin protocol (version 6).

pub mod client;
pub mod data_sources;
pub mod docs;
pub mod engine;
#[cfg(test)]
pub mod fake;
pub mod provider;
pub mod quantity;
pub mod resources;
pub mod schema;
pub mod values;
