//! Integration tests: the real `kube` client against `kube_test_apiserver` over HTTP.

mod support;
mod validation;
