//! The instances' data volumes, `<instance>-pgdata`: PGO's side, and the storage side of
//! Kubernetes PGO relies on.
//!
//! - PGO (`reconcilePostgresDataVolume`): server-side apply of the claim on every reconcile,
//!   labels `.../cluster`, `.../instance-set`, `.../instance`, `.../role=pgdata`,
//!   `.../data=postgres`, controller ownerReference to the cluster, `spec` = the instance
//!   set's `dataVolumeClaimSpec` without `resources.limits`. A refused apply (403 from the
//!   `PersistentVolumeClaimResize` admission when the claim cannot grow; 422) goes through
//!   `handlePersistentVolumeClaimError`: a Warning Event `PersistentVolumeError` with the
//!   apiserver's message, and the reconcile carries on (the claim keeps its size while the
//!   PostgresCluster asks for more). PGO's `deleteInstance` deletes a removed instance's claim.
//! - The storage side (a dynamic provisioner and the PV binder, then the CSI external-resizer
//!   and the kubelet, all through `/status` as field manager `kube-controller-manager`): a new
//!   claim is Bound at once with the capacity it asks for; a Bound claim asking for more gets
//!   the condition `Resizing`, and [`Scenario::volume_growth`] later the new `capacity` (and no
//!   condition). PersistentVolumes are not modelled.
//!
//! PGO's `observePersistentVolumeClaims` conditions on the PostgresCluster
//! (`PersistentVolumeResizing`, `PersistentVolumeResizeError`) are not modelled.
//!
//! [`Scenario::volume_growth`]: crate::operator::Scenario::volume_growth

use super::*;

/// The field manager of the storage side's status writes.
const STORAGE_MANAGER: &str = "kube-controller-manager";
/// PGO's `role` label value of data volume claims.
pub(super) const ROLE_PGDATA: &str = "pgdata";

/// What the operator and the simulated storage last did with one data volume claim.
#[derive(Clone, Debug, Default)]
pub(super) struct DataVolume {
    /// The intent as last applied (or refused).
    applied: String,
    /// The claim's `storage` request and `status.capacity` as last seen.
    requested: String,
    capacity: String,
    /// Since when the storage side has been growing the volume.
    growing_since: Option<Instant>,
}

/// The claim name of `instance`'s data volume (PGO's `naming.InstancePostgresDataVolume`).
pub(crate) fn claim_name(instance: &str) -> String {
    format!("{instance}-pgdata")
}

/// The claim PGO applies for `instance` of instance set `set`.
fn intent(c: &Cluster<'_>, set: &str, instance: &str) -> Value {
    let mut spec = statefulsets::instance_set(c, set)
        .and_then(|s| s.get("dataVolumeClaimSpec"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) {
        resources.remove("limits");
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(instance),
            "namespace": c.namespace,
            "labels": {
                LABEL_CLUSTER: c.name,
                LABEL_INSTANCE_SET: set,
                LABEL_INSTANCE: instance,
                LABEL_ROLE: ROLE_PGDATA,
                instances::LABEL_DATA: "postgres",
            },
            "ownerReferences": [c.owner_reference()],
        },
        "spec": spec,
    })
}

fn storage_of(claim: &PersistentVolumeClaim) -> (String, String, bool) {
    let requested = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default();
    let status = claim.status.as_ref();
    let capacity = status
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default();
    let bound = status.and_then(|s| s.phase.as_deref()) == Some("Bound");
    (requested, capacity, bound)
}

fn smaller(a: &str, b: &str) -> bool {
    match (crate::quantity::value(a), crate::quantity::value(b)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

impl Controller {
    /// Applies the data volume claim of every instance (PGO), binds and grows them (the
    /// storage side), and deletes those of removed instances.
    pub(super) async fn write_data_volumes(&mut self, t: &Tick<'_>, uid: &str) -> Result<()> {
        let Some(tracked) = self.tracked.get(uid) else {
            return Ok(());
        };
        let instances: Vec<(String, String)> = tracked
            .sim
            .rolling
            .runners
            .iter()
            .map(|(name, runner)| (name.clone(), runner.set.clone()))
            .collect();
        let stale: Vec<String> = tracked
            .volumes
            .keys()
            .filter(|v| !instances.iter().any(|(i, _)| claim_name(i) == **v))
            .cloned()
            .collect();
        let api: Api<PersistentVolumeClaim> = self.api_for(t.c.namespace);
        for (instance, set) in instances {
            let name = claim_name(&instance);
            let mut volume = self
                .tracked
                .get(uid)
                .and_then(|tr| tr.volumes.get(&name))
                .cloned()
                .unwrap_or_default();
            let claim = intent(t.c, &set, &instance);
            let text = claim.to_string();
            if volume.applied != text {
                let params = PatchParams::apply(FIELD_MANAGER).force();
                match api.patch(&name, &params, &Patch::Apply(claim)).await {
                    Ok(applied) => {
                        let (requested, capacity, bound) = storage_of(&applied);
                        if !bound {
                            bind(&api, &name, &requested).await?;
                            volume.capacity = requested.clone();
                        } else {
                            volume.capacity = capacity;
                        }
                        volume.requested = requested;
                    }
                    Err(kube::Error::Api(s)) if s.code == 403 || s.code == 422 => {
                        if let Some(tr) = self.tracked.get_mut(uid) {
                            tr.sim.events.push(super::super::sim::Event {
                                warning: true,
                                reason: "PersistentVolumeError".into(),
                                message: s.message.clone(),
                            });
                        }
                    }
                    Err(e) => return Err(e),
                }
                volume.applied = text;
            }
            if smaller(&volume.capacity, &volume.requested) {
                let since = match volume.growing_since {
                    Some(since) => since,
                    None => {
                        set_storage_status(&api, &name, &volume.capacity, true).await?;
                        *volume.growing_since.insert(t.now)
                    }
                };
                if t.now >= since + t.scenario.volume_growth {
                    set_storage_status(&api, &name, &volume.requested, false).await?;
                    volume.capacity = volume.requested.clone();
                    volume.growing_since = None;
                }
            }
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.volumes.insert(name, volume);
            }
        }
        for name in stale {
            ignore_not_found(api.delete(&name, &DeleteParams::background()).await)?;
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.volumes.remove(&name);
            }
        }
        Ok(())
    }
}

/// A new claim provisioned and bound with what it asks for.
async fn bind(api: &Api<PersistentVolumeClaim>, name: &str, size: &str) -> Result<()> {
    set_storage_status(api, name, size, false).await
}

/// The claim's status as the storage side writes it: Bound with `capacity`, and the condition
/// `Resizing` while a larger request is being carried out.
async fn set_storage_status(
    api: &Api<PersistentVolumeClaim>,
    name: &str,
    capacity: &str,
    resizing: bool,
) -> Result<()> {
    let mut status = json!({
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": { "storage": capacity },
    });
    if resizing {
        status["conditions"] = json!([{
            "type": "Resizing",
            "status": "True",
            "lastTransitionTime": crate::meta::now_rfc3339(),
        }]);
    }
    let body = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": name },
        "status": status,
    });
    let params = PatchParams::apply(STORAGE_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(body)).await?;
    Ok(())
}
