//! Server-side apply field ownership on the real apiserver: pgplane's apply (field manager
//! `pgplane`, forced) and the operator's writes (finalizer by merge patch, status by apply on
//! `/status`, both as `postgres-operator`) own disjoint fields; a field pgplane stops applying
//! is removed; another manager's apply conflicts on pgplane's fields unless forced.

use kube::api::{DynamicObject, Patch, PatchParams};
use kube_test_apiserver::operator::FINALIZER;
use pgplane::platform::Platform;
use serde_json::{Value, json};

use crate::support::*;

/// One `managedFields` entry: (manager, operation, subresource, fieldsV1).
struct Managed {
    manager: String,
    operation: String,
    subresource: Option<String>,
    fields: Value,
}

fn managed(object: &DynamicObject) -> Vec<Managed> {
    object
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| Managed {
            manager: m.manager.unwrap_or_default(),
            operation: m.operation.unwrap_or_default(),
            subresource: m.subresource.filter(|s| !s.is_empty()),
            fields: m.fields_v1.map(|f| f.0).unwrap_or(Value::Null),
        })
        .collect()
}

fn entry<'a>(
    all: &'a [Managed],
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
) -> &'a Managed {
    all.iter()
        .find(|m| {
            m.manager == manager
                && m.operation == operation
                && m.subresource.as_deref() == subresource
        })
        .unwrap_or_else(|| {
            let seen: Vec<String> = all
                .iter()
                .map(|m| format!("{} {} {:?}", m.manager, m.operation, m.subresource))
                .collect();
            panic!("no managedFields entry {manager} {operation} {subresource:?} in {seen:?}")
        })
}

/// Whether the fieldsV1 tree has the path (each step a `f:`/`v:`/`k:` key).
fn owns(fields: &Value, path: &[&str]) -> bool {
    let mut at = fields;
    for step in path {
        match at.get(*step) {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

#[tokio::test]
async fn pgplane_owns_what_it_applies_the_operator_its_finalizer_and_status_and_a_dropped_field_goes()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    operator(plane);
    let acme = tenant("ssa");
    ensure_counted(&env, &acme).await;
    let mut s = spec("orders");
    s.parameters
        .insert("statement_timeout".into(), "30s".into());
    s.pooler.enabled = true;
    let mut orders = target(&acme, s);
    env.platform.apply_cluster(&orders).await.expect("applied");

    let api = env.clusters(&env.namespace_of(&acme));
    let object = eventually(WAIT, "the operator's finalizer and status", || async {
        let o = api.get("orders").await.ok()?;
        let finalized = o
            .metadata
            .finalizers
            .as_ref()?
            .iter()
            .any(|f| f == FINALIZER);
        (finalized && o.data["status"]["observedGeneration"].is_i64()).then_some(o)
    })
    .await;
    let all = managed(&object);

    let pgplane = entry(&all, "pgplane", "Apply", None);
    let spec_path = ["f:spec", "f:config", "f:parameters", "f:statement_timeout"];
    assert!(owns(&pgplane.fields, &spec_path), "{}", pgplane.fields);
    assert!(owns(&pgplane.fields, &["f:spec", "f:proxy", "f:pgBouncer"]));
    assert!(owns(
        &pgplane.fields,
        &["f:metadata", "f:labels", "f:pgplane.io/cluster-id"]
    ));
    assert!(owns(
        &pgplane.fields,
        &["f:metadata", "f:annotations", "f:pgplane.io/generation"]
    ));
    assert!(!owns(&pgplane.fields, &["f:status"]));
    assert!(
        !owns(
            &pgplane.fields,
            &["f:spec", "f:proxy", "f:pgBouncer", "f:port"]
        ),
        "a field the CRD defaulted is owned by nobody: {}",
        pgplane.fields
    );

    let finalizer = entry(&all, "postgres-operator", "Update", None);
    let value = format!("v:\"{FINALIZER}\"");
    assert!(owns(
        &finalizer.fields,
        &["f:metadata", "f:finalizers", value.as_str()]
    ));
    let status = entry(&all, "postgres-operator", "Apply", Some("status"));
    assert!(owns(&status.fields, &["f:status", "f:observedGeneration"]));
    assert!(!owns(&status.fields, &["f:spec"]));

    orders.generation = 2;
    orders.spec.parameters.remove("statement_timeout");
    orders.spec.pooler.enabled = false;
    env.platform
        .apply_cluster(&orders)
        .await
        .expect("reapplied");
    let after = api.get("orders").await.expect("still there");
    let spec = &after.data["spec"];
    assert!(
        spec["config"]["parameters"]
            .get("statement_timeout")
            .is_none(),
        "a parameter pgplane stopped applying is removed: {}",
        spec["config"]
    );
    assert!(spec.get("proxy").is_none(), "the pooler is removed: {spec}");
    assert!(
        after
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.contains(&FINALIZER.to_string())),
        "pgplane's apply leaves the operator's finalizer alone"
    );
    assert!(after.data["status"].is_object(), "and its status");
    let all = managed(&after);
    let pgplane = entry(&all, "pgplane", "Apply", None);
    assert!(!owns(&pgplane.fields, &spec_path));
}

#[tokio::test]
async fn another_managers_apply_of_pgplanes_fields_conflicts_unless_forced_and_pgplane_takes_them_back()
 {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("conflict");
    ensure_counted(&env, &acme).await;
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    let api = env.clusters(&env.namespace_of(&acme));

    let change = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": { "name": "orders" },
        "spec": { "instances": [{ "name": "instance1", "replicas": 2 }] },
    });
    let sre = PatchParams::apply("sre");
    let refused = api_status(api.patch("orders", &sre, &Patch::Apply(&change)).await);
    assert_eq!((refused.code, refused.reason.as_str()), (409, "Conflict"));
    assert!(
        refused.message.contains("conflict with \"pgplane\"")
            && refused
                .message
                .contains(".spec.instances[name=\"instance1\"].replicas"),
        "{}",
        refused.message
    );

    let forced = api
        .patch("orders", &sre.clone().force(), &Patch::Apply(&change))
        .await
        .expect("a forced apply takes the field");
    assert_eq!(forced.data["spec"]["instances"][0]["replicas"], 2);
    assert!(
        forced.data["spec"]["instances"][0]["dataVolumeClaimSpec"].is_object(),
        "the list entry is merged by its key, not replaced"
    );

    env.platform
        .apply_cluster(&orders)
        .await
        .expect("reapplied");
    let back = api.get("orders").await.expect("exists");
    assert_eq!(back.data["spec"]["instances"][0]["replicas"], 1);
    let all = managed(&back);
    let sre_entry = all.iter().find(|m| m.manager == "sre");
    assert!(
        sre_entry.is_none_or(|m| !owns(
            &m.fields,
            &[
                "f:spec",
                "f:instances",
                "k:{\"name\":\"instance1\"}",
                "f:replicas"
            ]
        )),
        "pgplane's forced apply took the field back"
    );
}
