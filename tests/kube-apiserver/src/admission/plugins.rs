//! The admission plugins of a default kube-apiserver that clients observe, run after
//! decoding, defaulting and validation, and after managed fields are recorded (what a plugin
//! sets belongs to no field manager, as upstream). Mutating:
//!
//! - `StorageObjectInUseProtection`: a new PersistentVolumeClaim gets the
//!   `kubernetes.io/pvc-protection` finalizer (released by `crate::deletion`'s emulation of the
//!   pvc-protection controller).
//! - `ServiceAccount`: a new Pod without `spec.serviceAccountName` runs as `default` (the
//!   refusal of Pods whose ServiceAccount does not exist, and the token volume the plugin
//!   mounts, are not modelled).
//! - `DefaultTolerationSeconds`: every Pod tolerates the `not-ready` and `unreachable` taints
//!   for 300 s unless it tolerates them already.
//! - `LimitRanger`: a new Pod's containers get the defaults of the namespace's LimitRanges
//!   (see [`super::limits`]).
//! - `DefaultStorageClass`: a new PersistentVolumeClaim without `spec.storageClassName` gets
//!   the default StorageClass (annotated `storageclass.kubernetes.io/is-default-class:
//!   "true"`; the newest when several are), if there is one.
//!
//! Validating:
//!
//! - `PersistentVolumeClaimResize`: a claim's `storage` request may grow only while the claim
//!   is Bound and its StorageClass (the same before and after) exists with
//!   `allowVolumeExpansion: true`; otherwise 403 Forbidden with upstream's messages.

use serde_json::{Value, json};

use super::{Admit, limits};
use crate::error::ApiError;
use crate::quantity;
use crate::resources::Model;
use crate::store::{ObjKey, Txn};

/// The finalizer that keeps a claim some Pod uses.
pub(crate) const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";

/// The taints every Pod tolerates for `DEFAULT_TOLERATION_SECONDS` unless it says otherwise.
const DEFAULT_TOLERATED: [&str; 2] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];
/// `--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// The annotation that makes a StorageClass the default.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Runs the plugins on an admitted object about to be stored (not on `/status` writes).
pub(crate) fn mutate(
    txn: &Txn<'_>,
    ctx: &Admit<'_>,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if ctx.status {
        return Ok(());
    }
    match ctx.def.model {
        Model::PersistentVolumeClaim if old.is_none() => {
            protect_claim(object);
            default_storage_class(txn, object);
        }
        Model::PersistentVolumeClaim => {
            if let Some(old) = old {
                check_resize(txn, ctx, object, old)?;
            }
        }
        Model::Pod => {
            if old.is_none() {
                default_service_account(object);
                let ranges = txn.base().list("limitranges", Some(ctx.namespace));
                let ranges: Vec<&Value> = ranges.values().map(|r| r.as_ref()).collect();
                limits::apply_limit_ranges(object, &ranges);
            }
            default_tolerations(object);
        }
        _ => {}
    }
    Ok(())
}

fn default_storage_class(txn: &Txn<'_>, claim: &mut Value) {
    if claim
        .pointer("/spec/storageClassName")
        .is_some_and(|c| !c.is_null())
    {
        return;
    }
    let classes = txn.base().list("storageclasses", None);
    let default = classes
        .values()
        .filter(|c| {
            c.pointer("/metadata/annotations")
                .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                .and_then(Value::as_str)
                == Some("true")
        })
        .max_by_key(|c| {
            crate::meta::meta_str(c, "creationTimestamp")
                .unwrap_or("")
                .to_string()
        })
        .and_then(|c| crate::meta::meta_str(c, "name").map(str::to_string));
    if let (Some(name), Some(spec)) = (
        default,
        claim.get_mut("spec").and_then(Value::as_object_mut),
    ) {
        spec.insert("storageClassName".into(), Value::from(name));
    }
}

fn check_resize(
    txn: &Txn<'_>,
    ctx: &Admit<'_>,
    claim: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    let size = |c: &Value| {
        c.pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .and_then(quantity::value)
    };
    let (Some(new_size), Some(old_size)) = (size(claim), size(old)) else {
        return Ok(());
    };
    if new_size <= old_size {
        return Ok(());
    }
    let name = crate::meta::meta_str(claim, "name").unwrap_or("");
    if old.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
        return Err(ApiError::forbidden(
            ctx.def,
            name,
            "Only bound persistent volume claims can be expanded",
        ));
    }
    let class = |c: &Value| {
        c.pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (new_class, old_class) = (class(claim), class(old));
    let allowed = !new_class.is_empty()
        && new_class == old_class
        && txn
            .get(&ObjKey::new("storageclasses", "", &new_class))
            .is_some_and(|sc| {
                sc.get("allowVolumeExpansion").and_then(Value::as_bool) == Some(true)
            });
    if allowed {
        return Ok(());
    }
    Err(ApiError::forbidden(
        ctx.def,
        name,
        "only dynamically provisioned pvc can be resized and the storageclass that provisions \
         the pvc must support resize",
    ))
}

fn protect_claim(object: &mut Value) {
    let Some(meta) = crate::meta::meta_mut(object) else {
        return;
    };
    let finalizers = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(list) = finalizers.as_array_mut()
        && !list.iter().any(|f| f == PVC_PROTECTION)
    {
        list.push(Value::from(PVC_PROTECTION));
    }
}

fn default_service_account(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let named = |k: &str| {
        spec.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    // `serviceAccount` is the deprecated alias the v1 API keeps equal to the name.
    let account = named("serviceAccountName")
        .or_else(|| named("serviceAccount"))
        .unwrap_or_else(|| "default".into());
    spec.insert("serviceAccountName".into(), Value::from(account.clone()));
    spec.insert("serviceAccount".into(), Value::from(account));
}

fn default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    for taint in DEFAULT_TOLERATED {
        // An empty key or effect tolerates every key or effect.
        let tolerated = list.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        });
        if !tolerated {
            list.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}
