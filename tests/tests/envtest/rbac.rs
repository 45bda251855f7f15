//! The deploy's ClusterRole (`deploy/kustomize/base/clusterrole.yaml`) on the real apiserver's
//! RBAC: the driver authenticated as a user bound to nothing else ensures a tenant, applies a
//! cluster, watches it and deletes it; what the role does not grant is refused 403.
//! (`tests/tests/kubernetes/rbac.rs` checks against the in-process request log that every
//! granted verb is used.)

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};
use pgplane::platform::{DeleteProgress, Platform};
use pgplane_tests::envtest::unique_name;
use serde_json::json;

use crate::support::*;

fn deploy_role() -> ClusterRole {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/kustomize/base/clusterrole.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn the_deploy_cluster_role_lets_the_driver_run_a_cluster_and_nothing_else() {
    let plane = plane_or_skip!();
    operator(plane);
    let user = unique_name("pgplane");
    let mut role = deploy_role();
    role.metadata.name = Some(user.clone());
    let admin = plane.client();
    Api::<ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &role)
        .await
        .expect("role");
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": { "name": user },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user }],
    }))
    .expect("binding");
    Api::<ClusterRoleBinding>::all(admin)
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");

    let client = plane.client_as(&user, &[]).await;
    let mut env = Env::on(plane);
    env.platform = KubernetesPlatform::new(client.clone(), KubernetesOptions::default());
    let mut watch = env.watch();
    watch.resynced().await;
    let acme = tenant("rbac");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    let orders = target(&acme, spec("orders"));
    apply_until_admitted(&env, &orders).await;
    watch
        .observed(
            orders.cluster_id,
            "the cluster, through the role's watch",
            |o| o.caught_up,
        )
        .await;
    eventually(WAIT, "the cluster deleted", || async {
        let progress = env.platform.delete_cluster(&orders).await.ok()?;
        (progress == DeleteProgress::Gone).then_some(())
    })
    .await;

    let namespace = env.namespace_of(&acme);
    let refused = api_status(
        Api::<ConfigMap>::namespaced(client.clone(), &namespace)
            .list(&Default::default())
            .await,
    );
    assert_eq!(refused.code, 403, "{refused:?}");
    let refused = api_status(
        Api::<Namespace>::all(client)
            .delete(&namespace, &DeleteParams::default())
            .await,
    );
    assert_eq!(refused.code, 403, "{refused:?}");
    assert!(
        refused.message.contains(&format!(
            "User \"{user}\" cannot delete resource \"namespaces\""
        )),
        "{}",
        refused.message
    );
}
