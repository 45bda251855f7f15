//! Applying and deleting one `PostgresCluster`.
//!
//! Apply: the domain's manifest ([`desired_postgrescluster`]) plus the annotation
//! `pgplane.io/generation`, in one server-side apply (field manager `pgplane`, forced, strict
//! field validation). If the tenant namespace is missing (404 naming the namespace) the tenant
//! is ensured and the apply repeated once, so callers need not order `ensure_tenant` first and
//! a deleted namespace heals itself.
//!
//! Server-side apply removes the fields pgplane stops applying, but not a block whose children
//! the CRD defaults: with the pooler turned off, `spec.proxy.pgBouncer` keeps its defaulted
//! `port` and is re-defaulted `replicas: 1`, so PgBouncer would keep running. When the applied
//! object still has such a block ([`DEFAULTED_BLOCKS`]) that the manifest omits, a JSON merge
//! patch removes it (one extra request, only on that transition).
//!
//! Delete: background propagation. PGO's finalizer runs its own ordered teardown (replicas
//! before the primary) while the object still exists; foreground propagation would make the
//! garbage collector delete the StatefulSets underneath it at the same time. The object is
//! addressed by name but only deleted if it carries the target's `pgplane.io/cluster-id`
//! (and with a UID precondition), so a newer cluster of the same name is never touched. A
//! cluster that keeps its backups is paused, its repository detached, and only then deleted
//! ([`super::retained`]); every recheck detaches again until the object is gone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use serde_json::{Map, Value, json};

use super::errors::classify;
use super::labels::{self, CLUSTER_ID, GENERATION_ANNOTATION};
use super::resources::postgrescluster;
use super::retained;
use crate::domain::cluster::{ManifestInput, desired_postgrescluster};
use crate::platform::{ClusterTarget, DeleteProgress, PlatformError};

/// The manifest applied for `target` in `namespace`; a standby follows its source at
/// `standby_host` (`None`: the source's primary Service in the same namespace).
pub fn manifest(target: &ClusterTarget, namespace: &str, standby_host: Option<&str>) -> Value {
    let tenant_id = target.tenant.tenant_id.to_string();
    let cluster_id = target.cluster_id.to_string();
    let mut manifest = desired_postgrescluster(&ManifestInput {
        spec: &target.spec,
        namespace,
        tenant_id: &tenant_id,
        cluster_id: &cluster_id,
        tenant_name: &target.tenant.tenant_name,
        image: target.image.as_deref(),
        tenant_certificates: target.tenant_certificates,
        standby_host,
    });
    if let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(
                GENERATION_ANNOTATION.into(),
                Value::String(target.generation.to_string()),
            );
        }
    }
    manifest
}

fn params() -> PatchParams {
    PatchParams::apply(labels::FIELD_MANAGER)
        .force()
        .validation_strict()
}

/// Top-level `spec` fields server-side apply leaves behind when the manifest drops them:
/// blocks pgplane applies only sometimes and whose children the PGO CRD defaults (v5.8.9 and
/// v6.0.3: `proxy.pgBouncer.port` and `.replicas`; `standby.enabled`, defaulted `true`, which
/// would keep a promoted cluster read-only), and `paused`, set by a merge patch only while a
/// cluster keeping its backups is deleted (`retained::pause`): if that deletion fails, the
/// next apply lets PGO reconcile again.
pub const DEFAULTED_BLOCKS: &[&str] = &["proxy", "standby", "paused"];

/// The merge patch removing the blocks `live` has but `manifest` omits, if any.
pub fn leftover_blocks_patch(manifest: &Value, live: &Value) -> Option<Value> {
    let leftovers: Map<String, Value> = DEFAULTED_BLOCKS
        .iter()
        .filter(|b| manifest["spec"].get(**b).is_none() && live["spec"].get(**b).is_some())
        .map(|b| ((*b).to_string(), Value::Null))
        .collect();
    (!leftovers.is_empty()).then(|| json!({ "spec": leftovers }))
}

/// Whether `error` says the namespace itself is missing (not the object or the API).
pub fn namespace_missing(error: &kube::Error, namespace: &str) -> bool {
    let kube::Error::Api(status) = error else {
        return false;
    };
    status.code == 404
        && (status
            .details
            .as_ref()
            .is_some_and(|d| d.kind == "namespaces")
            || status.message == format!("namespaces \"{namespace}\" not found"))
}

/// One server-side apply of the cluster (plus the removal of leftover defaulted blocks); `Err`
/// keeps the kube error for the caller to inspect. Returns the applied object.
pub async fn apply(
    client: &kube::Client,
    namespace: &str,
    standby_host: Option<&str>,
    target: &ClusterTarget,
) -> Result<DynamicObject, kube::Error> {
    let manifest = manifest(target, namespace, standby_host);
    apply_manifest(client, namespace, &manifest).await
}

/// [`apply`] of a manifest the caller adjusted (a promotion's `standby.enabled: false`).
pub async fn apply_manifest(
    client: &kube::Client,
    namespace: &str,
    manifest: &Value,
) -> Result<DynamicObject, kube::Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &postgrescluster());
    let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
    let applied = api.patch(name, &params(), &Patch::Apply(manifest)).await?;
    if let Some(patch) = leftover_blocks_patch(manifest, &applied.data) {
        let params = PatchParams {
            field_manager: Some(labels::FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        return api.patch(name, &params, &Patch::Merge(patch)).await;
    }
    Ok(applied)
}

/// A reference making an object go with the applied cluster (garbage collection).
pub fn owned_by(cluster: &DynamicObject) -> OwnerReference {
    OwnerReference {
        api_version: crate::domain::cluster::API_VERSION.into(),
        kind: crate::domain::cluster::KIND.into(),
        name: cluster.metadata.name.clone().unwrap_or_default(),
        uid: cluster.metadata.uid.clone().unwrap_or_default(),
        ..OwnerReference::default()
    }
}

/// What a still-present cluster is waiting for.
fn waiting_for(object: &DynamicObject) -> String {
    let name = object.metadata.name.as_deref().unwrap_or_default();
    let finalizers = object.metadata.finalizers.clone().unwrap_or_default();
    if finalizers.is_empty() {
        format!("PostgresCluster {name} is being removed")
    } else {
        format!(
            "PostgresCluster {name} is being finalized by the operator (finalizers: {})",
            finalizers.join(", ")
        )
    }
}

/// Background propagation, only the object with `uid`.
pub fn delete_params(uid: Option<String>) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::background()
    }
}

/// Requests deletion of the target's PostgresCluster and reports where it stands.
pub async fn delete(
    client: &kube::Client,
    namespace: &str,
    target: &ClusterTarget,
    keep_backups_until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<DeleteProgress, PlatformError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &postgrescluster());
    let name = &target.spec.name;
    let Some(current) = api.get_opt(name).await.map_err(|e| classify(&e))? else {
        return Ok(DeleteProgress::Gone);
    };
    let ours = current
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(CLUSTER_ID))
        .is_some_and(|id| *id == target.cluster_id.to_string());
    if !ours {
        return Ok(DeleteProgress::Gone);
    }
    let uid = current.metadata.uid.clone().unwrap_or_default();
    if let Some(until) = keep_backups_until {
        // See `retained`: PGO re-owns the repository claim on every reconcile until it has
        // stopped reconciling (paused, or deleting); only then does detaching stick.
        if !retained::reconciliation_stopped(&current) {
            if current.data["spec"]["paused"].as_bool() != Some(true) {
                retained::pause(client, namespace, &current).await?;
            }
            return Ok(DeleteProgress::Deleting {
                waiting_for: format!(
                    "the operator to pause PostgresCluster {name} (condition Progressing=Paused) \
                     before its backup repository is detached and kept"
                ),
            });
        }
        let still_owned = retained::detach(client, namespace, target, &uid, until).await?;
        if still_owned > 0 {
            return Ok(DeleteProgress::Deleting {
                waiting_for: format!(
                    "{still_owned} backup repository claim(s) of {name} to be detached from it"
                ),
            });
        }
    }
    if current.metadata.deletion_timestamp.is_some() {
        return Ok(DeleteProgress::Deleting {
            waiting_for: waiting_for(&current),
        });
    }
    match api
        .delete(name, &delete_params(current.metadata.uid.clone()))
        .await
    {
        Ok(outcome) => Ok(match outcome.left() {
            Some(left)
                if left
                    .metadata
                    .finalizers
                    .as_ref()
                    .is_some_and(|f| !f.is_empty()) =>
            {
                DeleteProgress::Deleting {
                    waiting_for: waiting_for(&left),
                }
            }
            _ => DeleteProgress::Gone,
        }),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(DeleteProgress::Gone),
        Err(e) => Err(classify(&e)),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::cluster::{ClusterRequest, ClusterSpec};
    use crate::domain::quota::QuotaLimits;
    use crate::platform::TenantTarget;

    fn target() -> ClusterTarget {
        ClusterTarget {
            tenant: TenantTarget {
                tenant_id: Uuid::from_u128(1),
                tenant_name: "acme".into(),
                quota: QuotaLimits {
                    max_clusters: 1,
                    max_instances: 1,
                    max_cpu_millis: 1000,
                    max_memory_mib: 2048,
                    max_storage_gib: 100,
                },
                former_ids: Vec::new(),
            },
            cluster_id: Uuid::from_u128(2),
            generation: 7,
            spec: ClusterSpec::from_request(ClusterRequest::named("orders")).unwrap(),
            image: None,
            tenant_certificates: false,
            site: crate::domain::cluster::Site::Home,
            source_site: None,
        }
    }

    #[test]
    fn the_manifest_is_the_domain_manifest_with_the_generation_annotation() {
        let t = target();
        let m = manifest(&t, "pgplane-acme", None);
        let mut expected = desired_postgrescluster(&ManifestInput {
            spec: &t.spec,
            namespace: "pgplane-acme",
            tenant_id: &Uuid::from_u128(1).to_string(),
            cluster_id: &Uuid::from_u128(2).to_string(),
            tenant_name: "acme",
            image: None,
            tenant_certificates: false,
            standby_host: None,
        });
        expected["metadata"]["annotations"]["pgplane.io/generation"] = "7".into();
        assert_eq!(m, expected);
    }

    #[test]
    fn a_pooler_block_left_behind_by_apply_is_removed_and_nothing_else() {
        let manifest = json!({ "spec": { "port": 5432 } });
        let live = json!({ "spec": { "port": 5432, "proxy": { "pgBouncer": { "replicas": 1 } } } });
        assert_eq!(
            leftover_blocks_patch(&manifest, &live),
            Some(json!({ "spec": { "proxy": null } }))
        );
        assert_eq!(leftover_blocks_patch(&live, &live), None);
        assert_eq!(leftover_blocks_patch(&manifest, &manifest), None);
    }

    #[test]
    fn deletion_propagates_in_the_background_and_only_to_the_object_seen() {
        let params = delete_params(Some("u-1".into()));
        assert_eq!(
            params.propagation_policy,
            Some(kube::api::PropagationPolicy::Background)
        );
        assert_eq!(
            params.preconditions.and_then(|p| p.uid).as_deref(),
            Some("u-1")
        );
    }

    #[test]
    fn only_a_404_about_the_namespace_means_the_namespace_is_missing() {
        let ns = kube::core::Status::failure("namespaces \"pgplane-acme\" not found", "NotFound")
            .with_code(404);
        assert!(namespace_missing(
            &kube::Error::Api(Box::new(ns)),
            "pgplane-acme"
        ));
        let crd = kube::core::Status::failure(
            "the server could not find the requested resource",
            "NotFound",
        )
        .with_code(404);
        assert!(!namespace_missing(
            &kube::Error::Api(Box::new(crd)),
            "pgplane-acme"
        ));
    }
}
