//! Integration tests: the real `kube` client against `kube_test_apiserver` over HTTP.

mod apply;
mod apply_errors;
mod cel_messages;
mod claim_protection;
mod crud;
mod day2;
mod discovery;
mod lifecycle;
mod listing;
mod network_policies;
mod operator;
mod pods;
mod requests;
mod support;
mod validation;
mod volumes;
mod watch;
