//! `KubernetesPlatform::from_environment`: the kubeconfig (or in-cluster) client.

use pgplane::platform::Platform;
use pgplane::platform::kubernetes::{KubernetesOptions, KubernetesPlatform};

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
    unsafe { std::env::set_var("KUBECONFIG", &path) };
    let platform = KubernetesPlatform::from_environment(KubernetesOptions::default())
        .await
        .expect("a client from KUBECONFIG");
    platform
        .ensure_tenant(&tenant("acme"))
        .await
        .expect("reaches the test server");
    assert!(env.namespace("pgplane-acme").await.is_some());
}
