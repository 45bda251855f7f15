//! `KubernetesPlatform::from_environment`: the kubeconfig (or in-cluster) client.

use pgplane::platform::Platform;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube_test_apiserver::{ServerOptions, TestApiServer};

use crate::support::*;

#[tokio::test]
async fn a_driver_from_the_environment_talks_to_the_cluster_of_the_kubeconfig() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    env.server
        .write_kubeconfig(&path)
        .expect("kubeconfig written");
    // SAFETY: no other test of this binary reads or writes the process environment, and the
    // variable is set before the client that reads it is built.
    #[expect(
        unsafe_code,
        reason = "the test reads KUBECONFIG as a user's process would"
    )]
    unsafe {
        std::env::set_var("KUBECONFIG", &path);
    }
    let platform = KubernetesPlatform::from_environment(KubernetesOptions::default())
        .await
        .expect("a client from KUBECONFIG");
    platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect("reaches the test server");
    assert!(env.namespace("pgplane-acme").await.is_some());

    // The recovery site's client comes from a named context of the same kubeconfig.
    let recovery = TestApiServer::start(ServerOptions::default())
        .await
        .expect("second test API server");
    let two_contexts = format!(
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: home\n  cluster:\n    server: {home}\n\
         - name: dr\n  cluster:\n    server: {dr}\n\
         contexts:\n- name: home\n  context:\n    cluster: home\n    user: u\n\
         - name: dr\n  context:\n    cluster: dr\n    user: u\n\
         current-context: home\nusers:\n- name: u\n  user: {{}}\n",
        home = env.server.url(),
        dr = recovery.url(),
    );
    std::fs::write(&path, two_contexts).expect("kubeconfig written");
    let client = KubernetesPlatform::client_for_context("dr")
        .await
        .expect("a client for the context `dr`");
    KubernetesPlatform::new(client, KubernetesOptions::default())
        .ensure_tenant(&tenant("zeta"))
        .await
        .expect("reaches the second server");
    let namespaces: Api<Namespace> = Api::all(recovery.client());
    assert!(namespaces.get_opt("pgplane-zeta").await.unwrap().is_some());
    assert!(
        env.namespace("pgplane-zeta").await.is_none(),
        "not the current context"
    );
    let missing = KubernetesPlatform::client_for_context("elsewhere").await;
    assert!(missing.is_err(), "an unknown context is an error");
}
