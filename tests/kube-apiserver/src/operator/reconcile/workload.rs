//! The instances' Kubernetes objects: adopting Pods after an operator restart, writing the
//! instance StatefulSets (and their status, as the StatefulSet controller), the Pods and the
//! Events of a cluster's life.

use super::*;

/// The field manager of the StatefulSet controller's status writes.
const STATEFULSET_CONTROLLER: &str = "kube-controller-manager";

/// What the operator last wrote for one instance StatefulSet.
#[derive(Clone, Debug, Default)]
pub(super) struct Written {
    pub uid: String,
    spec: String,
    status: String,
}

impl Controller {
    /// Applies the instance StatefulSets that changed (PGO), writes their status (the
    /// StatefulSet controller) and deletes those of removed instances (PGO's
    /// `deleteInstance`).
    pub(super) async fn write_statefulsets(&mut self, t: &Tick<'_>, uid: &str) -> Result<()> {
        let Some(tracked) = self.tracked.get(uid) else {
            return Ok(());
        };
        let pods: BTreeMap<String, (statefulsets::Template, bool)> = tracked
            .sim
            .pods(t)
            .into_iter()
            .map(|(_, name, state)| (name, (state.template, state.ready)))
            .collect();
        let names: Vec<String> = tracked.sim.rolling.runners.keys().cloned().collect();
        let stale: Vec<String> = tracked
            .runners
            .keys()
            .filter(|name| !names.contains(name))
            .cloned()
            .collect();
        let api: Api<StatefulSet> = self.api_for(t.c.namespace);
        for name in names {
            let Some(tr) = self.tracked.get(uid) else {
                return Ok(());
            };
            let Some(runner) = tr.sim.rolling.runners.get(&name) else {
                continue;
            };
            let sts = statefulsets::statefulset(
                t.c,
                &runner.set,
                &name,
                &runner.template,
                runner.replicas,
            );
            let mut record = tr.runners.get(&name).cloned().unwrap_or_default();
            let spec = sts.to_string();
            if record.spec != spec {
                let params = PatchParams::apply(FIELD_MANAGER).force();
                let applied = api.patch(&name, &params, &Patch::Apply(sts)).await?;
                record.uid = applied.metadata.uid.clone().unwrap_or_default();
                record.spec = spec;
                if let Some(r) = self
                    .tracked
                    .get_mut(uid)
                    .and_then(|tr| tr.sim.rolling.runners.get_mut(&name))
                {
                    r.follow_generation(applied.metadata.generation.unwrap_or(1));
                }
            }
            let Some(status) = self
                .tracked
                .get(uid)
                .and_then(|tr| tr.sim.rolling.runners.get(&name))
                .map(|r| r.status(&name, pods.get(&name).map(|(tpl, ready)| (tpl, *ready))))
            else {
                continue;
            };
            let body = statefulsets::statefulset_status(t.c.namespace, &name, &status);
            let text = body.to_string();
            if record.status != text {
                record.status = text;
                let params = PatchParams::apply(STATEFULSET_CONTROLLER).force();
                api.patch_status(&name, &params, &Patch::Apply(body))
                    .await?;
            }
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.runners.insert(name, record);
            }
        }
        for name in stale {
            ignore_not_found(api.delete(&name, &DeleteParams::background()).await)?;
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.runners.remove(&name);
            }
        }
        Ok(())
    }

    /// Learns the instances that already run (after an operator restart) from their Pods.
    pub(super) async fn adopt_pods(&mut self, c: &Cluster<'_>) -> Result<()> {
        let pods: Api<Pod> = self.api_for(c.namespace);
        let selector = format!("{LABEL_CLUSTER}={},{LABEL_INSTANCE}", c.name);
        let list = pods.list(&ListParams::default().labels(&selector)).await?;
        let observed: Vec<(String, String, bool)> = list
            .items
            .iter()
            .filter_map(|p| {
                let labels = p.metadata.labels.as_ref()?;
                Some((
                    labels.get(LABEL_INSTANCE_SET)?.clone(),
                    labels.get(LABEL_INSTANCE)?.clone(),
                    labels.get(LABEL_ROLE).map(String::as_str) == Some(ROLE_LEADER),
                ))
            })
            .collect();
        if let Some(t) = self.tracked.get_mut(c.uid) {
            t.sim.instances.adopt(&observed);
            t.sim.adopted = true;
            for p in &list.items {
                if let Some(name) = &p.metadata.name {
                    t.pods.insert(name.clone(), (0, String::new()));
                }
            }
        }
        Ok(())
    }

    /// Writes the instance Pods that changed and deletes those no longer wanted.
    pub(super) async fn write_pods(&mut self, t: &Tick<'_>, uid: &str) -> Result<()> {
        let Some(tracked) = self.tracked.get(uid) else {
            return Ok(());
        };
        let desired: Vec<(String, u32, Value, Value)> = tracked
            .sim
            .pods(t)
            .into_iter()
            .map(|(set, instance, state)| {
                let owner = tracked
                    .runners
                    .get(&instance)
                    .map(|w| w.uid.clone())
                    .unwrap_or_default();
                let pod = instances::pod(t.c, &set, &instance, &state, &owner);
                let status = instances::pod_status(&pod, &state);
                let name = format!("{instance}-0");
                (name, state.incarnation, pod, status)
            })
            .collect();
        let stale: Vec<String> = tracked
            .pods
            .keys()
            .filter(|name| !desired.iter().any(|(n, _, _, _)| n == *name))
            .cloned()
            .collect();
        let pods: Api<Pod> = self.api_for(t.c.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        for (name, incarnation, pod, status) in desired {
            let written = format!("{pod}{status}");
            match tracked_pod(&self.tracked, uid, &name) {
                Some((i, w)) if *i == incarnation && *w == written => continue,
                // A rollout: the old Pod goes, the StatefulSet creates a new one.
                Some((i, _)) if *i != incarnation => {
                    ignore_not_found(pods.delete(&name, &DeleteParams::background()).await)?;
                }
                _ => {}
            }
            match pods.patch(&name, &params, &Patch::Apply(pod.clone())).await {
                Ok(_) => {}
                // A Pod's spec is immutable: one adopted after an operator restart that was
                // created from another template is replaced, as its StatefulSet would.
                Err(kube::Error::Api(s)) if s.code == 422 => {
                    ignore_not_found(pods.delete(&name, &DeleteParams::background()).await)?;
                    pods.patch(&name, &params, &Patch::Apply(pod)).await?;
                }
                Err(e) => return Err(e),
            }
            pods.patch_status(&name, &params, &Patch::Apply(status))
                .await?;
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.pods.insert(name, (incarnation, written));
            }
        }
        for name in stale {
            ignore_not_found(pods.delete(&name, &DeleteParams::background()).await)?;
            if let Some(tr) = self.tracked.get_mut(uid) {
                tr.pods.remove(&name);
            }
        }
        Ok(())
    }

    /// Records the Events the cluster's life produced.
    pub(super) async fn write_events(&mut self, c: &Cluster<'_>, uid: &str) -> Result<()> {
        let pending: Vec<_> = self
            .tracked
            .get_mut(uid)
            .map(|t| std::mem::take(&mut t.sim.events))
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        let api: Api<Event> = self.api_for(c.namespace);
        let now = crate::meta::now_rfc3339();
        for (i, e) in pending.iter().enumerate() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
                + i as u128;
            let body: Event = serde_json::from_value(events::event(c, e, &now, nanos))
                .map_err(kube::Error::SerdeError)?;
            if let Err(err) = api.create(&PostParams::default(), &body).await {
                // Put the rest back; they go out on the next tick.
                if let Some(t) = self.tracked.get_mut(uid) {
                    t.sim.events.extend(pending[i..].iter().cloned());
                }
                return Err(err);
            }
        }
        Ok(())
    }
}

fn tracked_pod<'a>(
    tracked: &'a HashMap<String, Tracked>,
    uid: &str,
    pod: &str,
) -> Option<&'a (u32, String)> {
    tracked.get(uid).and_then(|t| t.pods.get(pod))
}
