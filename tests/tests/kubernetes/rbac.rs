//! The ClusterRole in `deploy/kustomize/base/clusterrole.yaml` grants exactly what the driver
//! uses: the driver runs through every call it makes against the test API server, the request
//! log gives the (verb, group, resource, name) RBAC would authorize, and each must be granted by
//! a rule while each granted verb (and resource name) must have been used.
//!
//! The ClusterRole is the one list of what pgplane may do. When the driver learns a new call
//! (day-2 operations: pod exec, PGUpgrades, Secret updates ...), exercise it in
//! [`exercise_every_driver_call`] and the failure names the rule to add.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube_test_apiserver::operator::Scenario;
use kube_test_apiserver::{RequestRecord, ServerOptions, Verb};
use pgplane::platform::kubernetes::KubernetesOptions;
use pgplane::platform::{ActionProgress, BackupType, ClusterAction, DeleteProgress, Platform};

use crate::support::*;

/// One authorization check a real API server would make for the driver.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    group: String,
    /// `resource` or `resource/subresource`.
    resource: String,
    verb: &'static str,
    /// The object's name when the request names one (RBAC `resourceNames` match on it).
    name: Option<String>,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{} {group}/{}", self.verb, self.resource)?;
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

fn calls(records: &[RequestRecord]) -> BTreeSet<Call> {
    let mut out = BTreeSet::new();
    for r in records {
        let resource = match &r.subresource {
            Some(s) => format!("{}/{s}", r.resource),
            None => r.resource.clone(),
        };
        for verb in r.authorized_verbs() {
            // A collection request (list, watch) names nothing, whatever the log says.
            let named = !matches!(verb, Verb::List | Verb::Watch);
            out.insert(Call {
                group: r.group.clone(),
                resource: resource.clone(),
                verb: verb.as_str(),
                name: r.name.clone().filter(|_| named),
            });
        }
    }
    out
}

fn cluster_role() -> ClusterRole {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/kustomize/base/clusterrole.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn listed(values: &[String], wanted: &str) -> bool {
    values.iter().any(|v| v == wanted || v == "*")
}

/// Whether `rule` grants `call`, as the RBAC authorizer decides.
fn grants(rule: &PolicyRule, call: &Call) -> bool {
    let groups = rule.api_groups.clone().unwrap_or_default();
    let resources = rule.resources.clone().unwrap_or_default();
    let names = rule.resource_names.clone().unwrap_or_default();
    listed(&groups, &call.group)
        && listed(&resources, &call.resource)
        && listed(&rule.verbs, call.verb)
        && (names.is_empty() || call.name.as_ref().is_some_and(|n| names.contains(n)))
}

/// The rule to add so that `call` is granted, as YAML.
fn rule_for(call: &Call) -> String {
    let names = match &call.name {
        // Names are only worth pinning for objects whose name pgplane fixes.
        Some(n) if n.starts_with("pgplane-") && call.resource != "namespaces" => {
            format!(" resourceNames: [\"{n}\"],")
        }
        _ => String::new(),
    };
    format!(
        "- {{ apiGroups: [\"{}\"], resources: [\"{}\"],{names} verbs: [\"{}\"] }}",
        call.group, call.resource, call.verb
    )
}

/// Every kind of request the driver makes: creating a tenant (apply before ensure, so the
/// namespace-missing path too), updating its quota, creating, updating (pooler on and off,
/// which removes a defaulted block by merge patch), each day-2 action, watching and deleting a
/// cluster. A new driver call belongs here.
async fn exercise_every_driver_call(env: &Env) {
    let mut watch = env.watch();
    watch.resynced().await;
    let mut acme = tenant("acme");
    let mut orders = target(&acme, spec("orders"));
    orders.spec.postgres_version = 17; // so that it can be upgraded
    orders.spec.storage.class = Some("expandable".into()); // so that it can grow
    env.platform.apply_cluster(&orders).await.expect("created");
    acme.quota.max_clusters += 1;
    orders.tenant = acme.clone();
    env.platform
        .ensure_tenant(&acme)
        .await
        .expect("quota updated");
    watch
        .observed(orders.cluster_id, "ready", |o| {
            o.caught_up && o.connection.password.is_some()
        })
        .await;
    for (generation, pooler) in [(2, true), (3, false)] {
        orders.generation = generation;
        orders.spec.pooler.enabled = pooler;
        env.platform.apply_cluster(&orders).await.expect("updated");
    }
    // A standby of orders: both move onto the tenant CA's certificates (the CA and the
    // certificate Secrets are created), the standby's source is checked, then it is promoted
    // (pod exec asks the primary whether it left recovery).
    orders.generation = 4;
    orders.tenant_certificates = true;
    env.platform
        .apply_cluster(&orders)
        .await
        .expect("certificates");
    let mut dr_spec = spec("orders-dr");
    dr_spec.postgres_version = orders.spec.postgres_version;
    dr_spec.standby = Some(pgplane::domain::cluster::StandbySource {
        source: orders.spec.name.clone(),
    });
    let mut dr = target(&acme, dr_spec);
    dr.tenant_certificates = true;
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Err(e) = env.platform.apply_cluster(&dr).await {
        assert!(tokio::time::Instant::now() < deadline, "standby: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    loop {
        match env
            .platform
            .run_action(&dr, &ClusterAction::Promote, uuid::Uuid::new_v4())
            .await
        {
            Ok(ActionProgress::Done { .. }) => break,
            other => assert!(tokio::time::Instant::now() < deadline, "promote: {other:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A storage resize: the data volumes are listed and their StorageClass read (can they
    // grow?) before the apply.
    orders.generation = 5;
    orders.spec.storage.size = "30Gi".into();
    env.platform.apply_cluster(&orders).await.expect("resized");
    let owner = orders.spec.name.clone(); // the default owner is named after the cluster
    // (action, whether to wait until done): a switchover needs a replica, which orders lacks;
    // its first run makes the calls it would before the trigger (a get, the Pod list).
    for (action, until_done) in [
        (
            ClusterAction::Backup {
                backup_type: BackupType::Full,
            },
            true,
        ),
        (
            // Its target is checked against the instance Pods (refused: there is none such).
            ClusterAction::Switchover {
                target_instance: Some("orders-instance1-none".into()),
            },
            false,
        ),
        (ClusterAction::RotatePassword { user: owner }, true),
        (ClusterAction::Restore { target_time: None }, true),
        (
            ClusterAction::Extension {
                database: orders.spec.database.clone(),
                name: "pg_trgm".into(),
                enable: true,
            },
            true,
        ),
        (
            // A newer image of the same major: PGO rolls the instances.
            ClusterAction::MinorUpgrade {
                from_image: None,
                to_image: format!(
                    "registry.example/crunchy-postgres:ubi9-{}.99-1",
                    orders.spec.postgres_version
                ),
            },
            true,
        ),
        (
            ClusterAction::Upgrade {
                to_version: 18,
                to_image: None,
            },
            true,
        ),
    ] {
        let operation = uuid::Uuid::new_v4();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let progress = env.platform.run_action(&orders, &action, operation).await;
            let progress = match progress {
                Err(_) if !until_done => break,
                other => other,
            };
            match progress.unwrap_or_else(|e| panic!("{action:?}: {e}")) {
                ActionProgress::Done { .. } => break,
                ActionProgress::Waiting(_) if !until_done => break,
                ActionProgress::Waiting(what) => {
                    assert!(tokio::time::Instant::now() < deadline, "{action:?}: {what}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }
    // Reads inside the running cluster (pod exec in the primary).
    let info = env
        .platform
        .backup_repository(&orders)
        .await
        .expect("pgbackrest info");
    assert!(info.is_some_and(|json| json.contains("\"name\":\"db\"")));
    let listed = env
        .platform
        .list_extensions(&orders, &orders.spec.database)
        .await;
    assert!(listed.expect("extensions").is_some());
    // keep_backups (the default): the repository claim is detached, then expired.
    assert_eq!(
        orders.spec.deletion_policy,
        pgplane::domain::cluster::DeletionPolicy::KeepBackups
    );
    while env.platform.delete_cluster(&orders).await.expect("delete") != DeleteProgress::Gone {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let expired = env.platform.expire_retained_backups().await;
    assert_eq!(
        expired.expect("expire retained backups"),
        1,
        "the kept repository claim"
    );
    watch.stop().await.expect("stopped");
}

#[tokio::test]
async fn the_cluster_role_grants_every_call_of_the_driver_and_nothing_else() {
    // Deleted clusters' backups expire at once, so the sweep's delete is exercised too.
    let options = KubernetesOptions {
        deleted_backups_retention: std::time::Duration::ZERO,
        ..KubernetesOptions::default()
    };
    let env = Env::with(Scenario::healthy(), options, ServerOptions::default()).await;
    // The platform team's StorageClass (not a driver call).
    env.storage_class("expandable", true).await;
    env.server.clear_requests();
    exercise_every_driver_call(&env).await;
    let used = calls(&env.driver_requests());
    let role = cluster_role();
    let rules = role.rules.clone().unwrap_or_default();

    let missing: Vec<String> = used
        .iter()
        .filter(|c| !rules.iter().any(|r| grants(r, c)))
        .map(|c| format!("  {c}: add to the ClusterRole\n    {}", rule_for(c)))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/kustomize/base/clusterrole.yaml does not grant what the driver calls:\n{}",
        missing.join("\n")
    );

    // Each grant (verb × resource × name, per rule) must have been used.
    let mut unused = Vec::new();
    for rule in &rules {
        let groups = rule.api_groups.clone().unwrap_or_default();
        let resources = rule.resources.clone().unwrap_or_default();
        let names = rule.resource_names.clone().unwrap_or_default();
        for group in &groups {
            for resource in &resources {
                for verb in &rule.verbs {
                    let is_used = |name: Option<&String>| {
                        used.iter().any(|c| {
                            &c.group == group
                                && &c.resource == resource
                                && c.verb == verb
                                && name.is_none_or(|n| c.name.as_ref() == Some(n))
                        })
                    };
                    let group = if group.is_empty() { "core" } else { group };
                    if names.is_empty() {
                        if !is_used(None) {
                            unused.push(format!("  {verb} {group}/{resource}"));
                        }
                    } else {
                        for name in names.iter().filter(|n| !is_used(Some(n))) {
                            unused.push(format!("  {verb} {group}/{resource} {name}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "deploy/kustomize/base/clusterrole.yaml grants what the driver never uses (remove it, \
         or exercise the call in exercise_every_driver_call):\n{}",
        unused.join("\n")
    );
}

#[test]
fn a_missing_or_surplus_grant_is_told_apart_from_a_granted_call() {
    let rule = PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["resourcequotas".into()]),
        resource_names: Some(vec!["pgplane-tenant-quota".into()]),
        verbs: vec!["patch".into()],
        ..PolicyRule::default()
    };
    let call = |verb, name: &str| Call {
        group: String::new(),
        resource: "resourcequotas".into(),
        verb,
        name: Some(name.into()),
    };
    assert!(grants(&rule, &call("patch", "pgplane-tenant-quota")));
    assert!(!grants(&rule, &call("create", "pgplane-tenant-quota")));
    assert!(!grants(&rule, &call("patch", "kube-system-quota")));
    assert_eq!(
        rule_for(&call("create", "pgplane-tenant-quota")),
        "- { apiGroups: [\"\"], resources: [\"resourcequotas\"], resourceNames: [\"pgplane-tenant-quota\"], verbs: [\"create\"] }"
    );
    // A list names no object, so a name-restricted rule cannot grant it.
    let list = Call {
        verb: "list",
        name: None,
        ..call("list", "x")
    };
    assert!(!grants(&rule, &list));
}
