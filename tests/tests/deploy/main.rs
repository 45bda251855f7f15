//! `deploy/`: the Kubernetes manifests rendered by kustomize (`kubectl kustomize`) and validated
//! offline (Kubernetes schemas with `kubernetes-validate --strict`, the metadata database's
//! PostgresCluster with the test API server's PGO v5.8.9 + v6.0.3 validation), the properties
//! the Deployment must keep, and the Dockerfile. `scripts/test` installs the three tools.

mod dockerfile;
mod manifests;
mod render;
mod wiring;
