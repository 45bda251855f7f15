//! `spec.paused`: a condition and nothing else, until unpaused; deletion still proceeds.

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::{Value, json};

use super::*;

const IMAGE: &str =
    "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.6-2550";

fn paused(name: &str, paused: bool, image: Option<&str>) -> Value {
    let mut m = ha(name, 2);
    m["spec"]["paused"] = json!(paused);
    if let Some(image) = image {
        m["spec"]["image"] = json!(image);
    }
    m
}

fn image(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

async fn owners(env: &Env, claim: &str) -> Vec<String> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    api.get(claim)
        .await
        .expect("claim")
        .metadata
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.uid)
        .collect()
}

#[tokio::test]
async fn a_paused_cluster_reports_paused_and_applies_nothing_until_unpaused() {
    let env = Env::start(fast()).await;
    let cluster = env.ready(paused("hippo", false, None)).await;
    let uid = cluster.metadata.uid.clone().expect("uid");
    let observed = cluster.data["status"]["observedGeneration"].clone();
    let pods_before: Vec<(String, String)> = env
        .pods("hippo")
        .await
        .iter()
        .map(|p| (p.metadata.uid.clone().unwrap_or_default(), image(p)))
        .collect();

    let generation = env
        .apply(paused("hippo", true, Some(IMAGE)))
        .await
        .metadata
        .generation
        .expect("generation");
    let status = env
        .until("hippo", "paused", |s| {
            condition(s, "Progressing")["reason"] == "Paused"
        })
        .await
        .data["status"]
        .clone();
    let c = condition(&status, "Progressing");
    assert_eq!(c["status"], "False");
    assert_eq!(
        c["message"],
        "No spec changes will be applied and no other statuses will be updated."
    );
    assert_eq!(c["observedGeneration"], generation);

    // Nothing is reconciled: no generation observed, no rollout, no owner put back.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(env.server.client(), "default");
    claims
        .patch(
            "hippo-repo1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "ownerReferences": null } })),
        )
        .await
        .expect("detached");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = env.api.get("hippo").await.expect("cluster").data["status"].clone();
    assert_eq!(status["observedGeneration"], observed, "{status}");
    let pods_now: Vec<(String, String)> = env
        .pods("hippo")
        .await
        .iter()
        .map(|p| (p.metadata.uid.clone().unwrap_or_default(), image(p)))
        .collect();
    assert_eq!(pods_now, pods_before);
    assert!(owners(&env, "hippo-repo1").await.is_empty());
    assert!(env.operator.restarts("default", "hippo").is_empty());

    // Unpaused: the condition goes, the owner comes back and the image rolls out.
    let generation = env
        .apply(paused("hippo", false, Some(IMAGE)))
        .await
        .metadata
        .generation
        .expect("generation");
    env.until("hippo", "unpaused and observed", |s| {
        s["observedGeneration"] == generation && condition(s, "Progressing").is_null()
    })
    .await;
    eventually(WAIT, "owner back", || async {
        (owners(&env, "hippo-repo1").await == vec![uid.clone()]).then_some(())
    })
    .await;
    eventually(WAIT, "rolled out", || async {
        let rolled = env.rolled_out("hippo").await
            && env.pods("hippo").await.iter().all(|p| image(p) == IMAGE);
        rolled.then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_paused_cluster_is_still_deleted() {
    let env = Env::start(fast()).await;
    env.ready(paused("hippo", false, None)).await;
    env.apply(paused("hippo", true, None)).await;
    env.until("hippo", "paused", |s| {
        condition(s, "Progressing")["reason"] == "Paused"
    })
    .await;
    env.api
        .delete("hippo", &Default::default())
        .await
        .expect("deleted");
    eventually(WAIT, "gone", || async { env.api.get("hippo").await.err() }).await;
    assert!(env.pods("hippo").await.is_empty());
}
