//! The `local` platform end to end: the real HTTP API, job workers and status sync driving real
//! PostgreSQL processes on this host, and the `pgplane dev` command that puts it all together.

mod backups;
mod certificates;
mod copies;
mod dev_command;
mod failover;
mod harness;
mod insights;
mod lifecycle;
mod monitoring;
mod order_of_checks;
mod pooler;
mod restart;
mod roles;
mod upgrade;
