use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use crate::support::*;

#[tokio::test]
async fn smoke_secret_and_cluster_round_trip() {
    let server = server().await;
    let client = server.client();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let mut s = Secret::default();
    s.metadata.name = Some("a".into());
    s.string_data = Some([("k".to_string(), "v".to_string())].into());
    let created = secrets.create(&PostParams::default(), &s).await.expect("create");
    println!("{created:?}");
    let got = secrets.get("a").await.expect("get");
    println!("{got:?}");
    let list = secrets.list(&Default::default()).await.expect("list");
    println!("{:?}", list.items.len());
    let pcs = clusters(client, "default");
    let pc = pcs.create(&PostParams::default(), &dynamic(cluster_manifest("hippo"))).await.expect("create pc");
    println!("{}", serde_json::to_string_pretty(&pc).unwrap());
    println!("{:#?}", server.requests());
}
