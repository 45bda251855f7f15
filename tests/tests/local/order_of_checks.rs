//! On a platform that cannot do something (here: the local one cannot switch over, promote or
//! upgrade), a request naming nothing that exists is still a 404, never a 501: existence is
//! checked before the platform's capabilities, and the body in between.

use serde_json::json;

use super::harness::{LocalWorld, TENANT};

#[tokio::test]
async fn actions_the_platform_cannot_do_on_an_unknown_tenant_or_cluster_are_404() {
    let world = LocalWorld::start().await;
    let admin = world.app.admin();
    let developer = world.app.member(TENANT, "developer").await;
    for action in ["switchover", "promote", "upgrade"] {
        for path in [
            format!("/v1/tenants/no-such-tenant/clusters/orders/{action}"),
            format!("/v1/tenants/{TENANT}/clusters/no-such-cluster/{action}"),
        ] {
            for body in [json!({}), json!({"not_a_field": 1})] {
                admin
                    .post(&path, body.clone())
                    .await
                    .expect_problem(404, None);
                developer.post(&path, body).await.expect_problem(404, None);
            }
        }
    }
    world.stop().await;
}
