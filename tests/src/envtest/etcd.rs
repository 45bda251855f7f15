//! etcd's JSON gateway (`/v3/...` on its client URL), for what the apiserver does not expose.

/// Compacts etcd's history up to its current revision; returns that revision.
pub async fn compact(etcd_url: &str) -> Result<i64, String> {
    let http = reqwest::Client::new();
    // A count of the keys under "/" (base64 `Lw==`): only the header's revision is read.
    let range: serde_json::Value = http
        .post(format!("{etcd_url}/v3/kv/range"))
        .json(&serde_json::json!({ "key": "Lw==", "count_only": true }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let revision = range["header"]["revision"]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok())
        .ok_or_else(|| format!("no revision in {range}"))?;
    let answer = http
        .post(format!("{etcd_url}/v3/kv/compaction"))
        .json(&serde_json::json!({ "revision": revision.to_string(), "physical": true }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(answer.text().await.unwrap_or_default());
    }
    Ok(revision)
}
