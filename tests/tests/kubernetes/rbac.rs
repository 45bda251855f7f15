//! The exact (verb, group, resource) set the driver uses, from the request log: the deploy
//! manifests derive the control plane's ClusterRole from it.

use kube_test_apiserver::operator::Scenario;
use kube_test_apiserver::rbac_rules;
use pgplane::platform::Platform;

use crate::support::*;

#[tokio::test]
async fn the_driver_uses_exactly_these_verbs_on_these_resources() {
    let env = Env::with_scenario(Scenario::healthy()).await;
    let mut watch = env.watch();
    watch.resynced().await;
    let acme = tenant("acme");
    // apply before ensure: exercises the namespace-missing path as well
    let orders = target(&acme, spec("orders"));
    env.platform.apply_cluster(&orders).await.expect("applied");
    env.platform.ensure_tenant(&acme).await.expect("tenant");
    watch
        .observed(orders.cluster_id, "ready", |o| {
            o.caught_up && o.connection.password.is_some()
        })
        .await;
    while env.platform.delete_cluster(&orders).await.expect("delete")
        != pgplane::platform::DeleteProgress::Gone
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    watch.stop().await.expect("stopped");

    let rules = rbac_rules(&env.driver_requests());
    let lines: Vec<String> = rules
        .iter()
        .map(|r| {
            let group = if r.api_group.is_empty() {
                "\"\""
            } else {
                r.api_group.as_str()
            };
            let verbs: Vec<&str> = r.verbs.iter().copied().collect();
            format!("{group} {} [{}]", r.resource, verbs.join(","))
        })
        .collect();
    println!("pgplane kubernetes driver RBAC (apiGroup resource [verbs]):");
    for line in &lines {
        println!("  {line}");
    }
    assert_eq!(
        lines,
        [
            "\"\" limitranges [patch]",
            "\"\" namespaces [get,patch]",
            "\"\" resourcequotas [patch]",
            "\"\" secrets [list,watch]",
            "\"\" services [list,watch]",
            "networking.k8s.io networkpolicies [patch]",
            "postgres-operator.crunchydata.com postgresclusters [delete,get,list,patch,watch]",
        ]
    );
}
