//! When a change is done on Kubernetes: not when PGO's status says so, but when what runs says
//! so (issue 17, defects 3 and 5): every instance Pod on its StatefulSet's new revision, and a
//! new password in PostgreSQL (PGO's `usersRevision`), not just in its Secret.

use std::time::Duration;

use kube_test_apiserver::operator::Scenario;
use pgplane::platform::{ActionProgress, ClusterAction, ClusterTarget, Platform};

use crate::support::*;

const NS: &str = "pgplane-acme";

async fn settled(env: &Env, target: &ClusterTarget) {
    eventually(Duration::from_secs(20), "the rollout to settle", || async {
        env.platform
            .rollout_pending(target)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}

/// PGO's status for the cluster's current generation: observed, every instance updated and
/// ready by its own count.
async fn status_says_done(env: &Env, name: &str, instances: i64) {
    eventually(
        WAIT,
        "PGO's status to report the new generation done",
        || async {
            let c = env.clusters(NS).get(name).await.ok()?;
            let status = &c.data["status"];
            let observed = status["observedGeneration"].as_i64() == c.metadata.generation;
            let sum = |key: &str| -> i64 {
                status["instances"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| s[key].as_i64().unwrap_or(0))
                    .sum()
            };
            (observed && sum("updatedReplicas") == instances && sum("readyReplicas") == instances)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_resources_change_is_done_only_once_every_pod_runs_the_new_template() {
    let env =
        Env::with_scenario(Scenario::healthy().restarts_take(Duration::from_millis(300))).await;
    let acme = tenant("acme");
    let mut first = spec("orders");
    first.instances = 2;
    let v1 = target(&acme, first.clone());
    env.platform.apply_cluster(&v1).await.expect("applied");
    settled(&env, &v1).await;

    let mut bigger = first;
    bigger.resources.cpu = "2".into();
    let v2 = ClusterTarget {
        generation: 2,
        spec: bigger,
        ..v1.clone()
    };
    env.platform.apply_cluster(&v2).await.expect("applied");
    status_says_done(&env, "orders", 2).await;
    let pending = env.platform.rollout_pending(&v2).await.expect("read");
    assert!(
        pending.is_some(),
        "PGO's status reports the change done while its Pods have not been recreated"
    );
    settled(&env, &v2).await;
    let restarts = env.operator.restarts(NS, "orders");
    let restarted: std::collections::BTreeSet<&str> =
        restarts.iter().map(|(pod, _)| pod.as_str()).collect();
    assert_eq!(restarted.len(), 2, "every instance restarted: {restarts:?}");
    assert_eq!(
        restarted.len(),
        2,
        "every instance restarted: {restarted:?}"
    );
}

#[tokio::test]
async fn a_password_rotation_is_done_only_once_postgresql_has_the_new_password() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    settled(&env, &orders).await;
    status_says_done(&env, "orders", 1).await;

    // PostgreSQL stops: PGO still writes the new password into the Secret, but cannot put it
    // into PostgreSQL, so its `usersRevision` stays.
    env.operator
        .set_scenario(NS, "orders", Scenario::never_ready());
    let rotate = ClusterAction::RotatePassword {
        user: orders.spec.owner.clone(),
    };
    let operation = uuid::Uuid::new_v4();
    let secret = format!("orders-pguser-{}", orders.spec.owner);
    let before = secret_password(&env, &secret).await;
    let first = env
        .platform
        .run_action(&orders, &rotate, operation)
        .await
        .expect("started");
    assert!(matches!(first, ActionProgress::Waiting(_)), "{first:?}");
    eventually(WAIT, "a new password in the Secret", || async {
        let now = secret_password(&env, &secret).await;
        (!now.is_empty() && now != before).then_some(())
    })
    .await;
    for _ in 0..3 {
        let progress = env
            .platform
            .run_action(&orders, &rotate, operation)
            .await
            .expect("checked");
        assert!(
            matches!(&progress, ActionProgress::Waiting(w) if w.contains("usersRevision")),
            "not done while PostgreSQL still has the old password: {progress:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    env.operator.set_scenario(NS, "orders", Scenario::healthy());
    let done = eventually(
        Duration::from_secs(20),
        "the rotation to finish",
        || async {
            match env
                .platform
                .run_action(&orders, &rotate, operation)
                .await
                .ok()?
            {
                ActionProgress::Done { connection, .. } => Some(connection),
                ActionProgress::Waiting(_) => None,
            }
        },
    )
    .await;
    let password = done
        .and_then(|c| c.password)
        .expect("the owner's new password");
    assert_eq!(password, secret_password(&env, &secret).await);
}

async fn secret_password(env: &Env, name: &str) -> String {
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.server.client(), NS);
    secrets
        .get(name)
        .await
        .ok()
        .and_then(|s| s.data?.get("password").map(|b| b.0.clone()))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
