//! Decoding and type rules of the built-in types (Namespace, Secret, Service, ...).
//!
//! Decoding goes through the real `k8s-openapi` Go-equivalent structs: a body that does not
//! deserialize (wrong type, bad base64 in `Secret.data`) is a 400 like the apiserver's decode
//! error, and fields the struct does not know are found by comparing the input with the
//! re-serialized struct (that is the pruning). Type rules are the server-side defaults and
//! checks clients observe: Secret `stringData`, Service cluster IP allocation and port
//! defaults, Namespace finalizer and phase.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, LimitRange, Namespace, PersistentVolumeClaim, Pod, ResourceQuota, Secret,
    Service,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Admit;
use crate::error::ApiError;
use crate::resources::{Model, ResourceDef};
use crate::validation::FieldCause;
use crate::validation::structural::{child, index};

/// Paths present in `input` but not in `output` (ignoring explicit nulls).
fn unknown_paths(input: &Value, output: &Value, path: &str, out: &mut Vec<FieldCause>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                if v.is_null() {
                    continue;
                }
                match o.get(k) {
                    Some(ov) => unknown_paths(v, ov, &child(path, k), out),
                    None => out.push(FieldCause::unknown(&child(path, k))),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                unknown_paths(iv, ov, &index(path, n), out);
            }
        }
        _ => {}
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(
    def: &ResourceDef,
    input: &Value,
    path: &str,
) -> Result<(Value, Vec<FieldCause>), ApiError> {
    let typed: T = serde_path_to_error::deserialize(input).map_err(|e| {
        let at = e.path().to_string();
        let at = if path.is_empty() {
            at
        } else if at == "." {
            path.to_string()
        } else {
            format!("{path}.{at}")
        };
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {} (at {at})",
            def.kind,
            def.version,
            def.kind,
            e.inner()
        ))
    })?;
    let output = serde_json::to_value(&typed).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut unknown = Vec::new();
    unknown_paths(input, &output, path, &mut unknown);
    Ok((output, unknown))
}

/// Decodes and prunes a built-in object.
pub(super) fn decode(
    def: &'static ResourceDef,
    input: &Value,
) -> Result<(Value, Vec<FieldCause>), ApiError> {
    match def.model {
        Model::Namespace => roundtrip::<Namespace>(def, input, ""),
        Model::Secret => roundtrip::<Secret>(def, input, ""),
        Model::ConfigMap => roundtrip::<ConfigMap>(def, input, ""),
        Model::Service => roundtrip::<Service>(def, input, ""),
        Model::Pod => roundtrip::<Pod>(def, input, ""),
        Model::PersistentVolumeClaim => roundtrip::<PersistentVolumeClaim>(def, input, ""),
        Model::ResourceQuota => roundtrip::<ResourceQuota>(def, input, ""),
        Model::LimitRange => roundtrip::<LimitRange>(def, input, ""),
        Model::NetworkPolicy => roundtrip::<NetworkPolicy>(def, input, ""),
        Model::StatefulSet => roundtrip::<StatefulSet>(def, input, ""),
        Model::Lease => roundtrip::<Lease>(def, input, ""),
        Model::Event => roundtrip::<Event>(def, input, ""),
        Model::StorageClass => roundtrip::<StorageClass>(def, input, ""),
        Model::PostgresCluster | Model::PgUpgrade => Ok((input.clone(), Vec::new())),
    }
}

/// Decodes and prunes the `metadata` of a custom resource (it is ObjectMeta, not schema).
pub(super) fn decode_metadata(
    def: &'static ResourceDef,
    object: &Value,
) -> Result<(Value, Vec<FieldCause>), ApiError> {
    let meta = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
    roundtrip::<ObjectMeta>(def, &meta, "metadata")
}

static NEXT_CLUSTER_IP: AtomicU32 = AtomicU32::new(10);

fn allocate_cluster_ip() -> String {
    let n = NEXT_CLUSTER_IP.fetch_add(1, Ordering::Relaxed);
    format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
}

fn secret_rules(object: &mut Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let data = map.entry("data").or_insert_with(|| json!({}));
        if let Some(data) = data.as_object_mut() {
            for (k, v) in string_data {
                let plain = v.as_str().unwrap_or_default();
                data.insert(
                    k,
                    Value::from(base64::engine::general_purpose::STANDARD.encode(plain)),
                );
            }
        }
    }
    map.entry("type").or_insert_with(|| Value::from("Opaque"));
    if let Some(old) = old {
        if old.get("type") != map.get("type") {
            causes.push(FieldCause::invalid(
                "type",
                map.get("type").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        if old.get("immutable") == Some(&Value::Bool(true)) && old.get("data") != map.get("data") {
            causes.push(FieldCause::forbidden(
                "data",
                "field is immutable when `immutable` is set",
            ));
        }
    }
}

fn service_rules(object: &mut Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let old_spec = old.and_then(|o| o.get("spec"));
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let ty = spec
        .entry("type")
        .or_insert_with(|| Value::from("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    spec.entry("sessionAffinity")
        .or_insert_with(|| Value::from("None"));
    if ty != "ExternalName" {
        let old_ip = old_spec.and_then(|s| s.get("clusterIP")).cloned();
        let ip = match (spec.get("clusterIP").and_then(Value::as_str), &old_ip) {
            (None | Some(""), Some(old_ip)) => old_ip.clone(),
            (None | Some(""), None) => Value::from(allocate_cluster_ip()),
            (Some(ip), _) => Value::from(ip),
        };
        if let Some(old_ip) = &old_ip
            && *old_ip != ip
        {
            causes.push(FieldCause::invalid(
                "spec.clusterIP",
                &ip,
                "field is immutable",
            ));
        }
        spec.insert("clusterIPs".into(), json!([ip.clone()]));
        spec.insert("clusterIP".into(), ip);
        spec.entry("internalTrafficPolicy")
            .or_insert_with(|| Value::from("Cluster"));
        spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert_with(|| Value::from("SingleStack"));
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let ports = spec.get_mut("ports").and_then(Value::as_array_mut);
    match ports {
        Some(ports) => {
            for (i, p) in ports.iter_mut().enumerate() {
                let Some(p) = p.as_object_mut() else { continue };
                p.entry("protocol").or_insert_with(|| Value::from("TCP"));
                let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                if !(1..=65535).contains(&port) {
                    causes.push(FieldCause::invalid(
                        &format!("spec.ports[{i}].port"),
                        &Value::from(port),
                        "must be between 1 and 65535, inclusive",
                    ));
                }
                p.entry("targetPort").or_insert_with(|| Value::from(port));
            }
        }
        None if ty != "ExternalName" && !headless => {
            causes.push(FieldCause::required("spec.ports", ""));
        }
        None => {}
    }
}

fn namespace_rules(object: &mut Value, old: Option<&Value>) {
    let name = crate::meta::meta_str(object, "name")
        .unwrap_or("")
        .to_string();
    if let Some(meta) = crate::meta::meta_mut(object) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), Value::from(name));
        }
    }
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if old.is_none() {
        let spec = map.entry("spec").or_insert_with(|| json!({}));
        if let Some(s) = spec.as_object_mut() {
            s.entry("finalizers")
                .or_insert_with(|| json!(["kubernetes"]));
        }
    }
    let phase = if map
        .get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some()
    {
        "Terminating"
    } else {
        "Active"
    };
    let status = map.entry("status").or_insert_with(|| json!({}));
    if let Some(s) = status.as_object_mut() {
        s.insert("phase".into(), Value::from(phase));
    }
}

/// A new Pod starts `Pending` (the apiserver's create strategy), before any kubelet reports.
fn pod_rules(object: &mut Value, old: Option<&Value>) {
    if old.is_some() {
        return;
    }
    if let Some(map) = object.as_object_mut() {
        let status = map.entry("status").or_insert_with(|| json!({}));
        if let Some(s) = status.as_object_mut() {
            s.entry("phase").or_insert_with(|| Value::from("Pending"));
        }
    }
}

/// Go `resource.ParseQuantity` syntax: a decimal number with an optional binary (`Ki`..`Ei`),
/// decimal SI (`n`, `u`, `m`, `k`, `M`..`E`) or exponent (`e3`, `E-2`) suffix.
pub(crate) fn is_quantity(s: &str) -> bool {
    crate::meta::regex(
        r"^[+-]?(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$",
    )
    .is_some_and(|r| r.is_match(s))
}

/// Whether a valid quantity is greater than zero (its number part; suffixes only scale).
fn quantity_positive(s: &str) -> bool {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    s[..end].parse::<f64>().is_ok_and(|n| n > 0.0)
}

/// ValidatePersistentVolumeClaimSpec (the cheap part): at least one access mode, a positive
/// `storage` request; a new claim starts `Pending` until a binder (here: the simulated
/// operator through `/status`) says otherwise.
fn pvc_rules(object: &mut Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let spec = object.get("spec").unwrap_or(&Value::Null);
    if spec
        .get("accessModes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        causes.push(FieldCause::required(
            "spec.accessModes",
            "at least 1 access mode is required",
        ));
    }
    match spec.pointer("/resources/requests/storage") {
        None | Some(Value::Null) => {
            causes.push(FieldCause::required("spec.resources[storage]", ""));
        }
        Some(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            if !is_quantity(&text) {
                causes.push(FieldCause::invalid(
                    "spec.resources.requests[storage]",
                    v,
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ));
            } else if !quantity_positive(&text) {
                causes.push(FieldCause::invalid(
                    "spec.resources[storage]",
                    v,
                    "must be greater than zero",
                ));
            }
        }
    }
    if old.is_none()
        && let Some(map) = object.as_object_mut()
    {
        let status = map.entry("status").or_insert_with(|| json!({}));
        if let Some(s) = status.as_object_mut() {
            s.entry("phase").or_insert_with(|| Value::from("Pending"));
        }
    }
}

/// ValidateStorageClass / ValidateStorageClassUpdate (the part clients meet): a provisioner is
/// required, `reclaimPolicy` defaults to `Delete`, `volumeBindingMode` to `Immediate`, and
/// neither the provisioner nor the parameters change afterwards.
fn storage_class_rules(object: &mut Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    if let Some(map) = object.as_object_mut() {
        map.entry("reclaimPolicy")
            .or_insert_with(|| Value::from("Delete"));
        map.entry("volumeBindingMode")
            .or_insert_with(|| Value::from("Immediate"));
    }
    if object
        .get("provisioner")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        causes.push(FieldCause::required("provisioner", ""));
    }
    for field in [
        "provisioner",
        "parameters",
        "reclaimPolicy",
        "volumeBindingMode",
    ] {
        if let Some(old) = old
            && object.get(field) != old.get(field)
        {
            let why = format!("updates to {field} are forbidden.");
            causes.push(FieldCause::forbidden(field, &why));
        }
    }
}

/// Server-side defaults and checks of each built-in type.
pub(super) fn apply_type_rules(
    ctx: &Admit<'_>,
    object: &mut Value,
    old: Option<&Value>,
    causes: &mut Vec<FieldCause>,
) {
    match ctx.def.model {
        Model::Secret => secret_rules(object, old, causes),
        Model::Service if !ctx.status => service_rules(object, old, causes),
        Model::Namespace => namespace_rules(object, old),
        Model::Pod if !ctx.status => {
            pod_rules(object, old);
            super::limits::default_requests_to_limits(object);
        }
        Model::LimitRange => super::limits::default_limit_range(object),
        Model::PersistentVolumeClaim if !ctx.status => pvc_rules(object, old, causes),
        Model::NetworkPolicy => super::network::network_policy_rules(object, causes),
        Model::StorageClass => storage_class_rules(object, old, causes),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_parse_quantity() {
        for ok in [
            "1Gi", "500Mi", "1.5Ti", "100", "1e3", "2E-1", "10k", "250m", ".5Gi",
        ] {
            assert!(is_quantity(ok), "{ok}");
            assert!(quantity_positive(ok), "{ok}");
        }
        for bad in ["", "lots", "1 Gi", "1GB", "Gi", "1.2.3Gi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
        for zero in ["0", "0Gi", "-1Gi", "0.0"] {
            assert!(is_quantity(zero), "{zero}");
            assert!(!quantity_positive(zero), "{zero}");
        }
    }
}
