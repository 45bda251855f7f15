//! etcd's JSON gateway (`/v3/...` on its client URL), for what the apiserver does not expose.

use crate::client::post_json;

/// Compacts etcd's history up to its current revision; returns that revision.
pub async fn compact(etcd_url: &str) -> Result<i64, String> {
    // A count of the keys under "/" (base64 `Lw==`): only the header's revision is read.
    let range = post_json(
        &format!("{etcd_url}/v3/kv/range"),
        &serde_json::json!({ "key": "Lw==", "count_only": true }),
    )
    .await
    .and_then(|answer| answer.json())
    .map_err(|e| e.to_string())?;
    let revision = range["header"]["revision"]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok())
        .ok_or_else(|| format!("no revision in {range}"))?;
    let answer = post_json(
        &format!("{etcd_url}/v3/kv/compaction"),
        &serde_json::json!({ "revision": revision.to_string(), "physical": true }),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !(200..300).contains(&answer.status) {
        return Err(answer.text());
    }
    Ok(revision)
}
