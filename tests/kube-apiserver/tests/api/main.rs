//! Integration tests: the real `kube` client against `kube_test_apiserver` over HTTP.

mod apply;
mod crud;
mod day2;
mod discovery;
mod lifecycle;
mod listing;
mod operator;
mod requests;
mod support;
mod validation;
mod volumes;
mod watch;
