//! PGUpgrade objects: PGO's checks (`upgrade.rs`) and their `status.conditions`.

use super::*;

impl Controller {
    /// Reconciles one PGUpgrade and merge-patches its conditions when they changed.
    pub(super) async fn reconcile_upgrade(&mut self, uid: &str) -> Result<()> {
        let Some(upgrade) = self.upgrade_cache.get(uid).cloned() else {
            return Ok(());
        };
        let namespace = upgrade
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = upgrade
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let cluster_name = upgrade
            .pointer("/spec/postgresClusterName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let cluster = self.cache.iter().find(|(_, o)| {
            o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace.as_str())
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(cluster_name)
                && o.pointer("/metadata/deletionTimestamp").is_none()
        });
        let scenario = self.shared.scenario_for(&namespace, cluster_name);
        let state = self.upgrade_state.entry(uid.to_string()).or_default();
        let now = Instant::now();
        let wall = crate::meta::now_rfc3339();
        let conditions = match cluster {
            Some((cluster_uid, object)) => {
                let sim = &mut self.tracked.entry(cluster_uid.clone()).or_default().sim;
                upgrade::reconcile(&upgrade, state, Some((object, sim)), &scenario, now, &wall)
            }
            None => upgrade::reconcile(&upgrade, state, None, &scenario, now, &wall),
        };
        if upgrade.pointer("/status/conditions") == Some(&Value::Array(conditions.clone())) {
            return Ok(());
        }
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &namespace,
            &crate::pgupgrade_resource(),
        );
        let params = PatchParams {
            field_manager: Some(UPGRADE_FIELD_MANAGER.into()),
            ..Default::default()
        };
        let patch = json!({ "status": { "conditions": conditions } });
        match api.patch_status(&name, &params, &Patch::Merge(patch)).await {
            Ok(updated) => {
                if let Ok(v) = serde_json::to_value(&updated) {
                    self.upgrade_cache.insert(uid.to_string(), v);
                }
                Ok(())
            }
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
