//! The real-apiserver tier: pgplane's Kubernetes driver and the simulated operator (running as
//! a controller over the API, like PGO) against a real kube-apiserver, etcd and
//! kube-controller-manager (`pgplane_tests::envtest`, from `KUBEBUILDER_ASSETS`). Each test
//! checks against the real server something the in-process server (`tests/kube-apiserver`)
//! claims about Kubernetes: server-side apply field ownership, CRD validation with CEL, quota
//! and limit-range admission, NetworkPolicy validation, garbage collection, namespace
//! termination, watch bookmarks and 410 Expired, RBAC. Where the two disagree, this tier is
//! right.
//!
//! One control plane serves every test of this binary; each test works in namespaces of its
//! own (tenants named `<prefix>-<random>`). Without `KUBEBUILDER_ASSETS` every test prints
//! why it is skipped and passes.

mod apply;
mod certificates;
mod data_safety;
mod gc;
mod lifecycle;
mod quota;
mod rbac;
mod storage;
mod support;
mod tenant;
mod validation;
mod watch;
