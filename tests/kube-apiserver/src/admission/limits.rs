//! Container resources: the Pod defaulting of requests from limits, the LimitRange item
//! defaulting, and the LimitRanger admission plugin's container defaults.
//!
//! The LimitRanger here only fills in defaults (`default` as limits, `defaultRequest` as
//! requests, per resource a container does not set, plus the `kubernetes.io/limit-ranger`
//! annotation naming what it set); it enforces no `min`/`max`/ratio and ignores `Pod` and
//! `PersistentVolumeClaim` items.

use serde_json::{Map, Value, json};

/// The annotation the LimitRanger writes on a Pod it changed.
const ANNOTATION: &str = "kubernetes.io/limit-ranger";

fn containers_mut(pod: &mut Value) -> Vec<(&'static str, &mut Value)> {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // The apiserver walks containers first, then init containers (the annotation's order).
    let (mut containers, mut init) = (None, None);
    for (k, v) in spec.iter_mut() {
        match k.as_str() {
            "containers" => containers = Some(v),
            "initContainers" => init = Some(v),
            _ => {}
        }
    }
    for (label, list) in [("container", containers), ("init container", init)] {
        if let Some(Value::Array(items)) = list {
            out.extend(items.iter_mut().map(|c| (label, c)));
        }
    }
    out
}

fn resource_map<'a>(container: &'a mut Value, which: &str) -> Option<&'a mut Map<String, Value>> {
    let resources = container
        .as_object_mut()?
        .entry("resources")
        .or_insert_with(|| json!({}));
    resources
        .as_object_mut()?
        .entry(which)
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

/// `SetDefaults_Pod`: a container's request of a resource it has a limit for defaults to the
/// limit.
pub(super) fn default_requests_to_limits(pod: &mut Value) {
    for (_, container) in containers_mut(pod) {
        let Some(limits) = container
            .pointer("/resources/limits")
            .and_then(Value::as_object)
            .cloned()
        else {
            continue;
        };
        if limits.is_empty() {
            continue;
        }
        if let Some(requests) = resource_map(container, "requests") {
            for (k, v) in limits {
                requests.entry(k).or_insert(v);
            }
        }
    }
}

/// `SetDefaults_LimitRangeItem` for `Container` items: `default` from `max`, `defaultRequest`
/// from `default`, then from `min`.
pub(super) fn default_limit_range(object: &mut Value) {
    let Some(items) = object
        .pointer_mut("/spec/limits")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let copy = |item: &Map<String, Value>, from: &str, to: &mut Map<String, Value>| {
            for (k, v) in item
                .get(from)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                to.entry(k.clone()).or_insert_with(|| v.clone());
            }
        };
        let mut default = item
            .get("default")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        copy(item, "max", &mut default);
        let mut request = item
            .get("defaultRequest")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in &default {
            request.entry(k.clone()).or_insert_with(|| v.clone());
        }
        copy(item, "min", &mut request);
        for (field, map) in [("default", default), ("defaultRequest", request)] {
            if !map.is_empty() {
                item.insert(field.into(), Value::Object(map));
            }
        }
    }
}

/// The LimitRanger on a Pod create: each LimitRange of the namespace in turn fills in the
/// limits and requests its `Container` items default that a container does not set.
pub(super) fn apply_limit_ranges(pod: &mut Value, ranges: &[&Value]) {
    let mut notes: Vec<String> = Vec::new();
    for range in ranges {
        let (mut limits, mut requests) = (Map::new(), Map::new());
        let items = range.pointer("/spec/limits").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if item.get("type").and_then(Value::as_str) != Some("Container") {
                continue;
            }
            for (field, into) in [("default", &mut limits), ("defaultRequest", &mut requests)] {
                for (k, v) in item
                    .get(field)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    into.insert(k.clone(), v.clone());
                }
            }
        }
        if limits.is_empty() && requests.is_empty() {
            continue;
        }
        for (label, container) in containers_mut(pod) {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let mut set = |which: &str, defaults: &Map<String, Value>| -> Option<String> {
                let present = container
                    .pointer(&format!("/resources/{which}"))
                    .and_then(Value::as_object);
                let mut added: Vec<&str> = defaults
                    .keys()
                    .filter(|k| present.is_none_or(|p| !p.contains_key(*k)))
                    .map(String::as_str)
                    .collect();
                if added.is_empty() {
                    return None;
                }
                let into = resource_map(container, which)?;
                for k in &added {
                    into.insert(k.to_string(), defaults[*k].clone());
                }
                added.sort_unstable();
                let what = if which == "requests" {
                    "request"
                } else {
                    "limit"
                };
                (!added.is_empty())
                    .then(|| format!("{} {what} for {label} {name}", added.join(", ")))
            };
            notes.extend(set("requests", &requests));
            notes.extend(set("limits", &limits));
        }
    }
    if notes.is_empty() {
        return;
    }
    if let Some(meta) = crate::meta::meta_mut(pod) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(
                ANNOTATION.into(),
                Value::from(format!("LimitRanger plugin set: {}", notes.join("; "))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_only_what_a_container_does_not_set() {
        let mut range = json!({ "spec": { "limits": [{ "type": "Container",
            "default": { "cpu": "500m", "memory": "256Mi" },
            "defaultRequest": { "cpu": "100m", "memory": "128Mi" } }] } });
        default_limit_range(&mut range);
        let mut pod = json!({ "metadata": { "name": "p" }, "spec": {
            "containers": [
                { "name": "a", "image": "x" },
                { "name": "b", "image": "x", "resources": { "limits": { "cpu": "1" } } },
                { "name": "c", "image": "x", "resources": { "requests": { "memory": "64Mi" } } }
            ],
            "initContainers": [{ "name": "i", "image": "x" }]
        } });
        default_requests_to_limits(&mut pod);
        apply_limit_ranges(&mut pod, &[&range]);
        // As Kubernetes 1.36 answers the same create.
        assert_eq!(
            pod["spec"]["containers"][1]["resources"],
            json!({ "limits": { "cpu": "1", "memory": "256Mi" }, "requests": { "cpu": "1", "memory": "128Mi" } })
        );
        assert_eq!(
            pod["spec"]["containers"][2]["resources"],
            json!({ "limits": { "cpu": "500m", "memory": "256Mi" }, "requests": { "cpu": "100m", "memory": "64Mi" } })
        );
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; \
             memory request for container b; memory limit for container b; cpu request for container c; \
             cpu, memory limit for container c; cpu, memory request for init container i; \
             cpu, memory limit for init container i"
        );
    }

    #[test]
    fn a_limit_range_item_defaults_its_request_to_its_limit_and_its_limit_to_its_max() {
        let mut range = json!({ "spec": { "limits": [
            { "type": "Container", "max": { "cpu": "2" }, "default": { "memory": "1Gi" }, "min": { "ephemeral-storage": "1Mi" } },
            { "type": "Pod", "max": { "cpu": "4" } }
        ] } });
        default_limit_range(&mut range);
        assert_eq!(
            range["spec"]["limits"][0]["default"],
            json!({ "cpu": "2", "memory": "1Gi" })
        );
        assert_eq!(
            range["spec"]["limits"][0]["defaultRequest"],
            json!({ "cpu": "2", "memory": "1Gi", "ephemeral-storage": "1Mi" })
        );
        assert!(range["spec"]["limits"][1].get("default").is_none());
    }
}
