//! How CEL rule failures are worded, as Kubernetes 1.36 words them: the value of a scalar
//! field is shown (`Invalid value: "PASSWORD 'x'": ...`), that of an object is omitted.

use kube::api::PostParams;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_cel_failure_shows_a_scalars_value_and_omits_an_objects() {
    let server = server().await;
    let api = clusters(server.client(), "default");
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([{ "name": "app", "options": "PASSWORD 'x'" }]);
    m["spec"]["config"] = json!({ "parameters": { "port": 5433 } });
    let err = status(
        api.create(&PostParams::default(), &dynamic(m))
            .await
            .expect_err("invalid"),
    );
    assert_eq!(err.code, 422);
    let causes: Vec<(String, String)> = err
        .details
        .expect("details")
        .causes
        .into_iter()
        .map(|c| (c.field, c.message))
        .collect();
    assert!(
        causes.contains(&(
            "spec.users[0].options".into(),
            "Invalid value: \"PASSWORD 'x'\": cannot assign password".into()
        )),
        "{causes:#?}"
    );
    assert!(
        causes.contains(&(
            "spec.config.parameters".into(),
            "Invalid value: change port using .spec.port instead".into()
        )),
        "{causes:#?}"
    );
}
