//! The Kubernetes platform driver against the in-process test API server (real REST protocol,
//! PGO CRD validation) and its simulated operator, through the real `kube` client.

mod apply;
mod delete;
mod environment;
mod errors;
mod rbac;
mod retained;
mod rollout;
mod storage;
mod support;
mod tenant;
mod watch;
