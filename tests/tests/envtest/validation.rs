//! The PGO v6.0.3 CRD's validation on the real apiserver: pgplane's manifests for every feature
//! the domain offers are admitted; a manifest breaking a CEL rule is refused 422 naming the
//! field (including the `.?` rule the in-process server cannot evaluate) and the driver calls
//! that final; a server-side apply with a field the schema lacks is refused with a 500.

use pgplane::domain::cluster::{BackupSchedules, DatabaseUser};
use pgplane::platform::Platform;
use pgplane::platform::kubernetes::{cluster, errors};
use pgplane::platform::{ClusterTarget, PlatformError};
use serde_json::{Value, json};

use crate::support::*;

/// pgplane's manifest of `target` with `change` applied to it, server-side applied as the
/// driver applies (`pgplane`, forced, strict field validation).
async fn apply_changed(
    env: &Env<'_>,
    target: &ClusterTarget,
    change: impl FnOnce(&mut Value),
) -> Result<kube::api::DynamicObject, kube::Error> {
    let namespace = env.namespace_of(&target.tenant);
    let mut manifest = cluster::manifest(target, &namespace, None);
    change(&mut manifest);
    cluster::apply_manifest(&env.plane.client(), &namespace, &manifest).await
}

/// The (field, message) causes of a 422.
fn causes(status: &kube::core::Status) -> Vec<(String, String)> {
    status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .map(|c| (c.field.clone(), c.message.clone()))
        .collect()
}

#[tokio::test]
async fn every_feature_combination_the_domain_allows_is_admitted_by_the_real_crd() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let mut acme = tenant("features");
    acme.quota.max_clusters = 5;
    acme.quota.max_instances = 10;
    ensure_counted(&env, &acme).await;

    let mut ha = spec("ha");
    ha.instances = 3;
    ha.pooler.enabled = true;
    ha.pooler.replicas = 2;
    ha.monitoring.enabled = true;
    ha.storage.class = Some("fast".into());
    ha.parameters.insert("max_connections".into(), "200".into());
    ha.users.push(DatabaseUser {
        name: "reporting".into(),
        databases: vec!["ha".into()],
        options: Some("NOSUPERUSER".into()),
    });
    ha.backups.schedules = BackupSchedules {
        full: Some("0 1 * * 0".into()),
        differential: Some("0 1 * * 3".into()),
        incremental: Some("0 1 * * 1-2,4-6".into()),
    };
    let mut lean = spec("lean");
    lean.backups.enabled = false;
    lean.suspended = true;
    lean.postgres_version = 15;
    let mut newest = spec("newest");
    newest.postgres_version = 18;
    let mut certified = target(&acme, spec("certified"));
    certified.tenant_certificates = true;
    certified.image = Some(
        "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.6-2540".into(),
    );
    let targets = [ha, lean, newest]
        .into_iter()
        .map(|s| target(&acme, s))
        .chain([certified]);
    for t in targets {
        let name = t.spec.name.clone();
        env.platform
            .apply_cluster(&t)
            .await
            .unwrap_or_else(|e| panic!("{name} must be admitted by the real CRD: {e}"));
    }
    let lean = env
        .clusters(&env.namespace_of(&acme))
        .get("lean")
        .await
        .expect("lean");
    assert_eq!(lean.data["spec"]["shutdown"], json!(true));
    assert!(lean.data["spec"].get("backups").is_none());
}

#[tokio::test]
async fn a_manifest_breaking_a_cel_rule_is_refused_422_naming_the_field_and_the_driver_gives_up() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("cel");
    ensure_counted(&env, &acme).await;
    let orders = target(&acme, spec("orders"));

    let refused = api_status(
        apply_changed(&env, &orders, |m| {
            m["spec"]["config"]["parameters"]["listen_addresses"] = json!("*");
        })
        .await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    let found = causes(&refused);
    assert!(
        found
            .iter()
            .any(|(field, message)| field == "spec.config.parameters"
                && message.contains("network connectivity is always enabled: listen_addresses")),
        "{found:?}"
    );
    assert!(matches!(
        errors::classify_status(&refused),
        PlatformError::Rejected(_)
    ));

    let refused = api_status(
        apply_changed(&env, &orders, |m| {
            m["spec"]["users"][0]["options"] = json!("LOGIN PASSWORD 'secret'");
        })
        .await,
    );
    assert_eq!(refused.code, 422);
    let found = causes(&refused);
    assert!(
        found
            .iter()
            .any(|(field, message)| field == "spec.users[0].options"
                && message.contains("cannot assign password")),
        "{found:?}"
    );
    assert!(
        env.clusters(&env.namespace_of(&acme))
            .get_opt("orders")
            .await
            .expect("get")
            .is_none(),
        "nothing was stored"
    );
}

/// The in-process server skips this rule (`validation::unevaluated_cel_rules`: its CEL
/// interpreter has no `.?`); the real apiserver evaluates it.
#[tokio::test]
async fn the_ssl_groups_rule_written_with_optional_fields_is_enforced() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("sslgroups");
    ensure_counted(&env, &acme).await;
    let orders = target(&acme, spec("orders"));
    let refused = api_status(
        apply_changed(&env, &orders, |m| {
            m["spec"]["postgresVersion"] = json!(17);
            m["spec"]["config"]["parameters"]["ssl_groups"] = json!("X25519");
        })
        .await,
    );
    assert_eq!(refused.code, 422, "{refused:?}");
    assert!(
        refused
            .message
            .contains("The ssl_groups parameter is only available in pg18 and greater"),
        "{}",
        refused.message
    );
    apply_changed(&env, &orders, |m| {
        m["spec"]["postgresVersion"] = json!(18);
        m["spec"]["config"]["parameters"]["ssl_groups"] = json!("X25519");
    })
    .await
    .expect("PostgreSQL 18 may set ssl_groups");
}

/// Server-side apply builds a typed patch from the schema before field validation runs, so an
/// unknown field is a 500 without a reason, whatever `fieldValidation` says (a create or
/// update with `fieldValidation=Strict` is a 400 "strict decoding error"); the in-process
/// server now answers the same. The driver rejects this 500 (it classifies other 500s as
/// transient), so a manifest of pgplane's with a misspelt field fails its operation at once
/// instead of being retried until the deadline.
#[tokio::test]
async fn a_server_side_apply_with_a_field_the_schema_lacks_is_refused_500() {
    let plane = plane_or_skip!();
    let env = Env::on(plane);
    let acme = tenant("strict");
    ensure_counted(&env, &acme).await;
    let orders = target(&acme, spec("orders"));
    let refused = api_status(
        apply_changed(&env, &orders, |m| {
            m["spec"]["instances"][0]["replica"] = json!(2);
        })
        .await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (500, ""));
    assert!(
        refused
            .message
            .starts_with("failed to create typed patch object")
            && refused.message.contains(
                ".spec.instances[name=\"instance1\"].replica: field not declared in schema"
            ),
        "{}",
        refused.message
    );
    // The driver fails such an operation at once instead of retrying it until its deadline.
    let classified = pgplane::platform::kubernetes::errors::classify_status(&refused);
    assert!(
        matches!(classified, pgplane::platform::PlatformError::Rejected(_)),
        "{classified:?}"
    );
}
