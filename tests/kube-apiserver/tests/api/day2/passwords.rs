//! Password regeneration through the user Secret.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube_test_apiserver::operator::scram_verifier_matches;
use serde_json::json;

use super::*;

async fn edit(env: &Env, name: &str, data: serde_json::Value) {
    let secrets: Api<Secret> = Api::namespaced(env.server.client(), "default");
    secrets
        .patch(
            name,
            &PatchParams {
                field_manager: Some("pgplane-actions".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({ "data": data })),
        )
        .await
        .expect("secret edited");
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn users_revision(o: &DynamicObject) -> String {
    o.data["status"]["usersRevision"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn an_emptied_password_is_regenerated_with_its_verifier_and_uris() {
    let env = Env::start(fast()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([{ "name": "app", "databases": ["appdb"] }]);
    m["spec"]["proxy"] = json!({ "pgBouncer": {} });
    let before = env.ready(m).await;
    let old = env.secret("hippo-pguser-app").await;
    assert!(scram_verifier_matches(&old["verifier"], &old["password"]));

    edit(
        &env,
        "hippo-pguser-app",
        json!({ "password": "", "verifier": "" }),
    )
    .await;
    let new = eventually(WAIT, "a new password", || async {
        let s = env.secret("hippo-pguser-app").await;
        (!s["password"].is_empty() && s["password"] != old["password"]).then_some(s)
    })
    .await;
    assert_eq!(new["password"].len(), 24);
    assert!(scram_verifier_matches(&new["verifier"], &new["password"]));
    assert!(
        !scram_verifier_matches(&new["verifier"], &old["password"]),
        "the old one stops working"
    );
    let uri = url_password(&new["uri"]);
    assert_eq!(
        uri.as_deref(),
        Some(new["password"].as_str()),
        "{}",
        new["uri"]
    );
    assert_eq!(
        url_password(&new["pgbouncer-uri"]).as_deref(),
        Some(new["password"].as_str())
    );
    assert_eq!(new["user"], "app");
    let after = env
        .until("hippo", "users revision changed", |s| {
            s["usersRevision"].as_str() != Some(users_revision(&before).as_str())
        })
        .await;
    assert!(!users_revision(&after).is_empty());
}

/// The password of a `postgresql://user:password@host/db` URI, percent-decoded.
fn url_password(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("postgresql://")?;
    let userinfo = &rest[..rest.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    let bytes = password.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(password.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[tokio::test]
async fn a_new_password_with_an_empty_verifier_is_kept_and_gets_its_verifier() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let chosen = "n3w:pass@word/?";
    edit(
        &env,
        "hippo-pguser-hippo",
        json!({ "password": b64(chosen), "verifier": "" }),
    )
    .await;
    let new = eventually(WAIT, "the verifier", || async {
        let s = env.secret("hippo-pguser-hippo").await;
        (!s["verifier"].is_empty() && s["password"] == chosen).then_some(s)
    })
    .await;
    assert!(scram_verifier_matches(&new["verifier"], chosen));
    assert!(
        new["uri"].starts_with(
            "postgresql://hippo:n3w%3Apass%40word%2F%3F@hippo-primary.default.svc:5432/hippo"
        ),
        "{}",
        new["uri"]
    );
    assert!(
        new["jdbc-uri"].contains("password=n3w%3Apass%40word%2F%3F&user=hippo"),
        "{}",
        new["jdbc-uri"]
    );
}

#[tokio::test]
async fn a_deleted_user_secret_comes_back_with_a_new_password() {
    let env = Env::start(fast()).await;
    env.ready(cluster_manifest("hippo")).await;
    let old = env.secret("hippo-pguser-hippo").await;
    let secrets: Api<Secret> = Api::namespaced(env.server.client(), "default");
    secrets
        .delete("hippo-pguser-hippo", &DeleteParams::default())
        .await
        .expect("deleted");
    let new = eventually(WAIT, "the Secret back", || async {
        let s = secrets.get("hippo-pguser-hippo").await.ok()?;
        Some(decoded(&s))
    })
    .await;
    assert_ne!(new["password"], old["password"]);
    assert!(scram_verifier_matches(&new["verifier"], &new["password"]));
}

#[tokio::test]
async fn while_shut_down_the_secret_changes_but_postgres_learns_it_on_start() {
    let env = Env::start(fast()).await;
    let mut m = cluster_manifest("hippo");
    let before = env.ready(m.clone()).await;
    m["spec"]["shutdown"] = json!(true);
    env.apply(m.clone()).await;
    env.until("hippo", "shut down", |s| {
        s["observedGeneration"] == 2 && pod_count(s) == 0
    })
    .await;
    let old = env.secret("hippo-pguser-hippo").await;
    edit(&env, "hippo-pguser-hippo", json!({ "password": "" })).await;
    eventually(WAIT, "a new password", || async {
        let s = env.secret("hippo-pguser-hippo").await;
        (!s["password"].is_empty() && s["password"] != old["password"]).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let down = env.api.get("hippo").await.expect("cluster");
    assert_eq!(
        users_revision(&down),
        users_revision(&before),
        "no PostgreSQL to run the SQL"
    );
    m["spec"]["shutdown"] = json!(false);
    env.apply(m).await;
    env.until("hippo", "running with the new password", |s| {
        ready_replicas(s) == 1
            && s["usersRevision"].as_str() != Some(users_revision(&before).as_str())
    })
    .await;
}

#[tokio::test]
async fn generated_passwords_follow_the_user_password_policy() {
    let env = Env::start(fast()).await;
    let mut m = cluster_manifest("hippo");
    m["spec"]["users"] = json!([
        { "name": "plain", "password": { "type": "AlphaNumeric" } },
        { "name": "ascii" },
    ]);
    env.ready(m).await;
    let plain = env.secret("hippo-pguser-plain").await;
    assert!(plain["password"].chars().all(|c| c.is_ascii_alphanumeric()));
    let policy = "()*+,-./:;<=>?@[]^_{|}";
    // 24 characters from an 84-character alphabet: all alphanumeric is rare; retry a few
    // regenerations before calling the policy wrong.
    let mut saw_punctuation = false;
    for _ in 0..5 {
        let s = env.secret("hippo-pguser-ascii").await;
        assert!(
            s["password"]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || policy.contains(c))
        );
        if s["password"].chars().any(|c| policy.contains(c)) {
            saw_punctuation = true;
            break;
        }
        edit(&env, "hippo-pguser-ascii", json!({ "password": "" })).await;
        eventually(WAIT, "regenerated", || async {
            let n = env.secret("hippo-pguser-ascii").await;
            (!n["password"].is_empty() && n["password"] != s["password"]).then_some(())
        })
        .await;
    }
    assert!(saw_punctuation, "PGO's default ASCII policy");
}
