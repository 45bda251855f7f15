//! The simulated Postgres Operator (under construction).

/// The `User-Agent` of the simulated operator's client.
pub const USER_AGENT: &str = "pgo-simulated-operator";
