//! `spec.paused`, as PGO's `Reconcile`: after `handleDelete` (so a paused cluster is still
//! deleted, and a deleting one never reconciled), a paused cluster gets the condition
//! `Progressing` False `Paused` ("No spec changes will be applied and no other statuses will
//! be updated.", `observedGeneration` = `metadata.generation`) and nothing else: no child is
//! applied, no ownerReference re-added, no Pod rolled, no other status field (not even
//! `status.observedGeneration`) written. Unpausing removes the condition.
//!
//! Deviation: the simulated Kubernetes side (Pods being recreated, Patroni restarts) is frozen
//! along with the operator while paused.

use super::*;

/// The condition type PGO sets on a paused cluster.
const PROGRESSING: &str = "Progressing";

fn conditions(status: &Value) -> Vec<Value> {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The current status without the `Progressing` condition, when it has one (what PGO's first
/// reconcile after unpausing writes before anything else changes).
pub(super) fn unpaused(current: Option<&Value>) -> Option<Value> {
    let current = current?;
    let all = conditions(current);
    if !all.iter().any(|c| c["type"] == PROGRESSING) {
        return None;
    }
    let mut status = current.clone();
    let kept: Vec<Value> = all
        .into_iter()
        .filter(|c| c["type"] != PROGRESSING)
        .collect();
    match status.as_object_mut() {
        Some(map) if kept.is_empty() => {
            map.remove("conditions");
        }
        Some(map) => {
            map.insert("conditions".into(), Value::Array(kept));
        }
        None => {}
    }
    Some(status)
}

impl Controller {
    /// Sets `Progressing` False `Paused` on the cluster's status (and nothing else).
    pub(super) async fn write_paused(&mut self, c: &Cluster<'_>, object: &Value) -> Result<()> {
        let mut status = object
            .get("status")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        let mut all = conditions(&status);
        let since = all
            .iter()
            .find(|x| x["type"] == PROGRESSING && x["status"] == "False")
            .and_then(|x| x.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| Value::from(crate::meta::now_rfc3339()));
        let paused = json!({
            "type": PROGRESSING, "status": "False", "reason": "Paused",
            "message": "No spec changes will be applied and no other statuses will be updated.",
            "lastTransitionTime": since, "observedGeneration": c.generation,
        });
        match all.iter_mut().find(|x| x["type"] == PROGRESSING) {
            Some(existing) if *existing == paused => return Ok(()),
            Some(existing) => *existing = paused,
            None => all.push(paused),
        }
        status["conditions"] = Value::Array(all);
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            c.namespace,
            &crate::operator::postgrescluster_resource(),
        );
        let body = json!({
            "apiVersion": format!("{}/v1beta1", crate::resources::PGO_GROUP),
            "kind": "PostgresCluster",
            "metadata": { "name": c.name, "namespace": c.namespace },
            "status": status,
        });
        let updated = api
            .patch_status(
                c.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        self.remember(updated);
        Ok(())
    }
}
