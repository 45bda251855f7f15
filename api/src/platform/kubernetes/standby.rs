//! Streaming standby clusters on PGO: a standby follows its source's primary Service
//! (`spec.standby.host`: in the source's namespace, through the cross-cluster Service domain
//! when the source runs in the other site's Kubernetes cluster, see
//! [`super::options::KubernetesOptions::source_host`]), authenticated by certificates from the
//! tenant's CA ([`super::certificates`]); promoting it sets `spec.standby.enabled: false`,
//! after which Patroni promotes the standby leader.
//!
//! PGO reports neither "following" nor "promoted" in its status, so the promotion is confirmed
//! where it happens: `pg_is_in_recovery()` in the primary Pod turns false.

use kube::api::{Api, DynamicObject};
use serde_json::json;

use super::cluster;
use super::errors::classify;
use super::exec::psql_in_primary;
use super::resources::postgrescluster;
use crate::domain::cluster::naming::server_certificate_secret_name;
use crate::platform::{ActionProgress, ClusterTarget, PlatformError};

/// Checks that the cluster a standby follows (in `source_namespace` of `source_client`'s
/// Kubernetes cluster) runs with the tenant's certificates (its update is queued with the
/// standby's creation). A standby (in `namespace` of `client`'s) is not created without its
/// source; one that already exists may outlive it (that is what it is for) and can still be
/// changed. Other clusters pass.
pub async fn check_source(
    client: &kube::Client,
    namespace: &str,
    source_client: &kube::Client,
    source_namespace: &str,
    target: &ClusterTarget,
) -> Result<(), PlatformError> {
    let Some(standby) = &target.spec.standby else {
        return Ok(());
    };
    let source = &standby.source;
    let api = |client: &kube::Client, ns: &str| -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), ns, &postgrescluster())
    };
    let found = api(source_client, source_namespace).get_opt(source).await;
    let Some(live) = found.map_err(|e| classify(&e))? else {
        let exists = api(client, namespace)
            .get_opt(&target.spec.name)
            .await
            .map_err(|e| classify(&e))?;
        if exists.is_some() {
            return Ok(());
        }
        return Err(PlatformError::Rejected(format!(
            "the cluster `{source}` this standby follows does not exist on the platform"
        )));
    };
    let expected = server_certificate_secret_name(source);
    if live.data["spec"]["customTLSSecret"]["name"].as_str() != Some(expected.as_str()) {
        return Err(PlatformError::Transient(format!(
            "`{source}` does not run with the tenant's certificates yet (its update is queued)"
        )));
    }
    Ok(())
}

/// Whether the cluster's primary is still replaying WAL (`t`) rather than writable (`f`).
async fn in_recovery(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<bool, PlatformError> {
    let sql = "SELECT pg_is_in_recovery()";
    let output = psql_in_primary(client, namespace, cluster, "postgres", sql).await?;
    match (output.exit_code, output.stdout.trim()) {
        (0, "t") => Ok(true),
        (0, "f") => Ok(false),
        _ => Err(PlatformError::Transient(format!(
            "cannot ask {cluster} whether it is in recovery: {}",
            output.failure()
        ))),
    }
}

/// Promotes a standby (idempotent): applies the cluster without its standby role, with
/// backups as the tenant configured them, then waits until its primary is writable.
pub async fn promote(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
) -> Result<ActionProgress, PlatformError> {
    let name = &target.spec.name;
    let mut promoted = target.clone();
    promoted.spec.standby = None;
    let mut manifest = cluster::manifest(&promoted, namespace, None);
    // Explicit: dropping the block would leave the CRD's default `enabled: true` behind.
    manifest["spec"]["standby"] = json!({ "enabled": false });
    cluster::apply_manifest(client, namespace, &manifest)
        .await
        .map_err(|e| classify(&e))?;
    if in_recovery(client, namespace, name).await? {
        return Ok(ActionProgress::Waiting(format!(
            "the standby leader of {name} to leave recovery and accept writes"
        )));
    }
    Ok(ActionProgress::done())
}
