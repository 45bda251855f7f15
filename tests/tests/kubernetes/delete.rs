//! `delete_cluster`: background deletion, `Deleting` while PGO finalizes, then `Gone`
//! (clusters that keep their backups: `retained.rs`).

use std::time::Duration;

use kube_test_apiserver::Verb;
use kube_test_apiserver::operator::{FINALIZER, Scenario};
use pgplane::platform::{DeleteProgress, Platform};

use crate::support::*;

async fn until_finalizer(env: &Env, namespace: &str, name: &str) {
    let api = env.clusters(namespace);
    eventually(WAIT, "the operator's finalizer", || async {
        let o = api.get(name).await.ok()?;
        o.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&FINALIZER.to_string())
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_cluster_reports_deleting_until_the_operator_finalizes_it_then_gone() {
    let env =
        Env::with_scenario(Scenario::healthy().deleting_after(Duration::from_millis(300))).await;
    let acme = tenant("acme");
    let orders = target(&acme, spec_deleting_backups("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    until_finalizer(&env, "pgplane-acme", "orders").await;

    env.server.clear_requests();
    let first = env.platform.delete_cluster(&orders).await.expect("delete");
    let DeleteProgress::Deleting { waiting_for } = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        waiting_for,
        format!(
            "PostgresCluster orders is being finalized by the operator (finalizers: {FINALIZER})"
        )
    );
    let deletes: Vec<_> = env
        .driver_requests()
        .into_iter()
        .filter(|r| r.verb == Verb::Delete)
        .collect();
    assert_eq!(deletes.len(), 1);
    // A real apiserver answers a deletion waiting for finalizers with 200 and the marked object.
    assert_eq!(deletes[0].code, 200, "answered, not yet done");

    let again = env
        .platform
        .delete_cluster(&orders)
        .await
        .expect("delete again");
    assert!(
        matches!(again, DeleteProgress::Deleting { .. }),
        "{again:?}"
    );
    let deletes = env
        .driver_requests()
        .into_iter()
        .filter(|r| r.verb == Verb::Delete)
        .count();
    assert_eq!(
        deletes, 1,
        "a cluster already being deleted is not deleted again"
    );

    eventually(WAIT, "Gone", || async {
        (env.platform.delete_cluster(&orders).await.ok()? == DeleteProgress::Gone).then_some(())
    })
    .await;
    assert!(
        env.clusters("pgplane-acme")
            .get_opt("orders")
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn a_cluster_stuck_in_finalization_keeps_reporting_what_it_waits_for() {
    let env = Env::start().await;
    env.operator.set_scenario(
        "pgplane-acme",
        "orders",
        Scenario::healthy().stuck_on_delete(),
    );
    let acme = tenant("acme");
    let orders = target(&acme, spec_deleting_backups("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    until_finalizer(&env, "pgplane-acme", "orders").await;
    for _ in 0..3 {
        let progress = env.platform.delete_cluster(&orders).await.expect("delete");
        assert!(
            matches!(&progress, DeleteProgress::Deleting { waiting_for } if waiting_for.contains("finalized by the operator")),
            "{progress:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deleting_a_cluster_that_does_not_exist_is_gone() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let orders = target(&acme, spec_deleting_backups("orders"));
    assert_eq!(
        env.platform
            .delete_cluster(&orders)
            .await
            .expect("no namespace"),
        DeleteProgress::Gone
    );
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    assert_eq!(
        env.platform
            .delete_cluster(&orders)
            .await
            .expect("no cluster"),
        DeleteProgress::Gone
    );
}

#[tokio::test]
async fn deleting_never_touches_a_newer_cluster_of_the_same_name() {
    let env = Env::start().await;
    let acme = tenant("acme");
    let old = target(&acme, spec_deleting_backups("orders"));
    let new = target(&acme, spec_deleting_backups("orders"));
    env.platform
        .apply_cluster(&new)
        .await
        .expect("the newer cluster");
    assert_eq!(
        env.platform.delete_cluster(&old).await.expect("delete old"),
        DeleteProgress::Gone
    );
    let still = env
        .clusters("pgplane-acme")
        .get("orders")
        .await
        .expect("still there");
    assert!(still.metadata.deletion_timestamp.is_none());
}
